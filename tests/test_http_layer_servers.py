"""The HTTP layer (engine.http over wire.http/http2) against real servers, each checked against
``openssl s_client`` (HTTP/1.x) or ``curl --http2`` (HTTP/2) in the same test.

The servers require a client certificate; the user's is presented, as a credentialed scan
does. One server of each kind is shared by the module's tests.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from scanner.config.targets import Target
from scanner.engine.connect import Address
from scanner.engine.contexts import ContextFactory
from scanner.engine.http import HttpAnswer, ask_http
from scanner.engine.session import ConnectionLimits, EndpointSession
from scanner.lab.server import ClientAuth, LabServer, ListenerConfig
from scanner.offers.credential import ClientCredential
from scanner.results import ErrorKind, HttpOutcomeKind
from scanner.wire import HttpRequest, TLSVersion
from tests.conftest import scan_targets
from tests.support import servers
from tests.support.oracle import s_client
from tests.support.pki import TestPKI
from tests.support.processes import LOOPBACK
from tests.support.servers import RunningServer, require_binary

pytestmark = pytest.mark.servers

H1_SERVERS = ("nginx", "s_server", "gnutls", "haproxy")


@pytest.fixture(scope="module")
def h1_servers(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[dict[str, RunningServer]]:
    for name in ("nginx", "openssl", "gnutls-serv", "haproxy"):
        require_binary(name)
    work = tmp_path_factory.mktemp("http-layer")
    with contextlib.ExitStack() as stack:
        yield {
            "nginx": stack.enter_context(servers.nginx(pki, work / "nginx", mode="ca_names")),
            "s_server": stack.enter_context(servers.openssl_s_server(pki, work / "s_server")),
            "gnutls": stack.enter_context(servers.gnutls_serv(pki, work / "gnutls")),
            "haproxy": stack.enter_context(servers.haproxy(pki, work / "haproxy")),
        }


@pytest.fixture(scope="module")
def h2_only_server(pki: TestPKI) -> Iterator[LabServer]:
    config = ListenerConfig(certificate=pki.server, client_auth=ClientAuth.require,
                            trusted_cas=[pki.client_ca_one], alpn=("h2",))
    with LabServer(config) as server:
        yield server


def ask(port: int, pki: TestPKI, *, alpn: tuple[str, ...], request: HttpRequest,
        http_timeout: float = 3.0, version: TLSVersion = TLSVersion.TLSv1_3,
        ) -> tuple[HttpAnswer, float]:
    """One handshake with the user's certificate, one HTTP question; and how long it took."""
    async def main() -> tuple[HttpAnswer, float]:
        session = EndpointSession(Address(socket.AF_INET, LOOPBACK, port), "localhost",
                                  contexts=ContextFactory(), limits=ConnectionLimits(8, 4),
                                  timeout=10.0)
        credential = ClientCredential(pki.client_one.cert, pki.client_one.key)
        offer = session.offer(version, alpn=alpn, client_credential=credential)
        async with session.connect(offer) as tls:
            result = await tls.handshake()
            assert result.completed, result.failure
            started = trio.current_time()
            async with session.http_turn:
                answer = await ask_http(tls, request, timeout=http_timeout)
            return answer, trio.current_time() - started

    return trio.run(main)


@pytest.mark.parametrize("name", H1_SERVERS)
def test_get_gets_the_status_s_client_gets(name: str, h1_servers: dict[str, RunningServer],
                                           pki: TestPKI) -> None:
    server = h1_servers[name]
    answer, _ = ask(server.port, pki, alpn=("http/1.1",),
                    request=HttpRequest(path="/", host="localhost"))
    oracle = s_client(server.port, tls_version="1.3", client=pki.client_one_files)
    assert oracle.http_status is not None, oracle.summary()
    assert answer.outcome is HttpOutcomeKind.response, answer
    assert answer.response is not None and answer.response.status == oracle.http_status == 200
    assert answer.protocol == "HTTP/1.1"
    if name == "nginx":
        assert answer.response.server is not None and answer.response.server.startswith("nginx")


def test_head_unanswered_costs_the_http_deadline_only(h1_servers: dict[str, RunningServer],
                                                      pki: TestPKI) -> None:
    """``s_server -www`` never answers HEAD: the wait ends at the short HTTP deadline, far
    before the 10 s connection timeout."""
    server = h1_servers["s_server"]
    answer, elapsed = ask(server.port, pki, alpn=("http/1.1",), http_timeout=0.5,
                          request=HttpRequest(method="HEAD"))
    oracle = s_client(server.port, tls_version="1.3", client=pki.client_one_files,
                      send=b"HEAD / HTTP/1.0\r\n\r\n", timeout=2.0)
    assert oracle.timed_out and oracle.http_status is None, oracle.summary()
    assert answer.outcome is HttpOutcomeKind.no_response
    assert elapsed < 5.0


