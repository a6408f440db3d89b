"""Handshake messages a scanner receives from a server, parsed into frozen dataclasses.

Layouts follow RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2), RFC 4346/2246 (TLS 1.1/1.0),
RFC 5077 (session tickets) and RFC 6066 (certificate status). Vector bounds from the
RFCs are enforced, so a lying length or a forbidden empty vector is a
:class:`WireError` naming the field, never a silently wrong result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from .errors import WireError
from .reader import ByteReader
from .registry import (
    CLIENT_CERTIFICATE_TYPES,
    EXTENSION_TYPES,
    HANDSHAKE_TYPES,
    NAMED_GROUPS,
    PROTOCOL_VERSIONS,
    SIGNATURE_SCHEMES,
    ExtensionType,
    HandshakeType,
    TLSVersion,
    name_for,
)
from .x500 import DistinguishedName, decode_oid, parse_distinguished_name

__all__ = [
    "HANDSHAKE_HEADER_LENGTH",
    "HELLO_RETRY_REQUEST_RANDOM",
    "CertificateMessage",
    "CertificateRequest",
    "CertificateStatus",
    "EncryptedExtensions",
    "Extension",
    "HandshakeHeader",
    "HandshakeMessage",
    "NewSessionTicket",
    "OidFilter",
    "ParsedHandshake",
    "ServerHello",
    "certificate_entry_status",
    "find_extension",
    "parse_alpn_extension",
    "parse_certificate",
    "parse_certificate_authorities_extension",
    "parse_certificate_request",
    "parse_certificate_status",
    "parse_ec_point_formats_extension",
    "parse_ecdhe_server_key_exchange",
    "parse_encrypted_extensions",
    "parse_extensions",
    "parse_handshake_header",
    "parse_handshake_message",
    "parse_key_share_server",
    "parse_new_session_ticket",
    "parse_next_protocol_negotiation_extension",
    "parse_oid_filters_extension",
    "parse_renegotiation_info_extension",
    "parse_server_hello",
    "parse_signature_algorithms_extension",
    "parse_supported_versions_server",
    "split_handshake",
    "split_handshake_stream",
]

HANDSHAKE_HEADER_LENGTH = 4

# RFC 8446 section 4.1.3: a HelloRetryRequest is a ServerHello with this random,
# SHA-256("HelloRetryRequest").
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
)
_ALPN = ExtensionType.application_layer_protocol_negotiation

_T = TypeVar("_T")


def _is_tls13(version: int, what: str) -> bool:
    """Map a negotiated version to the message layout; reject versions we cannot parse."""
    if version == TLSVersion.TLSv1_3:
        return True
    if TLSVersion.SSLv3 <= version <= TLSVersion.TLSv1_2:
        return False
    raise WireError(f"{what}: cannot parse for protocol version 0x{version:04x}")


# --- framing -------------------------------------------------------------------------


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


# --- extensions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Extension:
    """One extension as (type, raw extension_data)."""

    type: int
    data: bytes

    @property
    def name(self) -> str:
        return name_for(EXTENSION_TYPES, self.type)


def _read_extension_list(
    reader: ByteReader, what: str, *, min_length: int = 0, max_length: int | None = None
) -> tuple[Extension, ...]:
    block = reader.sub_reader(2, f"{what} extensions", min_length=min_length, max_length=max_length)
    extensions: list[Extension] = []
    seen: set[int] = set()
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
    extensions = _read_extension_list(reader, "block")
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
    schemes = _read_u16_list(reader, what)
    reader.expect_end(what)
    return schemes


def _read_u16_list(reader: ByteReader, what: str) -> tuple[int, ...]:
    raw = reader.vector(2, what, min_length=2, max_length=2**16 - 2)
    if len(raw) % 2:
        raise WireError(f"{what}: odd length {len(raw)} for a list of 16-bit values")
    return tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))


def _read_distinguished_names(reader: ByteReader, what: str) -> tuple[DistinguishedName, ...]:
    names: list[DistinguishedName] = []
    index = 0
    while not reader.at_end:
        der = reader.vector(2, f"{what} DistinguishedName {index}", min_length=1)
        try:
            names.append(parse_distinguished_name(der))
        except WireError as exc:
            raise WireError(f"{what} DistinguishedName {index}: {exc}") from exc
        index += 1
    return tuple(names)


def parse_certificate_authorities_extension(data: bytes) -> tuple[DistinguishedName, ...]:
    """RFC 8446 4.2.4: ``DistinguishedName authorities<3..2^16-1>``.

    An empty list is accepted although the RFC forbids it: OpenSSL 3.0 sends exactly that
    when told not to send CA names (``-no_ca_names``, ``Options -CANames``), and the
    scanner must report what such servers do rather than fail on them.
    """
    reader = ByteReader(data)
    block = reader.sub_reader(2, "certificate_authorities")
    reader.expect_end("certificate_authorities")
    return _read_distinguished_names(block, "certificate_authorities")


@dataclass(frozen=True)
class OidFilter:
    """RFC 8446 4.2.5: a certificate extension OID and the DER values it must match."""

    oid: str
    values: bytes


def _filter_oid(raw: bytes) -> str:
    # The RFC leaves open whether the opaque holds a full DER OID (06 len ...) or only
    # its contents; accept both, preferring the full TLV when its header fits exactly.
    if len(raw) >= 2 and raw[0] == 0x06 and raw[1] == len(raw) - 2:
        return decode_oid(raw[2:])
    return decode_oid(raw)


def parse_oid_filters_extension(data: bytes) -> tuple[OidFilter, ...]:
    """RFC 8446 4.2.5: ``OIDFilter filters<0..2^16-1>``."""
    reader = ByteReader(data)
    block = reader.sub_reader(2, "oid_filters")
    reader.expect_end("oid_filters")
    filters: list[OidFilter] = []
    while not block.at_end:
        index = len(filters)
        raw_oid = block.vector(1, f"oid_filters {index} certificate_extension_oid", min_length=1)
        values = block.vector(2, f"oid_filters {index} certificate_extension_values")
        try:
            oid = _filter_oid(raw_oid)
        except WireError as exc:
            raise WireError(f"oid_filters {index}: {exc}") from exc
        filters.append(OidFilter(oid=oid, values=values))
    return tuple(filters)


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


def parse_ecdhe_server_key_exchange(body: bytes) -> int | None:
    """The named curve of an ECDHE ServerKeyExchange (RFC 8422 5.4), or None when the
    server used explicit curve parameters (curve_type 1 or 2, deprecated).

    Only the ECParameters and the point are read; the signature after them is not checked.
    """
    reader = ByteReader(body)
    curve_type = reader.u8("ServerKeyExchange curve_type")
    if curve_type in (1, 2):
        return None
    if curve_type != 3:
        raise WireError(f"ServerKeyExchange: unknown ECCurveType {curve_type}")
    group = reader.u16("ServerKeyExchange named_curve")
    reader.vector(1, "ServerKeyExchange public point", min_length=1)
    return group


def parse_supported_versions_server(data: bytes) -> int:
    """ServerHello/HRR supported_versions: a single ``ProtocolVersion selected_version``."""
    if len(data) != 2:
        raise WireError(f"supported_versions (server): expected 2 bytes, got {len(data)}")
    return int.from_bytes(data, "big")


def parse_key_share_server(data: bytes, *, hello_retry: bool | None = None) -> int:
    """The group of a server key_share: HRR form is a bare u16 ``selected_group``,
    ServerHello form a ``KeyShareEntry`` (group, ``key_exchange<1..2^16-1>``).

    With ``hello_retry=None`` the form is inferred from the length (an entry has >= 5).
    """
    reader = ByteReader(data)
    group = reader.u16("key_share group")
    if hello_retry is None:
        hello_retry = reader.at_end
    if not hello_retry:
        reader.vector(2, "key_share key_exchange", min_length=1)
    reader.expect_end("key_share (HelloRetryRequest)" if hello_retry else "key_share")
    return group


# --- CertificateRequest --------------------------------------------------------------


@dataclass(frozen=True)
class CertificateRequest:
    """What a server asks of a client certificate, in any protocol version.

    ``certificate_types`` exists only up to TLS 1.2; ``signature_algorithms`` is the
    TLS 1.2 field or the TLS 1.3 extension (None when absent). In TLS 1.2 the CA list
    is a mandatory field that may be empty, so ``certificate_authorities_present`` is
    always True there; in TLS 1.3 it says whether extension 47 was sent at all.
    """

    tls13: bool
    certificate_request_context: bytes
    certificate_types: tuple[int, ...] | None
    signature_algorithms: tuple[int, ...] | None
    signature_algorithms_cert: tuple[int, ...] | None
    certificate_authorities: tuple[DistinguishedName, ...]
    certificate_authorities_present: bool
    oid_filters: tuple[OidFilter, ...]
    extensions: tuple[Extension, ...]

    @property
    def certificate_type_names(self) -> tuple[str, ...] | None:
        if self.certificate_types is None:
            return None
        return tuple(name_for(CLIENT_CERTIFICATE_TYPES, t, 2) for t in self.certificate_types)

    @property
    def signature_algorithm_names(self) -> tuple[str, ...] | None:
        if self.signature_algorithms is None:
            return None
        return tuple(name_for(SIGNATURE_SCHEMES, s) for s in self.signature_algorithms)

    @property
    def signature_algorithm_cert_names(self) -> tuple[str, ...] | None:
        if self.signature_algorithms_cert is None:
            return None
        return tuple(name_for(SIGNATURE_SCHEMES, s) for s in self.signature_algorithms_cert)

    @property
    def certificate_authority_names(self) -> tuple[str, ...]:
        """RFC 4514 strings of the acceptable CA names, in the order sent."""
        return tuple(dn.rfc4514 for dn in self.certificate_authorities)

    @property
    def extension_names(self) -> tuple[str, ...]:
        return tuple(extension.name for extension in self.extensions)


def parse_certificate_request(body: bytes, *, version: int) -> CertificateRequest:
    """Parse a CertificateRequest body for the negotiated ``version``.

    0x0304: RFC 8446 4.3.2; 0x0303: RFC 5246 7.4.4 (with supported_signature_algorithms);
    0x0300-0x0302: RFC 4346 7.4.4 / RFC 6101 (no signature algorithms).
    """
    if _is_tls13(version, "CertificateRequest"):
        return _parse_certificate_request_13(body)
    reader = ByteReader(body)
    types_raw = reader.vector(1, "CertificateRequest certificate_types", min_length=1)
    signature_algorithms: tuple[int, ...] | None = None
    if version == TLSVersion.TLSv1_2:
        signature_algorithms = _read_u16_list(
            reader, "CertificateRequest supported_signature_algorithms"
        )
    authorities = reader.sub_reader(2, "CertificateRequest certificate_authorities")
    reader.expect_end("CertificateRequest")
    return CertificateRequest(
        tls13=False,
        certificate_request_context=b"",
        certificate_types=tuple(types_raw),
        signature_algorithms=signature_algorithms,
        signature_algorithms_cert=None,
        certificate_authorities=_read_distinguished_names(
            authorities, "CertificateRequest certificate_authorities"
        ),
        certificate_authorities_present=True,
        oid_filters=(),
        extensions=(),
    )


def _extension_field(extension: Extension, parse: Callable[[bytes], _T]) -> _T:
    try:
        return parse(extension.data)
    except WireError as exc:
        raise WireError(f"CertificateRequest extension: {exc}") from exc


def _parse_certificate_request_13(body: bytes) -> CertificateRequest:
    reader = ByteReader(body)
    context = reader.vector(1, "CertificateRequest certificate_request_context")
    extensions = _read_extension_list(
        reader, "CertificateRequest", min_length=2, max_length=2**16 - 1
    )
    reader.expect_end("CertificateRequest")
    by_type = {extension.type: extension for extension in extensions}

    signature_algorithms = None
    if (ext := by_type.get(ExtensionType.signature_algorithms)) is not None:
        signature_algorithms = _extension_field(ext, parse_signature_algorithms_extension)
    signature_algorithms_cert = None
    if (ext := by_type.get(ExtensionType.signature_algorithms_cert)) is not None:
        signature_algorithms_cert = _extension_field(ext, _signature_algorithms_cert_extension)
    authorities: tuple[DistinguishedName, ...] = ()
    if (ext := by_type.get(ExtensionType.certificate_authorities)) is not None:
        authorities = _extension_field(ext, parse_certificate_authorities_extension)
    oid_filters: tuple[OidFilter, ...] = ()
    if (ext := by_type.get(ExtensionType.oid_filters)) is not None:
        oid_filters = _extension_field(ext, parse_oid_filters_extension)

    return CertificateRequest(
        tls13=True,
        certificate_request_context=context,
        certificate_types=None,
        signature_algorithms=signature_algorithms,
        signature_algorithms_cert=signature_algorithms_cert,
        certificate_authorities=authorities,
        certificate_authorities_present=ExtensionType.certificate_authorities in by_type,
        oid_filters=oid_filters,
        extensions=extensions,
    )


def _signature_algorithms_cert_extension(data: bytes) -> tuple[int, ...]:
    return parse_signature_algorithms_extension(data, "signature_algorithms_cert")


# --- ServerHello ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServerHello:
    """A ServerHello, which in TLS 1.3 may be a HelloRetryRequest in disguise."""

    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int
    extensions: tuple[Extension, ...]

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    @property
    def selected_version(self) -> int:
        """supported_versions when sent (TLS 1.3), else the legacy version field."""
        extension = find_extension(self.extensions, ExtensionType.supported_versions)
        if extension is None:
            return self.legacy_version
        return parse_supported_versions_server(extension.data)

    @property
    def selected_version_name(self) -> str:
        return name_for(PROTOCOL_VERSIONS, self.selected_version)

    @property
    def key_share_group(self) -> int | None:
        """The key_share group (for an HRR: the group the server wants instead)."""
        extension = find_extension(self.extensions, ExtensionType.key_share)
        if extension is None:
            return None
        return parse_key_share_server(extension.data, hello_retry=self.is_hello_retry_request)

    @property
    def key_share_group_name(self) -> str | None:
        group = self.key_share_group
        return None if group is None else name_for(NAMED_GROUPS, group)

    def has_extension(self, ext_type: int) -> bool:
        return find_extension(self.extensions, ext_type) is not None

    # Echoes of what a client offered. Only supported_versions and key_share are checked
    # when the hello is parsed; the others are read here, so a malformed one is reported
    # by the accessor (as documented on each) instead of failing the whole hello.

    @property
    def alpn_protocols(self) -> tuple[str, ...] | None:
        """The ALPN protocol_name_list as sent (RFC 7301 wants exactly one), or None when
        the extension is absent; raises WireError when it is malformed."""
        extension = find_extension(self.extensions, _ALPN)
        return None if extension is None else parse_alpn_extension(extension.data)

    @property
    def alpn_protocol(self) -> str | None:
        """The ALPN protocol selected: None when absent, malformed or not exactly one."""
        try:
            names = self.alpn_protocols
        except WireError:
            return None
        return names[0] if names is not None and len(names) == 1 else None

    @property
    def npn_protocols(self) -> tuple[str, ...] | None:
        """The protocols advertised with Next Protocol Negotiation; None when the server did
        not answer NPN, empty when it answered without a list or with a malformed one."""
        extension = find_extension(self.extensions, ExtensionType.next_protocol_negotiation)
        if extension is None:
            return None
        try:
            return parse_next_protocol_negotiation_extension(extension.data)
        except WireError:
            return ()

    @property
    def renegotiation_info(self) -> bytes | None:
        """RFC 5746 renegotiated_connection, or None when the extension is absent; raises
        WireError when it is malformed."""
        extension = find_extension(self.extensions, ExtensionType.renegotiation_info)
        return None if extension is None else parse_renegotiation_info_extension(extension.data)

    @property
    def secure_renegotiation(self) -> bool:
        """RFC 5746 on a first handshake: renegotiation_info echoed, and empty."""
        try:
            return self.renegotiation_info == b""
        except WireError:
            return False

    @property
    def ec_point_formats(self) -> tuple[int, ...] | None:
        """RFC 8422 ec_point_formats, or None when absent; raises WireError when malformed."""
        extension = find_extension(self.extensions, ExtensionType.ec_point_formats)
        return None if extension is None else parse_ec_point_formats_extension(extension.data)

    @property
    def extended_master_secret(self) -> bool:
        """RFC 7627 extended_master_secret echoed."""
        return self.has_extension(ExtensionType.extended_master_secret)

    @property
    def encrypt_then_mac(self) -> bool:
        """RFC 7366 encrypt_then_mac echoed (servers only do so for a CBC suite)."""
        return self.has_extension(ExtensionType.encrypt_then_mac)

    @property
    def session_ticket(self) -> bool:
        """RFC 5077 session_ticket echoed: a NewSessionTicket will follow."""
        return self.has_extension(ExtensionType.session_ticket)

    @property
    def status_request(self) -> bool:
        """RFC 6066 status_request echoed: a CertificateStatus will follow."""
        return self.has_extension(ExtensionType.status_request)


def parse_server_hello(body: bytes) -> ServerHello:
    """Parse a ServerHello body (RFC 8446 4.1.3 / RFC 5246 7.4.1.3).

    A hello that ends after compression_method (no extensions block, as TLS 1.0-era
    servers send) is valid.
    """
    reader = ByteReader(body)
    legacy_version = reader.u16("ServerHello legacy_version")
    random = reader.take(32, "ServerHello random")
    session_id = reader.vector(1, "ServerHello session_id", max_length=32)
    cipher_suite = reader.u16("ServerHello cipher_suite")
    compression_method = reader.u8("ServerHello compression_method")
    extensions: tuple[Extension, ...] = ()
    if not reader.at_end:
        extensions = _read_extension_list(reader, "ServerHello")
    reader.expect_end("ServerHello")
    hello = ServerHello(
        legacy_version=legacy_version,
        random=random,
        session_id=session_id,
        cipher_suite=cipher_suite,
        compression_method=compression_method,
        extensions=extensions,
    )
    # Validate eagerly so the properties reading these cannot fail later.
    try:
        if (versions := find_extension(extensions, ExtensionType.supported_versions)) is not None:
            parse_supported_versions_server(versions.data)
        if (key_share := find_extension(extensions, ExtensionType.key_share)) is not None:
            parse_key_share_server(key_share.data, hello_retry=hello.is_hello_retry_request)
    except WireError as exc:
        raise WireError(f"ServerHello: {exc}") from exc
    return hello


# --- NewSessionTicket ----------------------------------------------------------------


@dataclass(frozen=True)
class NewSessionTicket:
    """A session ticket in either the RFC 5077 or the RFC 8446 4.6.1 layout.

    The ticket itself is opaque server state; only its length is kept.
    """

    tls13: bool
    lifetime_s: int
    age_add: int | None
    nonce: bytes
    ticket_length: int
    max_early_data: int | None
    extensions: tuple[Extension, ...]


def parse_new_session_ticket(body: bytes, *, version: int) -> NewSessionTicket:
    """Parse NewSessionTicket for the negotiated ``version``."""
    reader = ByteReader(body)
    if not _is_tls13(version, "NewSessionTicket"):
        lifetime = reader.u32("NewSessionTicket ticket_lifetime_hint")
        ticket = reader.vector(2, "NewSessionTicket ticket")
        reader.expect_end("NewSessionTicket")
        return NewSessionTicket(
            tls13=False,
            lifetime_s=lifetime,
            age_add=None,
            nonce=b"",
            ticket_length=len(ticket),
            max_early_data=None,
            extensions=(),
        )
    lifetime = reader.u32("NewSessionTicket ticket_lifetime")
    age_add = reader.u32("NewSessionTicket ticket_age_add")
    nonce = reader.vector(1, "NewSessionTicket ticket_nonce")
    ticket = reader.vector(2, "NewSessionTicket ticket", min_length=1)
    extensions = _read_extension_list(reader, "NewSessionTicket", max_length=2**16 - 2)
    reader.expect_end("NewSessionTicket")
    max_early_data = None
    if (early := find_extension(extensions, ExtensionType.early_data)) is not None:
        if len(early.data) != 4:
            raise WireError(
                f"NewSessionTicket early_data: expected 4 bytes (max_early_data_size), "
                f"got {len(early.data)}"
            )
        max_early_data = int.from_bytes(early.data, "big")
    return NewSessionTicket(
        tls13=True,
        lifetime_s=lifetime,
        age_add=age_add,
        nonce=nonce,
        ticket_length=len(ticket),
        max_early_data=max_early_data,
        extensions=extensions,
    )


# --- EncryptedExtensions, Certificate, CertificateStatus -----------------------------


@dataclass(frozen=True)
class EncryptedExtensions:
    """TLS 1.3 EncryptedExtensions (RFC 8446 4.3.1)."""

    extensions: tuple[Extension, ...]

    @property
    def alpn_protocol(self) -> str | None:
        """The negotiated ALPN protocol, if the server selected one."""
        extension = find_extension(self.extensions, _ALPN)
        if extension is None:
            return None
        names = parse_alpn_extension(extension.data)
        return names[0] if names else None


def parse_encrypted_extensions(body: bytes) -> EncryptedExtensions:
    reader = ByteReader(body)
    extensions = _read_extension_list(reader, "EncryptedExtensions")
    reader.expect_end("EncryptedExtensions")
    if (alpn := find_extension(extensions, _ALPN)) is not None:
        try:
            parse_alpn_extension(alpn.data)
        except WireError as exc:
            raise WireError(f"EncryptedExtensions: {exc}") from exc
    return EncryptedExtensions(extensions)


@dataclass(frozen=True)
class CertificateStatus:
    """RFC 6066 CertificateStatus: status_type (1 = ocsp) and the DER OCSPResponse."""

    status_type: int
    response: bytes


def parse_certificate_status(body: bytes) -> CertificateStatus:
    """Parse a CertificateStatus message body or a TLS 1.3 entry's status_request data."""
    reader = ByteReader(body)
    status_type = reader.u8("CertificateStatus status_type")
    response = reader.vector(3, "CertificateStatus response", min_length=1)
    reader.expect_end("CertificateStatus")
    return CertificateStatus(status_type=status_type, response=response)


