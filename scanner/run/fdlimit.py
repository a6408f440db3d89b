"""Keep a sweep inside the process's open-file limit.

Every connection in flight holds one socket; the rest of the process needs a few more (the
output, the key log, trio's wake-up pipe, DNS threads, Python's own files). A sweep asking for
more connections than the soft ``RLIMIT_NOFILE`` allows would fail targets with EMFILE, so
before it starts we raise the soft limit (up to the hard limit, which an unprivileged process
may do) or, failing that, lower the concurrency to what fits.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass

# Descriptors kept for everything that is not a scan connection.
RESERVED_DESCRIPTORS = 64
# Never run a sweep with fewer connections than this, even under a tiny limit.
MIN_CONCURRENCY = 1


@dataclass(frozen=True)
class FileLimitPlan:
    concurrency: int
    soft_before: int
    soft_after: int
    hard: int

    @property
    def raised(self) -> bool:
        return self.soft_after > self.soft_before

    def describe(self, requested: int) -> str | None:
        """One line for the operator when something was changed, else None."""
        if self.concurrency < requested:
            return (f"the open-file limit is {self.soft_after} (hard limit {_show(self.hard)}), "
                    f"too low for --concurrency {requested}: scanning with {self.concurrency} "
                    "connections in flight instead (raise it with `ulimit -n`)")
        if self.raised:
            return (f"raised the open-file soft limit from {self.soft_before} to "
                    f"{self.soft_after} for --concurrency {requested}")
        return None


def _show(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else str(limit)


def needed_descriptors(concurrency: int) -> int:
    return concurrency + RESERVED_DESCRIPTORS


def fit_concurrency(concurrency: int) -> FileLimitPlan:
    """Raise the soft open-file limit for ``concurrency`` connections, or cap the concurrency."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = needed_descriptors(concurrency)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return FileLimitPlan(concurrency, soft, soft, hard)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    new_soft = soft
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            new_soft = target
        except (ValueError, OSError):
            new_soft = soft  # e.g. a sandbox that forbids it: fall back to capping
    fitted = min(concurrency, max(MIN_CONCURRENCY, new_soft - RESERVED_DESCRIPTORS))
    return FileLimitPlan(fitted, soft, new_soft, hard)
