"""Handshake framing (header, whole messages, a reassembled stream) and the dispatch that
hands each message body to its family's parser.

The parsers live one message family per module (server_hello, certificate_request,
certificates, tickets, encrypted_extensions); every one enforces its RFC's vector bounds,
so a lying length or a forbidden empty vector is a :class:`WireError` naming the field,
never a silently wrong result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from .certificate_request import CertificateRequest, parse_certificate_request
from .certificates import (
    CertificateMessage,
    CertificateStatus,
    parse_certificate,
    parse_certificate_status,
)
from .encrypted_extensions import EncryptedExtensions, parse_encrypted_extensions
from .errors import WireError
from .reader import ByteReader
from .registry import HANDSHAKE_TYPES, HandshakeType, name_for
from .server_hello import ServerHello, parse_server_hello
from .tickets import NewSessionTicket, parse_new_session_ticket

__all__ = [
    "HANDSHAKE_HEADER_LENGTH",
    "HandshakeHeader",
    "HandshakeMessage",
    "ParsedHandshake",
    "parse_handshake_header",
    "parse_handshake_message",
    "split_handshake",
    "split_handshake_stream",
]

HANDSHAKE_HEADER_LENGTH = 4


@dataclass(frozen=True)
class HandshakeHeader:
    """The 4-byte handshake header: message type and u24 body length."""

    msg_type: int
    length: int

    @property
    def name(self) -> str:
        return name_for(HANDSHAKE_TYPES, self.msg_type, 2)


def parse_handshake_header(data: bytes) -> HandshakeHeader:
    """Parse exactly one handshake header; pass ``buffer[:HANDSHAKE_HEADER_LENGTH]``."""
    if len(data) != HANDSHAKE_HEADER_LENGTH:
        raise WireError(
            f"handshake header: expected exactly {HANDSHAKE_HEADER_LENGTH} bytes, got {len(data)}"
        )
    return HandshakeHeader(msg_type=data[0], length=int.from_bytes(data[1:4], "big"))


def split_handshake(data: bytes) -> tuple[int, bytes]:
    """Split one whole handshake message into (type, body); the length must match."""
    if len(data) >= 4 and len(data) == 4 + int.from_bytes(data[1:4], "big"):
        return data[0], bytes(data[4:])  # the common case, without building error names
    reader = ByteReader(data)
    msg_type = reader.u8("handshake msg_type")
    name = name_for(HANDSHAKE_TYPES, msg_type, 2)
    body = reader.vector(3, f"handshake {name} body")
    reader.expect_end(f"handshake {name}")
    return msg_type, body


def split_handshake_stream(data: bytes) -> tuple[tuple[bytes, ...], bytes]:
    """Cut reassembled handshake bytes into whole messages plus an incomplete tail.

    Records may carry several messages or a fragment of one; the tail is what has to
    wait for more records.
    """
    messages: list[bytes] = []
    pos = 0
    while len(data) - pos >= HANDSHAKE_HEADER_LENGTH:
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        end = pos + HANDSHAKE_HEADER_LENGTH + length
        if end > len(data):
            break
        messages.append(bytes(data[pos:end]))
        pos = end
    return tuple(messages), bytes(data[pos:])


ParsedHandshake: TypeAlias = (
    CertificateRequest
    | ServerHello
    | NewSessionTicket
    | EncryptedExtensions
    | CertificateMessage
    | CertificateStatus
)


@dataclass(frozen=True)
class HandshakeMessage:
    """Any handshake message; ``parsed`` is set for the types this module understands."""

    msg_type: int
    length: int
    body: bytes
    parsed: ParsedHandshake | None

    @property
    def name(self) -> str:
        return name_for(HANDSHAKE_TYPES, self.msg_type, 2)


def parse_handshake_message(data: bytes, *, version: int) -> HandshakeMessage:
    """Parse one whole handshake message (header included) for the negotiated version.

    Unknown or uninteresting types (client_hello, finished, ...) come back with
    ``parsed=None``; a malformed body of a known type raises :class:`WireError`.
    """
    msg_type, body = split_handshake(data)
    parsed: ParsedHandshake | None
    if msg_type == HandshakeType.server_hello:
        parsed = parse_server_hello(body)
    elif msg_type == HandshakeType.certificate_request:
        parsed = parse_certificate_request(body, version=version)
    elif msg_type == HandshakeType.new_session_ticket:
        parsed = parse_new_session_ticket(body, version=version)
    elif msg_type == HandshakeType.encrypted_extensions:
        parsed = parse_encrypted_extensions(body)
    elif msg_type == HandshakeType.certificate:
        parsed = parse_certificate(body, version=version)
    elif msg_type == HandshakeType.certificate_status:
        parsed = parse_certificate_status(body)
    else:
        parsed = None
    return HandshakeMessage(msg_type=msg_type, length=len(body), body=body, parsed=parsed)
