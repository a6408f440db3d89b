"""Extensions: the list framing every hello and several other messages share, and the
extension bodies more than one message (or both ClientHello and ServerHello) carry.

Bodies that belong to one message family live with it (server key_share and
supported_versions in server_hello, certificate_authorities and oid_filters in
certificate_request).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .reader import ByteReader
from .registry import EXTENSION_TYPES, name_for

__all__ = [
    "Extension",
    "find_extension",
    "parse_alpn_extension",
    "parse_ec_point_formats_extension",
    "parse_extensions",
    "parse_next_protocol_negotiation_extension",
    "parse_renegotiation_info_extension",
    "parse_signature_algorithms_extension",
    "read_extension_list",
    "read_u16_list",
]


@dataclass(frozen=True)
class Extension:
    """One extension as (type, raw extension_data)."""

    type: int
    data: bytes

    @property
    def name(self) -> str:
        return name_for(EXTENSION_TYPES, self.type)


def read_extension_list(
    reader: ByteReader, what: str, *, min_length: int = 0, max_length: int | None = None
) -> tuple[Extension, ...]:
    """Read one length-prefixed extension list at ``reader``'s position, refusing duplicates;
    the message parsers pass their own bounds and the name used in errors."""
    raw = reader.vector(2, f"{what} extensions", min_length=min_length, max_length=max_length)
    # Fast path (every hello of a sweep comes through here): walk the block in place; any
    # anomaly re-reads it below, which raises the exact error naming the field.
    extensions: list[Extension] = []
    seen: set[int] = set()
    pos, end = 0, len(raw)
    while pos + 4 <= end:
        ext_type = (raw[pos] << 8) | raw[pos + 1]
        stop = pos + 4 + ((raw[pos + 2] << 8) | raw[pos + 3])
        if stop > end or ext_type in seen:
            break
        seen.add(ext_type)
        extensions.append(Extension(ext_type, raw[pos + 4:stop]))
        pos = stop
    if pos == end:
        return tuple(extensions)
    block = ByteReader(raw)
    extensions.clear()
    seen.clear()
    while not block.at_end:
        ext_type = block.u16(f"{what} extension type")
        name = name_for(EXTENSION_TYPES, ext_type)
        data = block.vector(2, f"{what} extension {name}")
        if ext_type in seen:
            # RFC 8446 section 4.2 / RFC 5246 7.4.1.4: at most one of each type.
            raise WireError(f"{what}: duplicate extension {name}")
        seen.add(ext_type)
        extensions.append(Extension(ext_type, data))
    return tuple(extensions)


def parse_extensions(data: bytes) -> tuple[Extension, ...]:
    """Parse a complete ``Extension extensions<0..2^16-1>`` block (with its length)."""
    reader = ByteReader(data)
    extensions = read_extension_list(reader, "block")
    reader.expect_end("extensions block")
    return extensions


def find_extension(extensions: tuple[Extension, ...], ext_type: int) -> Extension | None:
    """The extension of ``ext_type``, or None (types are unique after parsing)."""
    for extension in extensions:
        if extension.type == ext_type:
            return extension
    return None


def parse_signature_algorithms_extension(
    data: bytes, what: str = "signature_algorithms"
) -> tuple[int, ...]:
    """``SignatureScheme supported_signature_algorithms<2..2^16-2>`` (also ext 50)."""
    reader = ByteReader(data)
    schemes = read_u16_list(reader, what)
    reader.expect_end(what)
    return schemes


def read_u16_list(reader: ByteReader, what: str) -> tuple[int, ...]:
    """A ``<2..2^16-2>`` vector of 16-bit values (signature schemes in an extension or in a
    TLS 1.2 CertificateRequest)."""
    raw = reader.vector(2, what, min_length=2, max_length=2**16 - 2)
    if len(raw) % 2:
        raise WireError(f"{what}: odd length {len(raw)} for a list of 16-bit values")
    return tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))


def parse_alpn_extension(data: bytes) -> tuple[str, ...]:
    """RFC 7301: ``ProtocolName protocol_name_list<2..2^16-1>``, names ``<1..2^8-1>``.

    Names are opaque bytes; they are decoded as UTF-8 with backslash escapes so odd
    values stay visible instead of failing.
    """
    reader = ByteReader(data)
    block = reader.sub_reader(2, "ALPN protocol_name_list", min_length=2)
    reader.expect_end("ALPN extension")
    names: list[str] = []
    while not block.at_end:
        raw = block.vector(1, f"ALPN protocol name {len(names)}", min_length=1)
        names.append(raw.decode("utf-8", "backslashreplace"))
    return tuple(names)


def parse_next_protocol_negotiation_extension(data: bytes) -> tuple[str, ...]:
    """Server NPN extension (draft-agl-tls-nextprotoneg section 3): the advertised protocols
    as consecutive 8-bit-length strings, with no outer length. Empty means "NPN supported,
    no list"."""
    reader = ByteReader(data)
    names: list[str] = []
    while not reader.at_end:
        raw = reader.vector(1, f"NPN protocol name {len(names)}", min_length=1)
        names.append(raw.decode("utf-8", "backslashreplace"))
    return tuple(names)


def parse_renegotiation_info_extension(data: bytes) -> bytes:
    """RFC 5746 3.2: ``opaque renegotiated_connection<0..255>`` (empty on a first handshake)."""
    reader = ByteReader(data)
    value = reader.vector(1, "renegotiation_info renegotiated_connection")
    reader.expect_end("renegotiation_info")
    return value


def parse_ec_point_formats_extension(data: bytes) -> tuple[int, ...]:
    """RFC 8422 5.1.2: ``ECPointFormat ec_point_format_list<1..2^8-1>``."""
    reader = ByteReader(data)
    formats = reader.vector(1, "ec_point_formats", min_length=1)
    reader.expect_end("ec_point_formats")
    return tuple(formats)