def test_gnutls_head_answer_has_no_status_line(h1_servers: dict[str, RunningServer],
                                               pki: TestPKI) -> None:
    """gnutls-serv answers HEAD with a bare HTML page (no status line, as s_client shows),
    which is why probes send GET (200 above)."""
    server = h1_servers["gnutls"]
    answer, _ = ask(server.port, pki, alpn=("http/1.1",), request=HttpRequest(method="HEAD"),
                    version=TLSVersion.TLSv1_2)
    oracle = s_client(server.port, tls_version="1.2", client=pki.client_one_files,
                      send=b"HEAD / HTTP/1.0\r\n\r\n")
    assert oracle.http_status is None and "<!DOCTYPE HTML" in oracle.stdout, oracle.summary()
    assert answer.outcome is HttpOutcomeKind.not_http
    assert answer.received is not None and answer.received.startswith("<!DOCTYPE HTML")


def test_h2_only_server_is_asked_over_http2(h2_only_server: LabServer, pki: TestPKI,
                                            tmp_path: Path) -> None:
    answer, _ = ask(h2_only_server.port, pki, alpn=("h2",),
                    request=HttpRequest(path="/", host="localhost"))
    assert answer.protocol == "HTTP/2" and answer.outcome is HttpOutcomeKind.response
    assert answer.response is not None and answer.response.server == "mtlsweep-lab"
    curl = subprocess.run(
        [require_binary("curl"), "-sk", "--http2", "--cert", str(pki.client_one_files.cert),
         "--key", str(pki.client_one_files.key), "-o", "/dev/null",
         "-w", "%{http_code} %{http_version}",
         "--resolve", f"localhost:{h2_only_server.port}:{LOOPBACK}",
         f"https://localhost:{h2_only_server.port}/"],
        capture_output=True, text=True, timeout=10, check=False)
    assert curl.stdout == f"{answer.response.status} 2", curl.stderr


def test_single_threaded_s_server_www_is_not_starved_by_http(
        h1_servers: dict[str, RunningServer], pki: TestPKI) -> None:
    """A whole default scan of one ``s_server -www`` (one connection at a time): every probe
    gets its answer, and the enforcement attempts get the 200 s_client gets."""
    server = h1_servers["s_server"]
    credential = ClientCredential(pki.client_one.cert, pki.client_one.key)
    (record,) = scan_targets([Target(host=LOOPBACK, port=server.port, sni="localhost",
                                     client_credential=credential)])
    assert record.status == "ok" and not record.probe_errors, record.probe_errors
    assert record.client_auth is not None and record.client_auth.classification == "required"
    assert record.enforcement is not None
    user = next(a for a in record.enforcement.attempts if a.certificate == "user_certificate")
    oracle = s_client(server.port, tls_version="1.3", client=pki.client_one_files)
    assert user.http is not None and user.http.status == oracle.http_status == 200
    assert record.enforcement.verdict == "required_at_tls"


def test_a_flood_after_the_request_is_not_an_answer(pki: TestPKI, tmp_path: Path) -> None:
    """``s_server -num_tickets 1000000`` floods TLS 1.3 NewSessionTickets after the handshake:
    no HTTP byte comes before the transcript budget runs out. The exchange ends as a close,
    and the connection records the flood so the session does not count it as answered."""
    require_binary("openssl")
    with servers.openssl_s_server(pki, tmp_path / "tickets", verify=None,
                                  extra_args=["-num_tickets", "1000000"]) as server:
        async def main() -> tuple[HttpAnswer, ErrorKind | None, int]:
            session = EndpointSession(Address(socket.AF_INET, LOOPBACK, server.port),
                                      "localhost", contexts=ContextFactory(),
                                      limits=ConnectionLimits(8, 4), timeout=10.0)
            offer = session.offer(TLSVersion.TLSv1_3, alpn=("http/1.1",))
            async with session.connect(offer) as tls:
                assert (await tls.handshake()).completed
                answer = await ask_http(tls, HttpRequest(path="/", host="localhost"))
            failure = tls.result.failure
            return answer, failure.kind if failure else None, session.stats.answered

        answer, kind, answered = trio.run(main)
        # The oracle: s_client sees far more tickets than a server sends in earnest.
        oracle = s_client(server.port, tls_version="1.3", timeout=2.0)
    assert answer.outcome is HttpOutcomeKind.closed and answer.alert is None, answer
    assert kind is ErrorKind.message_flood and answered == 0
    tickets = sum(1 for m in oracle.messages if m.detail == "NewSessionTicket")
    assert tickets > 256, oracle.summary()
