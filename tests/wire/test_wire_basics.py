"""Reader, registries, alerts, record sniffing and X.500 name parsing."""

from __future__ import annotations

import contextlib

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from scanner.wire import (
    ALERT_DESCRIPTIONS,
    CLIENT_CERTIFICATE_TYPES,
    EXTENSION_TYPES,
    HANDSHAKE_TYPES,
    NAMED_GROUPS,
    PROTOCOL_VERSIONS,
    SIGNATURE_SCHEMES,
    ByteReader,
    DistinguishedName,
    WireError,
    decode_oid,
    describe_non_tls,
    looks_like_tls,
    name_for,
    parse_alert,
    parse_distinguished_name,
    parse_record_header,
)

# --- ByteReader ---------------------------------------------------------------------


def test_reader_integers_and_vectors() -> None:
    reader = ByteReader(bytes.fromhex("01 0203 040506 0708090a 02 aabb 000001 cc"))
    assert reader.u8() == 1
    assert reader.u16() == 0x0203
    assert reader.u24() == 0x040506
    assert reader.u32() == 0x0708090A
    assert reader.vector(1) == b"\xaa\xbb"
    assert reader.vector(3) == b"\xcc"
    assert reader.at_end
    assert reader.remaining == 0
    reader.expect_end("test")


def test_reader_short_read_names_field() -> None:
    reader = ByteReader(b"\x00\x05abc")
    with pytest.raises(WireError, match=r"widget: length field says 5 bytes, only 3 available"):
        reader.vector(2, "widget")


def test_reader_take_names_field() -> None:
    with pytest.raises(WireError, match=r"thing: need 4 bytes, only 1 available"):
        ByteReader(b"\x00").u32("thing")


def test_reader_vector_bounds_and_trailing() -> None:
    with pytest.raises(WireError, match="below the minimum 1"):
        ByteReader(b"\x00").vector(1, "x", min_length=1)
    with pytest.raises(WireError, match="exceeds the maximum 2"):
        ByteReader(b"\x03abc").vector(1, "x", max_length=2)
    reader = ByteReader(b"\x01a!!")
    reader.vector(1)
    with pytest.raises(WireError, match="thing: 2 unexpected trailing bytes"):
        reader.expect_end("thing")


# --- registry -----------------------------------------------------------------------


def test_name_for_unknown_is_zero_padded() -> None:
    assert name_for(SIGNATURE_SCHEMES, 0x0403) == "ecdsa_secp256r1_sha256"
    assert name_for(SIGNATURE_SCHEMES, 0xABCD) == "unknown_0xabcd"
    assert name_for(ALERT_DESCRIPTIONS, 7, 2) == "unknown_0x07"
    assert name_for(EXTENSION_TYPES, 0x1234) == "unknown_0x1234"


def test_legacy_signature_pairs_all_named() -> None:
    for hash_code in range(1, 7):
        for sig_code in range(1, 4):
            assert (hash_code << 8 | sig_code) in SIGNATURE_SCHEMES
    assert SIGNATURE_SCHEMES[0x0303] == "ecdsa_sha224"
    assert SIGNATURE_SCHEMES[0x0301] == "rsa_pkcs1_sha224"
    assert SIGNATURE_SCHEMES[0x0402] == "dsa_sha256"
    assert SIGNATURE_SCHEMES[0x0603] == "ecdsa_secp521r1_sha512"
    assert SIGNATURE_SCHEMES[0x0804] == "rsa_pss_rsae_sha256"
    assert SIGNATURE_SCHEMES[0x081B] == "ecdsa_brainpoolP384r1tls13_sha384"
    assert SIGNATURE_SCHEMES[0x0905] == "mldsa65"


