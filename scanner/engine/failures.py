"""Naming why a TLS connection failed, from what it had exchanged when it did.

A failed connection leaves evidence: the bytes and messages received, the alerts both sides
sent, OpenSSL's reason strings, the record headers seen before OpenSSL refused one. These
functions turn that evidence into an ``ErrorKind`` and a detail a person can act on ("the
server's CertificateRequest is malformed: ..."), so the connection itself only drives I/O.
They read, never change, what they are given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import trio
from OpenSSL import SSL

from scanner import wire
from scanner.engine.errors import ScanFailure
from scanner.offers.offer import ClientOffer
from scanner.results import ErrorKind

__all__ = [
    "REASON_KINDS",
    "SENT_ALERT_KINDS",
    "Evidence",
    "classify",
    "closed_failure",
    "flood_failure",
    "last_received",
    "message_name",
    "openssl_reasons",
    "stream_failure",
    "timeout_failure",
    "tls_failure",
]

# OpenSSL reason strings that say precisely what the server did wrong. Checked first because
# the alert OpenSSL sends is coarser (a too-large message gets illegal_parameter).
REASON_KINDS: Mapping[str, ErrorKind] = MappingProxyType({
    "excessive message size": ErrorKind.message_too_large,
    "too many warn alerts": ErrorKind.message_flood,
    "too many key updates": ErrorKind.message_flood,
    "data length too long": ErrorKind.record_overflow,
    "encrypted length too long": ErrorKind.record_overflow,
    "packet length too long": ErrorKind.record_overflow,
    "unsupported protocol": ErrorKind.wrong_version,
    "wrong ssl version": ErrorKind.wrong_version,
    "version too low": ErrorKind.wrong_version,
    "version too high": ErrorKind.wrong_version,
    "unexpected message": ErrorKind.unexpected_message,
    "unexpected record": ErrorKind.unexpected_message,
    "bad record type": ErrorKind.unexpected_message,
    "unsolicited extension": ErrorKind.unexpected_message,
    "ccs received early": ErrorKind.unexpected_message,
    "length mismatch": ErrorKind.malformed_handshake,
    "ca dn length mismatch": ErrorKind.malformed_handshake,
    "bad packet": ErrorKind.malformed_handshake,
    "bad length": ErrorKind.malformed_handshake,
    "record too small": ErrorKind.malformed_handshake,
    "bad extension": ErrorKind.malformed_handshake,
})

# Otherwise the alert our own OpenSSL sent names the class of problem (RFC 8446 6.2).
SENT_ALERT_KINDS: Mapping[int, ErrorKind] = MappingProxyType({
    wire.AlertDescription.record_overflow: ErrorKind.record_overflow,
    wire.AlertDescription.decode_error: ErrorKind.malformed_handshake,
    wire.AlertDescription.illegal_parameter: ErrorKind.malformed_handshake,
    wire.AlertDescription.bad_certificate: ErrorKind.malformed_handshake,
    wire.AlertDescription.bad_certificate_status_response: ErrorKind.malformed_handshake,
    wire.AlertDescription.unexpected_message: ErrorKind.unexpected_message,
    wire.AlertDescription.protocol_version: ErrorKind.wrong_version,
})


@dataclass(frozen=True)
class Evidence:
    """What one connection had exchanged when it failed.

    ``received_bytes`` is None when the connection never had a stream; ``records`` follows
    the record layer of what the server sent.
    """

    transcript: wire.Transcript
    offer: ClientOffer
    completed: bool
    received_bytes: int | None
    records: wire.RecordTracker | None

    @property
    def progress(self) -> str:
        """What the server had sent: "nothing" or bytes and the last message, for details."""
        received = self.received_bytes or 0
        if received == 0:
            return "nothing"
        last = last_received(self.transcript)
        return _plural(received, "byte") + (f" (last message: {last})" if last else "")


def classify(reasons: list[str], sent_alert: int | None) -> ErrorKind:
    """The kind of a TLS failure: OpenSSL's reason strings first, then the alert it sent."""
    for reason in reasons:
        kind = REASON_KINDS.get(reason.lower())
        if kind is not None:
            return kind
    if sent_alert is None:
        return ErrorKind.protocol_error
    return SENT_ALERT_KINDS.get(sent_alert, ErrorKind.protocol_error)


