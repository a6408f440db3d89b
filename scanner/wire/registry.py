"""IANA code points for the TLS fields the scanner reports, with their registered names.

Sources: the IANA "Transport Layer Security (TLS) Parameters" and "TLS Extensions"
registry groups (https://www.iana.org/assignments/tls-parameters/ and
https://www.iana.org/assignments/tls-extensiontype-values/), whose procedures are set
by RFC 8447 and RFC 9847, plus the RFCs cited next to each entry. Names follow the
registry spelling so they can be searched for; ``_RESERVED`` suffixes are kept where
IANA uses them for retired values that a server may still send.

The fields with a fixed, small vocabulary are IntEnums whose member names are the registered
names (versions have a ``label`` instead, as "TLSv1.2" is no identifier); the name tables are
derived from them, so a code point is written exactly once. Cipher suites, groups and
signature schemes stay tables: code needing one of them looks it up with ``code_for``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

__all__ = [
    "ALERT_DESCRIPTIONS",
    "ALERT_LEVELS",
    "CERTIFICATE_STATUS_TYPES",
    "CLIENT_CERTIFICATE_TYPES",
    "CONTENT_TYPES",
    "EC_POINT_FORMATS",
    "EXTENSION_TYPES",
    "HANDSHAKE_TYPES",
    "NAMED_GROUPS",
    "PROTOCOL_VERSIONS",
    "SIGNATURE_SCHEMES",
    "AlertDescription",
    "AlertLevel",
    "CertificateStatusType",
    "ContentType",
    "ExtensionType",
    "HandshakeType",
    "TLSVersion",
    "code_for",
    "name_for",
]


def name_for(table: Mapping[int, str], code: int, width: int = 4) -> str:
    """Registered name of ``code`` or ``unknown_0x<hex>`` (zero-padded to ``width``)."""
    name = table.get(code)
    if name is not None:
        return name
    return f"unknown_0x{code:0{width}x}"


def code_for(table: Mapping[int, str], name: str) -> int:
    """The code point registered as ``name`` in ``table``; KeyError when there is none.

    For the tables that stay tables (cipher suites, groups, signature schemes): code that
    needs one value looks it up by its registered name instead of writing the number again.
    """
    for code, registered in table.items():
        if registered == name:
            return code
    raise KeyError(f"no code point named {name!r}")


def _frozen(entries: dict[int, str]) -> Mapping[int, str]:
    return MappingProxyType(entries)


def _names(codes: type[IntEnum]) -> Mapping[int, str]:
    """The code -> registered name table of an enum whose member names are the names."""
    return _frozen({int(member): member.name for member in codes})


# TLS ContentType (RFC 8446 section 5.1, RFC 6520 heartbeat, RFC 9146, RFC 9147).
class ContentType(IntEnum):
    """TLS record content types."""

    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23
    heartbeat = 24  # RFC 6520
    tls12_cid = 25  # RFC 9146
    ack = 26  # RFC 9147 (DTLS 1.3)


CONTENT_TYPES: Mapping[int, str] = _names(ContentType)


# ProtocolVersion values as seen in record headers, hellos and supported_versions.
# 0x0002 is the SSL 2.0 version number carried inside an SSLv2 SERVER-HELLO.
class TLSVersion(IntEnum):
    """Protocol versions by wire code point; ``label`` is the name records use ("TLSv1.2").

    The OpenSSL minimum/maximum protocol version settings take the same numbers.
    """

    SSLv2 = 0x0002
    SSLv3 = 0x0300  # RFC 6101
    TLSv1_0 = 0x0301  # RFC 2246
    TLSv1_1 = 0x0302  # RFC 4346
    TLSv1_2 = 0x0303  # RFC 5246
    TLSv1_3 = 0x0304  # RFC 8446
    DTLSv1_0 = 0xFEFF  # RFC 4347
    DTLSv1_2 = 0xFEFD  # RFC 6347
    DTLSv1_3 = 0xFEFC  # RFC 9147

    @property
    def label(self) -> str:
        """The display name: "SSLv3", "TLSv1.0" ... "TLSv1.3", "DTLSv1.2"."""
        return self.name.replace("_", ".")

    @classmethod
    def from_label(cls, label: str) -> TLSVersion:
        """The version whose ``label`` is ``label``; ValueError for any other string."""
        member = _VERSIONS_BY_LABEL.get(label)
        if member is None:
            raise ValueError(f"unknown protocol version label {label!r}")
        return member


_VERSIONS_BY_LABEL: Mapping[str, TLSVersion] = MappingProxyType(
    {version.label: version for version in TLSVersion}
)
PROTOCOL_VERSIONS: Mapping[int, str] = _frozen(
    {int(version): version.label for version in TLSVersion}
)


# AlertLevel (RFC 5246 section 7.2, kept in RFC 8446 section 6).
class AlertLevel(IntEnum):
    """How serious an alert is."""

    warning = 1
    fatal = 2


ALERT_LEVELS: Mapping[int, str] = _names(AlertLevel)


# AlertDescription: IANA "TLS Alerts" registry (RFC 8446 section 6, RFC 5246 7.2, ...).
class AlertDescription(IntEnum):
    """Why an alert was sent; member names are the registered names."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    decryption_failed = 21  # reserved since TLS 1.1
    record_overflow = 22
    decompression_failure = 30  # reserved in TLS 1.3
    handshake_failure = 40
    no_certificate = 41  # SSLv3 only, reserved
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    too_many_cids_requested = 52  # RFC 9147
    export_restriction = 60  # reserved
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86  # RFC 7507
    user_canceled = 90
    no_renegotiation = 100  # reserved in TLS 1.3
    missing_extension = 109  # RFC 8446
    unsupported_extension = 110
    certificate_unobtainable = 111  # RFC 6066, reserved in TLS 1.3
    unrecognized_name = 112  # RFC 6066
    bad_certificate_status_response = 113  # RFC 6066
    bad_certificate_hash_value = 114  # RFC 6066, reserved in TLS 1.3
    unknown_psk_identity = 115  # RFC 4279
    certificate_required = 116  # RFC 8446
    general_error = 117  # RFC 8446bis
    no_application_protocol = 120  # RFC 7301
    ech_required = 121  # draft-ietf-tls-esni


