"""Facts about one certificate, and about the order of a chain as sent."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from scanner.results import CertificateInfo, ChainOrder

# Signature algorithm names as RFC 3279 / 4055 / 5758 / 8410 spell them.
_SIGNATURE_NAMES: dict[x509.ObjectIdentifier, str] = {
    SignatureAlgorithmOID.RSA_WITH_MD5: "md5WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA1: "sha1WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA224: "sha224WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "sha384WithRSAEncryption",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "sha512WithRSAEncryption",
    SignatureAlgorithmOID.RSASSA_PSS: "rsassaPss",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ecdsa-with-SHA1",
    SignatureAlgorithmOID.ECDSA_WITH_SHA224: "ecdsa-with-SHA224",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ecdsa-with-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ecdsa-with-SHA512",
    SignatureAlgorithmOID.DSA_WITH_SHA1: "dsa-with-sha1",
    SignatureAlgorithmOID.DSA_WITH_SHA224: "dsa-with-sha224",
    SignatureAlgorithmOID.DSA_WITH_SHA256: "dsa-with-sha256",
    SignatureAlgorithmOID.ED25519: "Ed25519",
    SignatureAlgorithmOID.ED448: "Ed448",
    x509.ObjectIdentifier("1.3.14.3.2.29"): "sha1WithRSASignature",  # OIW's older SHA-1 OID
}
_SHA1_SIGNATURES = {
    SignatureAlgorithmOID.RSA_WITH_SHA1, SignatureAlgorithmOID.ECDSA_WITH_SHA1,
    SignatureAlgorithmOID.DSA_WITH_SHA1, x509.ObjectIdentifier("1.3.14.3.2.29"),
}
#: How ``signature_algorithm_name`` spells the SHA-1 based algorithms.
SHA1_SIGNATURE_NAMES = frozenset(_SIGNATURE_NAMES[oid] for oid in _SHA1_SIGNATURES)
_SECONDS_PER_DAY = 86400
#: Real chains hold 2-4 certificates; a hostile server could send hundreds, and ordering and
#: path building cost a signature check per pair, so probes examine only the first ones.
MAX_CHAIN_EXAMINED = 10


def describe(certificate: x509.Certificate, now: datetime) -> CertificateInfo:
    """Everything a report needs about one certificate."""
    key_type, key_size, curve = key_description(certificate)
    not_after = certificate.not_valid_after_utc
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        serial=serial_hex(certificate.serial_number),
        subject_alt_names=subject_alt_names(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=not_after,
        days_left=math.floor((not_after - now).total_seconds() / _SECONDS_PER_DAY),
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        signature_algorithm=signature_algorithm_name(certificate.signature_algorithm_oid),
        sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        must_staple=must_staple(certificate),
        is_ca=is_ca(certificate),
        self_signed=is_self_signed(certificate),
    )


def serial_hex(serial: int) -> str:
    """Serial numbers as hex text: exact in any JSON reader (they run to 160 bits)."""
    return format(serial, "x") if serial >= 0 else "-" + format(-serial, "x")


def key_description(certificate: x509.Certificate) -> tuple[str, int, str | None]:
    """(type, bits, curve) of the certificate's public key."""
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return ("unsupported", 0, None)
    if isinstance(key, rsa.RSAPublicKey):
        return ("RSA", key.key_size, None)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ("EC", key.curve.key_size, key.curve.name)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("Ed25519", 256, None)
    if isinstance(key, ed448.Ed448PublicKey):
        return ("Ed448", 456, None)
    if isinstance(key, dsa.DSAPublicKey):
        return ("DSA", key.key_size, None)
    return (type(key).__name__, 0, None)


def weak_key_reason(out: CertificateInfo) -> str | None:
    """Why a key is too weak for TLS today (NIST SP 800-57: 112-bit security), if it is."""
    if out.key_type in ("RSA", "DSA") and out.key_size < 2048:
        return f"{out.key_type} key of {out.key_size} bits (under 2048)"
    if out.key_type == "EC" and out.key_size < 256:
        return f"EC key on {out.curve or 'a curve'} of {out.key_size} bits (under 256)"
    return None


