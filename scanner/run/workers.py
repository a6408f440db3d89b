"""A sweep on several cores: worker processes, each taking units of the sweep as it goes.

One interpreter runs one core, and a sweep is CPU-bound on its side of each handshake. The
targets are grouped by the IP address they resolve to, and an address is one unit, scanned
by one worker only, so the per-address limit still holds for the whole sweep. When there
are fewer addresses than workers (one load balancer, many listeners) an address is split by
listener instead: each listener is a unit, and the address's per-address slots are divided
between the workers that may take its listeners, so the bound still holds in sum. Workers
take the units one at a time, in input order, as they need targets (``run.claims``): one
that gets slow targets (timeouts, listeners that ask for certificates) takes fewer, and the
workers finish together. The overall connection budget (and ``--rate``) is divided between
the workers. Each worker is a forked copy of this process (nothing is pickled: private keys
of inventory credentials cannot be), runs an ordinary in-process sweep of the units it
takes, and streams each record to the parent over a pipe as it finishes. The parent writes
them to the one output in the order they arrive, so resume, shards and every output format
work as in a single process.

A worker that dies leaves error records (``internal_error``) for the targets of the units
it took and did not report (the others take the units left); SIGINT/SIGTERM reach every
worker, which stop as a single-process sweep does (the targets they were scanning get no
record, so ``--resume`` picks them up).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import ipaddress
import json
import multiprocessing
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import FrameType
from typing import Any

import trio

from scanner.config.options import resolve_options
from scanner.config.targets import Target
from scanner.engine.session import limit_key
from scanner.report.sinks import OutputError, OutputSink, RecordSink
from scanner.results import ErrorInfo, ErrorKind, Record
from scanner.run.claims import UnitClaims
from scanner.run.scan import ScanSettings, error_record
from scanner.run.sweep import (
    SweepObserver,
    SweepOptions,
    SweepSummary,
    neighbours,
    sweep,
    verdict,
)

_RESOLVERS = 32  # parallel name look-ups while partitioning
_READ_CHUNK = 1 << 16
_PR_SET_PDEATHSIG = 1  # linux/prctl.h

Indexed = tuple[int, Target]


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def address_key(host: str, port: int) -> str:
    """The address a target will be scanned at (the first one its name resolves to, as
    the scan takes), or the name itself when it does not resolve now."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return host.lower()
    return str(infos[0][4][0]) if infos else host.lower()


@dataclass
class Unit:
    """Targets one worker scans together: a whole address, or one listener (address and
    port, every name on it) of an address whose listeners are split between workers.
    ``eligible``: the workers holding slots at that address (None: any worker)."""

    members: list[Indexed]
    eligible: frozenset[int] | None = None


@dataclass
class WorkPlan:
    """The units in the order workers take them (the input's), and each worker's slots at
    the addresses it shares with other workers (``address -> slots``; an address taken
    whole keeps the whole bound)."""

    workers: int
    units: list[Unit]
    budgets: list[dict[str, int]]


def plan(targets: Sequence[Target], workers: int, *, per_address: int = 1,
         key: Callable[[str, int], str] = address_key) -> WorkPlan:
    """``targets`` as units for at most ``workers`` workers.

    With at least as many addresses as workers every address is one unit. With fewer
    (many listeners behind one address: the cores would idle) an address is split by
    listener between up to ``per_address`` workers, each holding part of its
    ``per_address`` slots so that together they never exceed the bound; only those workers
    may take its listeners.
    """
    endpoints = sorted({(t.host, t.port) for t in targets})
    with concurrent.futures.ThreadPoolExecutor(_RESOLVERS) as pool:
        keys = dict(zip(endpoints, pool.map(lambda e: key(*e), endpoints), strict=True))
    # Listeners by resolved address and port: names served together stay together (the
    # vhosts probe compares them).
    groups: dict[str, dict[int, list[Indexed]]] = {}
    for index, target in enumerate(targets):
        address = keys[(target.host, target.port)]
        groups.setdefault(address, {}).setdefault(target.port, []).append((index, target))
    count = max(1, workers)
    units: list[Unit] = []
    split: list[tuple[str, int, dict[int, list[Indexed]]]] = []
    for address, listeners in groups.items():
        spread = min(count, per_address, len(listeners)) if len(groups) < count else 1
        if spread < 2:
            units.append(Unit(sorted(m for ms in listeners.values() for m in ms)))
        else:
            split.append((address, spread, listeners))
    used = min(count, len(units) + sum(spread for _, spread, _ in split))
    budgets: list[dict[str, int]] = [{} for _ in range(used)]
    first = 0
    for address, spread, listeners in split:
        # Consecutive workers from where the last address's ended: addresses spread over
        # every worker in turn, and each worker's slots at an address are fixed up front.
        sharing = [(first + n) % used for n in range(spread)]
        first += spread
        names = {address} | {t.host for ms in listeners.values() for _, t in ms}
        for n, worker in enumerate(sharing):
            slots = per_address // spread + (n < per_address % spread)
            for name in map(limit_key, names):
                budgets[worker][name] = budgets[worker].get(name, 0) + slots
        eligible = frozenset(sharing) if spread < used else None
        units += [Unit(members, eligible) for members in listeners.values()]
    # In input order, as one process starts them: what a unit costs is not known before it
    # runs (a timeout costs more than a listener of many names), and the workers taking
    # units as they go is what evens out the work. Largest first would leave the single
    # targets, tarpits among them, for the end, each adding its whole timeout to the sweep.
    units.sort(key=lambda unit: unit.members[0][0])
    return WorkPlan(used, units, budgets)