@dataclass(frozen=True)
class CertificateMessage:
    """A Certificate message: DER certificates, leaf first, as sent.

    ``entry_extensions`` parallels ``certificates`` (always empty tuples before TLS 1.3).
    """

    certificates: tuple[bytes, ...]
    context: bytes
    entry_extensions: tuple[tuple[Extension, ...], ...]

    @property
    def leaf_status(self) -> CertificateStatus | None:
        """The stapled OCSP response of the leaf in TLS 1.3, if any."""
        if not self.entry_extensions:
            return None
        return certificate_entry_status(self.entry_extensions[0])


def certificate_entry_status(extensions: tuple[Extension, ...]) -> CertificateStatus | None:
    """OCSP response from a TLS 1.3 CertificateEntry's status_request extension."""
    extension = find_extension(extensions, ExtensionType.status_request)
    if extension is None:
        return None
    return parse_certificate_status(extension.data)


def parse_certificate(body: bytes, *, version: int) -> CertificateMessage:
    """Parse a Certificate message (RFC 8446 4.4.2 / RFC 5246 7.4.2); X.509 is not parsed."""
    tls13 = _is_tls13(version, "Certificate")
    reader = ByteReader(body)
    context = reader.vector(1, "Certificate certificate_request_context") if tls13 else b""
    entries = reader.sub_reader(3, "Certificate certificate_list")
    reader.expect_end("Certificate")
    certificates: list[bytes] = []
    entry_extensions: list[tuple[Extension, ...]] = []
    while not entries.at_end:
        index = len(certificates)
        certificates.append(entries.vector(3, f"Certificate entry {index}", min_length=1))
        if tls13:
            extensions = _read_extension_list(entries, f"Certificate entry {index}")
            if (status := find_extension(extensions, ExtensionType.status_request)) is not None:
                try:
                    parse_certificate_status(status.data)
                except WireError as exc:
                    raise WireError(f"Certificate entry {index} status_request: {exc}") from exc
            entry_extensions.append(extensions)
        else:
            entry_extensions.append(())
    return CertificateMessage(
        certificates=tuple(certificates),
        context=context,
        entry_extensions=tuple(entry_extensions),
    )


# --- dispatch ------------------------------------------------------------------------

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
