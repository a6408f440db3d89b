"""TLS record headers and a first-bytes sniff of whether a peer speaks TLS at all.

A scanner connects to arbitrary ports; the first bytes the server sends back decide
between "TLS endpoint" and "something else" (HTTP, SSH, SMTP banner, ...), and the
latter deserves a readable description rather than a handshake error.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .registry import CONTENT_TYPES, PROTOCOL_VERSIONS, ContentType, TLSVersion, name_for
from .sslv2 import Ssl2MessageType

__all__ = [
    "MAX_CIPHERTEXT_LENGTH",
    "RECORD_HEADER_LENGTH",
    "RecordHeader",
    "describe_non_tls",
    "encode_records",
    "looks_like_tls",
    "parse_record_header",
]

RECORD_HEADER_LENGTH = 5
# RFC 5246 section 6.2.3: TLSCiphertext.length may not exceed 2^14 + 2048.
MAX_CIPHERTEXT_LENGTH = 2**14 + 2048

_DESCRIBE_TEXT_LIMIT = 80
_DESCRIBE_HEX_BYTES = 16


@dataclass(frozen=True)
class RecordHeader:
    """The 5-byte TLSPlaintext/TLSCiphertext header (RFC 8446 section 5.1)."""

    content_type: int
    version: int
    length: int

    @property
    def content_type_name(self) -> str:
        return name_for(CONTENT_TYPES, self.content_type, 2)

    @property
    def version_name(self) -> str:
        return name_for(PROTOCOL_VERSIONS, self.version)


def parse_record_header(data: bytes) -> RecordHeader:
    """Parse exactly one record header; pass ``buffer[:RECORD_HEADER_LENGTH]``.

    The length is checked against the largest record any TLS version allows so a
    non-TLS peer cannot make the caller wait for megabytes.
    """
    if len(data) != RECORD_HEADER_LENGTH:
        raise WireError(
            f"record header: expected exactly {RECORD_HEADER_LENGTH} bytes, got {len(data)}"
        )
    length = int.from_bytes(data[3:5], "big")
    if length > MAX_CIPHERTEXT_LENGTH:
        raise WireError(
            f"record header: length {length} exceeds the maximum {MAX_CIPHERTEXT_LENGTH}"
        )
    return RecordHeader(
        content_type=data[0], version=int.from_bytes(data[1:3], "big"), length=length
    )


def looks_like_tls(prefix: bytes) -> bool:
    """Whether the first bytes from a server could start a TLS record or SSLv2 hello.

    Judges only the bytes present, so a 1-byte prefix can already say "no".
    """
    if not prefix:
        return False
    first = prefix[0]
    if ContentType.change_cipher_spec <= first <= ContentType.heartbeat:
        if len(prefix) > 1 and prefix[1] != TLSVersion.SSLv3 >> 8:  # major version 3
            return False
        if len(prefix) > 2 and prefix[2] > 4:
            return False
        if len(prefix) >= RECORD_HEADER_LENGTH:
            return int.from_bytes(prefix[3:5], "big") <= MAX_CIPHERTEXT_LENGTH
        return True
    if first & 0x80:
        # SSLv2 2-byte record header (high bit set), then the message type.
        return len(prefix) < 3 or prefix[2] == Ssl2MessageType.server_hello
    return False


def _printable_line(prefix: bytes) -> str | None:
    line = prefix.split(b"\n", 1)[0].rstrip(b"\r")
    if not line or not all(0x20 <= byte < 0x7F or byte == 0x09 for byte in line):
        return None
    text = line.decode("ascii").replace("\t", " ")
    if len(text) > _DESCRIBE_TEXT_LIMIT:
        text = text[:_DESCRIBE_TEXT_LIMIT] + "..."
    return text


def describe_non_tls(prefix: bytes) -> str:
    """Short printable description of a non-TLS reply, for reports.

    A printable first line (HTTP status line, SSH/SMTP/FTP banner, ...) is returned
    as is; anything else as the hex of its first 16 bytes.
    """
    if not prefix:
        return "no data"
    line = _printable_line(prefix)
    if line is not None:
        return line
    shown = prefix[:_DESCRIBE_HEX_BYTES].hex()
    more = "..." if len(prefix) > _DESCRIBE_HEX_BYTES else ""
    return f"hex:{shown}{more}"


_MAX_PLAINTEXT_FRAGMENT = 2**14  # RFC 8446 section 5.1


def encode_records(content_type: int, version: int, payload: bytes) -> bytes:
    """Frame ``payload`` in plaintext records of at most 2^14 bytes each."""
    if not 0 <= content_type <= 0xFF or not 0 <= version <= 0xFFFF:
        raise WireError(f"record: bad content type {content_type} or version {version}")
    if not payload:
        raise WireError("record: a plaintext record may not be empty")
    out = bytearray()
    for start in range(0, len(payload), _MAX_PLAINTEXT_FRAGMENT):
        fragment = payload[start : start + _MAX_PLAINTEXT_FRAGMENT]
        out += bytes([content_type]) + version.to_bytes(2, "big")
        out += len(fragment).to_bytes(2, "big") + fragment
    return bytes(out)
