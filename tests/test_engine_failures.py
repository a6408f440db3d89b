"""Naming a failed connection from its evidence (engine/failures.py), without a network.

The real-server tests show these details end to end; here every row of the classification
tables, and each way of explaining a failure, is pinned down with fed transcripts.
"""

from __future__ import annotations

import pytest
from OpenSSL import SSL

from scanner import wire
from scanner.engine import failures
from scanner.engine.failures import Evidence
from scanner.offers.offer import ClientOffer
from scanner.results import ErrorKind
from scanner.wire import AlertDescription, ContentType, HandshakeType, TLSVersion


def ssl_error(*reasons: str) -> SSL.Error:
    return SSL.Error([("SSL routines", "", reason) for reason in reasons])


def evidence(*messages: tuple[str, int, bytes], received_bytes: int | None = 100,
             records: wire.RecordTracker | None = None, completed: bool = False,
             offer: ClientOffer | None = None) -> Evidence:
    transcript = wire.Transcript()
    for direction, content_type, data in messages:
        transcript.feed(direction, content_type, TLSVersion.TLSv1_2, data)  # type: ignore[arg-type]
    return Evidence(transcript=transcript, offer=offer or ClientOffer(), completed=completed,
                    received_bytes=received_bytes, records=records)


def alert(description: int, level: int = 2) -> bytes:
    return bytes([level, description])


def hello(version: TLSVersion) -> bytes:
    body = version.to_bytes(2, "big") + bytes(32) + b"\x00" + b"\x00\x9c\x00"
    return bytes([HandshakeType.server_hello]) + len(body).to_bytes(3, "big") + body


@pytest.mark.parametrize(("reason", "kind"), sorted(failures.REASON_KINDS.items()))
def test_every_reason_string_names_its_kind(reason: str, kind: ErrorKind) -> None:
    assert failures.classify([reason.upper()], AlertDescription.decode_error) is kind


@pytest.mark.parametrize(("sent", "kind"), sorted(failures.SENT_ALERT_KINDS.items()))
def test_our_alert_names_the_kind_when_openssl_gives_no_known_reason(
        sent: int, kind: ErrorKind) -> None:
    assert failures.classify(["some new reason"], sent) is kind


@pytest.mark.parametrize("sent", [None, AlertDescription.handshake_failure, 250])
def test_anything_else_is_a_protocol_error(sent: int | None) -> None:
    assert failures.classify([], sent) is ErrorKind.protocol_error


def test_openssl_reasons_are_distinct_and_ordered() -> None:
    error = ssl_error("bad length", "excessive message size", "bad length")
    assert failures.openssl_reasons(error) == ["bad length", "excessive message size"]
    assert failures.openssl_reasons(SSL.Error("plain text")) == ["plain text"]
    assert failures.openssl_reasons(SSL.Error()) == []


def test_a_fatal_alert_from_the_server_wins() -> None:
    seen = evidence(("received", ContentType.alert, alert(AlertDescription.unknown_ca)))
    failure = failures.tls_failure(ssl_error("excessive message size"), seen)
    assert (failure.kind, failure.detail, failure.alert) == (
        ErrorKind.handshake_failure, "the server sent a fatal unknown_ca alert", "unknown_ca")
    after = evidence(("received", ContentType.alert, alert(AlertDescription.unknown_ca)),
                     completed=True)
    assert failures.tls_failure(ssl_error(), after).kind is ErrorKind.protocol_error


def test_a_warning_alert_counts_only_when_openssl_says_nothing_precise() -> None:
    warning = ("received", ContentType.alert, alert(AlertDescription.unrecognized_name, 1))
    vague = failures.tls_failure(ssl_error("sslv3 alert"), evidence(warning))
    assert vague.detail == "the server sent a warning unrecognized_name alert"
    precise = failures.tls_failure(ssl_error("unexpected message"), evidence(warning))
    assert precise.kind is ErrorKind.unexpected_message
    assert precise.detail == ("the server sent a message after alert:unrecognized_name, which "
                              "the protocol does not allow there (OpenSSL: unexpected message)")


