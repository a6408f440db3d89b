"""Hostile and broken TLS peers, one behaviour each, all scanned in one sweep with a normal one.

For every behaviour the target gets exactly one record whose error names what the server did
(``error.kind`` plus a detail), within the connection timeout (a total deadline: a server that
drips a byte a second cannot stretch it), with bounded memory; the normal listener in the same
sweep is scanned as if the others were not there.

Where the error lands depends on what the server answered. ``record``: no attempt got an
answer, so the record is ``status: error``. ``probe``: another protocol version did answer, so
the record is ``partial`` and the probe's error says what broke. ``handshake``: the server
answered (an alert after its ServerHello is an answer), and the error is a fact about one
handshake, in ``client_auth.<version>.handshake.error``.
"""

from __future__ import annotations

import contextlib
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import pytest
import trio

from scanner.config.targets import Target
from scanner.engine.capture import MAX_MESSAGES
from scanner.engine.connect import Address
from scanner.engine.contexts import ContextFactory
from scanner.engine.session import ConnectionLimits, EndpointSession
from scanner.lab.server import ClientAuth, LabServer, ListenerConfig
from scanner.pkix.issuing import make_ca, name
from scanner.results import ErrorInfo, ErrorKind, Record
from scanner.wire import TLSVersion
from tests.conftest import scan_targets
from tests.support import hostile as h
from tests.support.processes import TcpServer, child_tcp_server, http_400_handler, tarpit_handler
from tests.support.servers import ServerFactory

# The hostile behaviours are judged through the full-handshake engine's client_auth probe,
# whose per-version outcomes the expectations below name exactly.
PROBES_UNDER_TEST = ("client_auth",)

TIMEOUT = 1.5
FLOOD_TIMEOUT = 5.0
# The deadline is per connection; the slack is for a loaded 2-core machine, and is far below
# what a per-read timeout would allow the drip server (one byte a second for a whole flight).
DURATION_LIMIT_MS = (TIMEOUT + 1.5) * 1000

Where = Literal["record", "probe", "handshake13", "handshake12"]


@dataclass(frozen=True)
class Behaviour:
    handler: Callable[[socket.socket, TcpServer], None]
    kind: ErrorKind
    detail: str
    where: Where = "record"
    alert: str | None = None


BEHAVIOURS: dict[str, Behaviour] = {
    "tarpit": Behaviour(tarpit_handler, ErrorKind.timeout, "sent nothing before the deadline"),
    "drip one byte a second": Behaviour(h.drip, ErrorKind.timeout,
                                        "unfinished at the connection deadline"),
    "accept then close": Behaviour(h.accept_then_close, ErrorKind.connection_closed,
                                   "closed it without a byte"),
    "RST after ClientHello": Behaviour(h.rst_after_client_hello, ErrorKind.connection_reset,
                                       "(TCP RST); it had sent nothing"),
    "reset mid-handshake": Behaviour(h.reset_mid_handshake, ErrorKind.connection_reset,
                                     "(TCP RST); it had sent "),
    "garbage": Behaviour(h.garbage, ErrorKind.not_tls, "it sent 0123456789:;"),
    "HTTP answer": Behaviour(http_400_handler, ErrorKind.not_tls, "HTTP/1.1 400 Bad Request"),
    "ServerHello then silence": Behaviour(h.server_hello_then_silence, ErrorKind.timeout,
                                          "(last message: server_hello)"),
    "record over 2^14+2048": Behaviour(h.oversized_record, ErrorKind.record_overflow,
                                       "record 1 (handshake) declares 18433 bytes"),
    "oversized record after ServerHello": Behaviour(
        h.oversized_later_record, ErrorKind.record_overflow, "record 2 (handshake) declares"),
    "200 KB Certificate": Behaviour(h.huge_certificate(), ErrorKind.message_too_large,
                                    "certificate message declares 200"),
    "Certificate that is not DER": Behaviour(h.garbage_certificate(),
                                             ErrorKind.malformed_handshake, "certificate"),
    "CertificateRequest DN longer than the list": Behaviour(
        h.lying_certificate_request(), ErrorKind.malformed_handshake,
        "certificate_request is malformed: CertificateRequest certificate_authorities "
        "DistinguishedName 0: length field says 500 bytes"),
    "CertificateRequest DN list longer than the message": Behaviour(
        h.lying_ca_list_length(), ErrorKind.malformed_handshake,
        "certificate_request is malformed: CertificateRequest certificate_authorities: "
        "length field says 4000 bytes"),
    # client_auth's handshakes ask for a staple (they are shared with the ocsp probe), so a
    # malformed one is read and named, not refused as unsolicited
    "malformed OCSP staple": Behaviour(h.malformed_certificate_status(),
                                       ErrorKind.malformed_handshake,
                                       "certificate_status is malformed: CertificateStatus "
                                       "response: length field says 4000 bytes"),
    "endless HelloRequests": Behaviour(h.hello_request_flood, ErrorKind.message_flood,
                                       f"over {MAX_MESSAGES} messages on one connection "
                                       "(hello_request x"),
    "endless TLS 1.2 NewSessionTickets": Behaviour(
        h.tls12_ticket_flood(), ErrorKind.unexpected_message,
        "sent new_session_ticket after new_session_ticket"),
    "endless warning alerts": Behaviour(h.warning_alert_flood, ErrorKind.message_flood,
                                        "too many warn alerts"),
    "fatal alert instead of ServerHello": Behaviour(
        h.alert_after_client_hello(h.ALERT_HANDSHAKE_FAILURE), ErrorKind.handshake_failure,
        "fatal handshake_failure alert", alert="handshake_failure"),
    "alert with an unknown description": Behaviour(
        h.alert_after_client_hello(0xEE), ErrorKind.handshake_failure,
        "fatal unknown_0xee alert", alert="unknown_0xee"),
    "fatal alert after ServerHello": Behaviour(
        h.alert_after_server_hello(h.ALERT_HANDSHAKE_FAILURE), ErrorKind.handshake_failure,
        "fatal handshake_failure alert", where="handshake12", alert="handshake_failure"),
    "fatal alert after the client's flight": Behaviour(
        h.alert_after_client_flight(h.ALERT_CERTIFICATE_REQUIRED), ErrorKind.handshake_failure,
        "fatal certificate_required alert", where="handshake12", alert="certificate_required"),
    "ServerHello with a version never offered": Behaviour(
        h.wrong_version_server_hello(0x0305), ErrorKind.wrong_version,
        "the server chose unknown_0x0305, which was not offered"),
    "ServerHello with an older version": Behaviour(
        h.wrong_version_server_hello(0x0302), ErrorKind.wrong_version,
        "answered an offer of TLSv1.2 with TLSv1.1, an older version", where="handshake12"),
}