class _PipeSink:
    """A worker's sink: ``tag<TAB>verdict JSON<TAB>record JSON`` lines to the parent;
    ``tag_of`` turns the worker's own index of a target into the tag the parent knows it by.

    The verdict (what the summary and exit code count) travels beside the record so the
    parent, one process serving every worker, writes the record's bytes as they are instead
    of validating and serialising each record again. JSON text never holds a raw tab or
    newline, so the line splits unambiguously.
    """

    def __init__(self, fd: int, tag_of: Callable[[int], int]) -> None:
        self._fd = fd
        self._tag_of = tag_of

    def write(self, index: int, record: Record) -> None:
        line = (f"{self._tag_of(index)}\t{json.dumps(verdict(record), separators=(',', ':'))}"
                f"\t{record.to_json()}\n").encode()
        view = memoryview(line)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except BrokenPipeError:
            # The parent stopped reading (its output failed): stop as a sweep whose output
            # failed does, without a traceback; the parent reports the error.
            raise OutputError("the parent process stopped reading records") from None


@dataclass
class WorkerJob:
    """What one worker scans. ``targets`` is called in the worker (a streamed source is read
    there, not in the parent); ``tag_of`` names each record to the parent (an input position,
    or a target digest); ``budgets`` are its slots of addresses shared with other workers."""

    targets: Callable[[], Iterable[Target]]
    tag_of: Callable[[int], int]
    budgets: dict[str, int] = field(default_factory=dict)


def unit_job(work: WorkPlan, claims: UnitClaims, number: int) -> WorkerJob:
    """Worker ``number``'s job: the units it takes, one at a time as its runner reads on
    (so a worker that is done early takes more); records tagged with input positions."""
    positions: dict[int, int] = {}  # the worker's index of a target -> its input position

    def targets() -> Iterator[Target]:
        local = 0
        while (unit := claims.take(number)) is not None:
            for index, target in work.units[unit].members:
                positions[local] = index
                local += 1
                yield target

    return WorkerJob(targets=targets, tag_of=positions.pop, budgets=work.budgets[number])


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when the parent dies (a SIGKILLed sweep must not
    leave workers scanning on); elsewhere a worker stops at its next write to the pipe."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _run_worker(job: WorkerJob, options: SweepOptions, fd: int) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    targets = job.targets()
    # A streamed source is an iterator: sweep() reads it only as far as it looks ahead.
    planned = None if isinstance(targets, list) else 0
    trio.run(partial(sweep, targets, options, _PipeSink(fd, job.tag_of),
                     stop_on_signals=True, planned=planned))
    os.close(fd)


#: Takes each record as it arrives: its job's number, its tag, its verdict (JSON data) and
#: the record as the worker serialised it.
Deliver = Callable[[int, int, dict[str, Any], bytes], None]


