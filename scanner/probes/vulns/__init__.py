"""Active vulnerability checks, one module per check, run together as one probe.

Each check costs one connection (none when it does not apply): Heartbleed, CCS injection,
TLS_FALLBACK_SCSV and TLS compression. They reuse the raw enumeration's version tests (the
hello a version test accepted is sent again, changed in one respect), so a default scan
pays four connections for all of them. ``--no-vuln-checks`` drops the probe.
"""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.vulns import ccs_injection, compression, fallback_scsv, heartbleed
from scanner.results import VulnerabilitiesFacet, VulnerabilityCheck

#: Connections each check makes at most (README "Active checks").
CONNECTIONS = {"heartbleed": 1, "ccs_injection": 1, "fallback_scsv": 1, "compression": 1}


class VulnerabilitiesProbe(Probe[VulnerabilitiesFacet]):
    name: ClassVar[str] = "vulnerabilities"
    description: ClassVar[str] = (
        "active checks: Heartbleed, CCS injection, TLS_FALLBACK_SCSV, TLS compression (CRIME)"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[VulnerabilitiesFacet]:
        enum = context.shared.enumeration
        results: dict[str, VulnerabilityCheck] = {}

        async def heartbleed_check() -> None:
            results["heartbleed"] = await heartbleed.check(session, enum)

        async def ccs_check() -> None:
            results["ccs_injection"] = await ccs_injection.check(session, enum)

        async def fallback_check() -> None:
            results["fallback_scsv"] = await fallback_scsv.check(enum)

        async def compression_check() -> None:
            results["compression"] = await compression.check(enum)

        async with trio.open_nursery() as nursery:
            for run_check in (heartbleed_check, ccs_check, fallback_check, compression_check):
                nursery.start_soon(run_check)
        return ProbeOutput(facet=VulnerabilitiesFacet(**results))
