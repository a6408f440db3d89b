"""Does the server support secure renegotiation, and what does it do when the client asks?

TLS 1.3 has no renegotiation, so the probe offers TLS 1.2 and below even when the server
prefers TLS 1.3 (testing only the top version would always say "not supported"). One
connection: the handshake shows RFC 5746 renegotiation_info in the ServerHello, then we start
a renegotiation and classify the server's answer from what it sent. The user's client
certificate is presented when there is one (a server that requires one otherwise ends the
handshake before anything can be asked: ``not_measured``).
"""

from __future__ import annotations

from typing import ClassVar

from scanner import wire
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import HandshakeResult, TLSConnection
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.credential import certificate_presented, not_measured
from scanner.probes.shared.report import handshake_report, version_name
from scanner.results import (
    ClientRenegotiation,
    ErrorKind,
    Finding,
    RenegotiationFacet,
    RenegotiationOutcome,
    RenegotiationStatus,
    Severity,
)
from scanner.wire import TLSVersion


class RenegotiationProbe(Probe[RenegotiationFacet]):
    name: ClassVar[str] = "renegotiation"
    description: ClassVar[str] = (
        "TLS 1.2 and below: RFC 5746 secure renegotiation, and the answer to a "
        "client-initiated renegotiation"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[RenegotiationFacet]:
        offer = context.shared.offer(min_version=TLSVersion.TLSv1_0,
                                     max_version=TLSVersion.TLSv1_2)
        async with session.connect(offer) as tls:
            result = await tls.handshake()
            attempt = await _renegotiate(tls) if result.completed else None
        tls13: HandshakeResult | None = None
        if result.server_hello is None and _refused(result):
            # Refused below TLS 1.3: confirm the server does speak TLS 1.3 before calling the
            # question moot, rather than guess from an alert.
            tls13 = await session.handshake(session.offer(TLSVersion.TLSv1_3))
        facet = analyse(tls.result, attempt, tls13)
        return ProbeOutput(facet=facet, findings=findings_for(facet))


async def _renegotiate(tls: TLSConnection) -> ScanFailure | None:
    """None when the second handshake completed, else why it did not."""
    try:
        await tls.renegotiate()
    except ScanFailure as failure:
        return failure
    return None


def _refused(result: HandshakeResult) -> bool:
    """The server answered our offer with an alert or a close, not a ServerHello."""
    return result.failure is not None and result.failure.kind in (
        ErrorKind.handshake_failure, ErrorKind.connection_closed)


def analyse(result: HandshakeResult, failure: ScanFailure | None,
            tls13: HandshakeResult | None = None) -> RenegotiationFacet:
    """Read the connection's transcript into the renegotiation facts.

    ``tls13`` is the TLS 1.3 handshake made when TLS 1.2 and below were refused.
    """
    facet = _analyse(result, failure, tls13)
    facet.client_certificate_presented = certificate_presented(result)
    facet.not_measured = not_measured(result)
    if facet.not_measured is not None and facet.status is RenegotiationStatus.failed:
        facet.status = RenegotiationStatus.not_measured
        facet.detail = ("the server requires a client certificate and none was given "
                        "(client_cert / --client-cert), so the handshake could not complete")
    return facet


def _analyse(result: HandshakeResult, failure: ScanFailure | None,
             tls13: HandshakeResult | None) -> RenegotiationFacet:
    hello = result.server_hello
    report = handshake_report(result)
    if hello is None:
        why = result.failure.detail if result.failure else "no ServerHello"
        tls13_hello = tls13.server_hello if tls13 else None
        if (result.failure is not None and tls13_hello is not None
                and tls13_hello.selected_version == int(TLSVersion.TLSv1_3)):
            how = (f"a {result.failure.alert} alert" if result.failure.alert
                   else "closing the connection")
            return RenegotiationFacet(
                status=RenegotiationStatus.not_applicable, handshake=report,
                detail=f"the server refused TLS 1.2 and below ({how}) and negotiated TLS 1.3, "
                "which has no renegotiation")
        return RenegotiationFacet(status=RenegotiationStatus.failed, handshake=report,
                                   detail=f"the TLS 1.2-or-below handshake failed: {why}")
    secure = hello.has_extension(wire.ExtensionType.renegotiation_info)
    version = version_name(hello.selected_version)
    if not result.completed:
        why = result.failure.detail if result.failure else "the handshake did not complete"
        return RenegotiationFacet(
            status=RenegotiationStatus.failed, version=version, secure_renegotiation=secure,
            handshake=report,
            detail=f"the handshake did not complete, so no renegotiation was tried: {why}")
    return RenegotiationFacet(
        status=RenegotiationStatus.tested, version=version, secure_renegotiation=secure,
        client_initiated=_classify(result, failure), handshake=report)


def _classify(result: HandshakeResult, failure: ScanFailure | None) -> ClientRenegotiation:
    later = [m for m in result.transcript if m.after_handshake and m.direction == "received"]
    requested = any(m.msg_type == wire.HandshakeType.certificate_request for m in later)
    if failure is None:
        return ClientRenegotiation(outcome=RenegotiationOutcome.accepted,
                                   certificate_requested=requested,
                                   detail="a second handshake completed")
    alerts = [m.alert for m in later if m.alert is not None]
    alert = alerts[0] if alerts else None
    if (alert is not None and alert.description == wire.AlertDescription.no_renegotiation
            and not alert.is_fatal):
        outcome = RenegotiationOutcome.refused_warning
        detail = "the server answered with a warning no_renegotiation alert"
    elif alert is not None and alert.is_fatal:
        outcome = RenegotiationOutcome.refused_fatal
        detail = f"the server answered with a fatal {alert.name} alert"
    elif (failure.kind in (ErrorKind.connection_closed, ErrorKind.connection_reset)
          or (alert is not None and alert.description == wire.AlertDescription.close_notify)):
        outcome = RenegotiationOutcome.closed
        detail = failure.detail
    elif failure.kind is ErrorKind.timeout:
        outcome = RenegotiationOutcome.no_response
        detail = failure.detail
    else:
        outcome = RenegotiationOutcome.error
        detail = failure.detail
    return ClientRenegotiation(outcome=outcome, alert=alert.name if alert else None,
                               certificate_requested=requested, detail=detail)


def findings_for(facet: RenegotiationFacet) -> list[Finding]:
    findings = []
    if facet.secure_renegotiation is False:
        findings.append(Finding(
            id="renegotiation.insecure", severity=Severity.medium,
            probe=RenegotiationProbe.name, version=facet.version,
            detail="The ServerHello has no renegotiation_info extension: the server does not "
            "support RFC 5746 secure renegotiation, so any renegotiation it performs is open to "
            "prefix injection (CVE-2009-3555).",
        ))
    initiated = facet.client_initiated
    if initiated is not None and initiated.outcome is RenegotiationOutcome.accepted:
        findings.append(Finding(
            id="renegotiation.client_initiated_accepted", severity=Severity.low,
            probe=RenegotiationProbe.name, version=facet.version,
            detail="The server completes client-initiated renegotiations: one connection can "
            "make it repeat handshake work at will (a denial-of-service lever).",
        ))
    return findings
