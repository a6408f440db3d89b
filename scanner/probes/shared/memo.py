"""Work that several probes of one target need, done once: the per-target memo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import trio

_T = TypeVar("_T")


class TargetMemo:
    """One target's shared answers, by key: the first caller computes, the others wait.

    Probes run concurrently and stay independent, yet ask overlapping questions (the same
    plain handshake, the same version test); the memo lets the first one to ask do the work
    and hands every later caller the same answer.

    Failure policy, the same for every key:

    - a computation that *returns* is remembered, and every caller gets that value;
    - a computation that *raises* an ``Exception`` is remembered too: the caller that ran
      it and every later caller get that exception (a bug or an unusable answer is reported
      by each probe that depends on it, without repeating the connections that led to it);
    - a computation that is *cancelled* (or interrupted by any other ``BaseException``)
      leaves nothing behind: its waiters wake up and the first of them computes afresh, so
      nobody waits forever on a task that is gone, nor reads an answer that was never made.

    One memo per target (created with the target's session in ``run/scan.py``): nothing
    leaks from one target to the next, and nothing outlives the scan.
    """

    def __init__(self) -> None:
        self._done: dict[Hashable, tuple[bool, Any]] = {}
        self._running: dict[Hashable, trio.Event] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[_T]]) -> _T:
        """``compute()``'s answer for ``key``, computed at most once unless cancelled."""
        while key not in self._done:
            running = self._running.get(key)
            if running is not None:
                await running.wait()
                continue  # done, or the computing task was cancelled: look again
            finished = self._running[key] = trio.Event()
            try:
                self._done[key] = (True, await compute())
            except Exception as exc:
                self._done[key] = (False, exc)
            finally:
                del self._running[key]
                finished.set()
        succeeded, value = self._done[key]
        if not succeeded:
            raise value
        return value  # type: ignore[no-any-return]

    def started(self, key: Hashable) -> bool:
        """Whether some caller asked for ``key`` already (its answer may still be coming)."""
        return key in self._done or key in self._running

    def __contains__(self, key: Hashable) -> bool:
        """Whether ``key`` has an answer (value or exception) already."""
        return key in self._done
