"""MySQL / MariaDB: the server's handshake packet, an SSLRequest packet, then TLS.

The server speaks first (Protocol::HandshakeV10); the client answers with the 32-byte
SSLRequest (capabilities with CLIENT_SSL) as packet 1 and starts TLS; the login
(HandshakeResponse41) follows inside TLS as packet 2. See the MySQL client/server protocol
documentation, "Protocol::SSLRequest".
"""

from __future__ import annotations

import struct

from scanner.starttls.errors import NotTheProtocol, StartTlsRefused, quote
from scanner.starttls.machine import Answer, AnswerKind, Check, Preamble, mentions_certificate

CLIENT_LONG_PASSWORD = 0x1
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
_CAPABILITIES = (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL
                 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH)
_MAX_PACKET = 1 << 24
_UTF8 = 33
CHECK_USER = "mtlsweep"
_MAX_PAYLOAD = 1 << 16


def packet(sequence: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def _client_header() -> bytes:
    return struct.pack("<IIB", _CAPABILITIES, _MAX_PACKET, _UTF8) + bytes(23)


SSL_REQUEST = packet(1, _client_header())


def _packet(data: bytes) -> tuple[int, bytes] | None:
    """The first packet (sequence, payload) once complete, else None."""
    if len(data) < 4:
        return None
    length = data[0] | data[1] << 8 | data[2] << 16
    if length > _MAX_PAYLOAD:
        raise NotTheProtocol(f"mysql: a {length}-byte packet is no handshake: {quote(data)}")
    if len(data) < 4 + length:
        return None
    return data[3], data[4:4 + length]


def error_text(payload: bytes) -> str:
    """An ERR packet (0xff, code, optional '#' and SQLSTATE, message), quoted."""
    if len(payload) < 3:
        return quote(payload)
    (code,) = struct.unpack_from("<H", payload, 1)
    text = payload[3:]
    if text.startswith(b"#") and len(text) >= 6:
        text = text[6:]
    return f"error {code}: {quote(text)}"



class MySqlPreamble(Preamble):
    protocol = "mysql"

    def __init__(self) -> None:
        super().__init__()
        self.server_version: str | None = None

    def _advance(self) -> bytes:
        data = bytes(self.received)
        found = _packet(data)
        if found is None:
            return b""
        _sequence, payload = found
        if len(data) > 4 + len(payload):
            raise NotTheProtocol(f"mysql: more than one packet before the client spoke: "
                                 f"{quote(data)}")
        if payload[:1] == b"\xff":
            raise StartTlsRefused(f"mysql: the server refused the connection: "
                                  f"{error_text(payload)}")
        if payload[:1] != b"\x0a":
            raise NotTheProtocol(f"mysql: not a protocol 10 handshake: {quote(data)}")
        end = payload.find(b"\0", 1)
        # version, NUL, connection id (4), auth data (8), filler (1), capabilities (2)
        if end < 0 or len(payload) < end + 1 + 4 + 8 + 1 + 2:
            raise NotTheProtocol(f"mysql: the handshake packet is truncated: {quote(data)}")
        self.server_version = payload[1:end].decode("latin-1")
        (capabilities,) = struct.unpack_from("<H", payload, end + 1 + 4 + 8 + 1)
        if not capabilities & CLIENT_SSL:
            raise StartTlsRefused(f"mysql: the server ({self.server_version}) does not offer "
                                  "TLS (no CLIENT_SSL capability)")
        self.done = True
        return SSL_REQUEST


def login_packet(user: str = CHECK_USER) -> bytes:
    """HandshakeResponse41 for ``user`` with an empty auth response: no password is sent."""
    payload = (_client_header() + user.encode() + b"\0" + b"\0"
               + b"mysql_native_password\0")
    return packet(2, payload)


class MySqlCheck(Check):
    protocol = "mysql"
    description = f"MySQL login as {CHECK_USER} with no password"

    def request(self) -> bytes:
        return login_packet()

    def _answer(self) -> Answer | None:
        found = _packet(bytes(self.received))
        if found is None:
            return None
        _sequence, payload = found
        first = payload[:1]
        if first == b"\xff":
            said = error_text(payload)
            kind = AnswerKind.certificate_rejected if mentions_certificate(said) \
                else AnswerKind.refused
            return Answer(kind, said)
        if first in (b"\x00", b"\xfe", b"\x01"):
            name = {b"\x00": "OK", b"\xfe": "an authentication switch",
                    b"\x01": "more authentication data"}[first]
            return Answer(AnswerKind.proceeds, f"the server answered the login with {name}")
        raise NotTheProtocol(f"mysql: unexpected answer to the login: "
                             f"{quote(bytes(self.received))}")