ALERT_DESCRIPTIONS: Mapping[int, str] = _names(AlertDescription)


# HandshakeType: IANA "TLS HandshakeType" registry (RFC 8446 section 4, RFC 5246 7.4).
class HandshakeType(IntEnum):
    """Handshake message types; member names are the registered names."""

    hello_request = 0  # TLS <= 1.2 only
    client_hello = 1
    server_hello = 2
    hello_verify_request = 3  # DTLS, RFC 6347
    new_session_ticket = 4  # RFC 5077 / RFC 8446
    end_of_early_data = 5  # RFC 8446
    hello_retry_request = 6  # reserved: TLS 1.3 drafts only; final HRR is a ServerHello
    encrypted_extensions = 8  # RFC 8446
    request_connection_id = 9  # RFC 9147
    new_connection_id = 10  # RFC 9147
    certificate = 11
    server_key_exchange = 12
    certificate_request = 13
    server_hello_done = 14
    certificate_verify = 15
    client_key_exchange = 16
    finished = 20
    certificate_url = 21  # RFC 6066
    certificate_status = 22  # RFC 6066
    supplemental_data = 23  # RFC 4680
    key_update = 24  # RFC 8446
    compressed_certificate = 25  # RFC 8879
    ekt_key = 26  # RFC 8870
    next_protocol = 67  # draft-agl-tls-nextprotoneg (not IANA-assigned)
    message_hash = 254  # RFC 8446 (synthetic, transcript only)


HANDSHAKE_TYPES: Mapping[int, str] = _names(HandshakeType)


