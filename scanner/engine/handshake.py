"""One full TLS handshake with pyOpenSSL over a trio stream, using memory BIOs.

OpenSSL never touches the socket: we move bytes between its BIOs and the trio stream, so every
wait is a trio checkpoint under a deadline, and every message it handles is captured in
plaintext (see ``capture``) and fed, as it comes, to a sans-IO ``wire.Transcript``. Why a
connection failed is named in ``failures``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import trio
from OpenSSL import SSL, crypto
from OpenSSL._util import ffi, lib

from scanner import wire
from scanner.engine import capture, failures, sockio
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.offers.offer import ClientOffer
from scanner.results import ErrorKind

# One maximal record per read: a flood of tiny records is cut off after a few thousand of
# them, and each read blocks the event loop only briefly while OpenSSL digests it.
_RECEIVE_CHUNK = 2**14 + 2048 + 5
_SNIFF_BYTES = 3  # content type and version: enough to tell TLS from a banner
_DESCRIBE_BYTES = 64
# After the server's first message following the handshake (a ticket, usually), how long a
# silence ends the read: the rest of that flight (a second ticket) comes right behind it.
SETTLE_AFTER_MESSAGE_S = 0.05
# After a handshake the server started (a renegotiation after its HelloRequest), how long at
# least to wait for its next word: it has shown it acts after handshakes, so the short
# window of a quiet TLS 1.2 handshake does not apply (the long post-handshake floor does).
AFTER_SERVER_HANDSHAKE_S = 0.25
_T = TypeVar("_T")


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
    transcript: wire.Transcript = field(default_factory=wire.Transcript)
    failure: ScanFailure | None = None
    after_handshake: AfterHandshake = AfterHandshake.not_read
    application_data: bytes = b""
    peer_chain_der: list[bytes] = field(default_factory=list)
    session: SSL.Session | None = None
    session_reused: bool = False
    duration_s: float = 0.0

    @property
    def transcript_truncated(self) -> bool:
        return self.transcript.truncated

    def received(self, msg_type: int) -> Iterator[wire.HandshakeMessage]:
        """Handshake messages of one type the server sent, in order."""
        return self.transcript.received(msg_type)

    @property
    def server_hello(self) -> wire.ServerHello | None:
        return self.transcript.server_hello

    def alerts(self, direction: wire.Direction) -> list[wire.TranscriptMessage]:
        return self.transcript.alerts(direction)

    @property
    def alert_received(self) -> wire.TranscriptMessage | None:
        received = self.alerts("received")
        return received[0] if received else None

    @property
    def alert_sent(self) -> wire.TranscriptMessage | None:
        sent = self.alerts("sent")
        return sent[0] if sent else None

    @property
    def certificate_requested(self) -> bool:
        return any(True for _ in self.received(wire.HandshakeType.certificate_request))

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
                and hello.selected_version < self.offer.min_version)

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
            await sockio.send_all(self.stream, data)

    async def fill(self) -> bool:
        """Feed the next chunk from the peer to OpenSSL; False at end of stream."""
        data = await sockio.receive_some(self.stream, _RECEIVE_CHUNK)
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
    into ``ScanFailure`` recorded in ``result`` (named by ``failures``); ``result.transcript``
    gains each message as OpenSSL handles it.
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
        self._capture = capture.attach(self.ssl, self.result.transcript)
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
        return self.result

    async def read_after_handshake(self, seconds: float, *,
                                   settle: float = SETTLE_AFTER_MESSAGE_S) -> AfterHandshake:
        """Read for a bounded time after the handshake, to see what the server does unasked.

        TLS 1.3 servers reject a missing client certificate only after the client's Finished,
        and send NewSessionTicket messages at that time too. The full ``seconds`` are waited
        only while nothing arrives: once a message came, a ``settle`` silence ends the read
        (an alert, a close or application data end it at once), so a slot is not held idle.
        """
        result = self.result
        if not result.completed or self._pump is None:
            return result.after_handshake
        result.after_handshake = AfterHandshake.quiet
        try:
            data = await self._receive_until_settled(seconds, settle)
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
        return result.after_handshake

    async def _receive_until_settled(self, window: float, settle: float) -> bytes | None:
        """Receive for ``window`` seconds, cut short once messages arrived and then ``settle``
        seconds passed without another.

        The window bounds the wait for the server's first word after a handshake only. Once
        it talks, the read lasts while it keeps talking (the message budget and the
        connection deadline bound it): a server that renegotiates or floods is seen doing so
        whatever the window, not only for as many round trips as fit in it. A handshake the
        server started (our answer to its HelloRequest) is followed to its end, since its
        next message is owed, not a silence; after it, a window (at least
        ``AFTER_SERVER_HANDSHAKE_S``) starts again.
        """
        assert self._pump is not None, "no connection"
        seen = self._capture.received
        in_handshake = False

        def wait(seconds: float) -> float:
            return min(self.deadline, trio.current_time() + seconds)

        with trio.CancelScope(deadline=wait(window)) as scope:
            def on_received() -> None:
                nonlocal seen, in_handshake
                if self._in_handshake():
                    in_handshake = True
                    scope.deadline = self.deadline
                elif in_handshake:
                    in_handshake = False
                    scope.deadline = wait(max(window, AFTER_SERVER_HANDSHAKE_S))
                elif self._capture.received != seen:
                    scope.deadline = wait(settle)
                seen = self._capture.received

            try:
                return await self._drive(lambda: self.ssl.recv(_RECEIVE_CHUNK), closed_detail="",
                                         on_received=on_received)
            except SSL.ZeroReturnError:
                return b""
            except ScanFailure as failure:
                if failure.kind is ErrorKind.connection_closed:
                    return b""
                raise
        return None

    def _in_handshake(self) -> bool:
        """True while OpenSSL is inside a handshake (``SSL_in_init``, which pyOpenSSL does
        not bind: only the finished state has this name, stable since OpenSSL 1.1.0)."""
        return self.ssl.get_state_string() != b"SSL negotiation finished successfully"

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
        return None

    async def write_early_data(self, data: bytes) -> int:
        """TLS 1.3 0-RTT: before ``handshake()``, send ``data`` as early data under the
        resumed session's PSK (see ``max_early_data``); returns the bytes written. Whether the
        server accepted them shows in its EncryptedExtensions (the early_data extension)."""

        def write() -> int:
            written = ffi.new("size_t *")
            status = lib.SSL_write_early_data(self.ssl._ssl, data, len(data), written)
            if status != 1:
                self.ssl._raise_ssl_error(self.ssl._ssl, status)
            return int(written[0])

        return await self.drive(write)

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

    async def _drive(self, operation: Callable[[], _T], *, closed_detail: str | None,
                     on_received: Callable[[], None] | None = None) -> _T:
        """``drive`` without the deadline; ``closed_detail=None`` describes a handshake close;
        ``on_received`` is called whenever OpenSSL has digested all it got and waits for more."""
        assert self._pump is not None, "no connection"
        while True:
            try:
                value = operation()
            except SSL.WantReadError:
                self._check_capture()
                if on_received is not None:
                    on_received()  # before any checkpoint: a new deadline must not come late
                await self._send()
                if not await self._receive():
                    raise self._closed_failure(closed_detail) from None
                continue
            except SSL.ZeroReturnError:
                raise
            except SSL.Error as error:
                await self._send_best_effort()  # let our alert reach the server
                raise self._tls_failure(error) from None
            self._check_capture()
            await self._send()
            return value

    def close(self) -> HandshakeResult:
        """Stop capturing and finish the result (idempotent)."""
        if not self._closed:
            self._closed = True
            capture.detach(self.ssl)
            if self.result.failure is not None:
                self.result.failure.detached()
            self.result.duration_s = time.perf_counter() - self._started
        return self.result

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

    # --- naming failures ---------------------------------------------------------------

    def _evidence(self) -> failures.Evidence:
        pump = self._pump
        return failures.Evidence(
            transcript=self.result.transcript, offer=self.result.offer,
            completed=self.result.completed,
            received_bytes=pump.received_bytes if pump is not None else None,
            records=pump.records if pump is not None else None)

    def _stream_failure(self, exc: BaseException) -> ScanFailure:
        return failures.stream_failure(exc, self._evidence())

    def _closed_failure(self, detail: str | None) -> ScanFailure:
        return failures.closed_failure(detail, self._evidence())

    def _timeout_failure(self) -> ScanFailure:
        return failures.timeout_failure(self._evidence())

    def _tls_failure(self, error: SSL.Error) -> ScanFailure:
        return failures.tls_failure(error, self._evidence())

    def _check_capture(self) -> None:
        """Stop on a flood; re-raise a parser bug from the capture callback, so it becomes the
        probe's internal error as any other bug does instead of a message silently missing."""
        if self._capture.parser_bug is not None:
            raise self._capture.parser_bug
        if self._capture.flooded:
            raise failures.flood_failure(
                self.result.transcript, server_hellos=self._capture.server_hellos,
                max_handshakes=capture.MAX_HANDSHAKES, max_messages=self._capture.max_messages)


