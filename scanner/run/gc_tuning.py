"""Garbage-collector settings for a sweep.

A sweep allocates many short-lived objects per connection (parsed messages, results) and
keeps a large, long-lived heap of modules, pydantic validators and policy data. With the
default thresholds the cyclic collector runs every 700 allocations and rescans objects that
never die; freezing what exists at the start moves it out of every later collection, and a
higher first threshold lets short-lived objects die by reference counting before a
collection looks at them. Memory stays bounded: collections still run, only less often.
"""

from __future__ import annotations

import gc

# Generation-0 threshold: ~70x the default of 700 allocations; generations 1 and 2 keep
# their default ratios.
SWEEP_GC_THRESHOLDS = (50_000, 20, 20)


def tune_for_sweep() -> tuple[int, int, int]:
    """Freeze the start-up heap and raise the thresholds; returns the previous thresholds."""
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SWEEP_GC_THRESHOLDS)
    return previous


def restore(thresholds: tuple[int, int, int]) -> None:
    """Undo ``tune_for_sweep`` (for callers that go on after the sweep, such as tests)."""
    gc.set_threshold(*thresholds)
    gc.unfreeze()
