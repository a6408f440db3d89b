"""TLSConnection operations beyond the handshake, against real servers on 127.0.0.1:
renegotiate(), shutdown() and the session kept up to date by read_after_handshake()."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import pytest
import trio

from scanner.engine import session as engine_session
from scanner.engine.connect import Address
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import TLSConnection
from scanner.engine.session import ConnectionLimits, EndpointSession
from scanner.results import ErrorKind
from scanner.wire import TLSVersion
from tests.support import hostile

pytestmark = pytest.mark.servers


def session_for(port: int, timeout: float = 5.0) -> EndpointSession:
    return EndpointSession(Address(socket.AF_INET, "127.0.0.1", port), "localhost",
                           contexts=ContextFactory(), limits=ConnectionLimits(8, 4),
                           timeout=timeout)


def run_on(port: int, steps: Callable[[EndpointSession, TLSConnection], Awaitable[None]],
           version: TLSVersion = TLSVersion.TLSv1_2, timeout: float = 5.0) -> None:
    async def main() -> None:
        session = session_for(port, timeout)
        async with session.connect(session.offer(version)) as tls:
            result = await tls.handshake()
            assert result.completed, result.failure
            await steps(session, tls)

    trio.run(main)


def types(tls: TLSConnection) -> list[tuple[str, str, bool]]:
    return [(m.direction, m.name, m.after_handshake) for m in tls.result.transcript]


def test_renegotiate_completes_a_second_handshake(openssl_server) -> None:
    server = openssl_server(verify=None, extra_args=["-client_renegotiation"])

    async def steps(_session: EndpointSession, tls: TLSConnection) -> None:
        await tls.renegotiate()
        after = [t for t in types(tls) if t[2]]
        assert after[0] == ("sent", "client_hello", True)
        assert ("received", "server_hello", True) in after
        assert after[-1] == ("received", "finished", True)

    run_on(server.port, steps)


def test_renegotiate_refused_raises_with_the_alert(nginx_server) -> None:
    server = nginx_server(mode="none")

    async def steps(_session: EndpointSession, tls: TLSConnection) -> None:
        with pytest.raises(ScanFailure) as caught:
            await tls.renegotiate()
        assert (caught.value.kind, caught.value.alert) == (ErrorKind.protocol_error,
                                                           "no_renegotiation")
        assert ("received", "alert:no_renegotiation", True) in types(tls)

    run_on(server.port, steps)


def test_renegotiate_without_an_answer_stops_at_the_deadline(renegotiation_peer) -> None:
    peer = renegotiation_peer("ignore")

    async def steps(_session: EndpointSession, tls: TLSConnection) -> None:
        with pytest.raises(ScanFailure) as caught:
            await tls.renegotiate()
        assert caught.value.kind is ErrorKind.timeout

    run_on(peer.port, steps, timeout=1.0)


def test_shutdown_sends_close_notify_once_and_never_raises(openssl_server) -> None:
    server = openssl_server(verify=None)

    async def steps(_session: EndpointSession, tls: TLSConnection) -> None:
        assert await tls.shutdown() is True
        assert types(tls)[-1] == ("sent", "alert:close_notify", True)
        await tls.shutdown()  # a second call must not raise either

    run_on(server.port, steps)


def test_shutdown_of_a_failed_handshake_is_a_no_op(openssl_server) -> None:
    server = openssl_server(verify="require")  # TLS 1.2 without a certificate: alert

    async def main() -> None:
        session = session_for(server.port)
        async with session.connect(session.offer(TLSVersion.TLSv1_2)) as tls:
            assert (await tls.handshake()).completed is False
            assert await tls.shutdown() is False

    trio.run(main)


def test_tls13_session_is_the_one_from_the_last_ticket(openssl_server) -> None:
    # OpenSSL replaces its session object with each TLS 1.3 ticket: the session taken at the
    # end of the handshake, before the tickets, cannot resume; the one after the wait can.
    server = openssl_server(verify=None)

    async def main() -> None:
        session = session_for(server.port)
        offer = session.offer(TLSVersion.TLSv1_3)
        async with session.connect(offer) as tls:
            result = await tls.handshake()
            before_tickets = result.session
            await tls.read_after_handshake(session.wait_after_handshake())
            after_tickets = result.session
            await tls.shutdown()
        assert before_tickets is not None and after_tickets is not None
        assert [m.name for m in result.transcript if m.after_handshake][:2] == [
            "new_session_ticket", "new_session_ticket"]
        stale = await session.handshake(offer, session=before_tickets)
        fresh = await session.handshake(offer, session=after_tickets)
        assert (stale.session_reused, fresh.session_reused) == (False, True)

    trio.run(main)


def test_a_parser_bug_in_the_capture_callback_is_raised_not_lost(
        openssl_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The capture callback cannot raise into OpenSSL; a wire bug there must still surface
    (as the probe's internal error), never as a message quietly missing from the transcript."""
    from scanner.wire import transcript

    def broken(data: bytes, *, version: int) -> object:
        raise IndexError("a parser bug")

    monkeypatch.setattr(transcript, "parse_handshake_message", broken)
    server = openssl_server(verify=None)

    async def main() -> None:
        session = session_for(server.port)
        async with session.connect(session.offer(TLSVersion.TLSv1_2)) as tls:
            await tls.handshake()

    with pytest.raises(IndexError, match="a parser bug"):
        trio.run(main)


