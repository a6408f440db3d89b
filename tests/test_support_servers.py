"""Prove the test-support servers behave as documented, with ``openssl s_client`` as oracle.

The expectations below are the empirical behaviour of Debian 12's nginx 1.22.1,
OpenSSL 3.0 and GnuTLS 3.7.9; if a distribution update changes one, these tests say so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import servers
from tests.support.oracle import SClientResult, s_client
from tests.support.pki import (
    CLIENT_CA_ONE_RFC4514,
    CLIENT_CA_TWO_RFC4514,
    TestPKI,
    issue_client_cert,
    issue_server_cert,
    make_ca,
)
from tests.support.processes import (
    ManagedProcess,
    ServerStartError,
    TcpServer,
    child_server,
    child_tcp_server,
    free_port,
    http_400,
    http_400_handler,
    pid_alive,
    process_group_members,
    speaks_tls,
    tarpit,
    wait_for_listen,
)
from tests.support.servers import REQUIRE_ENV, ServerFactory, require_binary

pytest_plugins = ["tests.support.fixtures"]

BOTH = [CLIENT_CA_ONE_RFC4514, CLIENT_CA_TWO_RFC4514]
TESTS_DIR = Path(__file__).resolve().parent


def assert_gone(pid: int) -> None:
    """The process and everything in its process group are gone (no orphans)."""
    deadline = time.monotonic() + 2
    while (pid_alive(pid) or process_group_members(pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not pid_alive(pid), f"pid {pid} still alive"
    assert process_group_members(pid) == [], f"orphans in group {pid}"


# --- pki ---------------------------------------------------------------------------


def test_pki_names_and_files(pki: TestPKI) -> None:
    assert pki.client_ca_one.rfc4514 == "CN=Client Root CA One,O=Example Corp,C=US"
    assert pki.client_ca_two.rfc4514 == "CN=Client Root CA Two,OU=Platform,O=Example Corp,C=JP"
    assert pki.client_ca_names == BOTH
    bundle = x509.load_pem_x509_certificates(pki.client_ca_bundle.read_bytes())
    assert [c.subject.rfc4514_string() for c in bundle] == BOTH
    san = pki.server.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    pki.server.cert.verify_directly_issued_by(pki.server_ca.cert)
    pki.client_one.cert.verify_directly_issued_by(pki.client_ca_one.cert)
    assert pki.server_files.key.stat().st_mode & 0o077 == 0


def test_pki_intermediate_rsa_and_validity(tmp_path: Path) -> None:
    root = make_ca("Root", key_type="rsa")
    inter = make_ca("Inter", parent=root, org="Example Corp")
    assert isinstance(root.key, rsa.RSAPrivateKey) and root.key.key_size == 2048
    inter.cert.verify_directly_issued_by(root.cert)
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    leaf = issue_server_cert(inter, ["example.test"], not_before=past,
                             not_after=past + dt.timedelta(days=1))
    assert leaf.cert.not_valid_after_utc == past + dt.timedelta(days=1)
    paths = leaf.write_pem(tmp_path / "leaf")
    chain = x509.load_pem_x509_certificates(paths.chain.read_bytes())
    assert [c.subject for c in chain] == [leaf.cert.subject, inter.cert.subject]
    client = issue_client_cert(inter, "c1")
    assert client.rfc4514 == "CN=c1"


# --- processes ---------------------------------------------------------------------


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_wait_for_listen_fails_fast_with_stderr(tmp_path: Path) -> None:
    argv = ["sh", "-c", "echo boom-on-stderr >&2; exit 3"]
    t0 = time.monotonic()
    with ManagedProcess(argv, tmp_path, name="dies") as proc, \
            pytest.raises(ServerStartError, match="boom-on-stderr"):
        wait_for_listen("127.0.0.1", free_port(), timeout=30, proc=proc)
    assert time.monotonic() - t0 < 5


def test_managed_process_kills_term_ignoring_group(tmp_path: Path) -> None:
    # sh ignores SIGTERM and so does its child (inherited); the child would be
    # orphaned when sh is SIGKILLed and must still be reaped by the group sweep.
    argv = ["sh", "-c", "trap '' TERM; sleep 60 & wait"]
    proc = ManagedProcess(argv, tmp_path, name="stubborn", stop_timeout=0.3)
    with proc:
        deadline = time.monotonic() + 5
        while len(process_group_members(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        members = process_group_members(proc.pid)
        assert len(members) == 2
    for pid in members:
        assert not pid_alive(pid)
    assert_gone(proc.pid)
    assert "exit=-9" in proc.log()


def test_managed_process_starts_once(tmp_path: Path) -> None:
    # ``with proc.start():`` must not start a second process (the first would be orphaned).
    proc = ManagedProcess(["sleep", "60"], tmp_path, name="once")
    with proc.start() as entered:
        first = proc.pid
        assert entered.pid == first
        with pytest.raises(RuntimeError, match="already started"):
            proc.start()
        assert pid_alive(first)
    assert_gone(first)


def test_tarpit_never_answers() -> None:
    with tarpit() as srv:
        with socket.create_connection((srv.host, srv.port), timeout=0.3) as s:
            assert not speaks_tls(s, timeout=0.3)
        assert srv.connections == 1
        port = srv.port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_http_400_server() -> None:
    with http_400() as srv, socket.create_connection((srv.host, srv.port), timeout=2) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert data.endswith(b"</html>\r\n")
    with pytest.raises(ServerStartError), http_400() as srv:
        wait_for_listen(srv.host, srv.port, timeout=0.3, tls=True)


def test_child_tcp_server_serves_from_its_own_process() -> None:
    # The scripted peers run out of the test process so that the scanner's GIL cannot hold
    # back their answers; what tests read of them (log, connection count) still works.
    with child_tcp_server(http_400_handler, name="child-http") as srv:
        child = srv.pid
        assert child != os.getpid() and pid_alive(child)
        for _ in range(2):
            with socket.create_connection(srv.address, timeout=2) as s:
                s.sendall(b"x")
                assert s.recv(12) == b"HTTP/1.1 400"
        assert srv.connections == 2
        port = srv.port
    assert_gone(child)
    assert "answered 1 bytes with HTTP 400" in srv.log()  # kept from before the stop
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_child_server_reports_a_failed_start() -> None:
    def broken() -> TcpServer:
        raise RuntimeError("no listener today")

    with pytest.raises(ServerStartError, match="no listener today"), \
            child_server(broken, name="broken"):
        pass


def test_tcp_fixtures(tarpit_server: TcpServer, http_server: TcpServer) -> None:
    assert tarpit_server.port != http_server.port
    with socket.create_connection(http_server.address, timeout=2) as s:
        s.sendall(b"x")
        assert s.recv(12) == b"HTTP/1.1 400"


def test_require_binary_skip_or_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_binary("mtlsweep-no-such-binary")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception):
        require_binary("mtlsweep-no-such-binary")


# --- server behaviour matrix ---------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Expected observations for one server configuration at one TLS version.

    ``names``: None = no CertificateRequest; [] = CertificateRequest without CA names.
    Outcomes are ``"http NNN"``, ``"alert NAME"`` (during the handshake) or
    ``"post-handshake alert NAME"`` (TLS 1.3: after the client's Finished).
    """

    fixture: str
    kwargs: dict[str, Any]
    version: str
    names: list[str] | None
    no_cert: str
    rogue: str
    tls13_ca_ext: bool | None = None  # TLS 1.3: certificate_authorities ext present?


