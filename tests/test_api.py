"""The Python API, used only through its public names (``scanner.api``), against real servers
and with ``openssl s_client`` as the oracle for what the CertificateRequest says."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from scanner.api import Record, ScanInputError, Severity, Target, scan, scan_records
from tests.support.oracle import s_client
from tests.support.pki import TestPKI
from tests.support.processes import free_port


def s_client_requests_a_certificate(port: int) -> bool:
    return s_client(port, tls_version="1.2").certificate_request is not None


def test_scan_returns_typed_records_in_input_order(nginx_server, pki: TestPKI,
                                                   tmp_path: Path) -> None:
    strict = nginx_server(mode="ca_names")
    plain = nginx_server(mode="none")
    closed = free_port()
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - {{host: 127.0.0.1, port: {plain.port}, sni: localhost,"
                         " name: plain}\n")
    records = scan([Target(host="127.0.0.1", port=strict.port, sni="localhost"),
                    inventory, f"127.0.0.1:{closed}"],
                   probes=["client_auth", "certificate"], timeout=5,
                   ca_bundle=pki.server_ca_file)
    assert [type(r) for r in records] == [Record] * 3
    assert [r.target.port for r in records] == [strict.port, plain.port, closed]
    first, second, third = records
    assert first.client_auth is not None and second.client_auth is not None
    assert first.client_auth.requested is s_client_requests_a_certificate(strict.port) is True
    assert second.client_auth.requested is s_client_requests_a_certificate(plain.port) is False
    assert second.target.name == "plain"
    assert first.certificate is not None and first.certificate.trusted is True
    assert third.status == "error" and third.error is not None
    assert third.error.kind.value == "connection_refused"
    assert all(isinstance(f.severity, Severity) for r in records for f in r.findings)
    assert '"schema":"mtlsweep/1"' in first.to_json()


def test_scan_records_yields_records_as_they_finish(nginx_server) -> None:
    server = nginx_server(mode="optional")

    async def collect() -> list[Record]:
        found = []
        async with scan_records([f"127.0.0.1:{server.port}", f"127.0.0.1:{free_port()}"],
                                probes=["client_auth"], timeout=5) as records:
            async for record in records:
                found.append(record)
        return found

    records = trio.run(collect)
    assert sorted(r.status for r in records) == ["error", "ok"]
    ok = next(r for r in records if r.status == "ok")
    assert ok.client_auth is not None and ok.client_auth.classification is not None
    assert ok.client_auth.classification.value == "optional"


def test_leaving_the_stream_early_cancels_the_rest(nginx_server) -> None:
    server = nginx_server(mode="none")

    async def first_only() -> Record:
        async with scan_records([f"127.0.0.1:{server.port}", "127.0.0.1:1"],
                                probes=["client_auth"], timeout=5) as records:
            async for record in records:
                return record
        raise AssertionError("no record")

    assert trio.run(first_only).schema_ == "mtlsweep/1"


@pytest.mark.parametrize(("targets", "options", "message"), [
    (["127.0.0.1"], {"probes": ["nope"]}, "unknown probe 'nope'"),
    (["https://x.example/"], {}, "looks like a URL"),
    (["a.example", "A.example:443"], {}, "duplicate target a.example:443"),
    (["missing.yaml"], {}, "missing.yaml"),
    (["127.0.0.1"], {"ca_bundle": Path("nope.pem")}, "nope.pem"),
    (["127.0.0.1"], {"timeout": 0}, "must be positive"),
])
def test_bad_input_raises_before_any_connection(targets: list[str], options: dict[str, object],
                                                message: str) -> None:
    with pytest.raises(ScanInputError, match=message):
        scan(targets, **options)  # type: ignore[arg-type]

    async def stream() -> None:
        async with scan_records(targets, **options) as records:  # type: ignore[arg-type]
            async for _ in records:
                pass

    with pytest.raises(ScanInputError, match=message):
        trio.run(stream)
