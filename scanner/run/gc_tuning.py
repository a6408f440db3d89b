"""Garbage-collector settings for a sweep.

A sweep keeps a large, long-lived heap from start-up (modules, pydantic validators, the
policy catalog) and allocates many short-lived objects per connection. Freezing the start-up
heap moves it out of every later collection, so a full collection scans only what the sweep
itself holds, and forked ``--workers`` share those pages instead of copying them when the
collector would write to them.

Generation 0 collects every ``SWEEP_GEN0`` allocations, not every 700. At 700, a 200-listener
sweep (``--workers 1``, 9,900 connections) ran about 660 young, 60 middle and 5 full
collections; the collector was about a tenth of its CPU in ``perf`` (``gc_collect_main``,
``visit_decref``, ``visit_reachable``). At 10,000: 33, 2 and 0, and 0.5-1 s less CPU of
about 9.5 s; the same objects were collected. The older generations keep their defaults, so
a full collection still comes after a fixed number of young ones: peak RSS measured 113 MiB
either way (an earlier try with every threshold raised cost 12-25 MB).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def startup() -> Iterator[None]:
    """No cyclic collection while a command loads its modules and builds its models.

    Start-up allocates a few hundred thousand long-lived objects (modules, pydantic
    validators, dataclasses) and no cyclic garbage worth finding, yet the collector walks
    them again and again as they pile up: 60-90 ms of a one-host scan's ~0.6 s CPU. When the
    block completes, what it built is frozen (as ``tune_for_sweep`` would), so the first
    collection after it does not walk that heap once more.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


SWEEP_GEN0 = 10_000

_saved: list[tuple[int, int, int]] = []


def tune_for_sweep() -> None:
    """Freeze what exists (start-up state) out of later collections; collect the young
    generation less often.

    No collection first: after a scan's imports a full collection frees next to nothing
    (15 objects) yet walks the whole heap, 30-70 ms before the first connection of every
    run, which a one-host scan pays in full.
    """
    gc.freeze()
    thresholds = gc.get_threshold()
    _saved.append(thresholds)
    gc.set_threshold(max(thresholds[0], SWEEP_GEN0), *thresholds[1:])


def restore() -> None:
    """Undo ``tune_for_sweep`` (for callers that go on after the sweep, such as tests)."""
    gc.unfreeze()
    if _saved:
        gc.set_threshold(*_saved.pop())
