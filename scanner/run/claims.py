"""Units of work that forked workers take one at a time, each when it needs more.

A sweep split between processes up front is only as fast as its slowest share: one
worker's targets that time out, or its listeners that ask for client certificates, keep it
busy long after the others have finished. Here the parent lists the units (whole addresses,
or listeners of an address shared between workers) before it forks, and each worker takes
the next unit it may scan as its runner asks for targets, so the work ends together.

The table of owners lives in shared memory (``mmap``, inherited by the forked workers) and
is updated under a POSIX record lock on an unlinked temporary file: the kernel releases
that lock when its holder dies, so a worker killed mid-claim cannot stall the others.
"""

from __future__ import annotations

import fcntl
import mmap
import tempfile
from collections.abc import Sequence


class UnitClaims:
    """Which worker took each unit (``take`` in the workers, ``owner`` in the parent once
    they are done). ``eligible[n]``: the workers that may take unit ``n`` (None: any)."""

    def __init__(self, eligible: Sequence[frozenset[int] | None]) -> None:
        self._eligible = list(eligible)
        # 0: not taken; otherwise the taker's number + 1.
        self._memory = mmap.mmap(-1, 4 * max(1, len(self._eligible)))
        self._owners = memoryview(self._memory).cast("i")
        self._lock = tempfile.TemporaryFile()  # noqa: SIM115 - held until close()
        self._cursor = 0  # this process's place in the list: units behind it are settled

    def take(self, worker: int) -> int | None:
        """The next unit ``worker`` may scan, now its; None when none is left for it."""
        fcntl.lockf(self._lock, fcntl.LOCK_EX)
        try:
            while self._cursor < len(self._eligible):
                unit = self._cursor
                self._cursor += 1
                allowed = self._eligible[unit]
                if self._owners[unit] == 0 and (allowed is None or worker in allowed):
                    self._owners[unit] = worker + 1
                    return unit
            return None
        finally:
            fcntl.lockf(self._lock, fcntl.LOCK_UN)

    def owner(self, unit: int) -> int | None:
        """The worker that took ``unit``, if any did."""
        value = self._owners[unit]
        return value - 1 if value else None

    def close(self) -> None:
        self._owners.release()
        self._memory.close()
        self._lock.close()
