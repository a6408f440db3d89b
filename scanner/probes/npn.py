"""Does the server answer Next Protocol Negotiation (the pre-ALPN draft), and with which
protocols? Read from the ServerHello of the version test (TLS <= 1.2 only)."""

from __future__ import annotations

from typing import ClassVar

from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.version_tests import LABELS
from scanner.results import NpnFacet


class NpnProbe(Probe[NpnFacet]):
    name: ClassVar[str] = "npn"
    description: ClassVar[str] = "NPN protocols advertised in the TLS <= 1.2 ServerHello"

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[NpnFacet]:
        test = await context.shared.enumeration.highest_legacy_version()
        hello = test.server_hello if test is not None else None
        if test is None or hello is None:
            return ProbeOutput(facet=NpnFacet(version=None, advertised=None))
        protocols = hello.npn_protocols
        return ProbeOutput(facet=NpnFacet(version=LABELS[test.version],
                                           advertised=protocols is not None,
                                           protocols=list(protocols or ())))
