"""SSL 2.0: the CLIENT-HELLO a probe sends and the SERVER-HELLO (or ERROR) it gets back.

Layouts from draft-hickman-netscape-ssl-00 (the SSL 2.0 specification): a record has a
2-byte header (high bit set, 15-bit length) or a 3-byte header (with padding); messages
start with a one-byte type. Only what an SSLv2 support test needs is implemented.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from .cipher_suites import SSL2_CIPHER_KINDS
from .errors import WireError
from .reader import ByteReader
from .registry import TLSVersion

__all__ = [
    "SSL2_ERRORS",
    "SSL2_VERSION",
    "Ssl2Error",
    "Ssl2MessageType",
    "Ssl2ServerHello",
    "build_sslv2_client_hello",
    "parse_sslv2_message",
    "sslv2_record_length",
]

SSL2_VERSION = TLSVersion.SSLv2


class Ssl2MessageType(IntEnum):
    """SSL 2.0 message types (draft-hickman-netscape-ssl-00, "Protocol Messages")."""

    error = 0
    client_hello = 1
    client_master_key = 2
    client_finished = 3
    server_hello = 4
    server_verify = 5
    server_finished = 6
    request_certificate = 7
    client_certificate = 8


_MAX_2BYTE_RECORD = 0x7FFF

SSL2_ERRORS = {
    0x0001: "NO-CIPHER-ERROR",
    0x0002: "NO-CERTIFICATE-ERROR",
    0x0004: "BAD-CERTIFICATE-ERROR",
    0x0006: "UNSUPPORTED-CERTIFICATE-TYPE-ERROR",
}


def build_sslv2_client_hello(cipher_kinds: Sequence[int] | None = None, *,
                             challenge: bytes) -> bytes:
    """A whole SSLv2 record carrying CLIENT-HELLO (version 2, no session id).

    ``cipher_kinds`` defaults to every SSL 2.0 CIPHER-KIND; ``challenge`` must be 16..32
    bytes (the specification's bounds).
    """
    kinds = tuple(SSL2_CIPHER_KINDS) if cipher_kinds is None else tuple(cipher_kinds)
    if not kinds:
        raise WireError("SSLv2 CLIENT-HELLO: at least one cipher kind is required")
    if not 16 <= len(challenge) <= 32:
        raise WireError(f"SSLv2 CLIENT-HELLO: challenge must be 16..32 bytes, not "
                        f"{len(challenge)}")
    specs = bytearray()
    for kind in kinds:
        if not 0 <= kind <= 0xFFFFFF:
            raise WireError(f"SSLv2 CLIENT-HELLO: cipher kind {kind} is not 24 bits")
        specs += kind.to_bytes(3, "big")
    body = (bytes([Ssl2MessageType.client_hello]) + SSL2_VERSION.to_bytes(2, "big")
            + len(specs).to_bytes(2, "big") + (0).to_bytes(2, "big")
            + len(challenge).to_bytes(2, "big") + bytes(specs) + challenge)
    if len(body) > _MAX_2BYTE_RECORD:
        raise WireError("SSLv2 CLIENT-HELLO: too many cipher kinds for one record")
    return (0x8000 | len(body)).to_bytes(2, "big") + body


def sslv2_record_length(header: bytes) -> int:
    """Body length from a 2-byte SSLv2 record header (the form servers answer with)."""
    if len(header) != 2:
        raise WireError(f"SSLv2 record header: expected 2 bytes, got {len(header)}")
    if not header[0] & 0x80:
        raise WireError("SSLv2 record header: 3-byte (padded) records are not supported")
    return ((header[0] & 0x7F) << 8) | header[1]


@dataclass(frozen=True)
class Ssl2ServerHello:
    session_id_hit: bool
    certificate_type: int
    version: int
    certificate: bytes
    cipher_kinds: tuple[int, ...]
    connection_id: bytes


@dataclass(frozen=True)
class Ssl2Error:
    code: int

    @property
    def name(self) -> str:
        return SSL2_ERRORS.get(self.code, f"unknown_0x{self.code:04x}")


def parse_sslv2_message(body: bytes) -> Ssl2ServerHello | Ssl2Error:
    """Parse the body of a server's SSLv2 record: SERVER-HELLO or ERROR."""
    reader = ByteReader(body)
    msg_type = reader.u8("SSLv2 message type")
    if msg_type == Ssl2MessageType.error:
        error = Ssl2Error(reader.u16("SSLv2 ERROR code"))
        reader.expect_end("SSLv2 ERROR")
        return error
    if msg_type != Ssl2MessageType.server_hello:
        raise WireError(f"SSLv2: expected SERVER-HELLO (4) or ERROR (0), got type {msg_type}")
    hit = reader.u8("SSLv2 SERVER-HELLO session_id_hit")
    certificate_type = reader.u8("SSLv2 SERVER-HELLO certificate_type")
    version = reader.u16("SSLv2 SERVER-HELLO server_version")
    certificate_length = reader.u16("SSLv2 SERVER-HELLO certificate_length")
    specs_length = reader.u16("SSLv2 SERVER-HELLO cipher_specs_length")
    connection_id_length = reader.u16("SSLv2 SERVER-HELLO connection_id_length")
    if specs_length % 3:
        raise WireError(f"SSLv2 SERVER-HELLO: cipher_specs_length {specs_length} is not a "
                        "multiple of 3")
    certificate = reader.take(certificate_length, "SSLv2 SERVER-HELLO certificate")
    specs = reader.take(specs_length, "SSLv2 SERVER-HELLO cipher_specs")
    connection_id = reader.take(connection_id_length, "SSLv2 SERVER-HELLO connection_id")
    reader.expect_end("SSLv2 SERVER-HELLO")
    return Ssl2ServerHello(
        session_id_hit=bool(hit),
        certificate_type=certificate_type,
        version=version,
        certificate=certificate,
        cipher_kinds=tuple(int.from_bytes(specs[i : i + 3], "big")
                           for i in range(0, len(specs), 3)),
        connection_id=connection_id,
    )
