"""ServerHello (RFC 8446 4.1.3 / RFC 5246 7.4.1.3), HelloRetryRequest included, with
typed accessors for what it echoes, so probes never pick extension bytes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .extensions import (
    Extension,
    find_extension,
    parse_alpn_extension,
    parse_ec_point_formats_extension,
    parse_next_protocol_negotiation_extension,
    parse_renegotiation_info_extension,
    read_extension_list,
)
from .reader import ByteReader
from .registry import NAMED_GROUPS, PROTOCOL_VERSIONS, ExtensionType, name_for

__all__ = [
    "HELLO_RETRY_REQUEST_RANDOM",
    "ServerHello",
    "parse_key_share_server",
    "parse_server_hello",
    "parse_supported_versions_server",
]

# RFC 8446 section 4.1.3: a HelloRetryRequest is a ServerHello with this random,
# SHA-256("HelloRetryRequest").
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
)
_ALPN = ExtensionType.application_layer_protocol_negotiation


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
        extensions = read_extension_list(reader, "ServerHello")
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