# ExtensionType: IANA "TLS ExtensionType Values" registry, plus a few widely deployed
# unregistered values at the end so they are not reported as unknown.
class ExtensionType(IntEnum):
    """Extension types; member names are the registered names."""

    server_name = 0  # RFC 6066
    max_fragment_length = 1  # RFC 6066
    client_certificate_url = 2  # RFC 6066
    trusted_ca_keys = 3  # RFC 6066
    truncated_hmac = 4  # RFC 6066
    status_request = 5  # RFC 6066
    user_mapping = 6  # RFC 4681
    client_authz = 7  # RFC 5878
    server_authz = 8  # RFC 5878
    cert_type = 9  # RFC 6091
    supported_groups = 10  # RFC 8422, RFC 7919 (was "elliptic_curves")
    ec_point_formats = 11  # RFC 8422
    srp = 12  # RFC 5054
    signature_algorithms = 13  # RFC 8446
    use_srtp = 14  # RFC 5764
    heartbeat = 15  # RFC 6520
    application_layer_protocol_negotiation = 16  # RFC 7301
    status_request_v2 = 17  # RFC 6961
    signed_certificate_timestamp = 18  # RFC 6962
    client_certificate_type = 19  # RFC 7250
    server_certificate_type = 20  # RFC 7250
    padding = 21  # RFC 7685
    encrypt_then_mac = 22  # RFC 7366
    extended_master_secret = 23  # RFC 7627
    token_binding = 24  # RFC 8472
    cached_info = 25  # RFC 7924
    tls_lts = 26  # draft-gutmann-tls-lts
    compress_certificate = 27  # RFC 8879
    record_size_limit = 28  # RFC 8449
    pwd_protect = 29  # RFC 8492
    pwd_clear = 30  # RFC 8492
    password_salt = 31  # RFC 8492
    ticket_pinning = 32  # RFC 8672
    tls_cert_with_extern_psk = 33  # RFC 8773
    delegated_credential = 34  # RFC 9345
    session_ticket = 35  # RFC 5077, RFC 8447
    TLMSP = 36  # ETSI TS 103 523-2
    TLMSP_proxying = 37  # ETSI TS 103 523-2
    TLMSP_delegate = 38  # ETSI TS 103 523-2
    supported_ekt_ciphers = 39  # RFC 8870
    pre_shared_key = 41  # RFC 8446
    early_data = 42  # RFC 8446
    supported_versions = 43  # RFC 8446
    cookie = 44  # RFC 8446
    psk_key_exchange_modes = 45  # RFC 8446
    certificate_authorities = 47  # RFC 8446
    oid_filters = 48  # RFC 8446
    post_handshake_auth = 49  # RFC 8446
    signature_algorithms_cert = 50  # RFC 8446
    key_share = 51  # RFC 8446
    transparency_info = 52  # RFC 9162
    connection_id_deprecated = 53  # RFC 9146 (draft code point)
    connection_id = 54  # RFC 9146
    external_id_hash = 55  # RFC 8844
    external_session_id = 56  # RFC 8844
    quic_transport_parameters = 57  # RFC 9001
    ticket_request = 58  # RFC 9149
    dnssec_chain = 59  # RFC 9102
    # draft-pismenny-tls-dtls-plaintext-sequence-number
    sequence_number_encryption_algorithms = 60
    rrc = 61  # draft-ietf-tls-dtls-rrc
    ech_outer_extensions = 0xFD00  # draft-ietf-tls-esni
    encrypted_client_hello = 0xFE0D  # draft-ietf-tls-esni
    renegotiation_info = 0xFF01  # RFC 5746
    # Not IANA-assigned, but common enough on the wire to deserve a name:
    next_protocol_negotiation = 13172  # 0x3374, draft-agl-tls-nextprotoneg
    application_settings_old = 17513  # 0x4469, ALPS draft (Chrome)
    application_settings = 17613  # 0x44cd, ALPS draft (Chrome)
    channel_id = 30032  # 0x7550, draft-balfanz-tls-channelid


EXTENSION_TYPES: Mapping[int, str] = _names(ExtensionType)


