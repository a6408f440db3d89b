"""Active vulnerability checks, one module per check, run together as one probe.

Heartbleed, CCS injection, TLS_FALLBACK_SCSV and TLS compression resend a hello a version
test accepted, changed in one respect: one connection each (none when they do not apply),
except that Heartbleed and compression share one hello (``hello_checks``). Ticketbleed
presents the shared TLS 1.2 baseline's ticket (one connection, none without a ticket). 0-RTT
reads the shared TLS 1.3 baseline's tickets first and costs two connections
only when those allow early data. ``--no-vuln-checks`` drops the probe.
"""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.vulns import (
    ccs_injection,
    fallback_scsv,
    hello_checks,
    ticketbleed,
    zero_rtt,
)
from scanner.results import VulnerabilitiesFacet, VulnerabilityCheck

#: Connections each check makes at most (README "Active checks").
CONNECTIONS = {"heartbleed": 1, "ccs_injection": 1, "fallback_scsv": 1, "compression": 1,
               "ticketbleed": 1, "zero_rtt": 2}


class VulnerabilitiesProbe(Probe[VulnerabilitiesFacet]):
    name: ClassVar[str] = "vulnerabilities"
    description: ClassVar[str] = (
        "active checks: Heartbleed, CCS injection, TLS_FALLBACK_SCSV, TLS compression (CRIME), "
        "Ticketbleed, 0-RTT early data accepted"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[VulnerabilitiesFacet]:
        enum = context.shared.enumeration
        results: dict[str, VulnerabilityCheck] = {}

        async def heartbleed_check() -> None:  # and compression, on the same hello
            results["heartbleed"], results["compression"] = await hello_checks.check(
                session, enum)

        async def ccs_check() -> None:
            results["ccs_injection"] = await ccs_injection.check(session, enum)

        async def fallback_check() -> None:
            results["fallback_scsv"] = await fallback_scsv.check(enum)

        async def ticketbleed_check() -> None:
            results["ticketbleed"] = await ticketbleed.check(enum, context)

        async def zero_rtt_check() -> None:
            results["zero_rtt"] = await zero_rtt.check(session, context)

        async with trio.open_nursery() as nursery:
            for run_check in (heartbleed_check, ccs_check, fallback_check,
                              ticketbleed_check, zero_rtt_check):
                nursery.start_soon(run_check)
        return ProbeOutput(facet=VulnerabilitiesFacet(**results))
