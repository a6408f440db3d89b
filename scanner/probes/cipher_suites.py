"""Every cipher suite the server accepts, per protocol version, with its preference order.

Raw ClientHellos offer all ~340 assigned suites (so RC4, 3DES, export and other suites no
current OpenSSL can offer are found too); see ``enumeration`` for the method.
"""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner import wire
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.suite_enumeration import SuiteEnumeration
from scanner.probes.shared.version_tests import LABELS, VERSIONS
from scanner.results import CipherSuiteInfo, CipherSuitesAtVersion, CipherSuitesFacet
from scanner.wire import TLSVersion


def suite_out(code: int, version: int) -> CipherSuiteInfo:
    if version == TLSVersion.SSLv2:
        kind = wire.SSL2_CIPHER_KINDS.get(code)
        return CipherSuiteInfo(code=f"0x{code:06X}", iana=kind.name if kind else None,
                              openssl=kind.openssl if kind else None)
    suite = wire.cipher_suite(code)
    known = code in wire.CIPHER_SUITES
    return CipherSuiteInfo(code=suite.hex, iana=suite.iana if known else None,
                          openssl=suite.openssl)


def version_out(result: SuiteEnumeration) -> CipherSuitesAtVersion:
    return CipherSuitesAtVersion(
        suites=[suite_out(code, result.version) for code in result.preference],
        order=result.order,
        complete=result.complete,
        offered=result.offered,
        hello_split=result.hello_split,
        connections=result.connections,
        notes=result.notes,
    )


class CipherSuitesProbe(Probe[CipherSuitesFacet]):
    name: ClassVar[str] = "cipher_suites"
    description: ClassVar[str] = (
        "accepted cipher suites per version (all IANA suites offered), server or client order"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[CipherSuitesFacet]:
        enum = context.shared.enumeration
        results: dict[int, SuiteEnumeration | None] = {}

        async def enumerate_version(version: int) -> None:
            results[version] = await enum.suites(version)

        async with trio.open_nursery() as nursery:
            for version in VERSIONS:
                nursery.start_soon(enumerate_version, version)
        return ProbeOutput(facet=CipherSuitesFacet({
            LABELS[v]: version_out(result) for v in VERSIONS
            if (result := results[v]) is not None
        }))