# ECPointFormat (RFC 8422 section 5.1.2; the compressed forms are deprecated).
EC_POINT_FORMATS: Mapping[int, str] = _frozen(
    {0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}
)


# TLS Certificate Status Types (RFC 6066 section 8, RFC 6961).
class CertificateStatusType(IntEnum):
    """What a stapled status carries."""

    ocsp = 1
    ocsp_multi = 2


CERTIFICATE_STATUS_TYPES: Mapping[int, str] = _names(CertificateStatusType)


# ClientCertificateType: IANA "TLS ClientCertificateType Identifiers" (RFC 5246 7.4.4,
# RFC 8422 section 5.5 for the ECC values, RFC 9189 for GOST).
CLIENT_CERTIFICATE_TYPES: Mapping[int, str] = _frozen(
    {
        1: "rsa_sign",
        2: "dss_sign",
        3: "rsa_fixed_dh",
        4: "dss_fixed_dh",
        5: "rsa_ephemeral_dh_RESERVED",
        6: "dss_ephemeral_dh_RESERVED",
        20: "fortezza_dms_RESERVED",
        64: "ecdsa_sign",
        65: "rsa_fixed_ecdh",
        66: "ecdsa_fixed_ecdh",
        67: "gost_sign256",
        68: "gost_sign512",
    }
)


# SignatureScheme: IANA "TLS SignatureScheme" registry (RFC 8446 section 4.2.3).
# Values below 0x0800 double as TLS 1.2 SignatureAndHashAlgorithm pairs (RFC 5246
# 7.4.1.4.1: hash << 8 | signature, hash md5=1 sha1=2 sha224=3 sha256=4 sha384=5
# sha512=6, signature rsa=1 dsa=2 ecdsa=3). Every such pair is named here; pairs that
# never got a SignatureScheme name use "<sig>_<hash>" (rsa as rsa_pkcs1_<hash>).
SIGNATURE_SCHEMES: Mapping[int, str] = _frozen(
    {
        # TLS 1.2 hash/signature pairs.
        0x0101: "rsa_pkcs1_md5",
        0x0102: "dsa_md5",
        0x0103: "ecdsa_md5",
        0x0201: "rsa_pkcs1_sha1",
        0x0202: "dsa_sha1",
        0x0203: "ecdsa_sha1",
        0x0301: "rsa_pkcs1_sha224",
        0x0302: "dsa_sha224",
        0x0303: "ecdsa_sha224",
        0x0401: "rsa_pkcs1_sha256",
        0x0402: "dsa_sha256",
        0x0403: "ecdsa_secp256r1_sha256",
        0x0501: "rsa_pkcs1_sha384",
        0x0502: "dsa_sha384",
        0x0503: "ecdsa_secp384r1_sha384",
        0x0601: "rsa_pkcs1_sha512",
        0x0602: "dsa_sha512",
        0x0603: "ecdsa_secp521r1_sha512",
        # RSASSA-PKCS1-v1_5 for TLS 1.3 CertificateVerify (draft-ietf-tls-tls13-pkcs1).
        0x0420: "rsa_pkcs1_sha256_legacy",
        0x0520: "rsa_pkcs1_sha384_legacy",
        0x0620: "rsa_pkcs1_sha512_legacy",
        # Identity-based and national schemes (IANA registry; RFC 8998 for SM2).
        0x0704: "eccsi_sha256",
        0x0705: "iso_ibs1",
        0x0706: "iso_ibs2",
        0x0707: "iso_chinese_ibs",
        0x0708: "sm2sig_sm3",
        # GOST R 34.10-2012 for TLS 1.3 (RFC 9367).
        0x0709: "gostr34102012_256a",
        0x070A: "gostr34102012_256b",
        0x070B: "gostr34102012_256c",
        0x070C: "gostr34102012_256d",
        0x070D: "gostr34102012_512a",
        0x070E: "gostr34102012_512b",
        0x070F: "gostr34102012_512c",
        # RSASSA-PSS and EdDSA (RFC 8446; 0x0807/0x0808 also RFC 8422 for TLS 1.2).
        0x0804: "rsa_pss_rsae_sha256",
        0x0805: "rsa_pss_rsae_sha384",
        0x0806: "rsa_pss_rsae_sha512",
        0x0807: "ed25519",
        0x0808: "ed448",
        0x0809: "rsa_pss_pss_sha256",
        0x080A: "rsa_pss_pss_sha384",
        0x080B: "rsa_pss_pss_sha512",
        # Brainpool curves for TLS 1.3 (RFC 8734).
        0x081A: "ecdsa_brainpoolP256r1tls13_sha256",
        0x081B: "ecdsa_brainpoolP384r1tls13_sha384",
        0x081C: "ecdsa_brainpoolP512r1tls13_sha512",
        # GOST R 34.10-2012 for TLS 1.2: "intrinsic" hash 8 with signature 64/65 (RFC 9189).
        0x0840: "gostr34102012_256",
        0x0841: "gostr34102012_512",
        # ML-DSA (draft-ietf-tls-mldsa).
        0x0904: "mldsa44",
        0x0905: "mldsa65",
        0x0906: "mldsa87",
    }
)


