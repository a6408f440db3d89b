"""Capture every TLS message OpenSSL sends or receives, TLS 1.3 encrypted ones included.

OpenSSL's message callback (``SSL_CTX_set_msg_callback``) sees handshake messages and alerts
as plaintext, after decryption; each is fed to the connection's ``wire.Transcript`` as it
comes, so it is parsed exactly once. pyOpenSSL has no public wrapper, but its cffi binding
(which is cryptography's) exposes the C function. One process-wide callback routes each
message to the capture registered for the ``SSL *`` it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from OpenSSL import SSL
from OpenSSL._util import ffi, lib

from scanner import wire

# Real record content types; OpenSSL also reports pseudo types (256 record header,
# 257 inner content type) which carry no message.
_KEPT_CONTENT_TYPES = frozenset(
    {wire.ContentType.change_cipher_spec, wire.ContentType.alert, wire.ContentType.handshake}
)

AVAILABLE = hasattr(lib, "SSL_CTX_set_msg_callback")

# A whole handshake, renegotiation and a few session tickets take a few dozen messages; a
# peer that sends more is flooding us (endless HelloRequests, tickets, warning alerts).
MAX_MESSAGES = 256
MAX_BYTES = 1 << 20
# Handshakes (ServerHellos) on one connection: the first plus a few renegotiations at most.
MAX_HANDSHAKES = 8


@dataclass
class MessageCapture:
    """Feeds one connection's messages to its transcript, within a byte and a message budget.

    A hostile peer must not make us hoard memory: past either budget, messages are counted
    but not kept, and ``flooded`` tells the connection to give up.
    """

    transcript: wire.Transcript = field(default_factory=wire.Transcript)
    handshake_done: bool = False
    max_bytes: int = MAX_BYTES
    max_messages: int = MAX_MESSAGES
    received: int = 0
    server_hellos: int = 0
    #: A parser bug (anything but WireError) raised while feeding: the callback cannot let
    #: it cross into C, so it is kept for the connection to raise (see TLSConnection).
    parser_bug: Exception | None = None
    _bytes: int = 0

    @property
    def flooded(self) -> bool:
        """More messages or handshakes arrived than any legitimate connection has."""
        return self.received > self.max_messages or self.server_hellos > MAX_HANDSHAKES

    def count(self, direction: wire.Direction, content_type: int,
              first_byte: int, length: int) -> bool:
        """Account for one message; True when it should also be kept (then call ``add``)."""
        if direction == "received":
            self.received += 1
            if (content_type == wire.ContentType.handshake
                    and first_byte == wire.HandshakeType.server_hello):
                self.server_hellos += 1
        self._bytes += length
        if self._bytes > self.max_bytes or len(self.transcript) >= self.max_messages:
            self.transcript.truncated = True
            return False
        return True

    def add(self, direction: wire.Direction, content_type: int, version: int,
            data: bytes) -> None:
        try:
            self.transcript.feed(direction, content_type, version, data,
                                 after_handshake=self.handshake_done)
        except Exception as exc:  # a bug in wire: report it, never lose it silently
            if self.parser_bug is None:
                self.parser_bug = exc


_routes: dict[int, MessageCapture] = {}


def _address(ssl_pointer: Any) -> int:
    return int(ffi.cast("uintptr_t", ssl_pointer))


@ffi.callback("void(int, int, int, void *, size_t, SSL *, void *)")  # type: ignore[untyped-decorator]
def _on_message(write_p: int, version: int, content_type: int, buf: Any, length: int,
                ssl: Any, arg: Any) -> None:
    # Exceptions cannot cross into C; a lost message is better than a crash.
    try:
        if content_type not in _KEPT_CONTENT_TYPES:
            return
        capture = _routes.get(_address(ssl))
        if capture is not None:
            direction: wire.Direction = "sent" if write_p else "received"
            first = ffi.cast("unsigned char *", buf)[0] if length else -1
            # Counting is cheap; copying the bytes only happens within the budget.
            if capture.count(direction, content_type, first, length):
                capture.add(direction, content_type, version, bytes(ffi.buffer(buf, length)))
    except Exception:
        return


def install(context: SSL.Context) -> None:
    """Route this context's messages through the capture callback."""
    if AVAILABLE:
        lib.SSL_CTX_set_msg_callback(context._context, _on_message)


def attach(connection: SSL.Connection, transcript: wire.Transcript) -> MessageCapture:
    """Start feeding one connection's messages to ``transcript``; call ``detach`` when it is
    finished."""
    capture = MessageCapture(transcript)
    _routes[_address(connection._ssl)] = capture
    return capture


def detach(connection: SSL.Connection) -> None:
    _routes.pop(_address(connection._ssl), None)
