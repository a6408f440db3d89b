"""Handshake messages built byte by byte from the RFC layouts, plus property tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from scanner.wire import (
    HELLO_RETRY_REQUEST_RANDOM,
    CertificateMessage,
    CertificateRequest,
    CertificateStatus,
    DistinguishedName,
    EncryptedExtensions,
    Extension,
    NewSessionTicket,
    OidFilter,
    ServerHello,
    WireError,
    parse_alpn_extension,
    parse_certificate,
    parse_certificate_request,
    parse_certificate_status,
    parse_encrypted_extensions,
    parse_extensions,
    parse_handshake_header,
    parse_handshake_message,
    parse_key_share_server,
    parse_new_session_ticket,
    parse_server_hello,
    parse_supported_versions_server,
    split_handshake,
    split_handshake_stream,
)
from tests.support.tlsbytes import ext, handshake, u16s, vec

TLS10, TLS11, TLS12, TLS13 = 0x0301, 0x0302, 0x0303, 0x0304

# --- builders (RFC 8446 section 3 presentation language) ----------------------------


def name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def dn_list(*names: bytes) -> bytes:
    """``DistinguishedName certificate_authorities<..>``: u16 vector of u16 vectors."""
    return vec(2, b"".join(vec(2, der) for der in names))


def cr12(types: bytes, sigalgs: tuple[int, ...] | None, names: tuple[bytes, ...]) -> bytes:
    """RFC 5246 7.4.4 body; ``sigalgs=None`` gives the TLS 1.0/1.1 layout."""
    sig = b"" if sigalgs is None else vec(2, u16s(*sigalgs))
    return vec(1, types) + sig + dn_list(*names)


def cr13(context: bytes, *extensions: bytes) -> bytes:
    """RFC 8446 4.3.2 body."""
    return vec(1, context) + vec(2, b"".join(extensions))


def oid_filter(oid_der: bytes, values: bytes) -> bytes:
    return vec(1, oid_der) + vec(2, values)


CA_ONE = name((NameOID.COUNTRY_NAME, "US"), (NameOID.COMMON_NAME, "Example Root CA"))
CA_TWO = name(
    (NameOID.ORGANIZATION_NAME, "Acme, Inc."), (NameOID.ORGANIZATIONAL_UNIT_NAME, "mTLS+Clients")
)
CA_ONE_DER = CA_ONE.public_bytes()
CA_TWO_DER = CA_TWO.public_bytes()
CA_ONE_DN = DistinguishedName("CN=Example Root CA,C=US", CA_ONE_DER)
CA_TWO_DN = DistinguishedName("OU=mTLS\\+Clients,O=Acme\\, Inc.", CA_TWO_DER)

EKU_OID_TLV = bytes.fromhex("0603551d25")  # 2.5.29.37 extKeyUsage
CLIENT_AUTH_EKU = bytes.fromhex("300a06082b06010505070302")  # SEQUENCE { clientAuth }

# --- CertificateRequest, TLS 1.2 and earlier ----------------------------------------


def test_tls12_certificate_request_with_two_names() -> None:
    body = cr12(b"\x01\x40", (0x0403, 0x0804, 0x0401), (CA_ONE_DER, CA_TWO_DER))
    request = parse_certificate_request(body, version=TLS12)
    assert request == CertificateRequest(
        tls13=False,
        certificate_request_context=b"",
        certificate_types=(1, 64),
        signature_algorithms=(0x0403, 0x0804, 0x0401),
        signature_algorithms_cert=None,
        certificate_authorities=(CA_ONE_DN, CA_TWO_DN),
        certificate_authorities_present=True,
        oid_filters=(),
        extensions=(),
    )
    assert request.certificate_type_names == ("rsa_sign", "ecdsa_sign")
    assert request.signature_algorithm_names == (
        "ecdsa_secp256r1_sha256",
        "rsa_pss_rsae_sha256",
        "rsa_pkcs1_sha256",
    )
    assert request.certificate_authority_names == (
        "CN=Example Root CA,C=US",
        "OU=mTLS\\+Clients,O=Acme\\, Inc.",
    )
    assert [dn.der for dn in request.certificate_authorities] == [CA_ONE_DER, CA_TWO_DER]


def test_tls12_certificate_request_empty_ca_list() -> None:
    request = parse_certificate_request(cr12(b"\x01", (0x0401,), ()), version=TLS12)
    assert request.certificate_authorities == ()
    assert request.certificate_authorities_present is True


# AWS ALB mutual-TLS CertificateRequest (TLS 1.2) as shown in a public Wireshark dump:
# types rsa_sign, dss_sign, ecdsa_sign; ten sha512..sha1 RSA/ECDSA pairs; no CA names.
AWS_ALB_CERTIFICATE_REQUEST = bytes.fromhex(
    "03 01 02 400014 0601 0603 0501 0503 0401 0403 0301 0303 0201 02030000"
)


def test_aws_alb_certificate_request() -> None:
    message = parse_handshake_message(handshake(13, AWS_ALB_CERTIFICATE_REQUEST), version=TLS12)
    assert message.name == "certificate_request"
    assert message.length == 28
    request = message.parsed
    assert isinstance(request, CertificateRequest)
    assert request.certificate_type_names == ("rsa_sign", "dss_sign", "ecdsa_sign")
    assert request.signature_algorithm_names == (
        "rsa_pkcs1_sha512",
        "ecdsa_secp521r1_sha512",
        "rsa_pkcs1_sha384",
        "ecdsa_secp384r1_sha384",
        "rsa_pkcs1_sha256",
        "ecdsa_secp256r1_sha256",
        "rsa_pkcs1_sha224",
        "ecdsa_sha224",
        "rsa_pkcs1_sha1",
        "ecdsa_sha1",
    )
    assert request.certificate_authorities == ()
    assert request.certificate_authorities_present


@pytest.mark.parametrize("version", [0x0300, TLS10, TLS11])
def test_pre_tls12_certificate_request_has_no_sigalgs(version: int) -> None:
    request = parse_certificate_request(cr12(b"\x01\x02", None, (CA_ONE_DER,)), version=version)
    assert request.signature_algorithms is None
    assert request.signature_algorithm_names is None
    assert request.certificate_types == (1, 2)
    assert request.certificate_authorities == (CA_ONE_DN,)


def test_tls10_layout_is_not_accepted_as_tls12() -> None:
    with pytest.raises(WireError):
        parse_certificate_request(cr12(b"\x01", None, (CA_ONE_DER,)), version=TLS12)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # DN claims 0x0100 bytes, far more than the list holds.
        (
            vec(1, b"\x01") + vec(2, u16s(0x0401)) + vec(2, b"\x01\x00" + CA_ONE_DER),
            r"DistinguishedName 0: length field says 256 bytes, only \d+ available",
        ),
        # List length covers only the first DN: the second one is trailing garbage.
        (
            vec(1, b"\x01")
            + vec(2, u16s(0x0401))
            + len(CA_ONE_DER).to_bytes(2, "big")[:0]
            + (len(CA_ONE_DER) + 2).to_bytes(2, "big")
            + vec(2, CA_ONE_DER)
            + vec(2, CA_TWO_DER),
            r"CertificateRequest: \d+ unexpected trailing bytes",
        ),
        # List length longer than the message.
        (
            vec(1, b"\x01") + vec(2, u16s(0x0401)) + b"\x00\x50" + vec(2, CA_ONE_DER),
            r"certificate_authorities: length field says 80 bytes",
        ),
        (vec(1, b"") + vec(2, u16s(0x0401)) + b"\x00\x00", r"certificate_types: length 0"),
        (vec(1, b"\x01") + vec(2, b"") + b"\x00\x00", "supported_signature_algorithms: length 0"),
        (vec(1, b"\x01") + vec(2, b"\x04\x01\x04") + b"\x00\x00", "odd length 3"),
        (vec(1, b"\x01") + vec(2, u16s(0x0401)) + vec(2, b"\x00\x00"), "DistinguishedName 0"),
        (vec(1, b"\x01") + vec(2, u16s(0x0401)) + vec(2, vec(2, b"\x31\x00")), "SEQUENCE"),
        (vec(1, b"\x01") + vec(2, u16s(0x0401)), "certificate_authorities length: need 2"),
    ],
)
def test_tls12_certificate_request_malformed(body: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_certificate_request(body, version=TLS12)


def test_certificate_request_unknown_version() -> None:
    with pytest.raises(WireError, match="0x0200"):
        parse_certificate_request(AWS_ALB_CERTIFICATE_REQUEST, version=0x0200)


# --- CertificateRequest, TLS 1.3 ----------------------------------------------------


def test_tls13_certificate_request_full() -> None:
    body = cr13(
        b"\x2a" * 8,
        ext(13, vec(2, u16s(0x0804, 0x0403, 0x0807))),
        ext(47, dn_list(CA_ONE_DER, CA_TWO_DER)),
        ext(50, vec(2, u16s(0x0401, 0x0503))),
        ext(
            48, vec(2, oid_filter(EKU_OID_TLV, CLIENT_AUTH_EKU) + oid_filter(b"\x55\x1d\x0f", b""))
        ),
    )
    request = parse_certificate_request(body, version=TLS13)
    assert request.tls13
    assert request.certificate_request_context == b"\x2a" * 8
    assert request.certificate_types is None
    assert request.certificate_type_names is None
    assert request.signature_algorithm_names == (
        "rsa_pss_rsae_sha256",
        "ecdsa_secp256r1_sha256",
        "ed25519",
    )
    assert request.signature_algorithm_cert_names == ("rsa_pkcs1_sha256", "ecdsa_secp384r1_sha384")
    assert request.certificate_authorities == (CA_ONE_DN, CA_TWO_DN)
    assert request.certificate_authorities_present
    assert request.oid_filters == (
        OidFilter("2.5.29.37", CLIENT_AUTH_EKU),
        OidFilter("2.5.29.15", b""),
    )
    assert request.extension_names == (
        "signature_algorithms",
        "certificate_authorities",
        "signature_algorithms_cert",
        "oid_filters",
    )


def test_tls13_certificate_request_without_authorities() -> None:
    body = cr13(b"", ext(13, vec(2, u16s(0x0403))))
    request = parse_certificate_request(body, version=TLS13)
    assert request.certificate_authorities == ()
    assert request.certificate_authorities_present is False
    assert request.signature_algorithms == (0x0403,)
    assert request.signature_algorithms_cert is None
    assert request.oid_filters == ()
    assert request.extensions == (Extension(13, vec(2, u16s(0x0403))),)


def test_tls13_certificate_request_unknown_extension_kept() -> None:
    body = cr13(b"", ext(13, vec(2, u16s(0x0403))), ext(0x7777, b"hi"))
    request = parse_certificate_request(body, version=TLS13)
    assert request.extensions[1] == Extension(0x7777, b"hi")
    assert request.extensions[1].name == "unknown_0x7777"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (cr13(b""), r"CertificateRequest extensions: length 0 is below the minimum 2"),
        (
            cr13(b"", ext(13, vec(2, u16s(0x0403))), ext(13, vec(2, u16s(0x0403)))),
            "duplicate extension signature_algorithms",
        ),
        (
            cr13(b"", ext(47, dn_list(CA_ONE_DER) + b"\x00")),
            "certificate_authorities: 1 unexpected",
        ),
        (cr13(b"", ext(13, vec(2, b""))), "signature_algorithms: length 0"),
        (cr13(b"", ext(50, vec(2, b"\x04\x01\x04"))), "signature_algorithms_cert: odd length 3"),
        (cr13(b"", ext(48, vec(2, oid_filter(b"", b"")))), "certificate_extension_oid: length 0"),
        (cr13(b"", ext(48, vec(2, oid_filter(b"\x55\x9d", b"")))), "oid_filters 0: OID"),
        (cr13(b"", ext(48, vec(2, b"\x03\x55\x1d\x25\x00\x05"))), "certificate_extension_values"),
        (cr13(b"", ext(13, vec(2, u16s(0x0403)))) + b"\x00", "CertificateRequest: 1 unexpected"),
        (b"\x05abc", r"certificate_request_context: length field says 5 bytes, only 3"),
    ],
)
def test_tls13_certificate_request_malformed(body: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_certificate_request(body, version=TLS13)


# --- ServerHello / HelloRetryRequest ------------------------------------------------


def server_hello(
    random: bytes, *extensions: bytes, version: int = TLS12, suite: int = 0xC02F, block: bool = True
) -> bytes:
    body = version.to_bytes(2, "big") + random + vec(1, b"\x11" * 32) + suite.to_bytes(2, "big")
    body += b"\x00"
    if block:
        body += vec(2, b"".join(extensions))
    return body


def test_tls12_server_hello() -> None:
    body = server_hello(
        b"\x01" * 32, ext(0xFF01, b"\x00"), ext(23, b""), ext(16, vec(2, vec(1, b"h2")))
    )
    hello = parse_server_hello(body)
    assert hello.legacy_version == TLS12
    assert hello.selected_version == TLS12
    assert hello.selected_version_name == "TLSv1.2"
    assert hello.session_id == b"\x11" * 32
    assert hello.cipher_suite == 0xC02F
    assert not hello.is_hello_retry_request
    assert hello.has_extension(0xFF01)
    assert not hello.has_extension(43)
    assert hello.key_share_group is None
    assert [e.name for e in hello.extensions] == [
        "renegotiation_info",
        "extended_master_secret",
        "application_layer_protocol_negotiation",
    ]


def test_tls10_server_hello_without_extensions_block() -> None:
    hello = parse_server_hello(server_hello(b"\x02" * 32, version=TLS10, suite=0x002F, block=False))
    assert hello == ServerHello(TLS10, b"\x02" * 32, b"\x11" * 32, 0x002F, 0, ())
    assert hello.selected_version_name == "TLSv1.0"


def test_tls13_server_hello() -> None:
    body = server_hello(
        b"\x03" * 32,
        ext(43, u16s(TLS13)),
        ext(51, u16s(29) + vec(2, b"\x09" * 32)),
        suite=0x1301,
    )
    hello = parse_server_hello(body)
    assert hello.legacy_version == TLS12
    assert hello.selected_version == TLS13
    assert hello.key_share_group == 29
    assert hello.key_share_group_name == "x25519"
    assert not hello.is_hello_retry_request


def test_hello_retry_request() -> None:
    body = server_hello(
        HELLO_RETRY_REQUEST_RANDOM,
        ext(43, u16s(TLS13)),
        ext(51, u16s(0x11EC)),
        ext(44, vec(2, b"cookie")),
        suite=0x1302,
    )
    message = parse_handshake_message(handshake(2, body), version=TLS13)
    hello = message.parsed
    assert isinstance(hello, ServerHello)
    assert hello.is_hello_retry_request
    assert hello.selected_version == TLS13
    assert hello.key_share_group_name == "X25519MLKEM768"
    assert hello.has_extension(44)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (server_hello(b"\x01" * 32, ext(43, b"\x03")), "supported_versions"),
        (server_hello(b"\x01" * 32, ext(51, u16s(29))), r"key_share key_exchange length"),
        (server_hello(HELLO_RETRY_REQUEST_RANDOM, ext(51, u16s(29, 0))), "HelloRetryRequest"),
        (server_hello(b"\x01" * 32, ext(0, b""), ext(0, b"")), "duplicate extension server_name"),
        (server_hello(b"\x01" * 32) + b"\x00", "ServerHello: 1 unexpected trailing"),
        (server_hello(b"\x01" * 32)[:20], "ServerHello random: need 32 bytes, only 18"),
        (u16s(TLS12) + b"\x00" * 32 + vec(1, b"\x00" * 33) + u16s(1) + b"\x00", "maximum 32"),
        (server_hello(b"\x01" * 32, block=False) + b"\x00", "ServerHello extensions length"),
    ],
)
def test_server_hello_malformed(body: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_server_hello(body)


def test_extension_helpers() -> None:
    assert parse_alpn_extension(vec(2, vec(1, b"h2") + vec(1, b"http/1.1"))) == ("h2", "http/1.1")
    assert parse_alpn_extension(vec(2, vec(1, b"\xff"))) == ("\\xff",)
    with pytest.raises(WireError, match="ALPN protocol name 0"):
        parse_alpn_extension(vec(2, vec(1, b"") + b"\x00"))
    assert parse_supported_versions_server(b"\x03\x04") == TLS13
    assert parse_key_share_server(b"\x00\x17") == 23
    assert parse_key_share_server(u16s(23) + vec(2, b"\x04" * 65)) == 23
    assert parse_extensions(vec(2, ext(0, b"") + ext(5, b"x"))) == (
        Extension(0, b""),
        Extension(5, b"x"),
    )
    with pytest.raises(WireError, match="trailing"):
        parse_extensions(vec(2, ext(0, b"")) + b"\x00")


# --- NewSessionTicket ---------------------------------------------------------------


def test_tls12_new_session_ticket() -> None:
    body = (43200).to_bytes(4, "big") + vec(2, b"\xaa" * 160)
    assert parse_new_session_ticket(body, version=TLS12) == NewSessionTicket(
        tls13=False,
        lifetime_s=43200,
        age_add=None,
        nonce=b"",
        ticket_length=160,
        max_early_data=None,
        extensions=(),
        ticket=b"\xaa" * 160,
    )
    # An empty ticket is how a server says "I will not issue one after all" (RFC 5077 3.3).
    empty = parse_new_session_ticket((0).to_bytes(4, "big") + vec(2, b""), version=TLS12)
    assert empty.ticket_length == 0


def test_tls13_new_session_ticket_with_early_data() -> None:
    body = (
        (43200).to_bytes(4, "big")
        + (0xDEADBEEF).to_bytes(4, "big")
        + vec(1, b"\x00" * 8)
        + vec(2, b"\xbb" * 200)
        + vec(2, ext(42, (16384).to_bytes(4, "big")))
    )
    message = parse_handshake_message(handshake(4, body), version=TLS13)
    assert message.name == "new_session_ticket"
    assert message.parsed == NewSessionTicket(
        tls13=True,
        lifetime_s=43200,
        age_add=0xDEADBEEF,
        nonce=b"\x00" * 8,
        ticket_length=200,
        max_early_data=16384,
        extensions=(Extension(42, (16384).to_bytes(4, "big")),),
        ticket=b"\xbb" * 200,
    )


@pytest.mark.parametrize(
    ("body", "version", "message"),
    [
        (b"\x00\x00\xa8\xc0" + b"\x00\x05ab", TLS12, "ticket: length field says 5"),
        (b"\x00\x00\xa8\xc0" + vec(2, b"ab") + b"!", TLS12, "1 unexpected trailing"),
        (b"\x00" * 8 + vec(1, b"") + vec(2, b"") + vec(2, b""), TLS13, "ticket: length 0"),
        (
            b"\x00" * 8 + vec(1, b"") + vec(2, b"t") + vec(2, ext(42, b"\x00\x00")),
            TLS13,
            "early_data: expected 4 bytes",
        ),
        (b"\x00" * 8 + vec(1, b"") + vec(2, b"t"), TLS13, "NewSessionTicket extensions length"),
    ],
)
def test_new_session_ticket_malformed(body: bytes, version: int, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_new_session_ticket(body, version=version)


# --- Certificate, CertificateStatus, EncryptedExtensions ----------------------------

FAKE_LEAF = b"\x30\x03\x02\x01\x01"  # not parsed here, any bytes do
FAKE_ISSUER = b"\x30\x03\x02\x01\x02"
OCSP_RESPONSE = b"\x30\x03\x0a\x01\x00"


def test_tls12_certificate() -> None:
    body = vec(3, vec(3, FAKE_LEAF) + vec(3, FAKE_ISSUER))
    assert parse_certificate(body, version=TLS12) == CertificateMessage(
        certificates=(FAKE_LEAF, FAKE_ISSUER), context=b"", entry_extensions=((), ())
    )
    assert parse_certificate(vec(3, b""), version=TLS12).certificates == ()


def test_tls13_certificate_with_stapled_ocsp() -> None:
    status = b"\x01" + vec(3, OCSP_RESPONSE)
    body = vec(1, b"") + vec(
        3, vec(3, FAKE_LEAF) + vec(2, ext(5, status)) + vec(3, FAKE_ISSUER) + vec(2, b"")
    )
    message = parse_handshake_message(handshake(11, body), version=TLS13)
    certificate = message.parsed
    assert isinstance(certificate, CertificateMessage)
    assert certificate.certificates == (FAKE_LEAF, FAKE_ISSUER)
    assert certificate.entry_extensions == ((Extension(5, status),), ())
    assert certificate.leaf_status == CertificateStatus(1, OCSP_RESPONSE)


@pytest.mark.parametrize(
    ("body", "version", "message"),
    [
        (vec(3, vec(3, b"")), TLS12, "Certificate entry 0: length 0"),
        (vec(3, vec(3, FAKE_LEAF)) + b"\x00", TLS12, "Certificate: 1 unexpected"),
        (b"\x00\x00\x09" + vec(3, FAKE_LEAF), TLS12, "certificate_list: length field says 9"),
        (vec(1, b"") + vec(3, vec(3, FAKE_LEAF)), TLS13, "Certificate entry 0 extensions length"),
        (
            vec(1, b"") + vec(3, vec(3, FAKE_LEAF) + vec(2, ext(5, b"\x01\x00\x00\x00"))),
            TLS13,
            "status_request: CertificateStatus response: length 0",
        ),
    ],
)
def test_certificate_malformed(body: bytes, version: int, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_certificate(body, version=version)


def test_certificate_status() -> None:
    message = parse_handshake_message(handshake(22, b"\x01" + vec(3, OCSP_RESPONSE)), version=TLS12)
    assert message.name == "certificate_status"
    assert message.parsed == CertificateStatus(status_type=1, response=OCSP_RESPONSE)
    with pytest.raises(WireError, match="response: length 0"):
        parse_certificate_status(b"\x01\x00\x00\x00")
    with pytest.raises(WireError, match="trailing"):
        parse_certificate_status(b"\x01" + vec(3, OCSP_RESPONSE) + b"\x00")


def test_encrypted_extensions() -> None:
    body = vec(2, ext(0, b"") + ext(16, vec(2, vec(1, b"h2"))))
    parsed = parse_encrypted_extensions(body)
    assert parsed == EncryptedExtensions((Extension(0, b""), Extension(16, vec(2, vec(1, b"h2")))))
    assert parsed.alpn_protocol == "h2"
    assert parse_encrypted_extensions(vec(2, b"")).alpn_protocol is None
    with pytest.raises(WireError, match="ALPN"):
        parse_encrypted_extensions(vec(2, ext(16, b"\x00")))


# --- framing and dispatch -----------------------------------------------------------


def test_split_handshake_and_header() -> None:
    assert split_handshake(handshake(20, b"\x00" * 12)) == (20, b"\x00" * 12)
    header = parse_handshake_header(b"\x0d\x00\x00\x1c")
    assert (header.name, header.length) == ("certificate_request", 28)
    with pytest.raises(WireError, match="handshake certificate_request body: length field says"):
        split_handshake(b"\x0d\x00\x00\x1c\x00")
    with pytest.raises(WireError, match="handshake finished: 1 unexpected"):
        split_handshake(handshake(20, b"") + b"\x00")


def test_split_handshake_stream() -> None:
    first = handshake(2, b"a" * 10)
    second = handshake(11, b"b" * 5)
    third = handshake(14, b"")
    messages, rest = split_handshake_stream(first + second + third + third[:2])
    assert messages == (first, second, third)
    assert rest == third[:2]
    assert split_handshake_stream(first[:-1]) == ((), first[:-1])


@pytest.mark.parametrize("msg_type", [1, 14, 15, 20, 24, 99])
def test_unparsed_types_still_returned(msg_type: int) -> None:
    message = parse_handshake_message(handshake(msg_type, b"\x01\x02"), version=TLS13)
    assert message.parsed is None
    assert message.body == b"\x01\x02"
    assert message.length == 2


def test_known_type_with_bad_body_raises() -> None:
    with pytest.raises(WireError):
        parse_handshake_message(handshake(13, b"\x00"), version=TLS12)


# --- property tests -----------------------------------------------------------------

VERSIONS = st.sampled_from([0x0300, TLS10, TLS11, TLS12, TLS13])

_ATTRIBUTES = st.one_of(
    st.builds(
        lambda v: x509.NameAttribute(NameOID.COMMON_NAME, v),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=16),
    ),
    st.builds(
        lambda v: x509.NameAttribute(NameOID.ORGANIZATION_NAME, v),
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=20),
    ),
    st.builds(
        lambda v: x509.NameAttribute(NameOID.COUNTRY_NAME, v),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    ),
    st.builds(
        lambda v: x509.NameAttribute(NameOID.DOMAIN_COMPONENT, v),
        st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True),
    ),
)
NAMES = st.lists(_ATTRIBUTES, max_size=4).map(x509.Name)


def _oracle(name_obj: x509.Name) -> DistinguishedName:
    der = name_obj.public_bytes()
    # Single-valued RDNs only, so construction order is DER order.
    return DistinguishedName(name_obj.rfc4514_string(), der)


@st.composite
def certificate_requests(draw: st.DrawFn) -> tuple[int, bytes, CertificateRequest]:
    """A random valid CertificateRequest: (version, body, what the parser must return)."""
    version = draw(VERSIONS)
    names = tuple(_oracle(n) for n in draw(st.lists(NAMES, max_size=4)))
    sigalgs = tuple(draw(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=12)))
    if version != TLS13:
        types = tuple(draw(st.lists(st.integers(0, 255), min_size=1, max_size=6)))
        has_sigalgs = version == TLS12
        body = cr12(bytes(types), sigalgs if has_sigalgs else None, tuple(n.der for n in names))
        return (
            version,
            body,
            CertificateRequest(
                tls13=False,
                certificate_request_context=b"",
                certificate_types=types,
                signature_algorithms=sigalgs if has_sigalgs else None,
                signature_algorithms_cert=None,
                certificate_authorities=names,
                certificate_authorities_present=True,
                oid_filters=(),
                extensions=(),
            ),
        )
    context = draw(st.binary(max_size=32))
    cert_sigalgs = draw(
        st.none() | st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=6).map(tuple)
    )
    send_authorities = bool(names) and draw(st.booleans())
    filters = draw(
        st.none()
        | st.lists(
            st.tuples(
                st.sampled_from(
                    [
                        ("2.5.29.37", "551d25"),
                        ("2.5.29.15", "551d0f"),
                        ("1.3.6.1.4.1.311.21.7", "2b0601040182371507"),
                        ("2.5.29.37", "0603551d25"),  # full DER TLV form
                    ]
                ),
                st.binary(max_size=20),
            ),
            max_size=3,
        )
    )
    extensions = [Extension(13, vec(2, u16s(*sigalgs)))]
    if send_authorities:
        extensions.append(Extension(47, dn_list(*(n.der for n in names))))
    if cert_sigalgs is not None:
        extensions.append(Extension(50, vec(2, u16s(*cert_sigalgs))))
    if filters is not None:
        raw = b"".join(oid_filter(bytes.fromhex(h), v) for (_, h), v in filters)
        extensions.append(Extension(48, vec(2, raw)))
    extensions = draw(st.permutations(extensions))
    body = cr13(context, *(ext(e.type, e.data) for e in extensions))
    return (
        version,
        body,
        CertificateRequest(
            tls13=True,
            certificate_request_context=context,
            certificate_types=None,
            signature_algorithms=sigalgs,
            signature_algorithms_cert=cert_sigalgs,
            certificate_authorities=names if send_authorities else (),
            certificate_authorities_present=send_authorities,
            oid_filters=tuple(OidFilter(oid, v) for (oid, _), v in filters or ()),
            extensions=tuple(extensions),
        ),
    )


@given(certificate_requests())
def test_certificate_request_round_trip(case: tuple[int, bytes, CertificateRequest]) -> None:
    version, body, expected = case
    assert parse_certificate_request(body, version=version) == expected
    message = parse_handshake_message(handshake(13, body), version=version)
    assert message.parsed == expected


@given(certificate_requests(), st.data())
def test_certificate_request_truncated_or_extended(
    case: tuple[int, bytes, CertificateRequest], data: st.DataObject
) -> None:
    version, body, _ = case
    cut = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(WireError):
        parse_certificate_request(body[:cut], version=version)
    with pytest.raises(WireError):
        parse_certificate_request(
            body + data.draw(st.binary(min_size=1, max_size=4)), version=version
        )


def _exercise(value: object) -> None:
    """Touch every derived property so lazily-parsed fields are fuzzed too. A property that
    parses an extension on demand may raise WireError (its documented answer to a malformed
    one, e.g. ``ServerHello.ec_point_formats``); any other exception is a bug."""
    for attribute in dir(value):
        if not attribute.startswith("_"):
            with contextlib.suppress(WireError):
                getattr(value, attribute)


PARSERS: dict[str, Callable[[bytes, int], object]] = {
    "certificate_request": lambda b, v: parse_certificate_request(b, version=v),
    "server_hello": lambda b, v: parse_server_hello(b),
    "new_session_ticket": lambda b, v: parse_new_session_ticket(b, version=v),
    "encrypted_extensions": lambda b, v: parse_encrypted_extensions(b),
    "certificate": lambda b, v: parse_certificate(b, version=v),
    "certificate_status": lambda b, v: parse_certificate_status(b),
    "handshake_message": lambda b, v: parse_handshake_message(b, version=v),
    "extensions": lambda b, v: parse_extensions(b),
    "alpn": lambda b, v: parse_alpn_extension(b),
    "supported_versions": lambda b, v: parse_supported_versions_server(b),
    "key_share": lambda b, v: parse_key_share_server(b),
    "split_handshake": lambda b, v: split_handshake(b),
    "split_handshake_stream": lambda b, v: split_handshake_stream(b),
    "handshake_header": lambda b, v: parse_handshake_header(b),
}


@pytest.mark.parametrize("parser", sorted(PARSERS))
@given(data=st.binary(max_size=200), version=VERSIONS | st.integers(0, 0xFFFF))
def test_arbitrary_bytes_parse_or_wire_error(parser: str, data: bytes, version: int) -> None:
    try:
        result = PARSERS[parser](data, version)
    except WireError:
        return
    _exercise(result)


SAMPLES: list[tuple[int, bytes]] = [
    (TLS12, handshake(13, AWS_ALB_CERTIFICATE_REQUEST)),
    (
        TLS13,
        handshake(
            13,
            cr13(
                b"\x01",
                ext(13, vec(2, u16s(0x0804))),
                ext(47, dn_list(CA_ONE_DER)),
                ext(48, vec(2, oid_filter(EKU_OID_TLV, CLIENT_AUTH_EKU))),
            ),
        ),
    ),
    (TLS12, handshake(13, cr12(b"\x01", (0x0401,), (CA_ONE_DER, CA_TWO_DER)))),
    (
        TLS13,
        handshake(
            2, server_hello(HELLO_RETRY_REQUEST_RANDOM, ext(43, u16s(TLS13)), ext(51, u16s(23)))
        ),
    ),
    (
        TLS13,
        handshake(
            2, server_hello(b"\x01" * 32, ext(43, u16s(TLS13)), ext(51, u16s(29) + vec(2, b"k")))
        ),
    ),
    (
        TLS13,
        handshake(
            4,
            b"\x00" * 8 + vec(1, b"n") + vec(2, b"t") + vec(2, ext(42, b"\x00\x00\x40\x00")),
        ),
    ),
    (
        TLS13,
        handshake(
            11,
            vec(1, b"")
            + vec(3, vec(3, FAKE_LEAF) + vec(2, ext(5, b"\x01" + vec(3, OCSP_RESPONSE)))),
        ),
    ),
    (TLS13, handshake(8, vec(2, ext(16, vec(2, vec(1, b"h2")))))),
]


@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_messages_parse_or_wire_error(
    sample: tuple[int, bytes], data: st.DataObject
) -> None:
    version, message = sample
    mutated = bytearray(message)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    try:
        result = parse_handshake_message(bytes(mutated), version=version)
    except WireError:
        return
    _exercise(result)
    if result.parsed is not None:
        _exercise(result.parsed)


def test_tls13_empty_certificate_authorities_extension_is_tolerated() -> None:
    # OpenSSL 3.0 with -no_ca_names sends extension 47 with a zero-length list.
    request = parse_certificate_request(
        cr13(b"", ext(13, vec(2, u16s(0x0403))), ext(47, vec(2, b""))), version=TLS13
    )
    assert request.certificate_authorities == ()
    assert request.certificate_authorities_present is True


def test_a_mutated_server_hello_with_bad_point_formats_is_exercised_without_error() -> None:
    # Found by the fuzz test above: byte 83 of a TLS 1.3 ServerHello sample turns key_share
    # into ec_point_formats with an empty list; the property's answer is WireError.
    version, message = SAMPLES[3]
    mutated = bytearray(message)
    mutated[83] = 11
    result = parse_handshake_message(bytes(mutated), version=version)
    assert isinstance(result.parsed, ServerHello)
    with pytest.raises(WireError, match="ec_point_formats"):
        _ = result.parsed.ec_point_formats
    _exercise(result.parsed)