def error_at(record: Record, where: Where) -> ErrorInfo | None:
    if where == "record":
        assert record.status == "error", record.model_dump_json(indent=1)
        return record.error
    assert record.status != "error" and record.client_auth is not None, record.model_dump_json()
    if where == "probe":
        assert record.status == "partial"
        return record.probe_errors.get("client_auth")
    version = record.client_auth.tls1_3 if where == "handshake13" else record.client_auth.tls1_2
    assert version is not None
    return version.handshake.error


@pytest.fixture
def normal_server() -> Iterator[tuple[LabServer, str]]:
    """A well-behaved listener requiring a client certificate and naming its CA."""
    client_ca = make_ca(name("Hostile Suite Client CA"))
    config = ListenerConfig(certificate=h.lab_certificate(), client_auth=ClientAuth.require,
                            trusted_cas=(client_ca,))
    with LabServer(config) as server:
        yield server, client_ca.subject


def assert_normal(record: Record, ca_name: str) -> None:
    auth = record.client_auth
    assert record.status == "ok" and auth is not None, record.model_dump_json(indent=1)
    assert auth.classification is not None and auth.classification.value == "required"
    for version in (auth.tls1_3, auth.tls1_2):
        assert version is not None and version.certificate_request is not None
        assert [n.rfc4514 for n in version.certificate_request.ca_names] == [ca_name]


def test_every_hostile_peer_gets_one_precise_record_in_one_sweep(
        normal_server: tuple[LabServer, str], openssl_server: ServerFactory) -> None:
    server, ca_name = normal_server
    with contextlib.ExitStack() as stack:
        ports: dict[str, int] = {}
        for label, behaviour in BEHAVIOURS.items():
            ports[label] = stack.enter_context(child_tcp_server(behaviour.handler, name=label)).port
        ports["renegotiates forever"] = stack.enter_context(
            h.renegotiating_server()).port
        tickets = openssl_server(verify=None, extra_args=["-num_tickets", "1000000"])
        ports["endless TLS 1.3 NewSessionTickets"] = tickets.port
        proxy = stack.enter_context(child_tcp_server(
            h.fragmenting_proxy((server.host, server.port)), name="fragmenting proxy"))
        ports["handshake split over hundreds of records"] = proxy.port
        ports["normal"] = server.port
        targets = [Target(host="127.0.0.1", port=port, sni="localhost", name=label)
                   for label, port in ports.items()]

        # per_address is raised because every target shares 127.0.0.1 here; in a real sweep
        # they are different load balancers.
        records = scan_targets(targets, timeout=TIMEOUT, per_address=128, concurrency=128,
                               probes=PROBES_UNDER_TEST)

    by_name = {record.target.name: record for record in records}
    assert len(records) == len(targets) and set(by_name) == set(ports)
    problems = []
    for label, behaviour in BEHAVIOURS.items():
        record = by_name[label]
        error = error_at(record, behaviour.where)
        if (error is None or error.kind is not behaviour.kind
                or behaviour.detail not in error.detail or error.alert != behaviour.alert):
            problems.append(f"{label}: expected {behaviour.kind.value} with "
                            f"{behaviour.detail!r}, got {error!r}")
    assert not problems, "\n".join(problems)

    renegotiation = error_at(by_name["renegotiates forever"], "record")
    assert renegotiation is not None and renegotiation.kind is ErrorKind.message_flood
    assert "the server renegotiated 8 times on one connection" in renegotiation.detail
    tickets_error = error_at(by_name["endless TLS 1.3 NewSessionTickets"], "probe")
    assert tickets_error is not None and tickets_error.kind is ErrorKind.message_flood
    assert "(new_session_ticket x" in tickets_error.detail
    tls13 = by_name["endless TLS 1.3 NewSessionTickets"].client_auth
    assert tls13 is not None and tls13.tls1_3 is not None
    assert tls13.tls1_3.handshake.completed and tls13.tls1_3.without_certificate is None
    assert tls13.tls1_3.handshake.transcript_truncated

    # Legal but unusual: every plaintext handshake byte in its own record.
    assert_normal(by_name["handshake split over hundreds of records"], ca_name)
    assert "re-cut a 1" in proxy.log()
    assert_normal(by_name["normal"], ca_name)

    slow = {r.target.name: r.duration_ms for r in records if r.duration_ms > DURATION_LIMIT_MS}
    assert not slow, f"over the {TIMEOUT}s connection deadline: {slow}"
    flood = by_name["endless HelloRequests"]
    assert flood.error is not None and flood.stats.connections == 2