def max_early_data(session: SSL.Session) -> int:
    """How much 0-RTT data a TLS 1.3 session's ticket lets the client send (0: none)."""
    return int(lib.SSL_SESSION_get_max_early_data(session._session))


def _describe_session(connection: SSL.Connection, result: HandshakeResult) -> None:
    version_name = connection.get_protocol_version_name()
    result.version = _OPENSSL_VERSIONS.get(version_name)
    result.cipher = connection.get_cipher_name()
    group = connection.get_group_name()
    result.group = group.decode() if isinstance(group, bytes) else group
    alpn = connection.get_alpn_proto_negotiated()
    result.alpn = alpn.decode("ascii", "replace") if alpn else None
    # DER straight from OpenSSL's objects: parsing each into cryptography's only to encode
    # it again cost five times as much, for every handshake.
    chain = connection.get_peer_cert_chain() or []
    result.peer_chain_der = [crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)
                             for cert in chain]
    result.session = connection.get_session()
    result.session_reused = bool(lib.SSL_session_reused(connection._ssl))


# OpenSSL's names for the versions it negotiates (SSL_get_version), which differ from the
# labels records use only in "TLSv1".
_OPENSSL_VERSIONS: dict[str, int] = {
    "TLSv1" if version is wire.TLSVersion.TLSv1_0 else version.label: int(version)
    for version in (wire.TLSVersion.SSLv3, wire.TLSVersion.TLSv1_0, wire.TLSVersion.TLSv1_1,
                    wire.TLSVersion.TLSv1_2, wire.TLSVersion.TLSv1_3)
}
