"""Sans-IO TLS wire parsing: bytes in, frozen dataclasses out, :class:`WireError` on junk.

Nothing here touches sockets, OpenSSL or the rest of the scanner, so every parser can
be fed captured bytes in tests and fuzzed with arbitrary input.

``Http2Exchange`` loads on first use (PEP 562 ``__getattr__``): it brings ``h2``, ``hpack`` and
``hyperframe`` (about 10 ms of start-up), which only a server that selects ``h2`` needs.
"""

from typing import TYPE_CHECKING

from .alerts import ALERT_LENGTH, Alert, parse_alert
from .certificate_request import (
    CertificateRequest,
    OidFilter,
    parse_certificate_authorities_extension,
    parse_certificate_request,
    parse_oid_filters_extension,
)
from .certificates import (
    CertificateMessage,
    CertificateStatus,
    certificate_entry_status,
    parse_certificate,
    parse_certificate_status,
)
from .cipher_suites import (
    CIPHER_SUITES,
    SCSV_EMPTY_RENEGOTIATION_INFO,
    SCSV_FALLBACK,
    SSL2_CIPHER_KINDS,
    CipherSuite,
    Ssl2CipherKind,
    cipher_suite,
    cipher_suite_by_openssl_name,
    format_code,
)
from .client_hello import (
    PADDING_TARGET,
    ClientHello,
    KeyShareEntry,
    alpn_extension,
    client_hello_record,
    ec_point_formats_extension,
    empty_extension,
    encode_client_hello,
    key_share_extension,
    next_protocol_negotiation_extension,
    pad_client_hello,
    parse_client_hello,
    psk_key_exchange_modes_extension,
    renegotiation_info_extension,
    server_name_extension,
    session_ticket_extension,
    signature_algorithms_extension,
    status_request_extension,
    supported_groups_extension,
    supported_versions_extension,
)
from .encrypted_extensions import EncryptedExtensions, parse_encrypted_extensions
from .errors import WireError
from .extensions import (
    Extension,
    find_extension,
    parse_alpn_extension,
    parse_ec_point_formats_extension,
    parse_extensions,
    parse_next_protocol_negotiation_extension,
    parse_renegotiation_info_extension,
    parse_signature_algorithms_extension,
)
from .followup import FollowUpRecords
from .handshake import (
    HANDSHAKE_HEADER_LENGTH,
    HandshakeHeader,
    HandshakeMessage,
    ParsedHandshake,
    parse_handshake_header,
    parse_handshake_message,
    split_handshake,
    split_handshake_stream,
)
from .http import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    Http1Exchange,
    HttpExchange,
    HttpRequest,
    HttpResponse,
)
from .later_request import LaterCertificateRequest, LaterMechanism, later_certificate_request
from .reader import ByteReader
from .records import (
    MAX_CIPHERTEXT_LENGTH,
    RECORD_HEADER_LENGTH,
    RecordHeader,
    describe_non_tls,
    encode_records,
    looks_like_tls,
    parse_record_header,
)
from .registry import (
    ALERT_DESCRIPTIONS,
    ALERT_LEVELS,
    CERTIFICATE_STATUS_TYPES,
    CLIENT_CERTIFICATE_TYPES,
    CONTENT_TYPES,
    EC_POINT_FORMATS,
    EXTENSION_TYPES,
    HANDSHAKE_TYPES,
    NAMED_GROUPS,
    PROTOCOL_VERSIONS,
    SIGNATURE_SCHEMES,
    AlertDescription,
    AlertLevel,
    CertificateStatusType,
    ContentType,
    ExtensionType,
    HandshakeType,
    TLSVersion,
    code_for,
    name_for,
)
from .server_flight import ServerFlight, StopAt
from .server_hello import (
    HELLO_RETRY_REQUEST_RANDOM,
    ServerHello,
    parse_key_share_server,
    parse_server_hello,
    parse_supported_versions_server,
)
from .server_key_exchange import (
    DhParameters,
    parse_dhe_server_key_exchange,
    parse_ecdhe_server_key_exchange,
)
from .sslv2 import (
    SSL2_VERSION,
    Ssl2Error,
    Ssl2MessageType,
    Ssl2ServerHello,
    build_sslv2_client_hello,
    parse_sslv2_message,
    sslv2_record_length,
)
from .stream import RecordTracker
from .tickets import NewSessionTicket, parse_new_session_ticket
from .tls13_flight import HandshakeDecryption
from .transcript import Direction, Transcript, TranscriptMessage
from .x500 import (
    DistinguishedName,
    NameAttributeDer,
    decode_oid,
    name_attributes,
    parse_distinguished_name,
)

