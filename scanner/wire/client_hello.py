"""ClientHello: build one for any version, offer and extension set, and parse one back.

Layout: RFC 8446 section 4.1.2 (TLS 1.3) and RFC 5246 section 7.4.1.2 (TLS 1.2 and
earlier, where the extensions block may be absent). Extension bodies follow the RFC cited
next to each builder. The builder is pure: randomness (``random``, ``session_id``, key
shares) comes from the caller, so the same inputs always give the same bytes.

Building never produces what the parser would reject; values that cannot be encoded (a
vector longer than its length prefix allows, a 33-byte session id...) raise
:class:`WireError`, like every other function of this package.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import WireError
from .extensions import Extension, find_extension, parse_alpn_extension, read_extension_list
from .reader import ByteReader
from .records import encode_records
from .registry import ContentType, ExtensionType, HandshakeType

__all__ = [
    "PADDING_TARGET",
    "ClientHello",
    "KeyShareEntry",
    "alpn_extension",
    "client_hello_record",
    "ec_point_formats_extension",
    "empty_extension",
    "encode_client_hello",
    "key_share_extension",
    "next_protocol_negotiation_extension",
    "pad_client_hello",
    "parse_client_hello",
    "psk_key_exchange_modes_extension",
    "renegotiation_info_extension",
    "server_name_extension",
    "session_ticket_extension",
    "signature_algorithms_extension",
    "status_request_extension",
    "supported_groups_extension",
    "supported_versions_extension",
]

# Some TLS terminators (F5 BIG-IP among them) hang on ClientHellos whose handshake message is
# 256..511 bytes long; RFC 7685 section 4 describes padding such hellos to 512 bytes.
PADDING_TARGET = 512
_PADDING_WINDOW = range(256, PADDING_TARGET)
_EXTENSION_HEADER = struct.Struct(">HH")  # type, length


def _vector(size: int, data: bytes, what: str) -> bytes:
    if len(data) >= 1 << (8 * size):
        raise WireError(f"{what}: {len(data)} bytes do not fit a {size}-byte length")
    return len(data).to_bytes(size, "big") + data


def _u16s(values: Iterable[int], what: str) -> bytes:
    items = tuple(values)
    try:
        return struct.pack(f">{len(items)}H", *items)
    except struct.error:
        bad = next((v for v in items if not isinstance(v, int) or not 0 <= v <= 0xFFFF), None)
        raise WireError(f"{what}: {bad} is not a 16-bit value") from None


def _u8s(values: Iterable[int], what: str) -> bytes:
    out = bytearray()
    for value in values:
        if not 0 <= value <= 0xFF:
            raise WireError(f"{what}: {value} is not an 8-bit value")
        out.append(value)
    return bytes(out)


# --- extension builders --------------------------------------------------------------


def empty_extension(ext_type: int) -> Extension:
    """An extension with no body (extended_master_secret, encrypt_then_mac, ...)."""
    return Extension(ext_type, b"")


def server_name_extension(host: str) -> Extension:
    """RFC 6066 section 3: one ``host_name`` entry (IDNA-encoded)."""
    try:
        name = host.encode("idna")
    except UnicodeError as exc:
        raise WireError(f"server_name: cannot encode {host!r}: {exc}") from None
    if not name:
        raise WireError("server_name: empty host name")
    entry = b"\x00" + _vector(2, name, "server_name HostName")
    return Extension(ExtensionType.server_name, _vector(2, entry, "server_name list"))


def supported_versions_extension(versions: Sequence[int]) -> Extension:
    """RFC 8446 4.2.1, client form: ``ProtocolVersion versions<2..254>``."""
    if not versions:
        raise WireError("supported_versions: at least one version is required")
    body = _u16s(versions, "supported_versions")
    return Extension(ExtensionType.supported_versions, _vector(1, body, "supported_versions"))


def supported_groups_extension(groups: Sequence[int]) -> Extension:
    """RFC 8422 5.1.1 / RFC 8446 4.2.7: ``NamedGroup named_group_list<2..2^16-1>``."""
    if not groups:
        raise WireError("supported_groups: at least one group is required")
    body = _u16s(groups, "supported_groups")
    return Extension(ExtensionType.supported_groups, _vector(2, body, "supported_groups"))


def signature_algorithms_extension(schemes: Sequence[int]) -> Extension:
    """RFC 8446 4.2.3 / RFC 5246 7.4.1.4.1."""
    if not schemes:
        raise WireError("signature_algorithms: at least one scheme is required")
    body = _u16s(schemes, "signature_algorithms")
    return Extension(ExtensionType.signature_algorithms, _vector(2, body, "signature_algorithms"))


@dataclass(frozen=True)
class KeyShareEntry:
    """RFC 8446 4.2.8: a group and the client's public value for it."""

    group: int
    key_exchange: bytes


