"""``--all-addresses``: one target per resolved address, before the sweep plans its work.

A name with several addresses (an ALB has one per availability zone) may answer differently
on each. Expanding happens after sharding (every machine shards the same inventory
targets, whatever its resolver says) and before ``--resume`` (which then skips the addresses
already recorded). A name that does not resolve stays one target: its scan records the DNS
failure as usual.
"""

from __future__ import annotations

from dataclasses import replace

import trio

from scanner.config.targets import Target
from scanner.engine.connect import resolve
from scanner.engine.errors import ScanFailure

#: Lookups in flight while expanding.
_PARALLEL_LOOKUPS = 32


async def expand_addresses(targets: list[Target], *, timeout: float) -> list[Target]:
    """Each ``all_addresses`` target replaced by one target per address (in resolver
    order), the others unchanged, input order kept."""
    expanded: list[list[Target]] = [[target] for target in targets]
    limiter = trio.CapacityLimiter(_PARALLEL_LOOKUPS)

    async def expand(index: int, target: Target) -> None:
        async with limiter:
            try:
                found = await resolve(target.host, target.port, timeout=timeout)
            except ScanFailure:
                return
        expanded[index] = [replace(target, address=address.ip) for address in found]

    async with trio.open_nursery() as nursery:
        for index, target in enumerate(targets):
            if target.all_addresses and target.address is None:
                nursery.start_soon(expand, index, target)
    return [target for group in expanded for target in group]