def _case(fixture: str, kwargs: dict[str, Any], names: list[str] | None, *,
          no_cert: tuple[str, str], rogue: tuple[str, str],
          ext13: bool | None = None) -> list[Any]:
    out = []
    for i, version in enumerate(("1.2", "1.3")):
        label = f"{fixture.removesuffix('_server')}-" + "-".join(
            f"{k}={v}" for k, v in kwargs.items()) + f"-tls{version}"
        out.append(pytest.param(
            Case(fixture, kwargs, version, names, no_cert[i], rogue[i],
                 ext13 if version == "1.3" else None), id=label))
    return out


POST = "post-handshake alert "
CASES = [
    # openssl s_server: OpenSSL fails the handshake itself.
    *_case("openssl_server", {"verify": "require"}, BOTH, ext13=True,
           no_cert=("alert handshake_failure", POST + "certificate_required"),
           rogue=("alert unknown_ca", POST + "unknown_ca")),
    *_case("openssl_server", {"verify": "request"}, BOTH, ext13=True,
           no_cert=("http 200", "http 200"),
           rogue=("alert unknown_ca", POST + "unknown_ca")),
    # -no_ca_names: TLS 1.3 still carries an EMPTY certificate_authorities extension.
    *_case("openssl_server", {"verify": "require", "no_ca_names": True}, [], ext13=True,
           no_cert=("alert handshake_failure", POST + "certificate_required"),
           rogue=("alert unknown_ca", POST + "unknown_ca")),
    *_case("openssl_server", {"verify": None}, None,
           no_cert=("http 200", "http 200"), rogue=("http 200", "http 200")),
    # nginx never fails the TLS handshake for client-cert problems: HTTP 400 instead.
    *_case("nginx_server", {"mode": "ca_names"}, BOTH, ext13=True,
           no_cert=("http 400", "http 400"), rogue=("http 400", "http 400")),
    *_case("nginx_server", {"mode": "optional"}, BOTH, ext13=True,
           no_cert=("http 200", "http 200"), rogue=("http 400", "http 400")),
    *_case("nginx_server", {"mode": "no_ca_names"}, [], ext13=True,
           no_cert=("http 400", "http 400"), rogue=("http 400", "http 400")),
    *_case("nginx_server", {"mode": "trusted_only"}, [], ext13=False,
           no_cert=("http 403", "http 403"), rogue=("http 403", "http 403")),
    *_case("nginx_server", {"mode": "optional_no_ca"}, [], ext13=False,
           no_cert=("http 200", "http 200"), rogue=("http 200", "http 200")),
    *_case("nginx_server", {"mode": "none"}, None,
           no_cert=("http 200", "http 200"), rogue=("http 200", "http 200")),
    *_case("nginx_server", {"mode": "ca_names", "master_process": True}, BOTH, ext13=True,
           no_cert=("http 400", "http 400"), rogue=("http 400", "http 400")),
    # gnutls-serv: TLS 1.2 without a cert gets decode_error (GnuTLS 3.7.9 quirk).
    # haproxy: ca-verify-file verifies without advertising; ca-file advertises too.
    *_case("haproxy_server", {"verify": "required"}, [], ext13=False,
           no_cert=("alert handshake_failure", POST + "certificate_required"),
           rogue=("alert unknown_ca", POST + "unknown_ca")),
    *_case("haproxy_server", {"verify": "required", "advertise_ca_names": True}, BOTH,
           ext13=True, no_cert=("alert handshake_failure", POST + "certificate_required"),
           rogue=("alert unknown_ca", POST + "unknown_ca")),
    *_case("gnutls_server", {}, BOTH, ext13=True,
           no_cert=("alert decode_error", POST + "certificate_required"),
           rogue=("alert access_denied", POST + "access_denied")),
    *_case("gnutls_server", {"require_client_cert": False}, BOTH, ext13=True,
           no_cert=("http 200", "http 200"),
           rogue=("alert access_denied", POST + "access_denied")),
    *_case("gnutls_server", {"require_client_cert": False, "verify_client_cert": False},
           BOTH, ext13=True, no_cert=("http 200", "http 200"),
           rogue=("http 200", "http 200")),
    *_case("gnutls_server", {"require_client_cert": False, "request_client_cert": False,
                             "verify_client_cert": False}, None,
           no_cert=("http 200", "http 200"), rogue=("http 200", "http 200")),
]