def key_share_extension(shares: Sequence[KeyShareEntry]) -> Extension:
    """RFC 8446 4.2.8, client form; an empty list asks the server to pick (via HRR)."""
    body = bytearray()
    for share in shares:
        if not share.key_exchange:
            raise WireError(f"key_share: empty key_exchange for group 0x{share.group:04x}")
        body += _u16s((share.group,), "key_share group")
        body += _vector(2, share.key_exchange, "key_share key_exchange")
    return Extension(ExtensionType.key_share, _vector(2, bytes(body), "key_share client_shares"))


def alpn_extension(protocols: Sequence[str]) -> Extension:
    """RFC 7301 section 3.1: ``ProtocolName protocol_name_list<2..2^16-1>``."""
    if not protocols:
        raise WireError("ALPN: at least one protocol is required")
    body = bytearray()
    for protocol in protocols:
        raw = protocol.encode("utf-8")
        if not raw:
            raise WireError("ALPN: empty protocol name")
        body += _vector(1, raw, "ALPN protocol name")
    return Extension(ExtensionType.application_layer_protocol_negotiation,
                     _vector(2, bytes(body), "ALPN protocol_name_list"))


def next_protocol_negotiation_extension() -> Extension:
    """draft-agl-tls-nextprotoneg: the client sends it empty; the server lists protocols."""
    return Extension(ExtensionType.next_protocol_negotiation, b"")


def status_request_extension() -> Extension:
    """RFC 6066 section 8: OCSP, no responder ids, no request extensions."""
    return Extension(ExtensionType.status_request, b"\x01\x00\x00\x00\x00")


def session_ticket_extension(ticket: bytes = b"") -> Extension:
    """RFC 5077 section 3.2: empty to ask for a new ticket."""
    return Extension(ExtensionType.session_ticket, ticket)


def renegotiation_info_extension(renegotiated_connection: bytes = b"") -> Extension:
    """RFC 5746 section 3.2: empty on an initial handshake."""
    return Extension(ExtensionType.renegotiation_info,
                     _vector(1, renegotiated_connection, "renegotiation_info"))


def ec_point_formats_extension(formats: Sequence[int] = (0,)) -> Extension:
    """RFC 8422 5.1.2: ``ECPointFormat ec_point_format_list<1..2^8-1>`` (0: uncompressed)."""
    if not formats:
        raise WireError("ec_point_formats: at least one format is required")
    return Extension(ExtensionType.ec_point_formats,
                     _vector(1, _u8s(formats, "ec_point_formats"), "ec_point_formats"))


def psk_key_exchange_modes_extension(modes: Sequence[int] = (1,)) -> Extension:
    """RFC 8446 4.2.9 (1: psk_dhe_ke)."""
    if not modes:
        raise WireError("psk_key_exchange_modes: at least one mode is required")
    return Extension(ExtensionType.psk_key_exchange_modes,
                     _vector(1, _u8s(modes, "psk_key_exchange_modes"), "psk_key_exchange_modes"))