def openssl_reasons(error: SSL.Error) -> list[str]:
    """The distinct reason strings of an OpenSSL error queue, in order."""
    reasons = []
    for entry in error.args[0] if error.args and isinstance(error.args[0], list) else []:
        if isinstance(entry, tuple) and entry and str(entry[-1]) not in reasons:
            reasons.append(str(entry[-1]))
    return reasons or ([str(error)] if str(error) else [])


def message_name(message: wire.TranscriptMessage) -> str:
    """A short name for details: the handshake type, ``alert:<name>``, or the record type."""
    if message.content_type == wire.ContentType.handshake and message.msg_type is not None:
        return wire.name_for(wire.HANDSHAKE_TYPES, message.msg_type, width=2)
    if message.content_type == wire.ContentType.alert:
        return f"alert:{message.alert.name}" if message.alert is not None else "alert"
    return "change_cipher_spec"


def last_received(transcript: wire.Transcript) -> str | None:
    message = next((m for m in reversed(transcript) if m.direction == "received"), None)
    return message_name(message) if message else None


def stream_failure(exc: BaseException, evidence: Evidence) -> ScanFailure:
    """A send or receive on the socket failed."""
    cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
    if isinstance(cause, BrokenPipeError):
        return ScanFailure(ErrorKind.connection_closed, "the server closed the connection; "
                           f"it had sent {evidence.progress}")
    if isinstance(cause, ConnectionResetError):
        detail = "the server reset the connection (TCP RST)"
    else:
        detail = f"the connection broke ({cause or exc})"
    return ScanFailure(ErrorKind.connection_reset, f"{detail}; it had sent {evidence.progress}")


def closed_failure(detail: str | None, evidence: Evidence) -> ScanFailure:
    """The server closed the stream; ``detail`` says what that means here (None: in the
    handshake, "": a plain close)."""
    if detail is not None:
        return ScanFailure(ErrorKind.connection_closed,
                           detail or "the server closed the connection")
    if evidence.received_bytes == 0:
        detail = "the server accepted the TCP connection, then closed it without a byte"
    else:
        detail = ("the server closed the connection during the handshake without an "
                  f"alert; it had sent {evidence.progress}")
    return ScanFailure(ErrorKind.connection_closed, detail)


def timeout_failure(evidence: Evidence) -> ScanFailure:
    if not evidence.received_bytes:
        detail = "the server accepted the TCP connection but sent nothing before the deadline"
    else:
        detail = ("unfinished at the connection deadline (--timeout); the server had sent "
                  + evidence.progress)
    return ScanFailure(ErrorKind.timeout, detail)


def flood_failure(transcript: wire.Transcript, *, server_hellos: int, max_handshakes: int,
                  max_messages: int) -> ScanFailure:
    """The server sent more handshakes or messages than any legitimate connection has."""
    if server_hellos > max_handshakes:
        return ScanFailure(
            ErrorKind.message_flood,
            f"the server renegotiated {server_hellos - 1} times on one "
            "connection and kept going; no legitimate server needs that many",
        )
    counts = Counter(message_name(m) for m in transcript if m.direction == "received")
    common = ", ".join(f"{name} x{count}" for name, count in counts.most_common(3))
    return ScanFailure(
        ErrorKind.message_flood,
        f"the server sent over {max_messages} messages on one connection "
        f"({common}, ...); no legitimate handshake needs that many",
    )