if TYPE_CHECKING:
    from .http2 import Http2Exchange


def __getattr__(name: str) -> object:
    """Import :mod:`.http2` when ``Http2Exchange`` is first asked for."""
    if name != "Http2Exchange":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .http2 import Http2Exchange

    globals()[name] = Http2Exchange
    return Http2Exchange


__all__ = [
    "ALERT_DESCRIPTIONS",
    "ALERT_LENGTH",
    "ALERT_LEVELS",
    "CERTIFICATE_STATUS_TYPES",
    "CIPHER_SUITES",
    "CLIENT_CERTIFICATE_TYPES",
    "CONTENT_TYPES",
    "EC_POINT_FORMATS",
    "EXTENSION_TYPES",
    "HANDSHAKE_HEADER_LENGTH",
    "HANDSHAKE_TYPES",
    "HELLO_RETRY_REQUEST_RANDOM",
    "MAX_BODY_BYTES",
    "MAX_CIPHERTEXT_LENGTH",
    "MAX_HEAD_BYTES",
    "NAMED_GROUPS",
    "PADDING_TARGET",
    "PROTOCOL_VERSIONS",
    "RECORD_HEADER_LENGTH",
    "SCSV_EMPTY_RENEGOTIATION_INFO",
    "SCSV_FALLBACK",
    "SIGNATURE_SCHEMES",
    "SSL2_CIPHER_KINDS",
    "SSL2_VERSION",
    "Alert",
    "AlertDescription",
    "AlertLevel",
    "ByteReader",
    "CertificateMessage",
    "CertificateRequest",
    "CertificateStatus",
    "CertificateStatusType",
    "CipherSuite",
    "ClientHello",
    "ContentType",
    "DhParameters",
    "Direction",
    "DistinguishedName",
    "EncryptedExtensions",
    "Extension",
    "ExtensionType",
    "FollowUpRecords",
    "HandshakeDecryption",
    "HandshakeHeader",
    "HandshakeMessage",
    "HandshakeType",
    "Http1Exchange",
    "Http2Exchange",
    "HttpExchange",
    "HttpRequest",
    "HttpResponse",
    "KeyShareEntry",
    "LaterCertificateRequest",
    "LaterMechanism",
    "NameAttributeDer",
    "NewSessionTicket",
    "OidFilter",
    "ParsedHandshake",
    "RecordHeader",
    "RecordTracker",
    "ServerFlight",
    "ServerHello",
    "Ssl2CipherKind",
    "Ssl2Error",
    "Ssl2MessageType",
    "Ssl2ServerHello",
    "StopAt",
    "TLSVersion",
    "Transcript",
    "TranscriptMessage",
    "WireError",
    "alpn_extension",
    "build_sslv2_client_hello",
    "certificate_entry_status",
    "cipher_suite",
    "cipher_suite_by_openssl_name",
    "client_hello_record",
    "code_for",
    "decode_oid",
    "describe_non_tls",
    "ec_point_formats_extension",
    "empty_extension",
    "encode_client_hello",
    "encode_records",
    "find_extension",
    "format_code",
    "key_share_extension",
    "later_certificate_request",
    "looks_like_tls",
    "name_attributes",
    "name_for",
    "next_protocol_negotiation_extension",
    "pad_client_hello",
    "parse_alert",
    "parse_alpn_extension",
    "parse_certificate",
    "parse_certificate_authorities_extension",
    "parse_certificate_request",
    "parse_certificate_status",
    "parse_client_hello",
    "parse_dhe_server_key_exchange",
    "parse_distinguished_name",
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
    "parse_record_header",
    "parse_renegotiation_info_extension",
    "parse_server_hello",
    "parse_signature_algorithms_extension",
    "parse_sslv2_message",
    "parse_supported_versions_server",
    "psk_key_exchange_modes_extension",
    "renegotiation_info_extension",
    "server_name_extension",
    "session_ticket_extension",
    "signature_algorithms_extension",
    "split_handshake",
    "split_handshake_stream",
    "sslv2_record_length",
    "status_request_extension",
    "supported_groups_extension",
    "supported_versions_extension",
]
