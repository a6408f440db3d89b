"""Which protocol versions, SSLv2 to TLS 1.3, does the server accept, and how does it refuse
the others? One raw ClientHello per version, offering only that version."""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.version_tests import LABELS, VERSIONS, VersionTest
from scanner.results import ProtocolsAtVersion, ProtocolsFacet


class ProtocolsProbe(Probe[ProtocolsFacet]):
    name: ClassVar[str] = "protocols"
    description: ClassVar[str] = (
        "SSLv2 ... TLS 1.3: accepted or not, and the refusal (alert, close, downgrade)"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[ProtocolsFacet]:
        enum = context.shared.enumeration
        tests: dict[int, VersionTest] = {}

        async def test(version: int) -> None:
            tests[version] = await enum.version(version)

        async with trio.open_nursery() as nursery:
            for version in VERSIONS:
                nursery.start_soon(test, version)
        return ProbeOutput(facet=ProtocolsFacet({
            LABELS[v]: ProtocolsAtVersion(accepted=tests[v].accepted, refusal=tests[v].refusal,
                                       error=tests[v].error, notes=tests[v].notes)
            for v in VERSIONS
        }))