@pytest.mark.parametrize(("verify", "ending"), [(None, "quiet"), ("require", "alert")])
def test_read_after_handshake_ends_when_the_servers_flight_arrived(
        openssl_server, verify: str | None, ending: str) -> None:
    """The long wait applies only while nothing arrives: after the TLS 1.3 tickets (or the
    certificate_required alert) the read ends, with every ticket ``openssl s_client`` sees
    (the oracle), long before a 30 s wait would."""
    from tests.support.oracle import s_client

    server = openssl_server(verify=verify)
    oracle = s_client(server.port, tls_version="1.3")
    assert oracle.fatal_alert_after_handshake == (ending == "alert")

    async def main() -> None:
        session = session_for(server.port, timeout=60.0)
        async with session.connect(session.offer(TLSVersion.TLSv1_3)) as tls:
            result = await tls.handshake()
            assert result.completed, result.failure
            started = trio.current_time()
            assert (await tls.read_after_handshake(30.0)).value == ending
            assert trio.current_time() - started < 15.0
        tickets = [m for m in result.transcript if m.name == "new_session_ticket"]
        assert len(tickets) == len(oracle.new_session_tickets)

    trio.run(main)


def test_read_after_handshake_waits_the_whole_time_while_nothing_arrives(nginx_server) -> None:
    server = nginx_server(mode="none")

    async def main() -> None:
        session = session_for(server.port)
        async with session.connect(session.offer(TLSVersion.TLSv1_2)) as tls:
            assert (await tls.handshake()).completed
            started = trio.current_time()
            assert (await tls.read_after_handshake(0.5)).value == "quiet"
            assert trio.current_time() - started >= 0.5

    trio.run(main)


@pytest.mark.parametrize(("verify", "version", "long_wait"), [
    (None, TLSVersion.TLSv1_2, False),      # TLS 1.2, no client auth: nothing is still due
    ("request", TLSVersion.TLSv1_2, True),  # a verdict on the certificate may follow
    (None, TLSVersion.TLSv1_3, True),       # tickets follow our Finished
])
def test_the_post_handshake_floor_is_long_only_while_something_is_due(
        openssl_server, verify: str | None, version: TLSVersion, long_wait: bool) -> None:
    # The long floor holds a connection slot after every baseline handshake; a TLS 1.2
    # server that asked for no certificate has nothing left to send, so it gets the short one.
    server = openssl_server(verify=verify)

    async def main() -> None:
        session = session_for(server.port)
        result = await session.handshake(session.offer(version), read_after_handshake=True)
        assert result.completed, result.failure
        assert result.certificate_requested is (verify is not None)
        rtts = engine_session._AFTER_HANDSHAKE_RTTS * session.last_rtt
        long_floor = max(engine_session._AFTER_HANDSHAKE_FLOOR_S, rtts)
        short_floor = max(engine_session._AFTER_QUIET_HANDSHAKE_FLOOR_S, rtts)
        assert session.wait_after_handshake() == long_floor
        assert session.wait_after_handshake(result) == (long_floor if long_wait
                                                        else short_floor)

    trio.run(main)


def test_a_server_that_keeps_renegotiating_is_followed_past_the_short_floor() -> None:
    # The short floor bounds the wait for the server's first word, not how long it may go
    # on: 8 renegotiations take far more than 0.05 s (16 round trips on a real network).
    with hostile.renegotiating_server() as server:
        async def main() -> None:
            session = session_for(server.port, timeout=5.0)
            offer = session.offer(TLSVersion.TLSv1_2)
            result = await session.handshake(offer, read_after_handshake=True)
            assert result.completed and not result.certificate_requested
            assert session.wait_after_handshake(result) < 0.25  # the short floor applied
            assert result.failure is not None, result.transcript
            assert result.failure.kind is ErrorKind.message_flood
            assert "renegotiated 8 times" in result.failure.detail

        trio.run(main)
