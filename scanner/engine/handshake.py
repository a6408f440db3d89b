"""One full TLS handshake with pyOpenSSL over a trio stream, using memory BIOs.

OpenSSL never touches the socket: we move bytes between its BIOs and the trio stream, so every
wait is a trio checkpoint under a deadline, and every message it handles is captured in
plaintext (see ``capture``) and parsed by the sans-IO ``wire`` package into a transcript.
"""

from __future__ import annotations

import contextlib
import time
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
from scanner.engine.errors import ScanFailure
from scanner.engine.offer import ClientOffer, ContextFactory
from scanner.results import ErrorKind

_RECEIVE_CHUNK = 65536
_T = TypeVar("_T")
_CONTENT_ALERT = 21
_CONTENT_HANDSHAKE = 22
_SERVER_HELLO = 2


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


class _Pump:
    """Moves bytes between a pyOpenSSL memory-BIO connection and a trio stream."""

    def __init__(self, connection: SSL.Connection, stream: trio.abc.Stream) -> None:
        self.connection = connection
        self.stream = stream
        self.received_bytes = 0
        self.first_bytes = b""

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
        if self.received_bytes == 0 or len(self.first_bytes) < 16:
            self.first_bytes = (self.first_bytes + data)[:64]
            if not wire.looks_like_tls(self.first_bytes):
                raise ScanFailure(
                    ErrorKind.not_tls,
                    "the peer does not speak TLS; it sent "
                    + wire.describe_non_tls(self.first_bytes),
                )
        self.received_bytes += len(data)
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
            with trio.move_on_at(self.deadline) as scope:
                await self.drive(self.ssl.do_handshake, closed_detail=(
                    "the server closed the connection during the handshake without an alert"))
                self.result.completed = True
                self._capture.handshake_done = True
                _describe_session(self.ssl, self.result)
            if scope.cancelled_caught:
                self.result.failure = _timeout_failure(self._pump, self._capture)
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
                result.after_handshake = AfterHandshake.alert
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
                await _send(self._pump)
            except (SSL.Error, ScanFailure):
                return False
            finally:
                self._refresh()
            return True
        return False

    async def send(self, data: bytes) -> None:
        """Send application data (raises ScanFailure)."""
        assert self._pump is not None and self.result.completed, "handshake first"
        with trio.move_on_at(self.deadline) as scope:
            await self.drive(lambda: self.ssl.sendall(data))
            await _send(self._pump)
        if scope.cancelled_caught:
            raise ScanFailure(ErrorKind.timeout, "sending application data timed out")

    async def receive(self, *, until: float | None = None,
                      max_bytes: int = _RECEIVE_CHUNK) -> bytes | None:
        """The next application data: bytes, b"" when the server closed, None at ``until``.

        A TLS alert or a reset raises ScanFailure (the alert is in the transcript).
        """
        assert self._pump is not None, "no connection"
        with trio.move_on_at(min(until or self.deadline, self.deadline)):
            try:
                return await self.drive(lambda: self.ssl.recv(max_bytes), closed_detail="")
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

        Raises ScanFailure on TLS errors (alert names from the capture), resets and closes.
        """
        assert self._pump is not None, "no connection"
        while True:
            try:
                value = operation()
            except SSL.WantReadError:
                await _send(self._pump)
                if not await _receive(self._pump):
                    raise ScanFailure(
                        ErrorKind.connection_closed,
                        closed_detail or "the server closed the connection",
                    ) from None
                continue
            except SSL.ZeroReturnError:
                raise
            except SSL.Error as error:
                await _send_best_effort(self._pump)  # let our alert reach the server
                raise self._tls_failure(error) from None
            await _send(self._pump)
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

    def _tls_failure(self, error: SSL.Error) -> ScanFailure:
        self._refresh()
        received = self.result.alerts("received")
        alert = received[-1].alert if received else None
        if alert is not None:
            return ScanFailure(
                ErrorKind.handshake_failure if not self.result.completed
                else ErrorKind.protocol_error,
                f"the server sent a {alert.level_name} {alert.name} alert",
                alert=alert.name,
            )
        return ScanFailure(ErrorKind.protocol_error, _openssl_reason(error))


async def _send(pump: _Pump) -> None:
    try:
        await pump.flush()
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        raise _stream_failure(exc) from None


async def _send_best_effort(pump: _Pump) -> None:
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        await pump.flush()


async def _receive(pump: _Pump) -> bool:
    try:
        return await pump.fill()
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        raise _stream_failure(exc) from None


def _stream_failure(exc: BaseException) -> ScanFailure:
    cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
    if isinstance(cause, ConnectionResetError):
        return ScanFailure(ErrorKind.connection_reset, "the server reset the connection (TCP RST)")
    if isinstance(cause, BrokenPipeError):
        return ScanFailure(ErrorKind.connection_closed, "the server closed the connection")
    return ScanFailure(ErrorKind.connection_reset, f"connection broke: {cause or exc}")


def _timeout_failure(pump: _Pump, captured: capture.MessageCapture) -> ScanFailure:
    if pump.received_bytes == 0:
        detail = "the server accepted the TCP connection but sent nothing before the deadline"
    else:
        last = next((m for m in reversed(captured.messages) if m.direction == "received"), None)
        after = f"; last message received: {_message_name(last)}" if last else ""
        detail = (f"handshake unfinished at the deadline ({pump.received_bytes} bytes "
                  f"received{after})")
    return ScanFailure(ErrorKind.timeout, detail)


def _message_name(message: capture.CapturedMessage) -> str:
    if message.content_type == _CONTENT_HANDSHAKE and message.data:
        return wire.name_for(wire.HANDSHAKE_TYPES, message.data[0], width=2)
    return "alert" if message.content_type == _CONTENT_ALERT else "change_cipher_spec"


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


def _openssl_reason(error: SSL.Error) -> str:
    reasons = []
    for entry in error.args[0] if error.args and isinstance(error.args[0], list) else []:
        if isinstance(entry, tuple) and entry:
            reasons.append(str(entry[-1]))
    return "; ".join(reasons) or str(error) or "TLS error"


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
