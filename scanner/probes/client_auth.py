"""Does the server ask for a client certificate, which CA names does it list, is one required?

Run once per protocol version, because servers differ: TLS 1.2 carries CA names in the
CertificateRequest's DN list, TLS 1.3 in the optional certificate_authorities extension, and
TLS 1.3 servers reject a missing certificate only after the client's Finished.
"""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner import wire
from scanner.engine.handshake import AfterHandshake, HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.probes import client_auth_paths as by_path
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.certificate_request_info import request_info
from scanner.probes.shared.report import handshake_report
from scanner.results import (
    CertificateRequestInfo,
    ClientAuthAtVersion,
    ClientAuthClass,
    ClientAuthFacet,
    Finding,
    Severity,
    WithoutCertificate,
    WithoutCertificateOutcome,
)
from scanner.wire import TLSVersion, TranscriptMessage

_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)


class ClientAuthProbe(Probe[ClientAuthFacet]):
    name: ClassVar[str] = "client_auth"
    description: ClassVar[str] = (
        "CertificateRequest per TLS version: CA names, signature algorithms, and what happens "
        "without a client certificate"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[ClientAuthFacet]:
        results: dict[TLSVersion, HandshakeResult] = {}

        async def attempt(version: TLSVersion) -> None:
            results[version] = await context.shared.baseline(version)

        async with trio.open_nursery() as nursery:
            for version in _VERSIONS:
                nursery.start_soon(attempt, version)

        per_version = {v: analyse(v, results[v]) for v in _VERSIONS}
        facet = summarise(per_version[TLSVersion.TLSv1_3], per_version[TLSVersion.TLSv1_2])
        facet.paths = await by_path.client_auth_by_path(session, context, per_version)
        by_path.summarise_with_paths(facet)
        return ProbeOutput(facet=facet, findings=findings_for(facet)
                           + by_path.path_findings(facet, self.name))


def analyse(version: TLSVersion, result: HandshakeResult) -> ClientAuthAtVersion:
    """Read one handshake's transcript into the client-auth facts for its version."""
    hello = result.server_hello
    supported = hello is not None and hello.selected_version == int(version)
    message = certificate_request_message(result)
    if message is None:
        request_out = CertificateRequestInfo(sent=False) if supported else None
    elif message.handshake is not None and isinstance(message.handshake.parsed,
                                                      wire.CertificateRequest):
        request_out = request_info(message.handshake.parsed)
    else:  # sent, but malformed: say so rather than pretend it was not sent
        request_out = CertificateRequestInfo(sent=True, parse_error=message.parse_error)
    out = ClientAuthAtVersion(
        version=version.label,
        supported=supported,
        certificate_request=request_out,
        handshake=handshake_report(result),
    )
    if supported:
        out.without_certificate = _without_certificate(result, requested=message is not None)
    return out


def certificate_request_message(result: HandshakeResult) -> TranscriptMessage | None:
    """The CertificateRequest the server sent during the handshake, parsed or not."""
    for message in result.transcript:
        if (message.direction == "received" and not message.after_handshake
                and message.msg_type == wire.HandshakeType.certificate_request):
            return message
    return None


def _without_certificate(result: HandshakeResult, *,
                         requested: bool) -> WithoutCertificate | None:
    """What the server did with no client certificate; None when the connection broke for
    another reason (timeout, malformed message, flood...), which tells nothing about it."""
    alert = result.alert_received
    alert_name = alert.alert.name if alert and alert.alert else None
    if not result.completed:
        if not result.answered:
            return None
        outcome = WithoutCertificateOutcome.rejected_in_handshake
    elif result.after_handshake in (AfterHandshake.alert, AfterHandshake.closed):
        outcome = WithoutCertificateOutcome.rejected_after_handshake
    elif result.after_handshake is AfterHandshake.failed:
        return None
    else:
        outcome = WithoutCertificateOutcome.completed
    if not requested:
        classification = ClientAuthClass.none
    elif outcome is WithoutCertificateOutcome.completed:
        classification = ClientAuthClass.optional
    else:
        classification = ClientAuthClass.required
    return WithoutCertificate(outcome=outcome, alert=alert_name, classification=classification)


def summarise(tls13: ClientAuthAtVersion, tls12: ClientAuthAtVersion) -> ClientAuthFacet:
    supported = [v for v in (tls13, tls12) if v.supported]
    classes = {v.without_certificate.classification for v in supported if v.without_certificate}
    top = supported[0] if supported else None
    return ClientAuthFacet(
        requested=any(v.certificate_request and v.certificate_request.sent for v in supported)
        if supported else None,
        classification=top.without_certificate.classification
        if top and top.without_certificate else None,
        consistent_across_versions=len(classes) <= 1 if supported else None,
        tls1_3=tls13,
        tls1_2=tls12,
    )


def findings_for(facet: ClientAuthFacet) -> list[Finding]:
    findings = []
    for version in (facet.tls1_3, facet.tls1_2):
        request = version.certificate_request if version else None
        if version is None or request is None or not request.sent or request.ca_names_sent:
            continue
        if version.version == "TLSv1.3":
            where = ("has no certificate_authorities extension"
                     if not request.certificate_authorities_extension
                     else "has an empty certificate_authorities extension")
        else:
            where = "lists no CA distinguished names (DN list length 0)"
        findings.append(Finding(
            id="client_auth.ca_names_missing",
            severity=Severity.info,
            probe=ClientAuthProbe.name,
            version=version.version,
            detail=f"The {version.version} CertificateRequest {where}: clients holding several "
            "certificates cannot tell which one the server will accept.",
        ))
    if facet.consistent_across_versions is False:
        by_version = ", ".join(
            f"{v.version}: {v.without_certificate.classification}"
            for v in (facet.tls1_3, facet.tls1_2)
            if v and v.without_certificate
        )
        findings.append(Finding(
            id="client_auth.differs_by_version",
            severity=Severity.low,
            probe=ClientAuthProbe.name,
            detail=f"Client-certificate handling differs between protocol versions ({by_version}).",
        ))
    return findings
