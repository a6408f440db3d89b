"""A scanned record's ``clients`` view against the real clients: nginx restricted in known ways
(TLS 1.3 only; TLS 1.2 without RSA key exchange, server order; an ECDSA certificate only,
client order), scanned by mtlsweep, then each client installed here connects for real and
must do what the view predicted: connect or not, and with which version and suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scanner.policy.suites import suite_table
from scanner.report.table import server_facts
from scanner.results import Record
from tests.support.pki import PemPaths, TestPKI, issue_server_cert
from tests.support.real_clients import Clients
from tests.support.servers import ServerFactory, require_binary

pytestmark = pytest.mark.servers

PROBES = ("protocols", "cipher_suites", "groups", "certificate")
#: profile id -> the program it runs
REAL = {"openssl-3.0": "openssl", "python-3.11": "python3", "curl-openssl": "curl",
        "go-1.19": "go", "java-17": "javac"}
NO_RSA_KX = ("ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256;\n"
             "        ssl_prefer_server_ciphers on;")


@pytest.fixture(scope="module")
def rsa_files(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> PemPaths:
    return issue_server_cert(pki.server_ca, key_type="rsa").write_pem(
        tmp_path_factory.mktemp("rsa-clients"))


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    yield Clients(Path(tmp_path_factory.mktemp("clients")))


@pytest.mark.parametrize("restriction", ["tls1.3-only", "no-rsa-key-exchange", "ecdsa-only"])
def test_the_clients_view_predicts_what_real_clients_negotiate(
        restriction: str, nginx_server: ServerFactory, pki: TestPKI,
        rsa_files: PemPaths, clients: Clients, scan: Callable[..., Record]) -> None:
    settings: dict[str, object] = {
        "tls1.3-only": {"tls_versions": ("1.3",), "server_files": rsa_files},
        "no-rsa-key-exchange": {"tls_versions": ("1.2",), "server_files": rsa_files,
                                "extra_directives": NO_RSA_KX},
        "ecdsa-only": {"tls_versions": ("1.2", "1.3"), "server_files": pki.server_files},
    }[restriction]
    server = nginx_server(mode="none", **settings)
    record = scan(server.port, probes=PROBES)
    assert record.clients is not None, record.probe_errors
    predicted = {c.id: c for c in record.clients.clients}
    for program in REAL.values():
        require_binary(program)
    for client_id in REAL:
        real = clients.connect(client_id, server.port)
        view = predicted[client_id]
        assert view.connects == (real is not None), (client_id, view, real)
        if real is not None:
            assert view.version == real.version, (client_id, view, real)
            assert view.suite is not None
            assert int(view.suite.code, 16) == suite_table().resolve(real.suite).code, (
                client_id, view.suite, real)
    by_id = {c.id: c for c in record.clients.clients}
    if restriction == "tls1.3-only":  # and, on paper, the clients not installed here
        assert not by_id["java-8"].connects and by_id["java-8"].reason == "no common version"
        assert not by_id["windows-10"].connects
        assert by_id["android-10"].connects and by_id["android-10"].version == "TLSv1.3"
    if restriction == "no-rsa-key-exchange":
        assert by_id["windows-7"].reason == "no common cipher suite"
        assert by_id["java-8"].connects and by_id["openssl-1.0.2"].connects
        facts = server_facts(record).plain  # the table output's server column
        assert f"clients {len(by_id) - 1}/{len(by_id)} connect; fail: windows-7 " \
            "(no common cipher suite)" in facts
        assert "policy " in facts
    if restriction == "ecdsa-only":
        assert by_id["windows-7"].connects
        assert by_id["windows-7"].suite is not None
        assert "ECDSA" in (by_id["windows-7"].suite.iana or "")
