"""TLS bytes for scripted test servers: records and server messages built from the RFC layouts.

Only what a hostile-server script needs: plaintext records, the server's TLS 1.2 first flight
(ServerHello, Certificate, CertificateRequest, CertificateStatus, ServerHelloDone), a TLS 1.3
ServerHello with an X25519 key share, HelloRequest, NewSessionTicket, alerts, and a ClientHello
reader that tells the script what the scanner offered. Every builder takes raw bytes where a
test wants to lie (a length that does not match, a field the RFC forbids).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import x25519

TLS12, TLS13 = 0x0303, 0x0304

CONTENT_ALERT, CONTENT_HANDSHAKE = 21, 22

HELLO_REQUEST, SERVER_HELLO, NEW_SESSION_TICKET = 0, 2, 4
CERTIFICATE, CERTIFICATE_REQUEST, SERVER_HELLO_DONE, CERTIFICATE_STATUS = 11, 13, 14, 22

EXT_STATUS_REQUEST, EXT_SESSION_TICKET, EXT_SUPPORTED_VERSIONS, EXT_KEY_SHARE = 5, 35, 43, 51
EXT_RENEGOTIATION_INFO = 0xFF01

# RFC 5246 appendix A.5 / RFC 5288: RSA key exchange needs no ServerKeyExchange signature,
# so a script can send a whole first flight without any crypto of its own.
TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009C
TLS_AES_128_GCM_SHA256 = 0x1301
X25519 = 0x001D


def vec(size: int, data: bytes) -> bytes:
    """``opaque x<..>`` with a ``size``-byte length prefix."""
    return len(data).to_bytes(size, "big") + data


def u16s(*values: int) -> bytes:
    return b"".join(value.to_bytes(2, "big") for value in values)


def ext(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + vec(2, data)


def record(content_type: int, payload: bytes, version: int = TLS12) -> bytes:
    """One plaintext record; no length check, so a test can build an oversized one."""
    return bytes([content_type]) + version.to_bytes(2, "big") + vec(2, payload)


def records(content_type: int, payload: bytes, *, fragment: int = 2**14) -> bytes:
    """``payload`` cut into records of at most ``fragment`` bytes (RFC 5246 6.2.1)."""
    return b"".join(record(content_type, payload[i:i + fragment])
                    for i in range(0, len(payload), fragment))


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + vec(3, body)


def alert(description: int, level: int = 2) -> bytes:
    """An alert record (level 2 = fatal)."""
    return record(CONTENT_ALERT, bytes([level, description]))


def server_hello(*, version: int = TLS12, cipher_suite: int = TLS_RSA_WITH_AES_128_GCM_SHA256,
                 session_id: bytes = b"", extensions: bytes = b"",
                 random: bytes | None = None) -> bytes:
    """A ServerHello message (RFC 5246 7.4.1.3 / RFC 8446 4.1.3 when extensions say so)."""
    body = (version.to_bytes(2, "big") + (random or os.urandom(32)) + vec(1, session_id)
            + cipher_suite.to_bytes(2, "big") + b"\x00" + vec(2, extensions))
    return handshake(SERVER_HELLO, body)


def tls13_server_hello(session_id: bytes) -> bytes:
    """A TLS 1.3 ServerHello choosing X25519 (with a real public key) and AES-128-GCM."""
    public = x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    return server_hello(
        version=TLS12, cipher_suite=TLS_AES_128_GCM_SHA256, session_id=session_id,
        extensions=ext(EXT_SUPPORTED_VERSIONS, u16s(TLS13))
        + ext(EXT_KEY_SHARE, u16s(X25519) + vec(2, public)))


def certificate(*ders: bytes) -> bytes:
    """TLS 1.2 Certificate (RFC 5246 7.4.2)."""
    return handshake(CERTIFICATE, vec(3, b"".join(vec(3, der) for der in ders)))


def certificate_request(*, types: bytes = b"\x01\x40", sigalgs: tuple[int, ...] = (0x0401,),
                        ca_names: bytes = b"\x00\x00") -> bytes:
    """TLS 1.2 CertificateRequest; ``ca_names`` is the raw DN list, its length prefix included."""
    return handshake(CERTIFICATE_REQUEST, vec(1, types) + vec(2, u16s(*sigalgs)) + ca_names)


def certificate_status(response: bytes, *, status_type: int = 1,
                       length: int | None = None) -> bytes:
    """RFC 6066 CertificateStatus; ``length`` overrides the response's length field."""
    size = len(response) if length is None else length
    return handshake(CERTIFICATE_STATUS, bytes([status_type]) + size.to_bytes(3, "big")
                     + response)


def server_hello_done() -> bytes:
    return handshake(SERVER_HELLO_DONE, b"")


def hello_request() -> bytes:
    return handshake(HELLO_REQUEST, b"")


def new_session_ticket(ticket: bytes, *, lifetime_s: int = 7200) -> bytes:
    """RFC 5077 NewSessionTicket (TLS 1.2 layout)."""
    return handshake(NEW_SESSION_TICKET, lifetime_s.to_bytes(4, "big") + vec(2, ticket))


@dataclass(frozen=True)
class ClientHelloInfo:
    """What a script needs to know of the scanner's ClientHello."""

    legacy_version: int
    session_id: bytes
    cipher_suites: tuple[int, ...]
    extensions: dict[int, bytes]

    @property
    def versions(self) -> tuple[int, ...]:
        """Offered versions: supported_versions when present, else the legacy field."""
        raw = self.extensions.get(EXT_SUPPORTED_VERSIONS)
        if raw is None:
            return (self.legacy_version,)
        return tuple(int.from_bytes(raw[i:i + 2], "big") for i in range(1, 1 + raw[0], 2))

    @property
    def offers_tls12(self) -> bool:
        return TLS12 in self.versions

    @property
    def requests_ocsp(self) -> bool:
        return EXT_STATUS_REQUEST in self.extensions

    @property
    def accepts_tickets(self) -> bool:
        return EXT_SESSION_TICKET in self.extensions


def parse_client_hello(message: bytes) -> ClientHelloInfo:
    """Parse a whole ClientHello handshake message (header included)."""
    if message[0] != 1:
        raise ValueError(f"not a ClientHello (type {message[0]})")
    pos = 4
    legacy_version = int.from_bytes(message[pos:pos + 2], "big")
    pos += 2 + 32
    session_id = message[pos + 1:pos + 1 + message[pos]]
    pos += 1 + message[pos]
    suites_length = int.from_bytes(message[pos:pos + 2], "big")
    suites = tuple(int.from_bytes(message[i:i + 2], "big")
                   for i in range(pos + 2, pos + 2 + suites_length, 2))
    pos += 2 + suites_length
    pos += 1 + message[pos]  # compression methods
    extensions: dict[int, bytes] = {}
    end = pos + 2 + int.from_bytes(message[pos:pos + 2], "big")
    pos += 2
    while pos < end:
        ext_type = int.from_bytes(message[pos:pos + 2], "big")
        length = int.from_bytes(message[pos + 2:pos + 4], "big")
        extensions[ext_type] = message[pos + 4:pos + 4 + length]
        pos += 4 + length
    return ClientHelloInfo(legacy_version, session_id, suites, extensions)