def signature_algorithm_name(oid: x509.ObjectIdentifier) -> str:
    return _SIGNATURE_NAMES.get(oid, oid.dotted_string)


def subject_alt_names(certificate: x509.Certificate) -> list[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    except ValueError as exc:  # a malformed SAN: say so instead of hiding it
        return [f"unparsable: {exc}"]
    out = []
    for name in extension.value:
        if isinstance(name, x509.DNSName):
            out.append(f"DNS:{name.value}")
        elif isinstance(name, x509.IPAddress):
            out.append(f"IP:{name.value}")
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(f"URI:{name.value}")
        elif isinstance(name, x509.RFC822Name):
            out.append(f"email:{name.value}")
        elif isinstance(name, x509.DirectoryName):
            out.append(f"DirName:{name.value.rfc4514_string()}")
        elif isinstance(name, x509.RegisteredID):
            out.append(f"RID:{name.value.dotted_string}")
        else:
            out.append(f"othername:{name.type_id.dotted_string}" if isinstance(
                name, x509.OtherName) else type(name).__name__)
    return out


def must_staple(certificate: x509.Certificate) -> bool:
    """RFC 7633 TLS Feature extension listing status_request."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.TLSFeature)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return x509.TLSFeatureType.status_request in extension.value


def is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer``'s name and key signed ``certificate``."""
    if certificate.issuer != issuer.subject:
        return False
    return _signed_by(certificate, issuer)


# A signature check is a pure function of the two certificates (equal and hashed by their
# DER), and the same pairs come back: each chain is looked at several times per target,
# and a fleet shares its intermediates. Bounded, so a sweep's memory stays flat.
@functools.lru_cache(maxsize=512)
def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    except ValueError:  # algorithms cryptography will not verify here, e.g. ecdsa-with-SHA1
        return _signature_verifies(certificate, issuer)
    return True


def _signature_verifies(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Check a signature by hand: the chain facts must hold for legacy algorithms too."""
    signature, data = certificate.signature, certificate.tbs_certificate_bytes
    try:
        key = issuer.public_key()
        algorithm = certificate.signature_hash_algorithm
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            parameters = certificate.signature_algorithm_parameters
            if not isinstance(parameters, padding.PKCS1v15 | padding.PSS):
                return False
            key.verify(signature, data, parameters, algorithm)
        elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
            key.verify(signature, data, algorithm)
        else:
            return False
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_self_signed(certificate: x509.Certificate) -> bool:
    return issued_by(certificate, certificate)


def chain_order(chain: Sequence[x509.Certificate]) -> ChainOrder:
    """Does each certificate come right before its issuer (RFC 8446 4.4.2, RFC 5246 7.4.2)?

    TLS 1.3 lets clients cope with disorder, but TLS 1.2 requires the order and older clients
    fail without it, so the facts name each break. Repeated certificates are named once and
    otherwise skipped.
    """
    issues = []
    first_seen: dict[bytes, int] = {}
    distinct: list[tuple[int, x509.Certificate]] = []
    for index, certificate in enumerate(chain):
        fingerprint = certificate.fingerprint(hashes.SHA256())
        if fingerprint in first_seen:
            issues.append(f"certificate {index} is sent twice (same as certificate "
                          f"{first_seen[fingerprint]})")
            continue
        first_seen[fingerprint] = index
        distinct.append((index, certificate))
    breaks = []
    for (index, certificate), (next_index, following) in itertools.pairwise(distinct):
        if issued_by(certificate, following):
            continue
        subject = certificate.subject.rfc4514_string()
        elsewhere = next((i for i, other in distinct
                          if i != index and issued_by(certificate, other)), None)
        if is_self_signed(certificate):
            breaks.append(f"certificate {index} ({subject}) is a self-signed root, yet "
                          "certificates follow it")
        elif elsewhere is not None:
            breaks.append(f"certificate {index} ({subject}) is issued by certificate "
                          f"{elsewhere}, not by the next one ({next_index})")
        else:
            breaks.append(f"certificate {next_index} ({following.subject.rfc4514_string()}) "
                          f"did not issue certificate {index} ({subject})")
    issues = breaks + issues
    return ChainOrder(correct=not issues, issues=issues,
                      includes_root=len(chain) > 1 and is_self_signed(chain[-1]))
