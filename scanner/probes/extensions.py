"""Which extensions does the server echo in a TLS <= 1.2 ServerHello when offered them all:
secure renegotiation, extended master secret, encrypt-then-MAC, session tickets, OCSP
stapling? Extensions it sends without being asked are a protocol violation and a finding."""

from __future__ import annotations

from typing import ClassVar

from scanner import wire
from scanner.engine.raw import RawOffer
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.version_tests import LABELS
from scanner.results import ExtensionsFacet, Finding, Severity


def _point_formats(hello: wire.ServerHello) -> list[str] | None:
    try:
        formats = hello.ec_point_formats
    except wire.WireError:
        return ["malformed"]
    if formats is None:
        return None
    return [wire.EC_POINT_FORMATS.get(code, f"unknown_{code}") for code in formats]


class ExtensionsProbe(Probe[ExtensionsFacet]):
    name: ClassVar[str] = "extensions"
    description: ClassVar[str] = (
        "extensions echoed in the TLS <= 1.2 ServerHello (reneg, EMS, ETM, tickets, OCSP)"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[ExtensionsFacet]:
        enum = context.shared.enumeration
        test = await enum.highest_legacy_version()
        hello = test.server_hello if test is not None else None
        if test is None or hello is None:
            return ProbeOutput(facet=ExtensionsFacet(version=None))
        cbc_hello = await enum.cbc_hello(test.version)
        offered = RawOffer(test.version, test.offered, sni=session.sni).offered_extensions
        unsolicited = [ext.name for ext in hello.extensions if ext.type not in offered]
        facet = ExtensionsFacet(
            version=LABELS[test.version],
            secure_renegotiation=hello.secure_renegotiation,
            extended_master_secret=hello.extended_master_secret,
            encrypt_then_mac=cbc_hello.encrypt_then_mac if cbc_hello is not None else None,
            session_ticket=hello.session_ticket,
            status_request=hello.status_request,
            ec_point_formats=_point_formats(hello),
            echoed=[ext.name for ext in hello.extensions],
            unsolicited=unsolicited,
        )
        findings = [Finding(
            id="extensions.unsolicited", severity=Severity.low, probe=self.name,
            version=facet.version,
            detail=f"The ServerHello carries extensions the client did not offer "
            f"({', '.join(unsolicited)}); RFC 5246 7.4.1.4 forbids that.",
        )] if unsolicited else []
        return ProbeOutput(facet=facet, findings=findings)