def test_registry_spot_checks() -> None:
    assert ALERT_DESCRIPTIONS[116] == "certificate_required"
    assert ALERT_DESCRIPTIONS[120] == "no_application_protocol"
    assert ALERT_DESCRIPTIONS[112] == "unrecognized_name"
    assert HANDSHAKE_TYPES[13] == "certificate_request"
    assert HANDSHAKE_TYPES[254] == "message_hash"
    assert EXTENSION_TYPES[47] == "certificate_authorities"
    assert EXTENSION_TYPES[0xFF01] == "renegotiation_info"
    assert EXTENSION_TYPES[13172] == "next_protocol_negotiation"
    assert NAMED_GROUPS[0x11EC] == "X25519MLKEM768"
    assert NAMED_GROUPS[0x0201] == "MLKEM768"
    assert NAMED_GROUPS[29] == "x25519"
    assert CLIENT_CERTIFICATE_TYPES[64] == "ecdsa_sign"
    assert PROTOCOL_VERSIONS[0x0304] == "TLSv1.3"
    assert PROTOCOL_VERSIONS[0x0002] == "SSLv2"


def test_registries_are_read_only() -> None:
    with pytest.raises(TypeError):
        SIGNATURE_SCHEMES[1] = "x"  # type: ignore[index]


# --- alerts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "level", "name"),
    [
        (b"\x02\x28", "fatal", "handshake_failure"),
        (b"\x02\x74", "fatal", "certificate_required"),
        (b"\x01\x70", "warning", "unrecognized_name"),
        (b"\x01\x00", "warning", "close_notify"),
        (b"\x07\xee", "unknown_0x07", "unknown_0xee"),
    ],
)
def test_parse_alert(data: bytes, level: str, name: str) -> None:
    alert = parse_alert(data)
    assert (alert.level_name, alert.name) == (level, name)


@pytest.mark.parametrize("data", [b"", b"\x02", b"\x02\x28\x00"])
def test_parse_alert_wrong_length(data: bytes) -> None:
    with pytest.raises(WireError, match="exactly 2 bytes"):
        parse_alert(data)


# --- records ------------------------------------------------------------------------


def test_parse_record_header() -> None:
    header = parse_record_header(b"\x15\x03\x01\x00\x02")
    assert (header.content_type_name, header.version_name, header.length) == (
        "alert",
        "TLSv1.0",
        2,
    )
    with pytest.raises(WireError, match="exactly 5 bytes"):
        parse_record_header(b"\x16\x03\x03\x00")
    with pytest.raises(WireError, match="exceeds the maximum"):
        parse_record_header(b"\x17\x03\x03\xff\xff")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b"\x16\x03\x03\x00\x5a", True),  # handshake record, TLS 1.2
        (b"\x15\x03\x01\x00\x02\x02\x28", True),  # fatal handshake_failure alert
        (b"\x16\x03\x01\x00\x5a\x02\x00\x00\x56\x03\x03", True),  # ServerHello start
        (b"\x16", True),
        (b"\x16\x03", True),
        (b"\x16\x03\x04", True),
        (b"\x80\x2e\x04\x00\x01\x00\x02", True),  # SSLv2 SERVER-HELLO
        (b"\x80", True),
        (b"HTTP/1.1 400", False),
        (b"SSH-2.0-", False),
        (b"220 mail.example.com ESMTP\r\n", False),
        (b"", False),
        (b"\x16\x02\x00", False),
        (b"\x16\x03\x05", False),
        (b"\x16\x03\x03\xff\xff", False),  # longer than any record
        (b"\x19\x03\x03\x00\x10", False),  # content type 25 is not a first record
        (b"\x80\x2e\x02", False),  # SSLv2, but not SERVER-HELLO
    ],
)
def test_looks_like_tls(prefix: bytes, expected: bool) -> None:
    assert looks_like_tls(prefix) is expected


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (b"SSH-2.0-OpenSSH_9.2\r\n", "SSH-2.0-OpenSSH_9.2"),
        (b"HTTP/1.1 400", "HTTP/1.1 400"),
        (b"\x00\x01\x02", "hex:000102"),
        (bytes(range(20)), "hex:000102030405060708090a0b0c0d0e0f..."),
        (b"", "no data"),
        (b"A" * 200, "A" * 80 + "..."),
    ],
)
def test_describe_non_tls(prefix: bytes, expected: str) -> None:
    assert describe_non_tls(prefix) == expected


