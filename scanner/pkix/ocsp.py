"""A stapled OCSP response (RFC 6960): what it says, whom it covers, and who signed it.

Every failure to decode or check becomes a field of the result, never an exception: the
bytes come from the server, so they may be anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from scanner.pkix.certinfo import issued_by, serial_hex
from scanner.pkix.trust import TrustStore
from scanner.results import OcspCertStatus, OcspResponseInfo, OcspSignature

_CERT_STATUS = {
    ocsp.OCSPCertStatus.GOOD: OcspCertStatus.good,
    ocsp.OCSPCertStatus.REVOKED: OcspCertStatus.revoked,
    ocsp.OCSPCertStatus.UNKNOWN: OcspCertStatus.unknown,
}
_SECONDS_PER_HOUR = 3600

IssuerSource = Literal["chain", "trust_store"]


def find_issuer(leaf: x509.Certificate, chain: Sequence[x509.Certificate],
                trust: TrustStore) -> tuple[x509.Certificate | None, IssuerSource | None]:
    """The certificate that signed ``leaf``: from the chain sent, else from the trust store."""
    for candidate in chain[1:]:
        if issued_by(leaf, candidate):
            return candidate, "chain"
    for anchor in trust.named(leaf.issuer):
        if issued_by(leaf, anchor):
            return anchor, "trust_store"
    return None, None


def analyse_response(der: bytes, *, leaf: x509.Certificate | None,
                     issuer: x509.Certificate | None, issuer_source: IssuerSource | None,
                     now: datetime) -> OcspResponseInfo:
    """Decode and judge one stapled response for ``leaf`` (issued by ``issuer``, if known)."""
    try:
        response = ocsp.load_der_ocsp_response(der)
        status = response.response_status
    except (ValueError, UnsupportedAlgorithm) as exc:
        return OcspResponseInfo(size=len(der), parse_error=f"not a valid OCSPResponse: {exc}")
    out = OcspResponseInfo(size=len(der), response_status=status.name.lower())
    if status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return out
    try:
        _fill(out, response, leaf=leaf, issuer=issuer, now=now)
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        return OcspResponseInfo(size=len(der), response_status=out.response_status,
                                parse_error=f"cannot decode the BasicOCSPResponse: {exc}")
    out.signature = check_signature(response, issuer, issuer_source, now)
    return out


def _fill(out: OcspResponseInfo, response: ocsp.OCSPResponse, *, leaf: x509.Certificate | None,
          issuer: x509.Certificate | None, now: datetime) -> None:
    singles = list(response.responses)
    if not singles:
        raise ValueError("the response holds no SingleResponse")
    single = next((s for s in singles if leaf is not None
                   and s.serial_number == leaf.serial_number), singles[0])
    out.certificate_status = _CERT_STATUS[single.certificate_status]
    out.revocation_time = single.revocation_time_utc
    reason = single.revocation_reason
    out.revocation_reason = reason.name if reason is not None else None
    out.produced_at = response.produced_at_utc
    out.this_update = single.this_update_utc
    out.next_update = single.next_update_utc
    if out.next_update is not None:
        out.hours_left = math.floor((out.next_update - now).total_seconds() / _SECONDS_PER_HOUR)
    out.responder_name = (response.responder_name.rfc4514_string()
                          if response.responder_name is not None else None)
    out.responder_key_hash = (response.responder_key_hash.hex()
                              if response.responder_key_hash is not None else None)
    algorithm = single.hash_algorithm
    out.hash_algorithm = algorithm.name
    out.serial = serial_hex(single.serial_number)
    if leaf is None:
        return
    out.serial_matches_leaf = single.serial_number == leaf.serial_number
    name_hash = hashes.Hash(algorithm)
    name_hash.update(leaf.issuer.public_bytes())
    if name_hash.finalize() != single.issuer_name_hash:
        out.issuer_matches_leaf = False
    elif issuer is not None:
        expected = (ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, algorithm).build())
        out.issuer_matches_leaf = expected.issuer_key_hash == single.issuer_key_hash


def _is_responder(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> bool:
    """Does the response's ResponderID name this certificate?"""
    if response.responder_name is not None:
        return certificate.subject == response.responder_name
    try:
        key_hash = x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
    except (ValueError, UnsupportedAlgorithm, TypeError):
        return False
    return key_hash == response.responder_key_hash


def check_signature(response: ocsp.OCSPResponse, issuer: x509.Certificate | None,
                    source: IssuerSource | None, now: datetime) -> OcspSignature:
    """Signed by the leaf's issuer, or by a responder the issuer authorised (RFC 6960 4.2.2.2)?"""
    if issuer is None:
        return OcspSignature(
            valid=None, error="the leaf's issuer certificate was neither sent by the server "
            "nor found in the trust store, so the signer cannot be checked")
    included = [c for c in response.certificates if _is_responder(response, c)]
    responder = included[0] if included else None
    if responder is None or responder.public_key() == issuer.public_key():
        if not _is_responder(response, issuer) and responder is None:
            return OcspSignature(
                valid=False, issuer_source=source,
                error="the responder named in the response is neither the issuer nor a "
                "certificate included in the response")
        valid, error = _signature_valid(response, issuer.public_key())
        return OcspSignature(valid=valid, signer="issuer", issuer_source=source,
                             error=error)
    subject = responder.subject.rfc4514_string()

    def refused(why: str) -> OcspSignature:
        return OcspSignature(valid=False, signer="delegated_responder",
                             responder_certificate=subject, issuer_source=source,
                             error=f"the responder certificate {why}")

    if not issued_by(responder, issuer):
        return refused("is not issued by the leaf's issuer")
    try:
        usage = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        usage = None
    if usage is None or ExtendedKeyUsageOID.OCSP_SIGNING not in usage:
        return refused("lacks the OCSPSigning extended key usage")
    if not responder.not_valid_before_utc <= now <= responder.not_valid_after_utc:
        return refused(f"is not valid now (valid {responder.not_valid_before_utc:%Y-%m-%d} to "
                       f"{responder.not_valid_after_utc:%Y-%m-%d})")
    valid, error = _signature_valid(response, responder.public_key())
    return OcspSignature(valid=valid, signer="delegated_responder",
                         responder_certificate=subject, issuer_source=source,
                         error=error)


def _signature_valid(response: ocsp.OCSPResponse,
                     key: object) -> tuple[bool | None, str | None]:
    data, signature = response.tbs_response_bytes, response.signature
    try:
        if response.signature_algorithm_oid == SignatureAlgorithmOID.RSASSA_PSS:
            return None, "RSASSA-PSS signed responses are not checked"
        if isinstance(key, rsa.RSAPublicKey):
            algorithm = _hash(response)
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(_hash(response)))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(signature, data, _hash(response))
        else:
            return None, f"signatures by {type(key).__name__} keys are not checked"
    except InvalidSignature:
        return False, "the signature does not verify with the signer's public key"
    except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
        return None, f"the signature cannot be checked: {exc}"
    return True, None


def _hash(response: ocsp.OCSPResponse) -> hashes.HashAlgorithm:
    algorithm = response.signature_hash_algorithm
    if algorithm is None:
        raise ValueError("the signature algorithm names no hash")
    return algorithm
