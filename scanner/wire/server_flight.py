"""Incremental reader of what a server sends back to one raw ClientHello.

Sans-IO: the engine feeds whatever bytes arrive and asks whether the answer is complete.
An answer is complete at the first of: a ServerHello (or HelloRetryRequest), a fatal alert,
an SSLv2 SERVER-HELLO or ERROR, bytes that are not TLS, malformed data, or — when asked to
read the whole first flight of a TLS 1.2 server — ServerHelloDone. Warning alerts before
the ServerHello (some servers warn ``unrecognized_name``) are kept and reading goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .alerts import Alert, parse_alert
from .errors import WireError
from .handshake import split_handshake_stream
from .records import RECORD_HEADER_LENGTH, describe_non_tls, looks_like_tls, parse_record_header
from .registry import HANDSHAKE_TYPES, ContentType, HandshakeType, TLSVersion, name_for
from .server_hello import ServerHello, parse_server_hello
from .sslv2 import Ssl2Error, Ssl2ServerHello, parse_sslv2_message, sslv2_record_length
from .tls13_flight import HandshakeDecryption

__all__ = ["ServerFlight", "StopAt"]

_SNIFF_BYTES = 5


class StopAt(Enum):
    SERVER_HELLO = "server_hello"
    SERVER_HELLO_DONE = "server_hello_done"


@dataclass
class ServerFlight:
    """Feed it bytes; once ``done``, exactly one of the outcome fields explains why."""

    stop_at: StopAt = StopAt.SERVER_HELLO
    max_bytes: int = 1 << 18

    server_hello: ServerHello | None = None
    alert: Alert | None = None
    warnings: list[Alert] = field(default_factory=list)
    sslv2: Ssl2ServerHello | Ssl2Error | None = None
    not_tls: str | None = None
    error: str | None = None
    messages: list[tuple[int, bytes]] = field(default_factory=list)  # (type, body) in order
    #: Set for a TLS 1.3 hello with real key shares: after a ServerHello, reading goes on
    #: until it has EncryptedExtensions (or knows it cannot read it).
    decryption: HandshakeDecryption | None = None
    bytes_received: int = 0
    done: bool = False

    _buffer: bytearray = field(default_factory=bytearray)
    _handshake: bytes = b""
    _prefix: bytes = b""

    def feed(self, data: bytes) -> None:
        """Consume bytes from the server; never raises."""
        if self.done or not data:
            return
        self.bytes_received += len(data)
        if len(self._prefix) < _SNIFF_BYTES:
            self._prefix = (self._prefix + data)[:_SNIFF_BYTES]
            if not _plausible(self._prefix):
                self.not_tls = describe_non_tls(self._prefix + bytes(data[: 64]))
                self.done = True
                return
        if self.bytes_received > self.max_bytes:
            self._fail(f"more than {self.max_bytes} bytes without a complete answer")
            return
        self._buffer += data
        try:
            if self._prefix[0] & 0x80:
                self._read_sslv2()
            else:
                self._read_records()
        except WireError as exc:
            self._fail(str(exc))

    def _fail(self, reason: str) -> None:
        self.error = reason
        self.done = True

    def _read_sslv2(self) -> None:
        if len(self._buffer) < 2:
            return
        length = sslv2_record_length(bytes(self._buffer[:2]))
        if len(self._buffer) < 2 + length:
            return
        self.sslv2 = parse_sslv2_message(bytes(self._buffer[2 : 2 + length]))
        self.done = True

    def _read_records(self) -> None:
        while not self.done and len(self._buffer) >= RECORD_HEADER_LENGTH:
            header = parse_record_header(bytes(self._buffer[:RECORD_HEADER_LENGTH]))
            end = RECORD_HEADER_LENGTH + header.length
            if len(self._buffer) < end:
                return
            raw_header = bytes(self._buffer[:RECORD_HEADER_LENGTH])
            payload = bytes(self._buffer[RECORD_HEADER_LENGTH:end])
            del self._buffer[:end]
            self._record(header.content_type, payload, raw_header)

    def _record(self, content_type: int, payload: bytes, raw_header: bytes) -> None:
        if content_type == ContentType.alert:
            self._alerts(payload)
        elif content_type == ContentType.handshake:
            self._handshake_bytes(payload)
        elif content_type == ContentType.change_cipher_spec:
            return  # TLS 1.3 middlebox compatibility, after a ServerHello or HRR
        elif content_type == ContentType.application_data and self.server_hello is not None:
            if self.decryption is not None:
                self.decryption.record(raw_header, payload)
                self.done = self.decryption.done
            else:
                self.done = True  # encrypted TLS 1.3 handshake: nothing more to read in clear
        else:
            name = ("application_data" if content_type == ContentType.application_data
                    else str(content_type))
            raise WireError(f"unexpected record of content type {name} before the ServerHello")

    def _alerts(self, payload: bytes) -> None:
        if not payload or len(payload) % 2:
            raise WireError(f"alert record of {len(payload)} bytes")
        for offset in range(0, len(payload), 2):
            alert = parse_alert(payload[offset : offset + 2])
            if alert.is_fatal or alert.description == 0:  # fatal, or close_notify
                self.alert = alert
                self.done = True
                return
            self.warnings.append(alert)

    def _handshake_bytes(self, payload: bytes) -> None:
        messages, self._handshake = split_handshake_stream(self._handshake + payload)
        for message in messages:
            msg_type, body = message[0], message[4:]
            if msg_type == HandshakeType.hello_request and self.server_hello is None:
                continue  # allowed at any time (RFC 5246 7.4.1.1); meaningless here
            if self.server_hello is None and msg_type != HandshakeType.server_hello:
                raise WireError(
                    f"expected server_hello first, got {name_for(HANDSHAKE_TYPES, msg_type, 2)}"
                )
            self.messages.append((msg_type, body))
            if msg_type == HandshakeType.server_hello and self.server_hello is None:
                self.server_hello = parse_server_hello(body)
                if self._decrypting(message):
                    return
                if (self.stop_at is StopAt.SERVER_HELLO
                        or self.server_hello.is_hello_retry_request
                        or self.server_hello.selected_version >= TLSVersion.TLSv1_3):
                    self.done = True
                    return
            elif msg_type == HandshakeType.server_hello_done:
                self.done = True
                return

    def _decrypting(self, message: bytes) -> bool:
        """Whether reading goes on past this ServerHello, to decrypt what follows."""
        hello = self.server_hello
        if (self.decryption is None or hello is None or hello.is_hello_retry_request
                or hello.selected_version < TLSVersion.TLSv1_3):
            return False
        self.decryption.start(message, hello)
        self.done = self.decryption.done
        return True

    def message(self, msg_type: int) -> bytes | None:
        """Body of the first message of ``msg_type`` received, if any."""
        for received_type, body in self.messages:
            if received_type == msg_type:
                return body
        return None


def _plausible(prefix: bytes) -> bool:
    """A TLS record, or an SSLv2 record holding SERVER-HELLO (4) or ERROR (0)."""
    if prefix[0] & 0x80:
        return len(prefix) < 3 or prefix[2] in (0, 4)
    return looks_like_tls(prefix)
