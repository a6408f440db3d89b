"""The policy data loaders: loaded once per process even while a prefetch thread loads them,
and usable in a child forked at any moment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from scanner.policy.loading import load_once, prefetch


def test_a_caller_waits_for_the_prefetch_instead_of_loading_again() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        return "catalog"

    loader = load_once(slow)
    prefetch(loader)
    assert started.wait(5)
    waiter: list[str] = []
    thread = threading.Thread(target=lambda: waiter.append(loader()))
    thread.start()
    release.set()
    thread.join(5)
    assert waiter == ["catalog"] and loader() == "catalog"
    assert calls == ["mtlsweep-prefetch"]  # one load, on the prefetch thread


def test_a_child_forked_while_the_prefetch_loads_can_load() -> None:
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        release.wait(5)
        return 1

    loader = load_once(slow)
    prefetch(loader)
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()  # fork waits for the load, then proceeds
    pid = os.fork()
    if pid == 0:  # the child: its lock is free, its loader works
        os._exit(0 if load_once(lambda: 2)() == 2 and loader() == 1 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_child_forked_during_a_prefetch_starts_with_all_of_it_done() -> None:
    """--workers fork while the parent's prefetch runs: the fork waits for the whole
    prefetch, not only for the loader in progress, so no worker loads anything again."""
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def first() -> None:  # not itself under the lock: only the prefetch holds it
        started.set()
        release.wait(5)
        calls.append("first")

    second = load_once(lambda: calls.append("second"))
    prefetch(first, second)
    assert started.wait(5)
    threading.Timer(0.2, release.set).start()
    pid = os.fork()
    if pid == 0:  # the child: what the parent's prefetch did is all there
        before = list(calls)
        second()
        os._exit(0 if before == ["first", "second"] == calls else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_the_interpreter_lets_a_prefetch_finish_before_it_exits(tmp_path: Path) -> None:
    """A daemon thread is killed wherever it is at exit (inside pydantic-core that aborted the
    process with SIGABRT); the prefetch thread is waited for, so the exit code stays the
    sweep's."""
    done = tmp_path / "done"
    program = ("import time\nfrom scanner.policy.loading import prefetch\n"
               f"prefetch(lambda: time.sleep(0.3) or open({str(done)!r}, 'w').write('ok'))\n"
               "raise SystemExit(4)\n")
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60,
                            check=False)
    assert result.returncode == 4, result.stderr
    assert done.read_text() == "ok"