def tls_failure(error: SSL.Error, evidence: Evidence) -> ScanFailure:
    """OpenSSL gave up on the connection: the server's fatal alert, or what went wrong."""
    received = evidence.transcript.alerts("received")
    alert = received[-1].alert if received else None
    reasons = openssl_reasons(error)
    sent = evidence.transcript.alerts("sent")
    sent_alert = sent[0].alert if sent else None
    kind = classify(reasons, sent_alert.description if sent_alert else None)
    # A fatal alert from the server ends the connection; warnings do only when OpenSSL
    # says nothing more precise (TLS 1.3 makes every alert but close_notify fatal).
    if alert is not None and (alert.is_fatal or kind is ErrorKind.protocol_error):
        return ScanFailure(
            ErrorKind.handshake_failure if not evidence.completed
            else ErrorKind.protocol_error,
            f"the server sent a {alert.level_name} {alert.name} alert",
            alert=alert.name,
        )
    openssl = f" (OpenSSL: {'; '.join(reasons) or 'no reason given'})"
    return ScanFailure(kind, _explain(kind, evidence) + openssl)


def _explain(kind: ErrorKind, evidence: Evidence) -> str:
    """What went wrong, in the terms of the message involved."""
    if kind is ErrorKind.malformed_handshake:
        last = next((m for m in reversed(evidence.transcript)
                     if m.direction == "received" and m.msg_type is not None), None)
        if last is not None and last.parse_error:
            return f"the server's {last.name} is malformed: {last.parse_error}"
        if last is not None:
            return f"the server's {last.name} does not decode or carries forbidden values"
        return "a handshake message from the server does not decode"
    if kind is ErrorKind.wrong_version:
        return _explain_version(evidence)
    pending = _rejected_before_capture(evidence)
    if kind is ErrorKind.message_too_large:
        if pending is not None:
            return (f"the server's {pending.name} message declares {pending.length} bytes, "
                    "more than the client accepts")
        return "a handshake message from the server is larger than the client accepts"
    if kind is ErrorKind.unexpected_message:
        what = pending.name if pending is not None else "a message"
        previous = last_received(evidence.transcript)
        where = f" after {previous}" if previous else ""
        return f"the server sent {what}{where}, which the protocol does not allow there"
    if kind is ErrorKind.message_flood:
        return (f"the server kept sending messages without progress (last: {previous})"
                if (previous := last_received(evidence.transcript)) else
                "the server kept sending messages without progress")
    if kind is ErrorKind.record_overflow:
        record = evidence.records.last_record if evidence.records else None
        size = f" ({record.length} bytes)" if record is not None else ""
        return f"a record from the server{size} is longer than the protocol allows"
    return f"the TLS connection failed; the server had sent {evidence.progress}"


def _explain_version(evidence: Evidence) -> str:
    hello = evidence.transcript.server_hello
    offer = evidence.offer
    offered = (offer.min_version.label if offer.min_version == offer.max_version
               else f"{offer.min_version.label} to {offer.max_version.label}")
    if hello is None:
        return f"the server chose a protocol version outside the offer ({offered})"
    chosen = hello.selected_version_name
    if hello.selected_version < offer.min_version:
        return f"the server answered an offer of {offered} with {chosen}, an older version"
    return (f"the server chose {chosen}, which was not offered ({offered}): a protocol "
            "violation")


def _rejected_before_capture(evidence: Evidence) -> wire.HandshakeHeader | None:
    """The plaintext handshake message OpenSSL refused before reporting it, if known.

    OpenSSL reports each message it accepts to the capture; a message refused on its header
    (too large, out of order) never gets there, so it is the first plaintext message the
    record tracker saw beyond the captured ones.
    """
    if evidence.records is None:
        return None
    accepted = sum(1 for m in evidence.transcript
                   if m.direction == "received" and m.content_type == wire.ContentType.handshake)
    headers = evidence.records.handshake_headers
    return headers[accepted] if accepted < len(headers) else None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
