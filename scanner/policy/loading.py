"""The shipped policy data, loaded once per process, and loaded early on a thread.

Building the catalog (ten YAML files, validated) takes some 50 ms of CPU, and a sweep needs
it only after its first target's last handshake. A one-host scan spends most of its scan
time waiting on the network, so ``prefetch`` builds it on a thread meanwhile. One lock
serialises the loaders, so a caller that comes while the thread is loading waits for that
result instead of building a second one; it is held across ``fork`` so that a child never
starts with a lock that a thread of its parent held.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_lock = threading.RLock()


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.RLock()


def _acquire() -> None:
    _lock.acquire()


def _release() -> None:
    _lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_acquire, after_in_parent=_release,
                        after_in_child=_reset_after_fork)


def load_once(loader: Callable[[], T]) -> Callable[[], T]:
    """``loader``, run at most once per process (per ``cache_clear``) under the lock."""
    cached = functools.cache(loader)

    @functools.wraps(loader)
    def load() -> T:
        with _lock:
            return cached()

    load.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return load


def prefetch(*loaders: Callable[[], object]) -> None:
    """Run ``loaders`` on a thread now; their callers later find them loaded.

    Not a daemon thread: at exit the interpreter ends a daemon thread wherever it is, and
    inside pydantic-core (Rust) that forced unwind aborts the process ("FATAL: exception not
    rethrown", SIGABRT) instead of exiting with the sweep's code, as a scan refused before
    its first connection (exit 4) did under load. An early exit waits for the load instead
    (~0.1 s at most).
    """
    def run() -> None:
        with _lock:  # all of them before a fork: a worker never loads one again itself
            for loader in loaders:
                try:
                    loader()
                except Exception:
                    return

    threading.Thread(target=run, name="mtlsweep-prefetch", daemon=False).start()