def outcome(r: SClientResult) -> str:
    """Reduce an s_client run to the outcome vocabulary of :class:`Case`."""
    if r.fatal_alert is not None:
        return (POST if r.fatal_alert_after_handshake else "alert ") + r.fatal_alert
    if r.http_status is not None:
        return f"http {r.http_status}"
    return f"unclear (rc={r.returncode}, timed_out={r.timed_out})"


@pytest.mark.servers
@pytest.mark.parametrize("case", CASES)
def test_server_matrix(case: Case, pki: TestPKI, request: pytest.FixtureRequest) -> None:
    factory: ServerFactory = request.getfixturevalue(case.fixture)
    srv = factory(**case.kwargs)

    def run(client: Any) -> SClientResult:
        return s_client(srv.port, tls_version=case.version, client=client,
                        ca_file=pki.server_ca_file)

    none = run(None)
    ctx = f"{none.summary()}\n--- server ---\n{srv.log()}"
    assert not none.timed_out, ctx
    assert none.protocol == f"TLSv{case.version}", ctx
    assert "Verify return code: 0 (ok)" in none.stdout, ctx
    cr = none.certificate_request
    if case.names is None:
        assert cr is None, ctx
    else:
        assert cr is not None, ctx
        assert cr.tls13 == (case.version == "1.3")
        assert cr.ca_names == case.names, ctx
        # OpenSSL's own parsing of the same message agrees with ours.
        assert none.printed_ca_names == (case.names or None), ctx
        if case.tls13_ca_ext is not None:
            assert cr.has_ca_extension == case.tls13_ca_ext, ctx
    assert outcome(none) == case.no_cert, ctx
    # A handshake failure means the client never finished; post-handshake means it did.
    assert none.handshake_completed == (not outcome(none).startswith("alert ")), ctx

    rogue = run(pki.rogue_client_files)
    assert outcome(rogue) == case.rogue, f"{rogue.summary()}\n{srv.log()}"

    for good in (pki.client_one_files, pki.client_two_files):
        ok = run(good)
        assert outcome(ok) == "http 200", f"{ok.summary()}\n{srv.log()}"
        assert ok.sent_client_certificate is (None if case.names is None else True)

    assert srv.alive(), srv.log()  # several connections, stdin at EOF: still serving


