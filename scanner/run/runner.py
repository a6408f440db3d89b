"""Run many scans concurrently and hand each result on as soon as it is ready.

Knows nothing of TLS: it takes items, an async function that turns one item into a result,
and a sink. At most ``workers`` items run at once, and, when ``admission`` is given, at most
as many items per key (a listener, an address) as that key has capacity: an item whose keys
are full waits in a bounded look-ahead while later items that fit start, so one crowded
address does not hold up the rest of the input, and no item starts only to queue for a
connection slot its budget would run out waiting for. Memory does not grow with the number
of items (the iterator is read as far as the look-ahead allows), and a failing scan
function still yields a result through ``fallback``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import TypeVar

import trio

Item = TypeVar("Item")
Result = TypeVar("Result")

#: The keys an item occupies while it runs, each with how many items that key can serve.
Admission = Callable[[Item], Sequence[tuple[Hashable, int]]]

_LOOKAHEAD_PER_WORKER = 4


async def run_all(
    items: Iterable[Item],
    scan: Callable[[Item], Awaitable[Result]],
    *,
    workers: int,
    sink: Callable[[Item, Result], None],
    fallback: Callable[[Item, BaseException], Result],
    admission: Admission[Item] | None = None,
    lookahead: int | None = None,
) -> None:
    """Scan every item, at most ``workers`` at once and within ``admission``; ``sink``
    sees every item once. Items start in input order except where admission holds one back."""
    workers = max(1, workers)
    limit = max(1, lookahead if lookahead is not None else _LOOKAHEAD_PER_WORKER * workers)
    iterator = iter(items)
    waiting: deque[tuple[Item, Sequence[tuple[Hashable, int]]]] = deque()
    occupied: Counter[Hashable] = Counter()
    running = 0
    exhausted = False
    progress = trio.Event()

    def fits(keys: Sequence[tuple[Hashable, int]]) -> bool:
        return all(occupied[key] < max(1, capacity) for key, capacity in keys)

    async def run(item: Item, keys: Sequence[tuple[Hashable, int]]) -> None:
        nonlocal running
        try:
            try:
                result = await scan(item)
            except Exception as exc:
                result = fallback(item, exc)
            sink(item, result)
        finally:
            running -= 1
            for key, _capacity in keys:
                occupied[key] -= 1
                if not occupied[key]:
                    del occupied[key]
            progress.set()

    def start(nursery: trio.Nursery, item: Item, keys: Sequence[tuple[Hashable, int]]) -> None:
        nonlocal running
        running += 1
        for key, _capacity in keys:
            occupied[key] += 1
        nursery.start_soon(run, item, keys)

    def next_admissible() -> tuple[Item, Sequence[tuple[Hashable, int]]] | None:
        """The first waiting item that fits, else the next input item (which may not fit)."""
        nonlocal exhausted
        for position, (item, keys) in enumerate(waiting):
            if fits(keys):
                del waiting[position]
                return item, keys
        while not exhausted and len(waiting) < limit:
            try:
                item = next(iterator)
            except StopIteration:
                exhausted = True
                break
            keys = admission(item) if admission is not None else ()
            if fits(keys):
                return item, keys
            waiting.append((item, keys))
        return None

    async with trio.open_nursery() as nursery:
        while True:
            chosen = next_admissible() if running < workers else None
            if chosen is not None:
                start(nursery, *chosen)
                continue
            if exhausted and not waiting and not running:
                return
            progress = trio.Event()
            await progress.wait()