# NamedGroup: IANA "TLS Supported Groups" registry (RFC 8422, RFC 7919, RFC 8446).
NAMED_GROUPS: Mapping[int, str] = _frozen(
    {
        # Binary and prime curves of RFC 4492 (most deprecated by RFC 8422).
        1: "sect163k1",
        2: "sect163r1",
        3: "sect163r2",
        4: "sect193r1",
        5: "sect193r2",
        6: "sect233k1",
        7: "sect233r1",
        8: "sect239k1",
        9: "sect283k1",
        10: "sect283r1",
        11: "sect409k1",
        12: "sect409r1",
        13: "sect571k1",
        14: "sect571r1",
        15: "secp160k1",
        16: "secp160r1",
        17: "secp160r2",
        18: "secp192k1",
        19: "secp192r1",
        20: "secp224k1",
        21: "secp224r1",
        22: "secp256k1",
        23: "secp256r1",
        24: "secp384r1",
        25: "secp521r1",
        26: "brainpoolP256r1",  # RFC 7027
        27: "brainpoolP384r1",  # RFC 7027
        28: "brainpoolP512r1",  # RFC 7027
        29: "x25519",  # RFC 8422
        30: "x448",  # RFC 8422
        31: "brainpoolP256r1tls13",  # RFC 8734
        32: "brainpoolP384r1tls13",  # RFC 8734
        33: "brainpoolP512r1tls13",  # RFC 8734
        34: "GC256A",  # RFC 9189
        35: "GC256B",  # RFC 9189
        36: "GC256C",  # RFC 9189
        37: "GC256D",  # RFC 9189
        38: "GC512A",  # RFC 9189
        39: "GC512B",  # RFC 9189
        40: "GC512C",  # RFC 9189
        41: "curveSM2",  # RFC 8998
        # Finite-field groups (RFC 7919).
        0x0100: "ffdhe2048",
        0x0101: "ffdhe3072",
        0x0102: "ffdhe4096",
        0x0103: "ffdhe6144",
        0x0104: "ffdhe8192",
        # Pure ML-KEM (draft-ietf-tls-mlkem).
        0x0200: "MLKEM512",
        0x0201: "MLKEM768",
        0x0202: "MLKEM1024",
        # Hybrid ECDHE + ML-KEM (draft-ietf-tls-ecdhe-mlkem).
        0x11EB: "SecP256r1MLKEM768",
        0x11EC: "X25519MLKEM768",
        0x11ED: "SecP384r1MLKEM1024",
        # Pre-standard Kyber hybrids, obsolete but still seen (draft-tls-westerbaan-xyber768d00).
        0x6399: "X25519Kyber768Draft00",
        0x639A: "SecP256r1Kyber768Draft00",
        # RFC 8422 section 5.1.1 (deprecated).
        0xFF01: "arbitrary_explicit_prime_curves",
        0xFF02: "arbitrary_explicit_char2_curves",
    }
)
