"""``run.claims``: forked workers take units one at a time, each unit once, only the units
they may take, the ones done early taking more; a worker that dies mid-claim stalls no one."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
from multiprocessing.connection import Connection

from scanner.run.claims import UnitClaims

FORK = multiprocessing.get_context("fork")


def _take_all(claims: UnitClaims, worker: int, out: Connection) -> None:
    taken = []
    while (unit := claims.take(worker)) is not None:
        taken.append(unit)
    out.send(taken)


def test_forked_workers_take_every_unit_once_and_only_the_ones_they_may() -> None:
    eligible = [None if n % 3 else frozenset({n % 2, 2}) for n in range(600)]
    claims = UnitClaims(eligible)
    pipes = [FORK.Pipe(duplex=False) for _ in range(3)]
    workers = [FORK.Process(target=_take_all, args=(claims, n, pipes[n][1]),
                            daemon=True) for n in range(3)]
    for process in workers:
        process.start()
    taken = [pipes[n][0].recv() for n in range(3)]
    for process in workers:
        process.join()
    assert sorted(unit for units in taken for unit in units) == list(range(600))
    for worker, units in enumerate(taken):
        assert all(eligible[unit] is None or worker in eligible[unit] for unit in units)
        assert all(claims.owner(unit) == worker for unit in units)
    claims.close()


def _take_one_then_the_rest(claims: UnitClaims, go_on: threading.Event,
                            out: Connection) -> None:
    first = claims.take(0)
    out.send(first)
    go_on.wait(timeout=60)
    out.send(claims.take(0))


def test_a_worker_that_is_busy_leaves_the_rest_to_the_others() -> None:
    claims = UnitClaims([None] * 10)
    go_on = FORK.Event()
    receive, send = FORK.Pipe(duplex=False)
    busy = FORK.Process(target=_take_one_then_the_rest, args=(claims, go_on, send), daemon=True)
    busy.start()
    assert receive.recv() == 0  # it took the first (largest) unit and is scanning it
    rest = []
    while (unit := claims.take(1)) is not None:  # this process is worker 1
        rest.append(unit)
    go_on.set()
    assert receive.recv() is None  # nothing left once it comes back
    busy.join()
    assert rest == list(range(1, 10))
    assert [claims.owner(n) for n in range(10)] == [0] + [1] * 9
    claims.close()


def _die_holding_the_lock(claims: UnitClaims) -> None:
    fcntl.lockf(claims._lock, fcntl.LOCK_EX)  # as take() does, then killed before unlocking
    os._exit(9)


def test_a_worker_killed_while_taking_does_not_stall_the_others() -> None:
    claims = UnitClaims([None] * 3)
    dying = FORK.Process(target=_die_holding_the_lock, args=(claims,), daemon=True)
    dying.start()
    dying.join()
    assert dying.exitcode == 9
    taken: list[int | None] = []
    taker = threading.Thread(target=lambda: taken.append(claims.take(0)), daemon=True)
    taker.start()
    taker.join(timeout=30)
    assert taken == [0], "take() waited on a lock whose holder is dead"
    claims.close()