def sweep_in_workers(jobs: list[WorkerJob], options: SweepOptions, deliver: Deliver, *,
                     on_started: Callable[[], None] = lambda: None,
                     ) -> tuple[signal.Signals | None, list[int | None]]:
    """Run each job in its own forked worker; hand every record to ``deliver`` as it
    arrives. Returns the stop signal, if any, and each worker's exit code. Without a signal
    every target should have been reported: any that was not (a worker died) is the
    caller's to give a record (``worker_died``).

    ``options`` is given to each worker with the connection budget and rate divided
    between them, and the job's slots of the addresses it scans with others.
    ``on_started`` runs once every worker is forked (so that a progress bar's refresh
    thread is never forked with them).
    """
    count = len(jobs)
    share_options = replace(options, concurrency=max(1, options.concurrency // count),
                            rate=options.rate / count if options.rate else None)
    context = multiprocessing.get_context("fork")
    workers: list[tuple[multiprocessing.process.BaseProcess, int]] = []
    for job in jobs:
        read_fd, write_fd = os.pipe()
        child = context.Process(target=_run_worker, daemon=True, args=(
            job, replace(share_options, address_budgets=job.budgets), write_fd))
        child.start()
        os.close(write_fd)
        workers.append((child, read_fd))

    stopped: list[signal.Signals] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not stopped:
            stopped.append(signal.Signals(signum))
        for process, _fd in workers:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        on_started()
        _collect([fd for _process, fd in workers], deliver)
    except BaseException:
        # ``deliver`` failed (the output cannot be written): stop the workers, which would
        # otherwise block on full pipes that nobody reads.
        for process, _fd in workers:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        raise
    finally:
        for process, _fd in workers:
            process.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return (stopped[0] if stopped else None), [process.exitcode for process, _fd in workers]


def worker_died(exit_code: int | None) -> str:
    """The error detail of a target whose worker exited without reporting it."""
    return f"the worker process scanning it exited with code {exit_code}"


def _collect(fds: list[int], deliver: Deliver) -> None:
    selector = selectors.DefaultSelector()
    pending: dict[int, bytes] = {}
    job_of = {fd: n for n, fd in enumerate(fds)}
    for fd in fds:
        selector.register(fd, selectors.EVENT_READ)
        pending[fd] = b""
    try:
        while pending:
            for key, _events in selector.select():
                fd = int(key.fd)
                try:
                    data = os.read(fd, _READ_CHUNK)
                except InterruptedError:
                    continue
                if not data:
                    selector.unregister(fd)
                    os.close(fd)
                    del pending[fd]
                    continue
                *lines, pending[fd] = (pending[fd] + data).split(b"\n")
                for line in lines:
                    tag_text, verdict_text, payload = line.split(b"\t", 2)
                    deliver(job_of[fd], int(tag_text), json.loads(verdict_text), payload)
    finally:
        for fd in pending:  # left early: a worker writing now gets EPIPE, not a full pipe
            os.close(fd)
        selector.close()


#: The targets a sweep's workers did not report, given the workers' exit codes: each with
#: its tag and the exit code of its worker.
Unreported = Callable[[list[int | None]], Iterable[tuple[int, Target, int | None]]]


def sweep_jobs(jobs: list[WorkerJob], options: SweepOptions, sink: RecordSink, *,
               summary: SweepSummary, observer: SweepObserver | None, planned: int,
               on_tag: Callable[[int, int], None], unreported: Unreported) -> SweepSummary:
    """The parent's side of a sweep in workers: each record to ``sink`` (under its tag), the
    summary and the observer as it arrives (``on_tag`` hears which job reported which tag);
    a target whose worker died unreported gets an ``internal_error`` record; an output that
    fails stops the workers and is the summary's ``io_error``, as in one process."""
    started = time.perf_counter()
    summary.planned = planned

    def on_started() -> None:
        if observer is not None:
            observer.started(summary.skipped + planned, summary.skipped)

    def counted(data: dict[str, Any]) -> None:
        summary.add_verdict(data)
        if observer is not None:
            observer.finished(str(data.get("status")))

    def deliver(job: int, tag: int, data: dict[str, Any], payload: bytes) -> None:
        on_tag(job, tag)
        if isinstance(sink, OutputSink):
            sink.write_json(tag, payload)
        else:  # a sink of Record objects (the API's, the tests')
            sink.write(tag, Record.model_validate_json(payload))
        counted(data)

    try:
        summary.interrupted_by, exit_codes = sweep_in_workers(jobs, options, deliver,
                                                              on_started=on_started)
        if summary.interrupted_by is None:
            for tag, target, code in unreported(exit_codes):
                probes = resolve_options(target, ScanSettings(probes=options.probes)).probes
                record = error_record(target, ErrorInfo(kind=ErrorKind.internal_error,
                                                        detail=worker_died(code)), probes)
                sink.write(tag, record)
                counted(verdict(record))
    except OutputError as exc:  # nowhere to put records: what is written stays (exit 4)
        summary.io_error = summary.io_error or str(exc)
        summary.not_written += 1
    finally:
        summary.duration_s = time.perf_counter() - started
        if observer is not None:
            observer.stopped()
    return summary


def run_in_workers(targets: list[Target], options: SweepOptions, sink: RecordSink, *,
                   summary: SweepSummary, observer: SweepObserver | None,
                   stop_on_signals: bool) -> SweepSummary:
    """``run_sweep``'s multi-process path: the same summary, observer calls and records
    (in this process when the targets are all on one address)."""
    work = plan(targets, options.workers, per_address=options.per_address)
    if work.workers < 2:
        return trio.run(partial(sweep, targets, options, sink, summary=summary,
                                observer=observer, stop_on_signals=stop_on_signals))
    if options.neighbours is None:  # run_sweep's are over every target, as they must be:
        # a worker reads its targets a unit at a time and could not compute them itself
        options = replace(options, neighbours=trio.run(neighbours, targets, options))
    claims = UnitClaims([unit.eligible for unit in work.units])
    reported: set[int] = set()

    def unreported(exit_codes: list[int | None]) -> Iterable[tuple[int, Target, int | None]]:
        for number, unit in enumerate(work.units):
            owner = claims.owner(number)
            # A unit nobody took: every worker that could have taken it is gone.
            code = exit_codes[owner] if owner is not None else next(
                (code for code in exit_codes if code), None)
            yield from ((index, target, code) for index, target in unit.members
                        if index not in reported)

    try:
        return sweep_jobs([unit_job(work, claims, n) for n in range(work.workers)], options,
                          sink, summary=summary, observer=observer, planned=len(targets),
                          on_tag=lambda _job, index: reported.add(index),
                          unreported=unreported)
    finally:
        claims.close()
