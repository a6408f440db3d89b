"""Which ALPN protocols does the server support? Offer every registered protocol id, note
the one selected, remove it, repeat until the server selects none."""

from __future__ import annotations

from typing import ClassVar

from scanner.engine.session import EndpointSession
from scanner.probes.base import ProbeContext, ProbeOutput
from scanner.probes.shared.enumeration import ALPN_CANDIDATES, LABELS, enumerator
from scanner.results import AlpnSupportFacet


class AlpnSupportProbe:
    name: ClassVar[str] = "alpn_support"
    description: ClassVar[str] = "ALPN protocols selected when offered every registered id"

    async def run(self, session: EndpointSession, context: ProbeContext) -> ProbeOutput:
        result = await enumerator(session).alpn()
        return ProbeOutput(facet=AlpnSupportFacet(
            version=LABELS[result.version] if result.version is not None else None,
            engine=result.engine,
            supported=result.supported,
            offered=list(ALPN_CANDIDATES),
            without_match=result.without_match,
            complete=result.complete,
            connections=result.connections,
            notes=result.notes,
        ))