@given(st.binary(max_size=64))
def test_record_helpers_never_crash(data: bytes) -> None:
    assert isinstance(looks_like_tls(data), bool)
    assert describe_non_tls(data).isprintable()
    with contextlib.suppress(WireError):
        parse_record_header(data)
    with contextlib.suppress(WireError):
        parse_alert(data)


# --- X.500 names --------------------------------------------------------------------


def test_distinguished_name_simple() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, "Example Client CA"),
        ]
    )
    der = name.public_bytes()
    assert parse_distinguished_name(der) == DistinguishedName(
        rfc4514="CN=Example Client CA,O=Example\\, Inc.,C=US", der=der
    )


def test_distinguished_name_string_types_and_multivalued_rdn() -> None:
    name = x509.Name(
        [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE")]),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(
                        NameOID.ORGANIZATION_NAME, "Bär AG", _type=_ASN1Type.BMPString
                    ),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "PKI"),
                ]
            ),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(
                        NameOID.LOCALITY_NAME, "Zürich", _type=_ASN1Type.UniversalString
                    )
                ]
            ),
            x509.RelativeDistinguishedName(
                [
                    x509.NameAttribute(
                        NameOID.EMAIL_ADDRESS, "ca@example.com", _type=_ASN1Type.IA5String
                    )
                ]
            ),
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "#1 CA ")]),
        ]
    )
    der = name.public_bytes()
    # DER sorts the SET OF, which puts OU (UTF8String, shorter) before O (BMPString).
    assert parse_distinguished_name(der).rfc4514 == (
        "CN=\\#1 CA\\ ,1.2.840.113549.1.9.1=ca@example.com,L=Zürich,OU=PKI+O=Bär AG,C=DE"
    )


def test_distinguished_name_teletex_latin1_and_utf8() -> None:
    # SEQUENCE { SET { SEQUENCE { 2.5.4.7, T61String } } } built by hand.
    def t61_locality(raw: bytes) -> bytes:
        attr = b"\x06\x03\x55\x04\x07" + b"\x14" + bytes([len(raw)]) + raw
        seq = b"\x30" + bytes([len(attr)]) + attr
        rdn = b"\x31" + bytes([len(seq)]) + seq
        return b"\x30" + bytes([len(rdn)]) + rdn

    assert parse_distinguished_name(t61_locality(b"Z\xfcrich")).rfc4514 == "L=Zürich"
    assert parse_distinguished_name(t61_locality("Zürich".encode())).rfc4514 == "L=Zürich"


def test_distinguished_name_hex_fallbacks() -> None:
    # Country of 3 letters: cryptography rejects it, so RFC 4514 #hex form.
    assert parse_distinguished_name(bytes.fromhex("300e310c300a06035504061303555341")).rfc4514 == (
        "C=#1303555341"
    )
    # OCTET STRING value under an unknown OID.
    der = bytes.fromhex("300f310d300b0604 2a030405 0403010203".replace(" ", ""))
    assert parse_distinguished_name(der).rfc4514 == "1.2.3.4.5=#0403010203"
    # PrintableString holding a non-ASCII byte.
    der = bytes.fromhex("300c310a300806035504031301ff")
    assert parse_distinguished_name(der).rfc4514 == "CN=#1301ff"


def test_empty_distinguished_name() -> None:
    assert parse_distinguished_name(b"\x30\x00") == DistinguishedName("", b"\x30\x00")


