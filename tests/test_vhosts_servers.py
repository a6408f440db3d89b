"""The vhosts probe (SNI map, SNI/Host fronting) against real servers on 127.0.0.1.

nginx with two server blocks on one port, the default one without client auth and the named
one with it, and the reverse; haproxy with per-SNI ``verify required`` from a crt-list and
routing on Host (fronting goes through), beside nginx (421 Misdirected Request), and haproxy
routing by SNI alone in TCP mode (Host changes nothing: not a bypass). Each
verdict is checked against ``openssl s_client`` on the same server in the same test.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from hashlib import sha256
from pathlib import Path

import pytest
import trio

from scanner.config.targets import Target
from scanner.offers.credential import ClientCredential
from scanner.probes.vhosts import names_to_compare
from scanner.report.render import OutputFormat
from scanner.results import FrontingResult, Record, VhostKind
from scanner.run.sweep import SweepOptions, sweep
from tests.support import servers
from tests.support.oracle import s_client
from tests.support.pki import TestPKI
from tests.support.processes import LOOPBACK
from tests.support.servers import MTLS_NAME, OPEN_NAME, RunningServer, require_binary
from tests.support.sinks import RecordList
from tests.test_output_formats import rendered

pytestmark = pytest.mark.servers

MTLSWEEP = [sys.executable, "-m", "scanner"]
BYPASS = "enforcement.sni_host_bypass"


@pytest.fixture(scope="module")
def vhost_servers(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[dict[str, RunningServer]]:
    require_binary("nginx")
    require_binary("haproxy")
    with contextlib.ExitStack() as stack:
        yield {
            "nginx": stack.enter_context(servers.nginx_vhosts(
                pki, tmp_path_factory.mktemp("nginx-vhosts"))),
            "nginx_reverse": stack.enter_context(servers.nginx_vhosts(
                pki, tmp_path_factory.mktemp("nginx-vhosts-reverse"), default_requires=True)),
            "haproxy": stack.enter_context(servers.haproxy_fronting(
                pki, tmp_path_factory.mktemp("haproxy-fronting"))),
            "haproxy_two_cas": stack.enter_context(servers.haproxy_fronting(
                pki, tmp_path_factory.mktemp("haproxy-two-cas"), two_cas=True)),
            "haproxy_sni_router": stack.enter_context(servers.haproxy_sni_router(
                pki, tmp_path_factory.mktemp("haproxy-sni-router"))),
        }


@pytest.fixture(scope="module")
def records(vhost_servers: dict[str, RunningServer], pki: TestPKI
            ) -> dict[tuple[str, str], Record]:
    """One sweep over both names of every server: (server, sni) -> record."""
    yours = ClientCredential(pki.client_one.cert, pki.client_one.key)
    targets = [Target(host=LOOPBACK, port=server.port, sni=name,
                      client_credential=yours if kind == "haproxy_two_cas" else None)
               for kind, server in vhost_servers.items() for name in (OPEN_NAME, MTLS_NAME)]
    sink = RecordList()
    trio.run(sweep, targets, SweepOptions(probes=("vhosts",), timeout=5.0), sink)
    by_port = {server.port: kind for kind, server in vhost_servers.items()}
    out = {(by_port[r.target.port], r.target.sni or ""): r for r in sink.records}
    assert len(out) == len(targets)
    for record in out.values():
        assert record.status == "ok", (record.error, record.probe_errors)
    return out


def ids(record: Record) -> set[str]:
    return {finding.id for finding in record.findings}


def views(record: Record) -> dict[str, tuple[object, ...]]:
    assert record.vhosts is not None
    return {(v.sni if v.kind is VhostKind.name else v.kind.value) or "": (
        v.classification.value if v.classification else None, v.http_status)
        for v in record.vhosts.views}


def test_default_vhost_open_named_vhost_requires(records, vhost_servers, pki) -> None:
    port = vhost_servers["nginx"].port
    record = records["nginx", MTLS_NAME]
    assert views(record) == {"no_sni": ("none", 200), MTLS_NAME: ("optional", 400),
                             OPEN_NAME: ("none", 200), "unknown_name": ("none", 200)}
    assert record.vhosts is not None
    mtls = next(v for v in record.vhosts.views if v.sni == MTLS_NAME)
    assert mtls.tls1_3 is not None and len(mtls.tls1_3.ca_names) == 2
    assert "vhosts.default_vhost_without_client_auth" in ids(record)
    # The oracle: a CertificateRequest for the name, none for no SNI, and 400 for the name.
    named = s_client(port, tls_version="1.3", servername=MTLS_NAME,
                     send=f"GET / HTTP/1.0\r\nHost: {MTLS_NAME}\r\n\r\n".encode())
    assert named.certificate_request is not None and named.http_status == 400, named.summary()
    plain = s_client(port, tls_version="1.3", servername=OPEN_NAME,
                     send=f"GET / HTTP/1.0\r\nHost: {OPEN_NAME}\r\n\r\n".encode())
    assert plain.certificate_request is None and plain.http_status == 200, plain.summary()


def test_nginx_answers_421_to_fronting(records, vhost_servers) -> None:
    record = records["nginx", MTLS_NAME]
    assert record.vhosts is not None
    assert [(c.sni, c.host, c.status, c.result) for c in record.vhosts.fronting] == [
        (OPEN_NAME, MTLS_NAME, 421, FrontingResult.protected)]
    assert BYPASS not in ids(record)
    # The open name's own record checks no pair (it requires nothing to bypass).
    assert records["nginx", OPEN_NAME].vhosts.fronting == []  # type: ignore[union-attr]
    oracle = s_client(vhost_servers["nginx"].port, tls_version="1.3", servername=OPEN_NAME,
                      send=f"GET / HTTP/1.1\r\nHost: {MTLS_NAME}\r\nConnection: close\r\n\r\n"
                      .encode())
    assert oracle.http_status == 421, oracle.summary()


def test_default_vhost_requires_named_vhost_open(records, vhost_servers) -> None:
    record = records["nginx_reverse", OPEN_NAME]
    assert views(record)["no_sni"] == ("optional", 400)
    assert views(record)["unknown_name"] == ("optional", 400)
    assert views(record)[OPEN_NAME] == ("none", 200)
    assert "vhosts.named_vhost_without_client_auth" in ids(record)
    assert "vhosts.default_vhost_without_client_auth" not in ids(record)
    oracle = s_client(vhost_servers["nginx_reverse"].port, tls_version="1.2",
                      servername=OPEN_NAME,
                      send=f"GET / HTTP/1.0\r\nHost: {OPEN_NAME}\r\n\r\n".encode())
    assert oracle.certificate_request is None and oracle.http_status == 200, oracle.summary()
    unknown = s_client(vhost_servers["nginx_reverse"].port, tls_version="1.2",
                       servername="elsewhere.test")
    assert unknown.certificate_request is not None, unknown.summary()


def test_haproxy_routing_on_host_is_a_critical_bypass(records, vhost_servers) -> None:
    record = records["haproxy", MTLS_NAME]
    assert views(record)[MTLS_NAME] == ("required", None)
    assert record.vhosts is not None
    checks = {(c.protocol, c.status, c.result) for c in record.vhosts.fronting}
    assert checks == {("HTTP/2", 200, FrontingResult.bypass),
                      ("HTTP/1.1", 200, FrontingResult.bypass)}
    bypass = [f for f in record.findings if f.id == BYPASS]
    assert bypass and all(f.severity.value == "critical" for f in bypass)
    port = vhost_servers["haproxy"].port
    fronted = s_client(port, tls_version="1.3", servername=OPEN_NAME,
                       send=f"GET / HTTP/1.1\r\nHost: {MTLS_NAME}\r\nConnection: close\r\n\r\n"
                       .encode())
    assert fronted.http_status == 200 and f"{MTLS_NAME} secret" in fronted.stdout
    direct = s_client(port, tls_version="1.3", servername=MTLS_NAME)
    assert direct.fatal_alert == "certificate_required", direct.summary()
    # The evidence: an answer other than open.test's own (its body differs).
    for check in record.vhosts.fronting:
        assert check.answer is not None and check.sni_name_answer is not None
        assert check.answer.status == check.sni_name_answer.status == 200
        assert check.answer.body_sha256 != check.sni_name_answer.body_sha256
        assert check.answer.body_sha256 == sha256(f"{MTLS_NAME} secret".encode()).hexdigest()


def test_a_server_routing_by_sni_alone_is_not_a_bypass(records, vhost_servers) -> None:
    record = records["haproxy_sni_router", MTLS_NAME]
    assert views(record)[MTLS_NAME] == ("required", None)
    assert views(record)[OPEN_NAME] == ("none", 200)
    assert record.vhosts is not None
    checks = {(c.protocol, c.status, c.result) for c in record.vhosts.fronting}
    assert checks == {("HTTP/2", 200, FrontingResult.served_sni_vhost),
                      ("HTTP/1.1", 200, FrontingResult.served_sni_vhost)}
    assert BYPASS not in ids(record)
    public = sha256(f"{OPEN_NAME} public".encode()).hexdigest()
    for check in record.vhosts.fronting:
        assert check.answer == check.sni_name_answer
        assert check.answer is not None and check.answer.body_sha256 == public
    # The oracle: the same SNI and Host get open.test's page; mtls.test itself wants a
    # certificate.
    port = vhost_servers["haproxy_sni_router"].port
    fronted = s_client(port, tls_version="1.3", servername=OPEN_NAME,
                       send=f"GET / HTTP/1.1\r\nHost: {MTLS_NAME}\r\nConnection: close\r\n\r\n"
                       .encode())
    assert fronted.http_status == 200 and f"{OPEN_NAME} public" in fronted.stdout
    assert f"{MTLS_NAME} secret" not in fronted.stdout
    direct = s_client(port, tls_version="1.3", servername=MTLS_NAME)
    assert direct.fatal_alert == "certificate_required", direct.summary()


def test_your_certificate_for_one_name_reaches_another_that_refuses_it(
        records, vhost_servers, pki) -> None:
    record = records["haproxy_two_cas", MTLS_NAME]
    assert record.vhosts is not None
    by_name = {v.sni: v for v in record.vhosts.views if v.kind is VhostKind.name}
    assert by_name[OPEN_NAME].your_certificate_accepted is True
    assert by_name[MTLS_NAME].your_certificate_accepted is False
    assert {(c.sni, c.certificate, c.result) for c in record.vhosts.fronting} == {
        (OPEN_NAME, "user_certificate", FrontingResult.bypass)}
    assert BYPASS in ids(record)
    port = vhost_servers["haproxy_two_cas"].port
    fronted = s_client(port, tls_version="1.3", servername=OPEN_NAME,
                       client=pki.client_one_files,
                       send=f"GET / HTTP/1.1\r\nHost: {MTLS_NAME}\r\nConnection: close\r\n\r\n"
                       .encode())
    assert fronted.http_status == 200 and f"{MTLS_NAME} secret" in fronted.stdout
    refused = s_client(port, tls_version="1.3", servername=MTLS_NAME,
                       client=pki.client_one_files)
    assert refused.fatal_alert is not None, refused.summary()


def test_the_bypass_reaches_every_format(records) -> None:
    record = records["haproxy", MTLS_NAME]
    for fmt in OutputFormat:
        text = rendered(fmt, [record])
        if fmt is OutputFormat.table:  # the findings column folds long ids
            text = re.sub(r"[\s│┃]+", "", text)
        if fmt is OutputFormat.prometheus:  # the count by severity, and the id by itself
            assert re.search(r'mtlsweep_findings\{[^}]*severity="critical"\} [1-9]', text), text
        assert BYPASS in text, (fmt, text[-1500:])


def test_fail_on_critical_gates_on_the_bypass(vhost_servers, tmp_path: Path) -> None:
    def scan(kind: str) -> subprocess.CompletedProcess[str]:
        inventory = tmp_path / f"{kind}.yaml"
        inventory.write_text(
            f"defaults: {{port: {vhost_servers[kind].port}, probes: [vhosts]}}\n"
            f"targets:\n  - {{host: {LOOPBACK}, sni: {MTLS_NAME}, sni_names: [{OPEN_NAME}]}}\n")
        return subprocess.run([*MTLSWEEP, "scan", str(inventory), "-q", "--fail-on", "critical"],
                              capture_output=True, text=True, timeout=60, check=False)

    gated = scan("haproxy")
    assert gated.returncode == 1, gated.stderr
    record = json.loads(gated.stdout)
    assert record["vhosts"]["names"] == [MTLS_NAME, OPEN_NAME]
    assert BYPASS in {finding["id"] for finding in record["findings"]}
    assert scan("nginx").returncode == 0


def test_names_are_capped_per_address() -> None:
    compared = names_to_compare("a.test", ["b.test", "a.test", "c.test", "d.test"], 3)
    assert compared.names == ("a.test", "b.test", "c.test")
    assert compared.left_out == ("d.test",)


def test_an_inventory_of_addresses_with_server_names_compares_them_streamed_or_loaded(
        vhost_servers: dict[str, RunningServer], tmp_path: Path) -> None:
    """IP-literal hosts that send names (``sni:``) have neighbours to compare: a JSON Lines
    sweep (which may stream the inventory) records the same vhosts facts as a document
    format (which loads it whole), and they are there."""
    server = vhost_servers["nginx"]
    inventory = tmp_path / "targets.yaml"
    inventory.write_text("targets:\n" + "".join(
        f"  - {{host: {LOOPBACK}, port: {server.port}, sni: {name}}}\n"
        for name in (OPEN_NAME, MTLS_NAME)))
    outputs = {"jsonl": tmp_path / "out.jsonl", "json": tmp_path / "out.json"}
    for fmt, output in outputs.items():
        result = subprocess.run([*MTLSWEEP, "scan", str(inventory), "--probes", "vhosts",
                                 "--timeout", "5", "--workers", "1", "-f", fmt,
                                 "-o", str(output), "-q"],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in outputs["jsonl"].read_text().splitlines()]
    whole = json.loads(outputs["json"].read_text())

    def vhosts(records: list[dict]) -> dict[str, tuple[object, ...]]:
        return {r["target"]["sni"]: (sorted(r["vhosts"]["names"]),
                                     r["vhosts"]["client_auth_differs"]) for r in records}

    assert vhosts(lines) == vhosts(whole)
    assert vhosts(lines)[OPEN_NAME] == (sorted((OPEN_NAME, MTLS_NAME)), True)
