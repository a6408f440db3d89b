"""One full TLS handshake with pyOpenSSL over a trio stream, using memory BIOs.

OpenSSL never touches the socket: we move bytes between its BIOs and the trio stream, so every
wait is a trio checkpoint under a deadline, and every message it handles is captured in
plaintext (see ``capture``) and parsed by the sans-IO ``wire`` package into a transcript.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeVar

import trio
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from OpenSSL._util import lib

from scanner import wire
from scanner.engine import capture
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.offers.offer import ClientOffer
from scanner.results import ErrorKind

# One maximal record per read: a flood of tiny records is cut off after a few thousand of
# them, and each read blocks the event loop only briefly while OpenSSL digests it.
_RECEIVE_CHUNK = 2**14 + 2048 + 5
_SNIFF_BYTES = 3  # content type and version: enough to tell TLS from a banner
_DESCRIBE_BYTES = 64
_T = TypeVar("_T")
_CONTENT_ALERT = 21
_CONTENT_HANDSHAKE = 22
_SERVER_HELLO = 2
_CERTIFICATE_REQUEST = 13


@dataclass(frozen=True)
class TranscriptMessage:
    """One captured message, parsed; ``parse_error`` says why ``parsed`` is missing."""

    direction: Literal["sent", "received"]
    content_type: int
    length: int
    after_handshake: bool
    msg_type: int | None = None  # handshake type, known even when the body failed to parse
    handshake: wire.HandshakeMessage | None = None
    alert: wire.Alert | None = None
    parse_error: str | None = None

    @property
    def name(self) -> str:
        if self.handshake is not None:
            return self.handshake.name
        if self.msg_type is not None:
            return wire.name_for(wire.HANDSHAKE_TYPES, self.msg_type, width=2)
        if self.alert is not None:
            return f"alert:{self.alert.name}"
        return "change_cipher_spec" if self.content_type == 20 else "unparsed"


class AfterHandshake(StrEnum):
    """What the server did in the short wait after our side finished the handshake."""

    quiet = "quiet"
    alert = "alert"
    closed = "closed"
    application_data = "application_data"
    failed = "failed"  # the connection broke in another way (flood, malformed message...)
    not_read = "not_read"


@dataclass
class HandshakeResult:
    offer: ClientOffer
    completed: bool = False
    version: int | None = None
    cipher: str | None = None
    group: str | None = None
    alpn: str | None = None
    transcript: list[TranscriptMessage] = field(default_factory=list)
    failure: ScanFailure | None = None
    after_handshake: AfterHandshake = AfterHandshake.not_read
    application_data: bytes = b""
    peer_chain_der: list[bytes] = field(default_factory=list)
    session: SSL.Session | None = None
    session_reused: bool = False
    duration_s: float = 0.0
    transcript_truncated: bool = False

    def received(self, msg_type: int) -> Iterator[wire.HandshakeMessage]:
        """Handshake messages of one type the server sent, in order."""
        for message in self.transcript:
            if (message.direction == "received" and message.handshake is not None
                    and message.handshake.msg_type == msg_type):
                yield message.handshake

    @property
    def server_hello(self) -> wire.ServerHello | None:
        for message in self.received(_SERVER_HELLO):
            hello = message.parsed
            if isinstance(hello, wire.ServerHello) and not hello.is_hello_retry_request:
                return hello
        return None

    def alerts(self, direction: Literal["sent", "received"]) -> list[TranscriptMessage]:
        return [m for m in self.transcript if m.alert is not None and m.direction == direction]

    @property
    def alert_received(self) -> TranscriptMessage | None:
        received = self.alerts("received")
        return received[0] if received else None

    @property
    def alert_sent(self) -> TranscriptMessage | None:
        sent = self.alerts("sent")
        return sent[0] if sent else None

    @property
    def certificate_requested(self) -> bool:
        return any(True for _ in self.received(_CERTIFICATE_REQUEST))

    @property
    def answered(self) -> bool:
        """The server answered this offer in a way a probe can report.

        It got as far as a ServerHello and then finished the handshake, refused with an alert,
        closed after asking for a client certificate, or chose an older protocol version than
        offered. A broken or hostile peer (silence, garbage, floods, lying lengths) has not.
        """
        failure = self.failure
        if failure is None:
            return True
        hello = self.server_hello
        if hello is None:
            return False
        if self.alert_received is not None:
            return True
        if failure.kind in (ErrorKind.connection_closed, ErrorKind.connection_reset):
            return self.certificate_requested
        return (failure.kind is ErrorKind.wrong_version
                and hello.selected_version < int(self.offer.min_version))

    @property
    def refused(self) -> bool:
        """The server turned this offer down before any ServerHello (alert, close or reset)."""
        return (self.failure is not None and self.server_hello is None
                and self.failure.kind in (ErrorKind.handshake_failure,
                                          ErrorKind.connection_closed,
                                          ErrorKind.connection_reset))


class _Pump:
    """Moves bytes between a pyOpenSSL memory-BIO connection and a trio stream.

    Incoming bytes are checked before OpenSSL buffers them: the first ones must look like TLS,
    and no record may declare more than any TLS version allows.
    """

    def __init__(self, connection: SSL.Connection, stream: trio.abc.Stream) -> None:
        self.connection = connection
        self.stream = stream
        self.received_bytes = 0
        self.first_bytes = b""
        self.records = wire.RecordTracker()

    async def flush(self) -> None:
        while True:
            try:
                data = self.connection.bio_read(_RECEIVE_CHUNK)
            except SSL.WantReadError:
                return
            if not data:
                return
            await self.stream.send_all(data)

    async def fill(self) -> bool:
        """Feed the next chunk from the peer to OpenSSL; False at end of stream."""
        data = await self.stream.receive_some(_RECEIVE_CHUNK)
        if not data:
            self.connection.bio_shutdown()
            return False
        if len(self.first_bytes) < _SNIFF_BYTES:
            self.first_bytes = (self.first_bytes + data)[:_DESCRIBE_BYTES]
            # Content type and version decide; a lying length is a record_overflow below.
            if not wire.looks_like_tls(self.first_bytes[:_SNIFF_BYTES]):
                raise ScanFailure(
                    ErrorKind.not_tls,
                    "the peer does not speak TLS; it sent "
                    + wire.describe_non_tls(self.first_bytes),
                )
        self.received_bytes += len(data)
        try:
            self.records.feed(data)
        except wire.WireError as exc:
            raise ScanFailure(ErrorKind.record_overflow, f"the server's {exc}") from None
        self.connection.bio_write(data)
        return True


class TLSConnection:
    """One client TLS connection over a trio stream, for probes that need more than a handshake.

    Every operation runs under the connection's deadline and turns network and TLS failures
    into ``ScanFailure`` recorded in ``result``; ``result.transcript`` is kept up to date with
    the parsed messages after each operation.
    """

    def __init__(
        self,
        stream: trio.abc.Stream | None,
        contexts: ContextFactory,
        offer: ClientOffer,
        *,
        deadline: float,
        session: SSL.Session | None = None,
        failure: ScanFailure | None = None,
    ) -> None:
        self.result = HandshakeResult(offer=offer, failure=failure)
        self.deadline = deadline
        self._started = time.perf_counter()
        self.ssl = SSL.Connection(contexts.context_for(offer), None)
        self.ssl.set_connect_state()
        if offer.sni:
            self.ssl.set_tlsext_host_name(offer.sni.encode("idna"))
        if offer.alpn:  # per connection: probes vary it, and contexts are costly to build
            self.ssl.set_alpn_protos([protocol.encode() for protocol in offer.alpn])
        if offer.request_ocsp:
            self.ssl.request_ocsp()
        if session is not None:
            self.ssl.set_session(session)
        self._capture = capture.attach(self.ssl)
        self._pump = _Pump(self.ssl, stream) if stream is not None else None
        self._closed = False

    async def handshake(self) -> HandshakeResult:
        """Run the handshake; failures are recorded in the result, never raised."""
        if self._pump is None or self.result.failure is not None:
            return self.close()
        try:
            with trio.move_on_at(self.deadline):
                await self._drive(self.ssl.do_handshake, closed_detail=None)
                self.result.completed = True
            if not self.result.completed:
                raise self._timeout_failure()
            self._capture.handshake_done = True
            _describe_session(self.ssl, self.result)
        except ScanFailure as failure:
            self.result.failure = failure
        self._refresh()
        return self.result

    async def read_after_handshake(self, seconds: float) -> AfterHandshake:
        """Read for a bounded time after the handshake, to see what the server does unasked.

        TLS 1.3 servers reject a missing client certificate only after the client's Finished,
        and send NewSessionTicket messages at that time too.
        """
        result = self.result
        if not result.completed or self._pump is None:
            return result.after_handshake
        result.after_handshake = AfterHandshake.quiet
        try:
            data = await self.receive(until=min(self.deadline, trio.current_time() + seconds))
        except ScanFailure as failure:
            if failure.kind in (ErrorKind.connection_reset, ErrorKind.connection_closed):
                result.after_handshake = AfterHandshake.closed
            else:
                result.after_handshake = (AfterHandshake.alert if failure.alert
                                          else AfterHandshake.failed)
                result.failure = failure
        else:
            if data is None:
                result.after_handshake = AfterHandshake.quiet
            elif data:
                result.after_handshake = AfterHandshake.application_data
                result.application_data = data[:4096]
            else:
                result.after_handshake = AfterHandshake.closed
        # TLS 1.3 tickets arrive now, and OpenSSL replaces its session object with each one:
        # only the latest session can resume.
        result.session = self.ssl.get_session()
        self._refresh()
        return result.after_handshake

    async def renegotiate(self) -> None:
        """Start a client-initiated renegotiation (TLS 1.2 and below) and run it to the end.

        Returns when the second handshake completed. Raises ScanFailure when it did not: the
        server's alert (also in the transcript), a close or reset, or no answer by the
        connection deadline (``ErrorKind.timeout``).
        """
        assert self._pump is not None and self.result.completed, "handshake first"
        if not self.ssl.renegotiate():
            raise ScanFailure(ErrorKind.protocol_error,
                              "OpenSSL would not start a renegotiation on this connection")
        try:
            with trio.move_on_at(self.deadline) as scope:
                await self.drive(self.ssl.do_handshake, closed_detail=(
                    "the server closed the connection during the renegotiation"))
        except SSL.ZeroReturnError:
            raise ScanFailure(ErrorKind.connection_closed,
                              "the server closed the connection (close_notify) during the "
                              "renegotiation") from None
        finally:
            self._refresh()
        if scope.cancelled_caught:
            raise ScanFailure(ErrorKind.timeout,
                              "no answer to the renegotiation before the connection deadline")

    async def shutdown(self) -> bool:
        """Send close_notify, as a well-behaved client does before closing; never raises.

        Servers such as OpenSSL's drop a session from their cache when the client just
        drops the connection, so resumption tests must end connections this way. False
        when the alert could not be sent (the connection was already broken).
        """
        if self._pump is None or not self.result.completed:
            return False
        with trio.move_on_at(self.deadline):
            try:
                self.ssl.shutdown()
                await self._send()
            except (SSL.Error, ScanFailure):
                return False
            finally:
                self._refresh()
            return True
        return False

    async def send(self, data: bytes) -> None:
        """Send application data (raises ScanFailure, a timeout at the deadline)."""
        assert self._pump is not None and self.result.completed, "handshake first"
        await self.drive(lambda: self.ssl.sendall(data))

    async def receive(self, *, until: float | None = None,
                      max_bytes: int = _RECEIVE_CHUNK) -> bytes | None:
        """The next application data: bytes, b"" when the server closed, None at ``until``
        (or at the connection deadline).

        A TLS alert, a reset or a protocol violation raises ScanFailure (the alert is in the
        transcript).
        """
        assert self._pump is not None, "no connection"
        with trio.move_on_at(min(until or self.deadline, self.deadline)):
            try:
                return await self._drive(lambda: self.ssl.recv(max_bytes), closed_detail="")
            except SSL.ZeroReturnError:
                return b""
            except ScanFailure as failure:
                if failure.kind is ErrorKind.connection_closed:
                    return b""
                raise
            finally:
                self._refresh()
        return None

    async def drive(self, operation: Callable[[], _T], *, closed_detail: str = "") -> _T:
        """Run an OpenSSL operation, moving bytes to and from the peer until it completes.

        Raises ScanFailure on TLS errors (alert names from the capture), resets, closes
        (``closed_detail`` says what a close means here), floods, and a timeout at the
        connection deadline: every byte we wait for counts against the same deadline, so a
        server dripping one byte a second cannot extend it.
        """
        with trio.move_on_at(self.deadline):
            return await self._drive(operation, closed_detail=closed_detail)
        raise self._timeout_failure()

    async def _drive(self, operation: Callable[[], _T], *, closed_detail: str | None) -> _T:
        """``drive`` without the deadline; ``closed_detail=None`` describes a handshake close."""
        assert self._pump is not None, "no connection"
        while True:
            try:
                value = operation()
            except SSL.WantReadError:
                self._check_flood()
                await self._send()
                if not await self._receive():
                    raise self._closed_failure(closed_detail) from None
                continue
            except SSL.ZeroReturnError:
                raise
            except SSL.Error as error:
                await self._send_best_effort()  # let our alert reach the server
                raise self._tls_failure(error) from None
            self._check_flood()
            await self._send()
            return value

    def close(self) -> HandshakeResult:
        """Stop capturing and finish the result (idempotent)."""
        if not self._closed:
            self._closed = True
            self._refresh()
            capture.detach(self.ssl)
            self.result.duration_s = time.perf_counter() - self._started
        return self.result

    def _refresh(self) -> None:
        self.result.transcript = _parse_transcript(self._capture.messages)
        self.result.transcript_truncated = self._capture.truncated

    # --- I/O with failures named ---------------------------------------------------------

    async def _send(self) -> None:
        assert self._pump is not None
        try:
            await self._pump.flush()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise self._stream_failure(exc) from None

    async def _send_best_effort(self) -> None:
        assert self._pump is not None
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            await self._pump.flush()

    async def _receive(self) -> bool:
        assert self._pump is not None
        try:
            return await self._pump.fill()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise self._stream_failure(exc) from None

    # --- naming failures -----------------------------------------------------------------

    def _progress(self) -> str:
        """What the server had sent: "nothing" or bytes and the last message, for details."""
        received = self._pump.received_bytes if self._pump else 0
        if received == 0:
            return "nothing"
        last = self._last_received()
        return _plural(received, "byte") + (f" (last message: {last})" if last else "")

    def _last_received(self) -> str | None:
        message = next((m for m in reversed(self._capture.messages)
                        if m.direction == "received"), None)
        return _message_name(message) if message else None

    def _stream_failure(self, exc: BaseException) -> ScanFailure:
        cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
        if isinstance(cause, BrokenPipeError):
            return ScanFailure(ErrorKind.connection_closed, "the server closed the connection; "
                               f"it had sent {self._progress()}")
        if isinstance(cause, ConnectionResetError):
            detail = "the server reset the connection (TCP RST)"
        else:
            detail = f"the connection broke ({cause or exc})"
        return ScanFailure(ErrorKind.connection_reset, f"{detail}; it had sent {self._progress()}")

    def _closed_failure(self, detail: str | None) -> ScanFailure:
        if detail is not None:
            return ScanFailure(ErrorKind.connection_closed,
                               detail or "the server closed the connection")
        if self._pump is not None and self._pump.received_bytes == 0:
            detail = "the server accepted the TCP connection, then closed it without a byte"
        else:
            detail = ("the server closed the connection during the handshake without an "
                      f"alert; it had sent {self._progress()}")
        return ScanFailure(ErrorKind.connection_closed, detail)

    def _timeout_failure(self) -> ScanFailure:
        self._refresh()
        if self._pump is None or self._pump.received_bytes == 0:
            detail = "the server accepted the TCP connection but sent nothing before the deadline"
        else:
            detail = ("unfinished at the connection deadline (--timeout); the server had sent "
                      + self._progress())
        return ScanFailure(ErrorKind.timeout, detail)

    def _check_flood(self) -> None:
        if not self._capture.flooded:
            return
        if self._capture.server_hellos > capture.MAX_HANDSHAKES:
            raise ScanFailure(
                ErrorKind.message_flood,
                f"the server renegotiated {self._capture.server_hellos - 1} times on one "
                "connection and kept going; no legitimate server needs that many",
            )
        counts = Counter(_message_name(m) for m in self._capture.messages
                         if m.direction == "received")
        common = ", ".join(f"{name} x{count}" for name, count in counts.most_common(3))
        raise ScanFailure(
            ErrorKind.message_flood,
            f"the server sent over {self._capture.max_messages} messages on one connection "
            f"({common}, ...); no legitimate handshake needs that many",
        )

    def _tls_failure(self, error: SSL.Error) -> ScanFailure:
        self._refresh()
        received = self.result.alerts("received")
        alert = received[-1].alert if received else None
        reasons = _openssl_reasons(error)
        sent = self.result.alert_sent
        kind = _classify(reasons, sent.alert.name if sent and sent.alert else None)
        # A fatal alert from the server ends the connection; warnings do only when OpenSSL
        # says nothing more precise (TLS 1.3 makes every alert but close_notify fatal).
        if alert is not None and (alert.is_fatal or kind is ErrorKind.protocol_error):
            return ScanFailure(
                ErrorKind.handshake_failure if not self.result.completed
                else ErrorKind.protocol_error,
                f"the server sent a {alert.level_name} {alert.name} alert",
                alert=alert.name,
            )
        openssl = f" (OpenSSL: {'; '.join(reasons) or 'no reason given'})"
        return ScanFailure(kind, self._explain(kind) + openssl)

    def _explain(self, kind: ErrorKind) -> str:
        """What went wrong, in the terms of the message involved."""
        if kind is ErrorKind.malformed_handshake:
            last = next((m for m in reversed(self.result.transcript)
                         if m.direction == "received" and m.msg_type is not None), None)
            if last is not None and last.parse_error:
                return f"the server's {last.name} is malformed: {last.parse_error}"
            if last is not None:
                return f"the server's {last.name} does not decode or carries forbidden values"
            return "a handshake message from the server does not decode"
        if kind is ErrorKind.wrong_version:
            return self._explain_version()
        pending = self._rejected_before_capture()
        if kind is ErrorKind.message_too_large:
            if pending is not None:
                return (f"the server's {pending.name} message declares {pending.length} bytes, "
                        "more than the client accepts")
            return "a handshake message from the server is larger than the client accepts"
        if kind is ErrorKind.unexpected_message:
            what = pending.name if pending is not None else "a message"
            previous = self._last_received()
            where = f" after {previous}" if previous else ""
            return f"the server sent {what}{where}, which the protocol does not allow there"
        if kind is ErrorKind.message_flood:
            return (f"the server kept sending messages without progress (last: {previous})"
                    if (previous := self._last_received()) else
                    "the server kept sending messages without progress")
        if kind is ErrorKind.record_overflow:
            record = self._pump.records.last_record if self._pump else None
            size = f" ({record.length} bytes)" if record is not None else ""
            return f"a record from the server{size} is longer than the protocol allows"
        return f"the TLS connection failed; the server had sent {self._progress()}"

    def _explain_version(self) -> str:
        hello = self.result.server_hello
        offer = self.result.offer
        offered = (offer.min_version.label if offer.min_version == offer.max_version
                   else f"{offer.min_version.label} to {offer.max_version.label}")
        if hello is None:
            return f"the server chose a protocol version outside the offer ({offered})"
        chosen = hello.selected_version_name
        if hello.selected_version < int(offer.min_version):
            return f"the server answered an offer of {offered} with {chosen}, an older version"
        return (f"the server chose {chosen}, which was not offered ({offered}): a protocol "
                "violation")

    def _rejected_before_capture(self) -> wire.HandshakeHeader | None:
        """The plaintext handshake message OpenSSL refused before reporting it, if known.

        OpenSSL reports each message it accepts to the capture; a message refused on its
        header (too large, out of order) never gets there, so it is the first plaintext
        message the record tracker saw beyond the captured ones.
        """
        if self._pump is None:
            return None
        accepted = sum(1 for m in self._capture.messages
                       if m.direction == "received" and m.content_type == _CONTENT_HANDSHAKE)
        headers = self._pump.records.handshake_headers
        return headers[accepted] if accepted < len(headers) else None


# OpenSSL reason strings that say precisely what the server did wrong. Checked first because
# the alert OpenSSL sends is coarser (a too-large message gets illegal_parameter).
_REASON_KINDS = {
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
}

# Otherwise the alert our own OpenSSL sent names the class of problem (RFC 8446 6.2).
_SENT_ALERT_KINDS = {
    "record_overflow": ErrorKind.record_overflow,
    "decode_error": ErrorKind.malformed_handshake,
    "illegal_parameter": ErrorKind.malformed_handshake,
    "bad_certificate": ErrorKind.malformed_handshake,
    "bad_certificate_status_response": ErrorKind.malformed_handshake,
    "unexpected_message": ErrorKind.unexpected_message,
    "protocol_version": ErrorKind.wrong_version,
}


def _classify(reasons: list[str], sent_alert: str | None) -> ErrorKind:
    for reason in reasons:
        kind = _REASON_KINDS.get(reason.lower())
        if kind is not None:
            return kind
    return _SENT_ALERT_KINDS.get(sent_alert or "", ErrorKind.protocol_error)


def _openssl_reasons(error: SSL.Error) -> list[str]:
    reasons = []
    for entry in error.args[0] if error.args and isinstance(error.args[0], list) else []:
        if isinstance(entry, tuple) and entry and str(entry[-1]) not in reasons:
            reasons.append(str(entry[-1]))
    return reasons or ([str(error)] if str(error) else [])


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _message_name(message: capture.CapturedMessage) -> str:
    if message.content_type == _CONTENT_HANDSHAKE and message.data:
        return wire.name_for(wire.HANDSHAKE_TYPES, message.data[0], width=2)
    if message.content_type == _CONTENT_ALERT:
        with contextlib.suppress(wire.WireError):
            return f"alert:{wire.parse_alert(message.data).name}"
        return "alert"
    return "change_cipher_spec"


def _describe_session(connection: SSL.Connection, result: HandshakeResult) -> None:
    version_name = connection.get_protocol_version_name()
    result.version = _VERSION_CODES.get(version_name)
    result.cipher = connection.get_cipher_name()
    group = connection.get_group_name()
    result.group = group.decode() if isinstance(group, bytes) else group
    alpn = connection.get_alpn_proto_negotiated()
    result.alpn = alpn.decode("ascii", "replace") if alpn else None
    chain = connection.get_peer_cert_chain(as_cryptography=True) or []
    result.peer_chain_der = [cert.public_bytes(Encoding.DER) for cert in chain]
    result.session = connection.get_session()
    result.session_reused = bool(lib.SSL_session_reused(connection._ssl))


_VERSION_CODES = {"SSLv3": 0x0300, "TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303,
                  "TLSv1.3": 0x0304}


def _parse_transcript(messages: list[capture.CapturedMessage]) -> list[TranscriptMessage]:
    """Parse captured bytes; the negotiated version decides the layout of later messages."""
    version: int | None = None
    parsed: list[TranscriptMessage] = []
    for message in messages:
        common = {"direction": message.direction, "content_type": message.content_type,
                  "length": len(message.data), "after_handshake": message.after_handshake,
                  "msg_type": message.data[0] if message.content_type == _CONTENT_HANDSHAKE
                  and message.data else None}
        try:
            if message.content_type == _CONTENT_HANDSHAKE:
                handshake = wire.parse_handshake_message(message.data,
                                                         version=version or message.version)
                hello = handshake.parsed
                if isinstance(hello, wire.ServerHello) and message.direction == "received":
                    version = hello.selected_version
                parsed.append(TranscriptMessage(**common, handshake=handshake))  # type: ignore[arg-type]
            elif message.content_type == _CONTENT_ALERT:
                parsed.append(TranscriptMessage(**common, alert=wire.parse_alert(message.data)))  # type: ignore[arg-type]
            else:
                parsed.append(TranscriptMessage(**common))  # type: ignore[arg-type]
        except wire.WireError as exc:
            parsed.append(TranscriptMessage(**common, parse_error=str(exc)))  # type: ignore[arg-type]
    return parsed