@pytest.mark.parametrize(
    ("der", "message"),
    [
        (b"", "missing DER tag"),
        (b"\x31\x00", "expected SEQUENCE"),
        (b"\x30\x05\x31\x00", "DER length says 5 bytes, only 2 available"),
        (b"\x30\x00\x00", "1 unexpected trailing bytes"),
        (b"\x30\x02\x31\x00", "empty SET"),
        (b"\x30\x80\x00\x00", "indefinite length"),
        (b"\x30\x81\x00", "non-minimal"),
        (b"\x30\x04\x31\x02\x30\x00", "attribute has 0 fields"),
        (bytes.fromhex("300b3109300706012a04000c00"), "attribute has 3 fields"),
        (bytes.fromhex("300a3108300604010c0c0161"), "expected OID tag"),
        (bytes.fromhex("300a310830060601880c0161"), "OID: last subidentifier is truncated"),
    ],
)
def test_distinguished_name_garbage(der: bytes, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_distinguished_name(der)


@pytest.mark.parametrize(
    ("content", "dotted"),
    [
        ("2a864886f70d010901", "1.2.840.113549.1.9.1"),
        ("551d25", "2.5.29.37"),
        ("8837", "2.999"),
        ("00", "0.0"),
    ],
)
def test_decode_oid(content: str, dotted: str) -> None:
    assert decode_oid(bytes.fromhex(content)) == dotted


@pytest.mark.parametrize("content", ["", "2a86", "2a8001"])
def test_decode_oid_invalid(content: str) -> None:
    with pytest.raises(WireError):
        decode_oid(bytes.fromhex(content))


_TEXT = st.text(st.characters(max_codepoint=0xFFFF, codec="utf-8"), min_size=1, max_size=16)
_NAME_ATTRIBUTES = st.one_of(
    st.builds(lambda v: x509.NameAttribute(NameOID.COMMON_NAME, v), _TEXT),
    st.builds(lambda v: x509.NameAttribute(NameOID.ORGANIZATION_NAME, v), _TEXT),
    st.builds(
        lambda v: x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME, v, _type=_ASN1Type.BMPString
        ),
        _TEXT,
    ),
    st.builds(
        lambda v: x509.NameAttribute(NameOID.LOCALITY_NAME, v, _type=_ASN1Type.UniversalString),
        _TEXT,
    ),
    st.builds(
        lambda v: x509.NameAttribute(NameOID.COUNTRY_NAME, v),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    ),
    st.builds(
        lambda v: x509.NameAttribute(NameOID.DOMAIN_COMPONENT, v, _type=_ASN1Type.IA5String),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12),
    ),
)
NAMES = st.lists(
    st.lists(_NAME_ATTRIBUTES, min_size=1, max_size=3, unique_by=lambda a: (a.oid, a.value)).map(
        x509.RelativeDistinguishedName
    ),
    max_size=5,
).map(x509.Name)


def expected_rfc4514(name: x509.Name) -> str:
    """Oracle: cryptography's own DER parser, which keeps the DER (sorted) RDN order."""
    from_bytes = getattr(x509.Name, "from_bytes", None)
    if from_bytes is None:
        pytest.skip("cryptography too old for Name.from_bytes")
    result: str = from_bytes(name.public_bytes()).rfc4514_string()
    return result


@given(NAMES)
def test_distinguished_name_matches_cryptography(name: x509.Name) -> None:
    der = name.public_bytes()
    assert parse_distinguished_name(der) == DistinguishedName(expected_rfc4514(name), der)


@given(st.binary(max_size=80))
def test_distinguished_name_arbitrary_bytes(data: bytes) -> None:
    with contextlib.suppress(WireError):
        parse_distinguished_name(data)


@given(st.binary(min_size=1, max_size=40).map(lambda b: b"\x30" + bytes([len(b)]) + b))
def test_distinguished_name_arbitrary_sequence(data: bytes) -> None:
    with contextlib.suppress(WireError):
        parse_distinguished_name(data)


@given(st.binary(max_size=20))
def test_decode_oid_arbitrary(data: bytes) -> None:
    with contextlib.suppress(WireError):
        decode_oid(data)