# --- the message ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClientHello:
    """A ClientHello; ``extensions=None`` means no extensions block at all (SSLv3 style)."""

    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: bytes = b"\x00"
    extensions: tuple[Extension, ...] | None = ()

    def extension(self, ext_type: int) -> Extension | None:
        return find_extension(self.extensions or (), ext_type)

    def offers(self, ext_type: int) -> bool:
        return self.extension(ext_type) is not None

    @property
    def server_name(self) -> str | None:
        ext = self.extension(ExtensionType.server_name)
        return None if ext is None else _parse_server_name(ext.data)

    @property
    def supported_versions(self) -> tuple[int, ...] | None:
        ext = self.extension(ExtensionType.supported_versions)
        if ext is None:
            return None
        reader = ByteReader(ext.data)
        values = _u16_list(reader.vector(1, "supported_versions", min_length=2),
                           "supported_versions")
        reader.expect_end("supported_versions")
        return values

    @property
    def supported_groups(self) -> tuple[int, ...] | None:
        return self._u16_vector_extension(ExtensionType.supported_groups, "supported_groups")

    @property
    def signature_algorithms(self) -> tuple[int, ...] | None:
        return self._u16_vector_extension(ExtensionType.signature_algorithms,
                                          "signature_algorithms")

    @property
    def key_shares(self) -> tuple[KeyShareEntry, ...] | None:
        ext = self.extension(ExtensionType.key_share)
        return None if ext is None else _parse_key_shares(ext.data)

    @property
    def alpn_protocols(self) -> tuple[str, ...] | None:
        ext = self.extension(ExtensionType.application_layer_protocol_negotiation)
        return None if ext is None else parse_alpn_extension(ext.data)

    @property
    def max_version(self) -> int:
        """The highest version offered: supported_versions when present, else legacy."""
        versions = self.supported_versions
        return max(versions) if versions else self.legacy_version

    def _u16_vector_extension(self, ext_type: int, what: str) -> tuple[int, ...] | None:
        ext = self.extension(ext_type)
        if ext is None:
            return None
        reader = ByteReader(ext.data)
        values = _u16_list(reader.vector(2, what, min_length=2), what)
        reader.expect_end(what)
        return values


def _u16_list(raw: bytes, what: str) -> tuple[int, ...]:
    if len(raw) % 2:
        raise WireError(f"{what}: odd length {len(raw)} for a list of 16-bit values")
    return tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))


def _parse_server_name(data: bytes) -> str | None:
    reader = ByteReader(data)
    entries = reader.sub_reader(2, "server_name list", min_length=1)
    reader.expect_end("server_name")
    host: str | None = None
    while not entries.at_end:
        name_type = entries.u8("server_name NameType")
        name = entries.vector(2, "server_name HostName", min_length=1)
        if name_type == 0 and host is None:
            host = name.decode("ascii", "backslashreplace")
    return host


def _parse_key_shares(data: bytes) -> tuple[KeyShareEntry, ...]:
    reader = ByteReader(data)
    block = reader.sub_reader(2, "key_share client_shares")
    reader.expect_end("key_share")
    shares: list[KeyShareEntry] = []
    while not block.at_end:
        group = block.u16("key_share group")
        shares.append(KeyShareEntry(group, block.vector(2, "key_share key_exchange",
                                                        min_length=1)))
    return tuple(shares)


