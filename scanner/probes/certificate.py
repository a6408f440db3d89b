"""Which certificates does the server present, and would a client trust them for this name?

Servers can hold an ECDSA and an RSA certificate at once and pick by the client's
signature_algorithms; one default handshake sees only one of them. After it, the probe offers
only the other family's algorithms, so each certificate the server holds shows up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

import trio
from cryptography import x509

from scanner.engine.handshake import HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.pkix.certinfo import (
    MAX_CHAIN_EXAMINED,
    SHA1_SIGNATURE_NAMES,
    chain_order,
    describe,
    key_description,
    weak_key_reason,
)
from scanner.pkix.hostname import hostname_matches
from scanner.pkix.trust import TrustStore
from scanner.pkix.validation import validate_chain
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.credential import presented_in
from scanner.probes.shared.report import handshake_report, server_chain_der, version_name
from scanner.probes.shared.work import SharedWork
from scanner.results import (
    CertificateChain,
    CertificateFacet,
    CertificateInfo,
    CertificateLookup,
    Finding,
    PathValidation,
    Severity,
    UnparsedCertificate,
    ValidationErrorKind,
)
from scanner.wire import TLSVersion

LookupName = Literal["default", "ecdsa", "rsa"]

# OpenSSL sigalgs lists that leave the server one key family to sign with. SHA-1 variants are
# included so that old servers still answer (they are offered last).
SIGNATURE_ALGORITHMS: dict[LookupName, str] = {
    "ecdsa": "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ECDSA+SHA1",
    "rsa": "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
           "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
           "RSA+SHA256:RSA+SHA384:RSA+SHA512:RSA+SHA1",
}
_FAMILY_OF_KEY: dict[str, LookupName] = {"EC": "ecdsa", "RSA": "rsa"}

_Add = Callable[[str, Severity, str], None]


async def _default_lookup(session: EndpointSession, shared: SharedWork) -> HandshakeResult:
    """The chain a default offer gets: the shared baseline at TLS 1.3, else at TLS 1.2,
    else (a server of older versions only) a handshake of its own."""
    for version in (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2):
        result = await shared.completed_baseline(version)
        if server_chain_der(result):
            return result
    return await session.handshake(shared.offer())


class CertificateProbe(Probe[CertificateFacet]):
    name: ClassVar[str] = "certificate"
    description: ClassVar[str] = (
        "Certificate chains the server presents (ECDSA and RSA): subjects, validity, keys, "
        "order, trust (system store or --ca-bundle) and host name"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[CertificateFacet]:
        lookups: list[tuple[LookupName, HandshakeResult]] = [
            ("default", await _default_lookup(session, context.shared))]
        default_chain = server_chain_der(lookups[0][1])
        if default_chain:
            others = [name for name in SIGNATURE_ALGORITHMS
                      if name != _family(default_chain[0])]
            found: dict[LookupName, HandshakeResult] = {}

            async def look(name: LookupName) -> None:
                found[name] = await session.handshake(
                    context.shared.offer(signature_algorithms=SIGNATURE_ALGORITHMS[name]))

            async with trio.open_nursery() as nursery:
                for name in others:
                    nursery.start_soon(look, name)
            lookups += [(name, found[name]) for name in others]
        now = datetime.now(UTC)
        facet = analyse(lookups, hostname=session.sni or context.host, trust=context.trust,
                        now=now)
        window = timedelta(days=context.options.cert_expiry_warning_days)
        return ProbeOutput(facet=facet, findings=findings_for(facet, now, window))


def _family(leaf_der: bytes) -> LookupName | None:
    """The lookup that would find this leaf again; None for other key types (Ed25519...)."""
    try:
        key_type = key_description(x509.load_der_x509_certificate(leaf_der))[0]
    except ValueError:
        return None
    return _FAMILY_OF_KEY.get(key_type)


def analyse(lookups: list[tuple[LookupName, HandshakeResult]], *, hostname: str,
            trust: TrustStore, now: datetime) -> CertificateFacet:
    """One chain entry per distinct leaf, in the order the lookups found them."""
    result = CertificateFacet(
        client_certificate_presented=presented_in(handshake for _, handshake in lookups))
    chains: dict[str, CertificateChain] = {}
    for name, handshake in lookups:
        chain_der = server_chain_der(handshake)
        leaf_sha256 = hashlib.sha256(chain_der[0]).hexdigest() if chain_der else None
        result.lookups.append(CertificateLookup(
            name=name, signature_algorithms=SIGNATURE_ALGORITHMS.get(name),
            leaf_sha256=leaf_sha256, handshake=handshake_report(handshake)))
        if leaf_sha256 is None:
            continue
        if leaf_sha256 in chains:
            chains[leaf_sha256].found_by.append(name)
            continue
        chains[leaf_sha256] = chain_facts(chain_der, hostname=hostname, trust=trust, now=now,
                                          found_by=name, version=version_name(handshake.version))
    result.chains = list(chains.values())
    if result.chains:
        result.trusted = all(c.validation.trusted for c in result.chains)
        result.hostname_matches = all(c.hostname_matches for c in result.chains)
        days = [c.certificates[0].days_left for c in result.chains if _has_leaf(c)]
        result.days_left = min(days) if days else None
    return result


def _has_leaf(chain: CertificateChain) -> bool:
    return bool(chain.certificates) and not any(u.index == 0 for u in chain.unparsed)


def chain_facts(chain_der: list[bytes], *, hostname: str, trust: TrustStore, now: datetime,
                found_by: LookupName, version: str | None) -> CertificateChain:
    parsed: list[x509.Certificate] = []
    unparsed: list[UnparsedCertificate] = []
    for index, der in enumerate(chain_der[:MAX_CHAIN_EXAMINED]):
        try:
            parsed.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            unparsed.append(UnparsedCertificate(index=index, sha256=hashlib.sha256(der).hexdigest(),
                                                error=str(exc)))
    leaf_ok = bool(parsed) and not any(u.index == 0 for u in unparsed)
    if leaf_ok:
        validation = validate_chain(parsed, trust, now)
        matches = hostname_matches(parsed[0], hostname)
    else:
        validation = PathValidation(trusted=False, trust_store=trust.description,
                                   error_kind=ValidationErrorKind.invalid,
                                   error="the leaf certificate cannot be parsed")
        matches = False
    return CertificateChain(
        found_by=[found_by], version=version, sent=len(chain_der),
        certificates=[describe(c, now) for c in parsed], unparsed=unparsed,
        order=chain_order(parsed), validation=validation,
        hostname=hostname, hostname_matches=matches,
    )


def findings_for(facet: CertificateFacet, now: datetime,
                 window: timedelta) -> list[Finding]:
    findings: list[Finding] = []
    several = len(facet.chains) > 1

    def add(finding_id: str, severity: Severity, detail: str) -> None:
        findings.append(Finding(id=finding_id, severity=severity, probe=CertificateProbe.name,
                                detail=detail))

    for chain in facet.chains:
        leaf = chain.certificates[0] if _has_leaf(chain) else None
        which = f" ({leaf.key_type} chain)" if several and leaf else ""
        for index, cert in enumerate(chain.certificates):
            if index and cert.self_signed:
                continue  # a root sent along: clients use their own copy, if any
            what = f"The leaf certificate{which}" if index == 0 and leaf else (
                f"Chain certificate {cert.subject}{which}")
            _judge_certificate(cert, what, now, window, add)
        if not chain.validation.trusted and chain.validation.error_kind not in (
                ValidationErrorKind.expired, ValidationErrorKind.not_yet_valid):
            add("certificate.untrusted", Severity.high,
                f"The certificate chain{which} does not validate against "
                f"{chain.validation.trust_store}: {chain.validation.error}.")
        if leaf and not chain.hostname_matches:
            names = ", ".join(leaf.subject_alt_names) or "no subjectAltName at all"
            add("certificate.hostname_mismatch", Severity.high,
                f"The certificate{which} does not cover {chain.hostname} ({names}).")
        if not chain.order.correct:
            add("certificate.chain_order", Severity.low,
                f"The chain{which} is not in issuing order: " + "; ".join(chain.order.issues)
                + ".")
    return findings


def _judge_certificate(cert: CertificateInfo, what: str, now: datetime, window: timedelta,
                       add: _Add) -> None:
    expires = f"{cert.not_after:%Y-%m-%dT%H:%M:%SZ}"
    if cert.not_after < now:
        add("certificate.expired", Severity.high,
            f"{what} expired at {expires} ({(now - cert.not_after).days} days ago).")
    elif cert.not_before > now:
        add("certificate.not_yet_valid", Severity.high,
            f"{what} is not valid before {cert.not_before:%Y-%m-%dT%H:%M:%SZ}.")
    elif cert.not_after - now < window:
        add("certificate.expiring", Severity.medium,
            f"{what} expires at {expires}, in {cert.days_left} days (within "
            f"{window.days} days, --cert-expiry-warning-days).")
    weak = weak_key_reason(cert)
    if weak:
        add("certificate.weak_key", Severity.high, f"{what} has a {weak}.")
    if cert.signature_algorithm in SHA1_SIGNATURE_NAMES:
        add("certificate.sha1_signature", Severity.medium,
            f"{what} is signed with SHA-1 ({cert.signature_algorithm}), which clients reject.")
