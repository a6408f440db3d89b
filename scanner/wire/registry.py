"""IANA code points for the TLS fields the scanner reports, with their registered names.

Sources: the IANA "Transport Layer Security (TLS) Parameters" and "TLS Extensions"
registry groups (https://www.iana.org/assignments/tls-parameters/ and
https://www.iana.org/assignments/tls-extensiontype-values/), whose procedures are set
by RFC 8447 and RFC 9847, plus the RFCs cited next to each entry. Names follow the
registry spelling so they can be searched for; ``_RESERVED`` suffixes are kept where
IANA uses them for retired values that a server may still send.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ALERT_DESCRIPTIONS",
    "ALERT_LEVELS",
    "CERTIFICATE_STATUS_TYPES",
    "CLIENT_CERTIFICATE_TYPES",
    "CONTENT_TYPES",
    "EXTENSION_TYPES",
    "HANDSHAKE_TYPES",
    "NAMED_GROUPS",
    "PROTOCOL_VERSIONS",
    "SIGNATURE_SCHEMES",
    "name_for",
]


def name_for(table: Mapping[int, str], code: int, width: int = 4) -> str:
    """Registered name of ``code`` or ``unknown_0x<hex>`` (zero-padded to ``width``)."""
    name = table.get(code)
    if name is not None:
        return name
    return f"unknown_0x{code:0{width}x}"


def _frozen(entries: dict[int, str]) -> Mapping[int, str]:
    return MappingProxyType(entries)


# TLS ContentType (RFC 8446 section 5.1, RFC 6520 heartbeat, RFC 9146, RFC 9147).
CONTENT_TYPES: Mapping[int, str] = _frozen(
    {
        20: "change_cipher_spec",
        21: "alert",
        22: "handshake",
        23: "application_data",
        24: "heartbeat",  # RFC 6520
        25: "tls12_cid",  # RFC 9146
        26: "ack",  # RFC 9147 (DTLS 1.3)
    }
)

# ProtocolVersion values as seen in record headers, hellos and supported_versions.
# 0x0002 is the SSL 2.0 version number carried inside an SSLv2 SERVER-HELLO.
PROTOCOL_VERSIONS: Mapping[int, str] = _frozen(
    {
        0x0002: "SSLv2",
        0x0300: "SSLv3",  # RFC 6101
        0x0301: "TLSv1.0",  # RFC 2246
        0x0302: "TLSv1.1",  # RFC 4346
        0x0303: "TLSv1.2",  # RFC 5246
        0x0304: "TLSv1.3",  # RFC 8446
        0xFEFF: "DTLSv1.0",  # RFC 4347
        0xFEFD: "DTLSv1.2",  # RFC 6347
        0xFEFC: "DTLSv1.3",  # RFC 9147
    }
)

# AlertLevel (RFC 5246 section 7.2, kept in RFC 8446 section 6).
ALERT_LEVELS: Mapping[int, str] = _frozen({1: "warning", 2: "fatal"})

# AlertDescription: IANA "TLS Alerts" registry (RFC 8446 section 6, RFC 5246 7.2, ...).
ALERT_DESCRIPTIONS: Mapping[int, str] = _frozen(
    {
        0: "close_notify",
        10: "unexpected_message",
        20: "bad_record_mac",
        21: "decryption_failed",  # reserved since TLS 1.1
        22: "record_overflow",
        30: "decompression_failure",  # reserved in TLS 1.3
        40: "handshake_failure",
        41: "no_certificate",  # SSLv3 only, reserved
        42: "bad_certificate",
        43: "unsupported_certificate",
        44: "certificate_revoked",
        45: "certificate_expired",
        46: "certificate_unknown",
        47: "illegal_parameter",
        48: "unknown_ca",
        49: "access_denied",
        50: "decode_error",
        51: "decrypt_error",
        52: "too_many_cids_requested",  # RFC 9147
        60: "export_restriction",  # reserved
        70: "protocol_version",
        71: "insufficient_security",
        80: "internal_error",
        86: "inappropriate_fallback",  # RFC 7507
        90: "user_canceled",
        100: "no_renegotiation",  # reserved in TLS 1.3
        109: "missing_extension",  # RFC 8446
        110: "unsupported_extension",
        111: "certificate_unobtainable",  # RFC 6066, reserved in TLS 1.3
        112: "unrecognized_name",  # RFC 6066
        113: "bad_certificate_status_response",  # RFC 6066
        114: "bad_certificate_hash_value",  # RFC 6066, reserved in TLS 1.3
        115: "unknown_psk_identity",  # RFC 4279
        116: "certificate_required",  # RFC 8446
        117: "general_error",  # RFC 8446bis
        120: "no_application_protocol",  # RFC 7301
        121: "ech_required",  # draft-ietf-tls-esni
    }
)

# HandshakeType: IANA "TLS HandshakeType" registry (RFC 8446 section 4, RFC 5246 7.4).
HANDSHAKE_TYPES: Mapping[int, str] = _frozen(
    {
        0: "hello_request",  # TLS <= 1.2 only
        1: "client_hello",
        2: "server_hello",
        3: "hello_verify_request",  # DTLS, RFC 6347
        4: "new_session_ticket",  # RFC 5077 / RFC 8446
        5: "end_of_early_data",  # RFC 8446
        6: "hello_retry_request",  # reserved: TLS 1.3 drafts only; final HRR is a ServerHello
        8: "encrypted_extensions",  # RFC 8446
        9: "request_connection_id",  # RFC 9147
        10: "new_connection_id",  # RFC 9147
        11: "certificate",
        12: "server_key_exchange",
        13: "certificate_request",
        14: "server_hello_done",
        15: "certificate_verify",
        16: "client_key_exchange",
        20: "finished",
        21: "certificate_url",  # RFC 6066
        22: "certificate_status",  # RFC 6066
        23: "supplemental_data",  # RFC 4680
        24: "key_update",  # RFC 8446
        25: "compressed_certificate",  # RFC 8879
        26: "ekt_key",  # RFC 8870
        67: "next_protocol",  # draft-agl-tls-nextprotoneg (not IANA-assigned)
        254: "message_hash",  # RFC 8446 (synthetic, transcript only)
    }
)

# ExtensionType: IANA "TLS ExtensionType Values" registry, plus a few widely deployed
# unregistered values at the end so they are not reported as unknown.
EXTENSION_TYPES: Mapping[int, str] = _frozen(
    {
        0: "server_name",  # RFC 6066
        1: "max_fragment_length",  # RFC 6066
        2: "client_certificate_url",  # RFC 6066
        3: "trusted_ca_keys",  # RFC 6066
        4: "truncated_hmac",  # RFC 6066
        5: "status_request",  # RFC 6066
        6: "user_mapping",  # RFC 4681
        7: "client_authz",  # RFC 5878
        8: "server_authz",  # RFC 5878
        9: "cert_type",  # RFC 6091
        10: "supported_groups",  # RFC 8422, RFC 7919 (was "elliptic_curves")
        11: "ec_point_formats",  # RFC 8422
        12: "srp",  # RFC 5054
        13: "signature_algorithms",  # RFC 8446
        14: "use_srtp",  # RFC 5764
        15: "heartbeat",  # RFC 6520
        16: "application_layer_protocol_negotiation",  # RFC 7301
        17: "status_request_v2",  # RFC 6961
        18: "signed_certificate_timestamp",  # RFC 6962
        19: "client_certificate_type",  # RFC 7250
        20: "server_certificate_type",  # RFC 7250
        21: "padding",  # RFC 7685
        22: "encrypt_then_mac",  # RFC 7366
        23: "extended_master_secret",  # RFC 7627
        24: "token_binding",  # RFC 8472
        25: "cached_info",  # RFC 7924
        26: "tls_lts",  # draft-gutmann-tls-lts
        27: "compress_certificate",  # RFC 8879
        28: "record_size_limit",  # RFC 8449
        29: "pwd_protect",  # RFC 8492
        30: "pwd_clear",  # RFC 8492
        31: "password_salt",  # RFC 8492
        32: "ticket_pinning",  # RFC 8672
        33: "tls_cert_with_extern_psk",  # RFC 8773
        34: "delegated_credential",  # RFC 9345
        35: "session_ticket",  # RFC 5077, RFC 8447
        36: "TLMSP",  # ETSI TS 103 523-2
        37: "TLMSP_proxying",  # ETSI TS 103 523-2
        38: "TLMSP_delegate",  # ETSI TS 103 523-2
        39: "supported_ekt_ciphers",  # RFC 8870
        41: "pre_shared_key",  # RFC 8446
        42: "early_data",  # RFC 8446
        43: "supported_versions",  # RFC 8446
        44: "cookie",  # RFC 8446
        45: "psk_key_exchange_modes",  # RFC 8446
        47: "certificate_authorities",  # RFC 8446
        48: "oid_filters",  # RFC 8446
        49: "post_handshake_auth",  # RFC 8446
        50: "signature_algorithms_cert",  # RFC 8446
        51: "key_share",  # RFC 8446
        52: "transparency_info",  # RFC 9162
        53: "connection_id_deprecated",  # RFC 9146 (draft code point)
        54: "connection_id",  # RFC 9146
        55: "external_id_hash",  # RFC 8844
        56: "external_session_id",  # RFC 8844
        57: "quic_transport_parameters",  # RFC 9001
        58: "ticket_request",  # RFC 9149
        59: "dnssec_chain",  # RFC 9102
        # draft-pismenny-tls-dtls-plaintext-sequence-number
        60: "sequence_number_encryption_algorithms",
        61: "rrc",  # draft-ietf-tls-dtls-rrc
        0xFD00: "ech_outer_extensions",  # draft-ietf-tls-esni
        0xFE0D: "encrypted_client_hello",  # draft-ietf-tls-esni
        0xFF01: "renegotiation_info",  # RFC 5746
        # Not IANA-assigned, but common enough on the wire to deserve a name:
        13172: "next_protocol_negotiation",  # 0x3374, draft-agl-tls-nextprotoneg
        17513: "application_settings_old",  # 0x4469, ALPS draft (Chrome)
        17613: "application_settings",  # 0x44cd, ALPS draft (Chrome)
        30032: "channel_id",  # 0x7550, draft-balfanz-tls-channelid
    }
)

# TLS Certificate Status Types (RFC 6066 section 8, RFC 6961).
CERTIFICATE_STATUS_TYPES: Mapping[int, str] = _frozen({1: "ocsp", 2: "ocsp_multi"})

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
