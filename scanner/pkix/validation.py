"""Path validation of a server's chain against trust anchors, and why it fails when it does.

cryptography's verifier builds and checks the path (RFC 5280 with the CA/Browser Forum's
web-PKI profile). Its server verifier also checks the host name; we want the two answers
apart (a trusted chain for the wrong name is a different problem from an unknown CA), so the
path is checked by its name-agnostic verifier with the extended key usage rules of a server
certificate, and the host name by ``hostname``.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    VerificationError,
)

from scanner.pkix.certinfo import (
    SHA1_SIGNATURE_NAMES,
    is_self_signed,
    issued_by,
    key_description,
    signature_algorithm_name,
)
from scanner.pkix.trust import TrustStore
from scanner.results import PathValidation, ValidationErrorKind

# How cryptography's verifier says a certificate is outside its validity period.
_TIME_ERROR = "not valid at validation time"
_SERVER_USAGES = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)


def _server_auth_usage(_policy: Policy, _certificate: x509.Certificate,
                       usage: x509.ExtendedKeyUsage | None) -> None:
    """When a certificate restricts its usage, TLS server authentication must be allowed."""
    if usage is not None and not any(oid in usage for oid in _SERVER_USAGES):
        raise ValueError("its extended key usage does not include TLS server authentication")


def _policies() -> tuple[ExtensionPolicy, ExtensionPolicy]:
    ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _server_auth_usage)
    leaf = (ExtensionPolicy.webpki_defaults_ee()
            .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _server_auth_usage)
            # A missing SAN is reported as a host-name mismatch, not as a broken path.
            .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
            # Leaves without an authority key identifier are common in private PKIs and
            # accepted by OpenSSL, Go, Java and NSS clients; only the web-PKI profile wants it.
            .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None))
    return ca, leaf


# How many chains are remembered per trust store (least recently validated forgotten first).
_REMEMBERED_CHAINS = 256
_remembered: weakref.WeakKeyDictionary[
    TrustStore, OrderedDict[tuple[x509.Certificate, ...], tuple[datetime, PathValidation]]
] = weakref.WeakKeyDictionary()
_remembered_lock = threading.Lock()


def validate_chain(chain: Sequence[x509.Certificate], trust: TrustStore,
                   now: datetime) -> PathValidation:
    """Validate ``chain`` (leaf first, as sent) at ``now`` against ``trust``.

    A chain validated before against the same store is answered from memory: a fleet of
    listeners serving one certificate (a load balancer's, on hundreds of names) made every
    target pay for the same validation, 2 % of a 200-listener sweep's CPU. The answer depends
    on the time only through the validity dates of the chain and of the store's anchors, so
    it is reused only while none of those dates lies between the two moments.
    """
    key = tuple(chain)
    with _remembered_lock:
        chains = _remembered.setdefault(trust, OrderedDict())
        entry = chains.get(key)
        if entry is not None and _no_date_between(entry[0], now, chain, trust):
            chains.move_to_end(key)
            return entry[1].model_copy(deep=True)
    result = _validate(chain, trust, now)
    with _remembered_lock:
        chains[key] = (now, result)
        chains.move_to_end(key)
        while len(chains) > _REMEMBERED_CHAINS:
            chains.popitem(last=False)
    return result.model_copy(deep=True)


def _no_date_between(then: datetime, now: datetime, chain: Sequence[x509.Certificate],
                     trust: TrustStore) -> bool:
    """No certificate of ``chain`` or ``trust`` starts or ends its validity from ``then`` to
    ``now`` (both included): every validity check comes out the same at both moments."""
    low, high = min(then, now), max(then, now)
    if any(low <= date <= high for certificate in chain for date in (
            certificate.not_valid_before_utc, certificate.not_valid_after_utc)):
        return False
    dates = trust.validity_dates
    index = bisect.bisect_left(dates, low)
    return index == len(dates) or dates[index] > high


def _validate(chain: Sequence[x509.Certificate], trust: TrustStore,
              now: datetime) -> PathValidation:
    if trust.store is None:
        return PathValidation(trusted=False, trust_store=trust.description,
                              error_kind=ValidationErrorKind.no_trust_anchors,
                              error=f"the trust store {trust.description} holds no certificates")
    leaf, intermediates = chain[0], list(chain[1:])
    path, error = _verify(leaf, intermediates, trust, now)
    if path is not None:
        return PathValidation(trusted=True, trust_store=trust.description,
                              path=[c.subject.rfc4514_string() for c in path])
    out_of_date = _out_of_date(chain, now)
    if out_of_date is not None:
        # Would the chain be trusted at a time when every certificate sent is valid? If not,
        # that deeper reason is the one to report; the dates are facts of their own.
        moment = _moment_all_valid(chain)
        if moment is not None:
            path, error = _verify(leaf, intermediates, trust, moment)
        # Still out of date then (a trust anchor younger than the leaf): the dates are the
        # only reason we can name.
        if moment is None or path is not None or _TIME_ERROR in error:
            kind, detail = out_of_date
            return PathValidation(trusted=False, trust_store=trust.description,
                                  error_kind=kind, error=detail)
    kind, detail = _diagnose(chain, trust, error)
    return PathValidation(trusted=False, trust_store=trust.description, error_kind=kind,
                          error=detail)


def _verify(leaf: x509.Certificate, intermediates: list[x509.Certificate], trust: TrustStore,
            at: datetime) -> tuple[list[x509.Certificate] | None, str]:
    assert trust.store is not None
    ca_policy, leaf_policy = _policies()
    verifier = (PolicyBuilder().store(trust.store).time(at)
                .extension_policies(ca_policy=ca_policy, ee_policy=leaf_policy)
                .build_client_verifier())
    try:
        return verifier.verify(leaf, intermediates).chain, ""
    except VerificationError as exc:
        return None, _clean(str(exc))


def _clean(message: str) -> str:
    """cryptography's message without its prefix and Python reprs."""
    message = message.removeprefix("validation failed: ")
    message = message.replace("Python extension validator failed: ValueError: ", "")
    cut = message.find(" (encountered processing <Certificate(")
    return message[:cut] if cut >= 0 else message


def _out_of_date(chain: Sequence[x509.Certificate],
                 now: datetime) -> tuple[ValidationErrorKind, str] | None:
    for index, certificate in enumerate(chain):
        what = "the leaf" if index == 0 else f"certificate {index}"
        subject = certificate.subject.rfc4514_string()
        if certificate.not_valid_after_utc < now:
            return (ValidationErrorKind.expired,
                    f"{what} ({subject}) expired at {_time(certificate.not_valid_after_utc)}")
        if certificate.not_valid_before_utc > now:
            return (ValidationErrorKind.not_yet_valid,
                    f"{what} ({subject}) is not valid before "
                    f"{_time(certificate.not_valid_before_utc)}")
    return None


def _time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _moment_all_valid(chain: Sequence[x509.Certificate]) -> datetime | None:
    """The latest moment when every certificate sent was valid (anchors are likelier valid
    then than earlier), or None when their validity periods do not overlap."""
    start = max(c.not_valid_before_utc for c in chain)
    end = min(c.not_valid_after_utc for c in chain)
    if start > end:
        return None
    return max(start, end - timedelta(seconds=1))


def _diagnose(chain: Sequence[x509.Certificate], trust: TrustStore,
              error: str) -> tuple[ValidationErrorKind, str]:
    """Name the reason when the verifier only says it ran out of candidate paths."""
    if not error.startswith("candidates exhausted"):
        return ValidationErrorKind.invalid, error
    path = _sent_path(chain)
    top = path[-1]
    anchor = _anchor_for(top, trust)
    if anchor is not None:
        return ValidationErrorKind.invalid, _rejected_path(path, anchor, error)
    if is_self_signed(top):
        if len(path) == 1:
            return (ValidationErrorKind.self_signed,
                    f"the certificate ({top.subject.rfc4514_string()}) is self-signed and not "
                    "in the trust store")
        return (ValidationErrorKind.untrusted_root,
                f"the chain ends at root {top.subject.rfc4514_string()}, which is not in the "
                "trust store")
    return (ValidationErrorKind.unknown_issuer,
            f"the issuer {top.issuer.rfc4514_string()} of {top.subject.rfc4514_string()} was "
            "not sent by the server and is not in the trust store (missing intermediate, or an "
            "untrusted CA)")


def _sent_path(chain: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """Follow issuers among the certificates sent, from the leaf, as far as they go."""
    path = [chain[0]]
    while not is_self_signed(path[-1]):
        issuer = next((c for c in chain
                       if all(c is not p for p in path) and issued_by(path[-1], c)), None)
        if issuer is None:
            break
        path.append(issuer)
    return path


def _anchor_for(top: x509.Certificate, trust: TrustStore) -> x509.Certificate | None:
    """The trust anchor that is ``top`` or issued it, if the store has one."""
    for anchor in trust.named(top.subject):
        if anchor == top:
            return anchor
    for anchor in trust.named(top.issuer):
        if issued_by(top, anchor):
            return anchor
    return None


def _rejected_path(path: list[x509.Certificate], anchor: x509.Certificate, error: str) -> str:
    """The path reaches a trust anchor, yet the verifier refuses it: say what it dislikes."""
    reasons = []
    for index, certificate in enumerate(path):
        if certificate == anchor:
            continue
        what = f"certificate {index} ({certificate.subject.rfc4514_string()})"
        name = signature_algorithm_name(certificate.signature_algorithm_oid)
        if name in SHA1_SIGNATURE_NAMES or name == "md5WithRSAEncryption":
            reasons.append(f"{what} is signed with {name}")
        key_type, key_size, _curve = key_description(certificate)
        if key_type in ("RSA", "DSA") and key_size < 2048:
            reasons.append(f"{what} has a {key_size}-bit {key_type} key")
    why = "; ".join(reasons) if reasons else error
    return (f"the path to the trust anchor {anchor.subject.rfc4514_string()} is rejected: "
            f"{why}")