def encode_client_hello(hello: ClientHello) -> bytes:
    """The whole handshake message (type, u24 length, body)."""
    if len(hello.random) != 32:
        raise WireError(f"ClientHello random: expected 32 bytes, got {len(hello.random)}")
    if len(hello.session_id) > 32:
        raise WireError(f"ClientHello session_id: {len(hello.session_id)} bytes exceed 32")
    if not hello.cipher_suites:
        raise WireError("ClientHello cipher_suites: at least one suite is required")
    if not hello.compression_methods:
        raise WireError("ClientHello compression_methods: at least one method is required")
    body = bytearray(_u16s((hello.legacy_version,), "ClientHello legacy_version"))
    body += hello.random
    body += _vector(1, hello.session_id, "ClientHello session_id")
    body += _vector(2, _u16s(hello.cipher_suites, "cipher_suites"), "ClientHello cipher_suites")
    body += _vector(1, hello.compression_methods, "ClientHello compression_methods")
    if hello.extensions is not None:
        seen: set[int] = set()
        block = bytearray()
        for ext in hello.extensions:
            if ext.type in seen:
                raise WireError(f"ClientHello: duplicate extension {ext.name}")
            seen.add(ext.type)
            if isinstance(ext.type, int) and 0 <= ext.type <= 0xFFFF \
                    and len(ext.data) <= 0xFFFF:  # the common case: no error names built
                block += _EXTENSION_HEADER.pack(ext.type, len(ext.data))
                block += ext.data
                continue
            block += _u16s((ext.type,), "extension type")
            block += _vector(2, ext.data, f"extension {ext.name}")
        body += _vector(2, bytes(block), "ClientHello extensions")
    return bytes([HandshakeType.client_hello]) + _vector(3, bytes(body), "ClientHello")


def pad_client_hello(hello: ClientHello) -> ClientHello:
    """Add a padding extension (RFC 7685) when the encoded hello falls in 256..511 bytes.

    Hellos without an extensions block are returned unchanged, as are hellos that already
    carry padding.
    """
    if hello.extensions is None or hello.offers(ExtensionType.padding):
        return hello
    length = _encoded_length(hello)
    if length not in _PADDING_WINDOW:
        return hello
    fill = max(0, PADDING_TARGET - length - 4)
    return ClientHello(
        legacy_version=hello.legacy_version,
        random=hello.random,
        session_id=hello.session_id,
        cipher_suites=hello.cipher_suites,
        compression_methods=hello.compression_methods,
        extensions=(*hello.extensions, Extension(ExtensionType.padding, bytes(fill))),
    )


def _encoded_length(hello: ClientHello) -> int:
    """The length ``encode_client_hello`` gives, counted instead of encoded: padding asks
    for every hello, and encoding it twice was half the cost of building one. Values that
    cannot be encoded are refused when the hello is encoded."""
    length = (4 + 2 + len(hello.random) + 1 + len(hello.session_id)
              + 2 + 2 * len(hello.cipher_suites) + 1 + len(hello.compression_methods))
    if hello.extensions is not None:
        length += 2 + sum(4 + len(ext.data) for ext in hello.extensions)
    return length


def client_hello_record(hello: ClientHello, *, record_version: int = 0x0301) -> bytes:
    """The hello framed in handshake record(s); 0x0301 is what clients use for
    compatibility (RFC 8446 5.1), SSLv3 probes pass 0x0300."""
    return encode_records(ContentType.handshake, record_version, encode_client_hello(hello))


def parse_client_hello(body: bytes) -> ClientHello:
    """Parse a ClientHello body (without the 4-byte handshake header)."""
    reader = ByteReader(body)
    legacy_version = reader.u16("ClientHello legacy_version")
    random = reader.take(32, "ClientHello random")
    session_id = reader.vector(1, "ClientHello session_id", max_length=32)
    suites_raw = reader.vector(2, "ClientHello cipher_suites", min_length=2)
    cipher_suites = _u16_list(suites_raw, "ClientHello cipher_suites")
    compression = reader.vector(1, "ClientHello compression_methods", min_length=1)
    extensions: tuple[Extension, ...] | None = None
    if not reader.at_end:
        extensions = read_extension_list(reader, "ClientHello")
    reader.expect_end("ClientHello")
    hello = ClientHello(legacy_version, random, session_id, cipher_suites, compression,
                        extensions)
    try:  # decode the extensions the scanner reads, so later access cannot fail
        hello.server_name  # noqa: B018
        hello.supported_versions  # noqa: B018
        hello.supported_groups  # noqa: B018
        hello.signature_algorithms  # noqa: B018
        hello.key_shares  # noqa: B018
        hello.alpn_protocols  # noqa: B018
    except WireError as exc:
        raise WireError(f"ClientHello: {exc}") from exc
    return hello
