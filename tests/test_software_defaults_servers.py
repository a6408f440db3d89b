"""Server software defaults, measured: each program Debian installs, started with nothing but a
certificate, is identified by mtlsweep as its catalog entry (software-defaults.yaml).

A Debian update that changes a default fails here, naming the difference. The protocol
versions are checked against ``openssl s_client`` (the oracle) in the same test.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.policy.catalog import builtin_catalog
from scanner.report.table import server_facts
from scanner.results import Record
from tests.support import bare_servers
from tests.support.pki import PemPaths, TestPKI, issue_server_cert
from tests.support.processes import LOOPBACK
from tests.support.servers import binary, require_binary

pytestmark = pytest.mark.servers

PROBES = ("protocols", "cipher_suites", "groups", "certificate")
_FLAGS = {"1.0": "-tls1", "1.1": "-tls1_1", "1.2": "-tls1_2", "1.3": "-tls1_3"}
_NEGOTIATED = re.compile(r"^New, TLSv[\d.]+, Cipher is (?!\(NONE\))", re.M)


def s_client_connects(port: int, version: str) -> bool:
    """Whether ``openssl s_client`` completes a handshake at ``version`` (any suite its
    OpenSSL has, security level 0 so that TLS 1.0/1.1 can be offered)."""
    argv = [binary("openssl"), "s_client", "-connect", f"{LOOPBACK}:{port}", _FLAGS[version],
            "-servername", "localhost", "-cipher", "ALL:@SECLEVEL=0"]
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                          check=False)
    return bool(_NEGOTIATED.search(done.stdout.decode(errors="replace")))


@pytest.fixture(scope="module")
def rsa_files(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> PemPaths:
    return issue_server_cert(pki.server_ca, key_type="rsa").write_pem(
        tmp_path_factory.mktemp("rsa-default"))


@pytest.mark.parametrize("entry_id", sorted(bare_servers.STARTERS))
def test_a_program_with_only_a_certificate_is_identified_as_its_default(
        entry_id: str, rsa_files: PemPaths, tmp_path: Path,
        scan: Callable[..., Record]) -> None:
    program, start = bare_servers.STARTERS[entry_id]
    require_binary(program)
    entry = builtin_catalog().one(entry_id)
    with start(rsa_files, tmp_path / "server") as server:
        record = scan(server.port, probes=PROBES)
        oracle = {version: s_client_connects(server.port, version) for version in _FLAGS}
    assert record.policy is not None, record.probe_errors
    found = {c.id: c for c in record.policy.software_defaults}
    assert entry_id in found, (
        [(c.id, c.explanation) for c in record.policy.software_defaults],
        record.policy.nearest[:1])
    assert found[entry_id].explanation["protocols"] == "same"
    assert f"software {entry.name}" in server_facts(record).plain  # the table's server column
    assert found[entry_id].explanation["cipher_suites"] == "same"
    # Every other default reported is a genuine look-alike (e.g. Apache and s_server both use
    # OpenSSL's DEFAULT list with an RSA certificate).
    for other in found.values():
        assert other.explanation["cipher_suites"] == "same"
    assert record.protocols is not None
    accepted = {label.removeprefix("TLSv"): facts.accepted
                for label, facts in record.protocols.items() if label.startswith("TLSv")}
    assert accepted == oracle
    assert {f"1.{v[-1]}" if v != "TLSv1.0" else "1.0" for v in entry.protocols} == {
        version for version, ok in oracle.items() if ok}
