"""Does the server staple an OCSP response, and is that response any good?

Asked at TLS 1.3 and TLS 1.2 separately, because the staple travels differently: a
CertificateStatus message in TLS 1.2, a status_request extension of the leaf's
CertificateEntry in TLS 1.3 (RFC 8446 4.4.2.1), and servers differ between the two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import trio
from cryptography import x509

from scanner import wire
from scanner.engine.handshake import HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.pkix.certinfo import MAX_CHAIN_EXAMINED, must_staple, serial_hex
from scanner.pkix.ocsp import analyse_response, find_issuer
from scanner.pkix.trust import TrustStore
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.credential import certificate_presented
from scanner.probes.shared.report import (
    handshake_report,
    server_certificate_message,
    server_chain_der,
)
from scanner.results import (
    Finding,
    OcspAtVersion,
    OcspCertStatus,
    OcspFacet,
    OcspResponseInfo,
    Severity,
)
from scanner.wire import TLSVersion

_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)

_Add = Callable[[OcspAtVersion, str, Severity, str], None]


class OcspProbe(Probe[OcspFacet]):
    name: ClassVar[str] = "ocsp"
    description: ClassVar[str] = (
        "OCSP stapling per TLS version: the stapled response's status, times, responder, "
        "whether it covers the leaf and is signed by its issuer"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[OcspFacet]:
        results: dict[TLSVersion, HandshakeResult] = {}

        async def attempt(version: TLSVersion) -> None:
            # It asks for a staple; with the user's certificate where the server asks for one.
            results[version] = await context.shared.completed_baseline(version)

        async with trio.open_nursery() as nursery:
            for version in _VERSIONS:
                nursery.start_soon(attempt, version)

        now = datetime.now(UTC)
        trust = context.trust
        per_version = [analyse(v, results[v], trust, now) for v in _VERSIONS]
        facet = summarise(*per_version)
        window = timedelta(hours=context.options.ocsp_expiry_warning_hours)
        return ProbeOutput(facet=facet, findings=findings_for(facet, now, window))


def analyse(version: TLSVersion, result: HandshakeResult, trust: TrustStore,
            now: datetime) -> OcspAtVersion:
    """The staple of one handshake, decoded and judged against the leaf it came with."""
    hello = result.server_hello
    out = OcspAtVersion(version=version.label,
                      client_certificate_presented=certificate_presented(result),
                      supported=hello is not None and hello.selected_version == int(version),
                      handshake=handshake_report(result))
    if not out.supported:
        return out
    chain = _parse_chain(server_chain_der(result))
    leaf = chain[0] if chain else None
    if leaf is not None:
        out.leaf_subject = leaf.subject.rfc4514_string()
        out.leaf_serial = serial_hex(leaf.serial_number)
        out.must_staple = must_staple(leaf)
    staple = _staple(version, result)
    if staple is None:
        out.stapled = None if server_certificate_message(result) is None else False
        return out
    out.stapled = True
    if isinstance(staple, str):
        out.response = OcspResponseInfo(size=0, parse_error=staple)
        return out
    if staple.status_type != wire.CertificateStatusType.ocsp:
        out.response = OcspResponseInfo(
            size=len(staple.response),
            parse_error=f"status_type {staple.status_type} is not ocsp "
            f"({int(wire.CertificateStatusType.ocsp)})")
        return out
    issuer, source = find_issuer(leaf, chain, trust) if leaf is not None else (None, None)
    out.response = analyse_response(staple.response, leaf=leaf, issuer=issuer,
                                    issuer_source=source, now=now)
    return out


def _parse_chain(chain_der: list[bytes]) -> list[x509.Certificate]:
    """Certificates as sent, stopping at the first one that does not parse."""
    chain = []
    for der in chain_der[:MAX_CHAIN_EXAMINED]:
        try:
            chain.append(x509.load_der_x509_certificate(der))
        except ValueError:
            break
    return chain


def _staple(version: TLSVersion, result: HandshakeResult) -> wire.CertificateStatus | str | None:
    """The stapled CertificateStatus; a string says why a sent one could not be decoded."""
    if version is TLSVersion.TLSv1_3:
        message = server_certificate_message(result)
        if message is None:
            return None
        if message.handshake is None or not isinstance(message.handshake.parsed,
                                                       wire.CertificateMessage):
            return f"the Certificate message could not be decoded: {message.parse_error}"
        return message.handshake.parsed.leaf_status
    for message in result.transcript:
        if (message.direction == "received" and not message.after_handshake
                and message.msg_type == wire.HandshakeType.certificate_status):
            if message.handshake is not None and isinstance(message.handshake.parsed,
                                                            wire.CertificateStatus):
                return message.handshake.parsed
            return f"the CertificateStatus message could not be decoded: {message.parse_error}"
    return None


def summarise(tls13: OcspAtVersion, tls12: OcspAtVersion) -> OcspFacet:
    supported = [v for v in (tls13, tls12) if v.supported]
    with_status = [v for v in supported if v.response and v.response.certificate_status]
    leaf_facts = [v.must_staple for v in supported if v.must_staple is not None]
    return OcspFacet(
        stapled=any(bool(v.stapled) for v in supported) if supported else None,
        must_staple=leaf_facts[0] if leaf_facts else None,
        certificate_status=with_status[0].response.certificate_status
        if with_status and with_status[0].response else None,
        tls1_3=tls13,
        tls1_2=tls12,
    )


def findings_for(facet: OcspFacet, now: datetime, window: timedelta) -> list[Finding]:
    findings: list[Finding] = []

    def add(version: OcspAtVersion, finding_id: str, severity: Severity, detail: str) -> None:
        findings.append(Finding(id=finding_id, severity=severity, probe=OcspProbe.name,
                                version=version.version, detail=detail))

    for version in (facet.tls1_3, facet.tls1_2):
        if version is None or not version.supported:
            continue
        if version.must_staple and version.stapled is False:
            add(version, "ocsp.must_staple_missing", Severity.high,
                f"The certificate ({version.leaf_subject}) requires a stapled OCSP response "
                f"(TLS Feature must-staple), but the server sent none over {version.version}: "
                "clients that enforce it (Firefox) refuse the connection.")
        response = version.response
        if response is None:
            continue
        if response.parse_error or response.response_status != "successful":
            add(version, "ocsp.response_unusable", Severity.medium,
                "The stapled OCSP response is unusable: "
                + (response.parse_error or f"response status {response.response_status}") + ".")
            continue
        _judge_response(version, response, now, window, add)
    return findings


def _judge_response(version: OcspAtVersion, response: OcspResponseInfo, now: datetime,
                    window: timedelta, add: _Add) -> None:
    if response.certificate_status is OcspCertStatus.revoked:
        reason = f" ({response.revocation_reason})" if response.revocation_reason else ""
        when = f" at {_time(response.revocation_time)}" if response.revocation_time else ""
        add(version, "ocsp.revoked", Severity.critical,
            f"The stapled OCSP response says serial {response.serial} was revoked{when}{reason}.")
    elif response.certificate_status is OcspCertStatus.unknown:
        add(version, "ocsp.status_unknown", Severity.medium,
            f"The stapled OCSP response says the responder does not know serial {response.serial}.")
    if response.serial_matches_leaf is False or response.issuer_matches_leaf is False:
        what = ("serial " + str(response.serial) + f" instead of the leaf's {version.leaf_serial}"
                if response.serial_matches_leaf is False else "another issuer (CertID hashes)")
        add(version, "ocsp.wrong_certificate", Severity.high,
            f"The stapled OCSP response is for a different certificate: {what}.")
    if response.signature is not None and response.signature.valid is False:
        add(version, "ocsp.signature_invalid", Severity.high,
            f"The stapled OCSP response is not validly signed: {response.signature.error}.")
    if response.next_update is not None:
        if response.next_update < now:
            add(version, "ocsp.stale", Severity.medium,
                f"The stapled OCSP response expired at {_time(response.next_update)} "
                "(next_update passed); the server keeps sending an old response.")
        elif response.next_update - now < window:
            add(version, "ocsp.expiring", Severity.low,
                f"The stapled OCSP response expires at {_time(response.next_update)}, within "
                f"{window.total_seconds() / 3600:g} h (--ocsp-expiry-warning-hours).")


def _time(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}" if moment else "?"