def test_a_broken_server_is_not_mistaken_for_one_that_requires_a_certificate() -> None:
    """A timeout or a malformed message after the ServerHello says nothing about client
    certificates; only an alert or a close after a CertificateRequest does."""
    with child_tcp_server(h.server_hello_then_silence) as silent, \
            child_tcp_server(h.lying_certificate_request()) as lying:
        records = scan_targets([Target(host="127.0.0.1", port=p, sni="localhost")
                                for p in (silent.port, lying.port)], timeout=1.0,
                               probes=PROBES_UNDER_TEST)
    for record in records:
        assert record.status == "error" and record.client_auth is None


def run_engine(port: int, **offer: object) -> tuple[ErrorInfo | None, list[str]]:
    """One TLS 1.2 handshake through the engine, without a probe in between."""

    async def main() -> tuple[ErrorInfo | None, list[str]]:
        session = EndpointSession(Address(socket.AF_INET, "127.0.0.1", port), "localhost",
                                  contexts=ContextFactory(), limits=ConnectionLimits(4, 4),
                                  timeout=TIMEOUT)
        result = await session.handshake(session.offer(TLSVersion.TLSv1_2, **offer))
        return (result.failure.info() if result.failure else None,
                [m.name for m in result.transcript])

    return trio.run(main)


@pytest.mark.parametrize(("handler", "detail"), [
    (h.malformed_certificate_status(length=4000),
     "certificate_status is malformed: CertificateStatus response: length field says 4000"),
    (h.malformed_certificate_status(status_type=7, length=None),
     "OpenSSL: unsupported status type"),
    (h.malformed_certificate_status(response=b"\x30\x03not DER", length=None),
     "bad certificate status response"),
], ids=["response length lies", "unknown status type", "response is not DER"])
def test_malformed_stapled_ocsp_response(handler: Callable[..., None], detail: str) -> None:
    with child_tcp_server(handler) as server:
        error, transcript = run_engine(server.port, request_ocsp=True)
    assert error is not None and error.kind is ErrorKind.malformed_handshake, error
    assert detail in error.detail
    assert "certificate_status" in transcript


def test_target_budget_bounds_the_whole_target() -> None:
    with child_tcp_server(tarpit_handler) as server:
        (record,) = scan_targets([Target(host="127.0.0.1", port=server.port)],
                                 timeout=30.0, target_timeout=1.0)
    assert record.error is not None and record.error.kind is ErrorKind.timeout
    assert "within its 1s budget (--target-timeout)" in record.error.detail
    assert record.duration_ms < 5000


def test_memory_stays_bounded_under_floods() -> None:
    """Floods and oversized messages cost a bounded amount of memory, whatever the peer sends.

    tracemalloc sees Python allocations (the capture, transcripts, records); OpenSSL's own
    buffers are bounded by its message-size limits, checked by the message_too_large case.
    """
    handlers = [h.hello_request_flood, h.warning_alert_flood, h.tls12_ticket_flood(),
                h.huge_certificate(), h.oversized_later_record, h.drip]
    with contextlib.ExitStack() as stack:
        ports = [stack.enter_context(child_tcp_server(handler)).port for handler in handlers]
        ports.append(stack.enter_context(h.renegotiating_server()).port)
        tracemalloc.start()
        try:
            # A longer connection deadline than the other cases: memory is the question here,
            # and a starved scanner (tracemalloc, six peers flooding from their own processes)
            # must still see eight renegotiations inside one connection to call it a flood.
            records = scan_targets([Target(host="127.0.0.1", port=p) for p in ports],
                                   timeout=FLOOD_TIMEOUT, per_address=64,
                                   probes=PROBES_UNDER_TEST)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    unexpected = [(record.target.port, record.status, record.error, record.probe_errors)
                  for record in records if record.status != "error"]
    assert not unexpected
    assert peak < 8 * 2**20, f"peak Python memory {peak / 2**20:.1f} MiB"