def test_a_malformed_message_is_named_with_the_parser_s_reason() -> None:
    broken = bytes([HandshakeType.certificate_request]) + b"\x00\x00\x01\x05"
    seen = evidence(("received", ContentType.handshake, broken),
                    ("sent", ContentType.alert, alert(AlertDescription.decode_error)))
    failure = failures.tls_failure(ssl_error("some reason"), seen)
    assert failure.kind is ErrorKind.malformed_handshake
    assert failure.detail.startswith("the server's certificate_request is malformed: ")
    assert failure.detail.endswith(" (OpenSSL: some reason)")
    nothing = failures.tls_failure(ssl_error("bad length"), evidence())
    assert nothing.detail == ("a handshake message from the server does not decode "
                              "(OpenSSL: bad length)")


def test_a_message_refused_on_its_header_is_named_from_the_record_layer() -> None:
    tracker = wire.RecordTracker()
    tracker.feed(bytes([ContentType.handshake, 3, 3, 0, 4, HandshakeType.certificate,
                        0x01, 0x00, 0x00]))
    failure = failures.tls_failure(ssl_error("excessive message size"),
                                   evidence(records=tracker))
    assert failure.detail == ("the server's certificate message declares 65536 bytes, more "
                              "than the client accepts (OpenSSL: excessive message size)")


def test_versions_are_explained_against_the_offer() -> None:
    offer = ClientOffer(min_version=TLSVersion.TLSv1_2, max_version=TLSVersion.TLSv1_3)
    older = evidence(("received", ContentType.handshake, hello(TLSVersion.TLSv1_0)),
                     offer=offer)
    failure = failures.tls_failure(ssl_error("unsupported protocol"), older)
    assert failure.detail == ("the server answered an offer of TLSv1.2 to TLSv1.3 with "
                              "TLSv1.0, an older version (OpenSSL: unsupported protocol)")
    none = failures.tls_failure(ssl_error("wrong ssl version"), evidence(offer=ClientOffer(
        min_version=TLSVersion.TLSv1_3, max_version=TLSVersion.TLSv1_3)))
    assert none.detail.startswith("the server chose a protocol version outside the offer "
                                  "(TLSv1.3)")


@pytest.mark.parametrize(("received", "detail"), [
    (0, "the server accepted the TCP connection, then closed it without a byte"),
    (1, "the server closed the connection during the handshake without an alert; it had "
        "sent 1 byte"),
])
def test_closes_say_how_far_the_server_got(received: int, detail: str) -> None:
    failure = failures.closed_failure(None, evidence(received_bytes=received))
    assert (failure.kind, failure.detail) == (ErrorKind.connection_closed, detail)
    assert failures.closed_failure("", evidence()).detail == "the server closed the connection"


def test_timeouts_and_broken_streams() -> None:
    assert failures.timeout_failure(evidence(received_bytes=None)).detail == (
        "the server accepted the TCP connection but sent nothing before the deadline")
    seen = evidence(("received", ContentType.handshake, hello(TLSVersion.TLSv1_2)),
                    received_bytes=80)
    assert failures.timeout_failure(seen).detail == (
        "unfinished at the connection deadline (--timeout); the server had sent 80 bytes "
        "(last message: server_hello)")
    reset = failures.stream_failure(ConnectionResetError(), seen)
    assert (reset.kind, reset.detail) == (
        ErrorKind.connection_reset, "the server reset the connection (TCP RST); it had sent "
        "80 bytes (last message: server_hello)")
    assert failures.stream_failure(BrokenPipeError(), seen).kind is ErrorKind.connection_closed


def test_floods_name_the_most_common_messages() -> None:
    request = bytes([HandshakeType.hello_request, 0, 0, 0])
    seen = evidence(*[("received", ContentType.handshake, request)] * 3,
                    ("received", ContentType.alert, b"\x01"))
    failure = failures.flood_failure(seen.transcript, server_hellos=1, max_handshakes=8,
                                     max_messages=3)
    assert failure.detail == ("the server sent over 3 messages on one connection "
                              "(hello_request x3, alert x1, ...); no legitimate handshake "
                              "needs that many")
    renegotiations = failures.flood_failure(seen.transcript, server_hellos=9,
                                            max_handshakes=8, max_messages=3)
    assert renegotiations.detail.startswith("the server renegotiated 8 times")