@pytest.mark.servers
@pytest.mark.parametrize(("fixture", "alert"), [
    ("openssl_server", "protocol_version"),
    ("nginx_server", "protocol_version"),
    ("gnutls_server", "handshake_failure"),
])
def test_tls_versions_restrict(fixture: str, alert: str, request: pytest.FixtureRequest) -> None:
    factory: ServerFactory = request.getfixturevalue(fixture)
    srv = factory(tls_versions=("1.3",))
    r12 = s_client(srv.port, tls_version="1.2")
    assert not r12.handshake_completed, r12.summary()
    assert r12.fatal_alert == alert, r12.summary()
    assert s_client(srv.port, tls_version="1.3").protocol == "TLSv1.3"


@pytest.mark.servers
def test_servers_stop_without_orphans(pki: TestPKI, tmp_path: Path) -> None:
    require_binary("openssl")
    require_binary("nginx")
    require_binary("gnutls-serv")
    starters: list[Callable[[Path], Any]] = [
        lambda d: servers.openssl_s_server(pki, d),
        lambda d: servers.nginx(pki, d, mode="ca_names"),
        lambda d: servers.nginx(pki, d, mode="ca_names", master_process=True),
        lambda d: servers.gnutls_serv(pki, d),
    ]
    for i, start in enumerate(starters):
        with start(tmp_path / str(i)) as srv:
            members = process_group_members(srv.pid)
            if srv.details.get("master_process"):
                assert len(members) == 2, srv.log()  # master + worker
            else:
                assert members == [srv.pid], srv.log()
        for pid in members:
            assert_gone(pid)


@pytest.mark.servers
def test_nginx_refuses_verify_with_only_trusted_certificate(
    pki: TestPKI, tmp_path: Path
) -> None:
    """nginx 1.22: ssl_verify_client on + only ssl_trusted_certificate is a config error."""
    require_binary("nginx")
    extra = f"ssl_verify_client on;\n        ssl_trusted_certificate {pki.client_ca_bundle};"
    t0 = time.monotonic()
    with pytest.raises(ServerStartError, match="no ssl_client_certificate for ssl_verify_client"), \
            servers.nginx(pki, tmp_path, mode="none", extra_directives=extra):
        pass
    assert time.monotonic() - t0 < 5


@pytest.mark.servers
def test_openssl_server_ignores_closed_stdin(openssl_server: ServerFactory) -> None:
    srv = openssl_server(verify=None)
    time.sleep(0.2)
    assert srv.alive(), srv.log()
    assert s_client(srv.port, tls_version="1.3").http_status == 200
    assert srv.alive(), srv.log()


@pytest.mark.servers
def test_concurrent_servers_get_distinct_ports(
    openssl_server: ServerFactory, gnutls_server: ServerFactory, nginx_server: ServerFactory
) -> None:
    ports = {openssl_server().port, openssl_server().port, gnutls_server().port,
             nginx_server().port}
    assert len(ports) == 4


INNER_TEST = """
import json, os
from tests.support.processes import process_group_members

def test_deliberately_failing(openssl_server, nginx_server, gnutls_server,
                              tarpit_server, http_server):
    started = [openssl_server(), nginx_server(mode="ca_names", master_process=True),
               gnutls_server()]
    pids = [p for s in started for p in process_group_members(s.pid)]
    ports = [s.port for s in started] + [tarpit_server.port, http_server.port]
    with open(os.environ["MTLSWEEP_PIDFILE"], "w") as fh:
        json.dump({"pids": pids, "leaders": [s.pid for s in started], "ports": ports}, fh)
    raise AssertionError("deliberate failure")
"""


@pytest.mark.servers
def test_fixtures_clean_up_after_failing_test(tmp_path: Path) -> None:
    """Run a failing test in a child pytest; every process it started must be gone."""
    for name in ("openssl", "nginx", "gnutls-serv"):
        require_binary(name)
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TEST))
    pidfile = tmp_path / "pids.json"
    env = {**os.environ, "MTLSWEEP_PIDFILE": str(pidfile),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR.parent),
                                                       os.environ.get("PYTHONPATH")]))}
    cp = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.fixtures",
         "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    out = cp.stdout + cp.stderr
    assert cp.returncode == 1 and "deliberate failure" in out and "1 failed" in out, out
    info = json.loads(pidfile.read_text())
    assert len(info["pids"]) == 4, info  # s_server, nginx master+worker, gnutls-serv
    for pid in info["pids"] + info["leaders"]:
        assert_gone(pid)
    for port in info["ports"]:
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
