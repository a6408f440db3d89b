"""Which view a fact comes from: did its handshakes present the user's client certificate,
and was a handshake turned down only because none was presented?

Probes that need a completed handshake present the user's certificate (inventory
``client_cert``, ``--client-cert``) when there is one; these functions read the transcript
to say what actually happened, so a record never guesses.
"""

from __future__ import annotations

from collections.abc import Iterable

from scanner import wire
from scanner.engine.handshake import AfterHandshake, HandshakeResult
from scanner.results import ErrorKind, NotMeasured

__all__ = ["certificate_presented", "not_measured", "presented_in", "rejected_without_certificate"]


def certificate_presented(result: HandshakeResult) -> bool | None:
    """Whether this connection sent a non-empty client Certificate; None without a
    ServerHello (nothing was asked yet)."""
    if result.server_hello is None:
        return None
    for message in result.transcript:
        if message.direction == "sent" and message.msg_type == wire.HandshakeType.certificate:
            parsed = message.handshake.parsed if message.handshake else None
            if isinstance(parsed, wire.CertificateMessage) and parsed.certificates:
                return True
    return False


def presented_in(results: Iterable[HandshakeResult | None]) -> bool | None:
    """For a facet: True if any of its handshakes presented the user's certificate, False if
    some reached the server and none did, None if none reached it."""
    seen = [certificate_presented(r) for r in results if r is not None]
    known = [s for s in seen if s is not None]
    return any(known) if known else None


def rejected_without_certificate(result: HandshakeResult) -> bool:
    """The server asked for a client certificate, got none, and ended the connection: in the
    handshake (alert or close) or right after it (TLS 1.3 servers judge after our Finished)."""
    if not result.certificate_requested or certificate_presented(result):
        return False
    if not result.completed:
        failure = result.failure
        return failure is not None and (failure.alert is not None or failure.kind in (
            ErrorKind.connection_closed, ErrorKind.connection_reset, ErrorKind.handshake_failure))
    return result.after_handshake in (AfterHandshake.alert, AfterHandshake.closed)


def not_measured(result: HandshakeResult) -> NotMeasured | None:
    """``client_certificate_required`` when ``result`` was turned down for want of a client
    certificate (give one with client_cert / --client-cert to measure what it hides)."""
    return NotMeasured.client_certificate_required if rejected_without_certificate(result) \
        else None
