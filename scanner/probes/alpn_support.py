"""Which ALPN protocols does the server support? Offer every registered protocol id, note
the one selected, remove it, repeat until the server selects none."""

from __future__ import annotations

from typing import ClassVar

from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.alpn_elimination import ALPN_PROTOCOLS
from scanner.probes.shared.version_tests import LABELS
from scanner.results import AlpnSupportFacet


class AlpnSupportProbe(Probe[AlpnSupportFacet]):
    name: ClassVar[str] = "alpn_support"
    description: ClassVar[str] = "ALPN protocols selected when offered every registered id"

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[AlpnSupportFacet]:
        result = await context.shared.enumeration.alpn()
        return ProbeOutput(facet=AlpnSupportFacet(
            version=LABELS[result.version] if result.version is not None else None,
            engine=result.engine,
            supported=result.supported,
            offered=list(ALPN_PROTOCOLS),
            without_match=result.without_match,
            complete=result.complete,
            connections=result.connections,
            notes=result.notes,
        ))
