"""Run many scans concurrently and hand each result on as soon as it is ready.

Knows nothing of TLS: it takes items, an async function that turns one item into a result,
and a sink. A fixed pool of workers pulls items, so memory does not grow with the number of
targets, and a failing scan function still yields a result through ``fallback``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import trio

Item = TypeVar("Item")
Result = TypeVar("Result")


async def run_all(
    items: Iterable[Item],
    scan: Callable[[Item], Awaitable[Result]],
    *,
    workers: int,
    sink: Callable[[Item, Result], None],
    fallback: Callable[[Item, BaseException], Result],
) -> None:
    """Scan every item with at most ``workers`` in flight; ``sink`` sees every item once."""
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # shared iterator: each item is taken by exactly one worker
            try:
                result = await scan(item)
            except Exception as exc:
                result = fallback(item, exc)
            sink(item, result)

    async with trio.open_nursery() as nursery:
        for _ in range(max(1, workers)):
            nursery.start_soon(worker)
