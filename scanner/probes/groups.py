"""Which key-exchange groups does the server support? TLS 1.3 (hybrid post-quantum groups
included) and the highest version below it (ECDHE curves)."""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner import wire
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.group_enumeration import GroupEnumeration
from scanner.probes.shared.version_tests import LABELS
from scanner.results import GroupInfo, GroupsAtVersion, GroupsFacet
from scanner.wire import TLSVersion


def version_out(result: GroupEnumeration) -> GroupsAtVersion:
    return GroupsAtVersion(
        groups=[GroupInfo(code=f"0x{code:04X}", name=wire.name_for(wire.NAMED_GROUPS, code),
                         via=via)  # type: ignore[arg-type]
                for code, via in result.groups],
        complete=result.complete,
        offered=result.offered,
        connections=result.connections,
        notes=result.notes,
    )


class GroupsProbe(Probe[GroupsFacet]):
    name: ClassVar[str] = "groups"
    description: ClassVar[str] = (
        "supported groups: TLS 1.3 (incl. ML-KEM hybrids) and ECDHE curves below it"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[GroupsFacet]:
        enum = context.shared.enumeration
        results: dict[int, GroupEnumeration | None] = {}

        async def tls13() -> None:
            results[TLSVersion.TLSv1_3] = await enum.groups(TLSVersion.TLSv1_3)

        async def legacy() -> None:
            test = await enum.highest_legacy_version()
            if test is not None:
                results[test.version] = await enum.groups(test.version)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(tls13)
            nursery.start_soon(legacy)
        return ProbeOutput(facet=GroupsFacet({
            LABELS[v]: version_out(result) for v in sorted(results)
            if (result := results[v]) is not None
        }))
