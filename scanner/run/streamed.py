"""A sweep of a target file that never holds the targets in memory.

A million-line list as ``Target`` objects costs ~600 MB. Here the file is read twice instead
(a plain host list, or a YAML inventory over the whole-document limit, read entry by entry by
``scanner.config.inventory_stream``; both are a ``TargetSource``):
a first pass keeps only a 64-bit digest of each target's identity (the first 8 bytes of
``shard.key_digest``), sorted in an ``array`` (8 bytes per target), which is enough for

* duplicate detection: equal neighbours in the sorted digests (the file is then read again to
  name both lines, with the same message as the list path);
* sharding: the shard's [start, end) run of the digest-sorted targets (``shard_bounds``) is a
  digest range, the same partition ``select_shard`` makes (distinct 64-bit prefixes order as
  the full digests do);
* resume: the recorded keys of the output, as another sorted digest array.

The second pass parses each line again and feeds the targets one by one to ``sweep``, whose
runner reads its input only a bounded look-ahead ahead. What grows with the list is therefore
8 bytes per target (16 while sorting), not the targets themselves.

A plain host list is streamed only where that changes nothing the list path would do: JSON
Lines output (documents hold every record anyway), no ``--all-addresses``, and either
IP-literal hosts only or no vhosts probe (its neighbours need the names grouped by resolved
address over the whole list). Otherwise ``streamable`` says no and the caller loads the list.
A YAML inventory over the whole-document limit is always streamed (it cannot be loaded
whole); what the streamed sweep cannot do for it is refused up front by the CLI. A smaller
one alone is streamed the same way when the sweep's form allows it (``streamable_inventory``:
the host list's conditions), and loaded otherwise.

With ``--workers`` above one (the default on a multi-core machine), a source of IP-literal
hosts is swept by up to that many forked workers, each reading the source itself and keeping
the targets of its own addresses (``AddressPartition``): each address is one worker's, so the
per-address bound holds, and the parent holds nothing per target but the 8-byte digests of
those reported. A source that names hosts goes through one process: splitting it by address
would mean resolving every name in every worker. A source of few addresses and up to 10,000
targets is loaded instead (``sweep_host_list``'s ``fallback``), where the workers take the
addresses as they go (``run.workers``) rather than a fixed share each.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import trio

from scanner.config.hostlist import HOST_LIST_SUFFIXES, HostListError, read_host_list
from scanner.config.inventory_files import (
    InventoryError,
    duplicate_message,
    is_inventory,
    is_large_inventory,
)
from scanner.config.options import VHOSTS_PROBE
from scanner.config.targets import Target
from scanner.engine.session import limit_key
from scanner.probes import DEFAULT_PROBES
from scanner.report.jsonl import JsonlReader
from scanner.report.render import RenderContext
from scanner.report.sinks import OutputFormat, RecordSink
from scanner.results.identity import TargetKey, is_ip_literal
from scanner.run.fdlimit import fit_concurrency
from scanner.run.shard import Shard, key_digest, shard_bounds
from scanner.run.sweep import (
    SweepObserver,
    SweepOptions,
    SweepSummary,
    open_sink,
    prefetch_policy_data,
    run_into,
    sweep,
    verdict_of,
)
from scanner.run.workers import WorkerJob, sweep_jobs

_CHUNK = 1 << 16  # digests sorted at a time before the merge: bounds the sort's overhead
#: Addresses per worker noted in the first pass: up to this many are dealt out evenly.
_FEW_ADDRESSES = 64
#: Targets on fewer addresses than workers are loaded (to be split by listener) up to this
#: many (~560 bytes each); more are streamed through one process. So are targets whose names
#: the vhosts probe compares (grouped by address over the whole list).
_LOAD_TO_SPLIT = 100_000
#: Targets on few addresses are loaded up to this many (~6 MB), for the workers to take
#: address by address; more are dealt to the workers an address at a time up front.
_LOAD_TO_BALANCE = 10_000
_END = 1 << 64  # above every digest

#: Reads the targets again from the start each time it is called.
TargetSource = Callable[[], Iterable[Target]]


def digest64(key: TargetKey) -> int:
    """The first 8 bytes of the target's stable identity digest, as an integer."""
    return int.from_bytes(key_digest(key)[:8], "big")


def sorted_digests(values: Iterable[int]) -> array[int]:
    """``values`` sorted into an unsigned 64-bit array, sorted in chunks and merged so the
    sort never holds more than one chunk as Python integers."""
    chunks: list[array[int]] = []
    pending = array("Q")
    for value in values:
        pending.append(value)
        if len(pending) >= _CHUNK:
            chunks.append(array("Q", sorted(pending)))
            pending = array("Q")
    chunks.append(array("Q", sorted(pending)))
    if len(chunks) == 1:
        return chunks[0]
    merged = array("Q", heapq.merge(*chunks))
    chunks.clear()
    return merged


def contains(digests: array[int], value: int, lo: int = 0, hi: int | None = None) -> bool:
    position = bisect_left(digests, value, lo, len(digests) if hi is None else hi)
    return position < (len(digests) if hi is None else hi) and digests[position] == value


def repeated(digests: array[int]) -> set[int]:
    """The digests that occur more than once in a sorted array."""
    return {digests[i] for i in range(1, len(digests)) if digests[i] == digests[i - 1]}


def _one_file_to_stream(arguments: list[str], *, fmt: OutputFormat, all_addresses: bool,
                        adhoc_given: bool) -> Path | None:
    """The one file named, when the sweep's form lets it be read target by target (JSON
    Lines output, no --all-addresses, no ad-hoc settings); else None."""
    if len(arguments) != 1 or fmt is not OutputFormat.jsonl or all_addresses or adhoc_given:
        return None
    return Path(arguments[0])


def streamable(arguments: list[str], *, fmt: OutputFormat, all_addresses: bool,
               adhoc_given: bool) -> Path | None:
    """The host list to stream, when the targets are exactly one plain list and the sweep
    can take it line by line (see the module docstring); else None."""
    path = _one_file_to_stream(arguments, fmt=fmt, all_addresses=all_addresses,
                               adhoc_given=adhoc_given)
    return path if path is not None and path.suffix.lower() in HOST_LIST_SUFFIXES else None


def streamable_inventory(arguments: list[str], *, fmt: OutputFormat, all_addresses: bool,
                         adhoc_given: bool) -> Path | None:
    """The one YAML inventory named, of any size the whole-document limit allows, when the
    sweep can take it entry by entry on the same terms as a host list (``streamable``);
    else None (it is loaded)."""
    path = _one_file_to_stream(arguments, fmt=fmt, all_addresses=all_addresses,
                               adhoc_given=adhoc_given)
    if path is None:
        return None
    try:
        regular = path.is_file()  # a FIFO or device keeps the bounded whole read
    except OSError:
        return None
    return path if regular and is_inventory(path) else None


def large_inventory(arguments: list[str]) -> Path | None:
    """The one YAML inventory named, when it is too large to load whole; else None."""
    if len(arguments) != 1:
        return None
    path = Path(arguments[0])
    return path if is_large_inventory(path) else None


@dataclass
class HostListIndex:
    """What the first pass keeps of a target source: its sorted digests, whether it names
    hosts (not only IP literals) or sends server names (``sni``: names the vhosts probe
    compares), and its addresses while they are few (``few_addresses``, None above
    ``_FEW_ADDRESSES`` per worker or when it names hosts)."""

    path: Path
    digests: array[int]
    names_hosts: bool
    few_addresses: frozenset[str] | None = None
    sends_names: bool = False
    #: The targets themselves, in input order, when there were at most ``keep`` of them.
    kept: list[Target] | None = None

    @classmethod
    def read(cls, path: Path, source: TargetSource | None = None,
             error: type[Exception] = HostListError, *, workers: int = 1,
             keep: int = 0) -> HostListIndex:
        """Validate every target (``error`` at the first bad one or duplicate); ``source``
        defaults to the host list at ``path``. With ``workers`` above one, the addresses
        are noted while few, for ``AddressPartition``. A source of at most ``keep`` targets
        is also kept (``kept``), so that loading it does not parse it a second time."""
        names_hosts = sends_names = False
        targets = source or partial(read_host_list, path)
        cap = _FEW_ADDRESSES * workers if workers > 1 else 0
        addresses: set[str] | None = set() if cap else None
        kept: list[Target] | None = [] if keep else None

        def digests() -> Iterator[int]:
            nonlocal names_hosts, sends_names, addresses, kept
            for target in targets():
                if kept is not None:
                    kept.append(target)
                    if len(kept) > keep:
                        kept = None
                names_hosts = names_hosts or not is_ip_literal(target.host)
                sends_names = sends_names or target.sni is not None
                if addresses is not None:
                    addresses.add(limit_key(target.host))
                    if len(addresses) > cap:
                        addresses = None
                yield digest64(target.key)

        index = cls(path, sorted_digests(digests()), False)
        index.names_hosts, index.sends_names, index.kept = names_hosts, sends_names, kept
        if addresses is not None and not names_hosts:
            index.few_addresses = frozenset(addresses)
        twins = repeated(index.digests)
        if twins:
            index._refuse_duplicate(twins, targets, error)
        return index

    def _refuse_duplicate(self, twins: set[int], source: TargetSource,
                          error: type[Exception]) -> None:
        first: dict[int, tuple[int, Target]] = {}
        for index, target in enumerate(source()):
            digest = digest64(target.key)
            if digest not in twins:
                continue
            if digest in first and first[digest][1].key == target.key:
                earlier, seen = first[digest]
                if issubclass(error, InventoryError):  # as the inventory's load says it
                    raise error(duplicate_message(target, earlier, seen))
                raise error(f"duplicate target {target.label} ({target.origin}; "
                            f"first from {seen.origin})")
            first.setdefault(digest, (index, target))
        # Two different targets with one 64-bit digest: never seen; refuse rather than drop one.
        raise error(f"{self.path}: two targets share a 64-bit digest; split the list")

    def loaded(self, source: TargetSource) -> list[Target]:
        """The targets, as the first pass kept them or else read again; the index lets go
        of them and of its digests (the loaded path needs neither)."""
        targets = self.kept if self.kept is not None else list(source())
        self.kept, self.digests = None, array("Q")
        return targets

    def shard_range(self, shard: Shard | None) -> tuple[int, int]:
        """The [start, end) positions of ``shard``'s run in the sorted digests."""
        if shard is None:
            return 0, len(self.digests)
        return shard_bounds(len(self.digests), shard)


@dataclass
class _Selection:
    low: int  # digests in [low, high) are this shard's
    high: int
    recorded: array[int]  # digests recorded in the output (resume), sorted

    def wants(self, digest: int) -> bool:
        return self.low <= digest < self.high and not contains(self.recorded, digest)


def _selection(index: HostListIndex, start: int, end: int) -> tuple[int, int]:
    if start >= end:
        return 0, 0
    low = index.digests[start]
    high = index.digests[end] if end < len(index.digests) else _END
    return low, high


def _read_recorded(output: Path, index: HostListIndex, start: int, end: int,
                   summary: SweepSummary) -> array[int]:
    """The digests of the keys ``output`` records; the last record of each of this sweep's
    targets is counted in ``summary`` (as ``sweep._skip_recorded`` does for a list)."""
    if not output.exists():
        return array("Q")

    def wanted(digest: int) -> bool:
        return contains(index.digests, digest, start, end)

    recorded = sorted_digests(digest64(line.key) for line in JsonlReader(output))
    twice = repeated(recorded)
    latest: dict[int, dict[str, Any]] = {}  # only keys recorded more than once
    for line in JsonlReader(output):
        digest = digest64(line.key)
        if not wanted(digest):
            continue
        if digest in twice:
            latest[digest] = verdict_of(line.data)
        else:
            summary.count(verdict_of(line.data))
            summary.earlier += 1
    for data in latest.values():
        summary.count(data)
        summary.earlier += 1
    distinct = len(recorded) - sum(1 for i in range(1, len(recorded))
                                   if recorded[i] == recorded[i - 1])
    foreign = distinct - summary.earlier
    if foreign:
        summary.notes.append(f"{output} also holds {foreign} record(s) of targets outside this "
                             "sweep (kept as they are; they do not count toward the exit code)")
    if len(recorded) > distinct:
        summary.notes.append(f"{output} holds {len(recorded) - distinct} duplicate "
                             "record(s) from earlier runs; `mtlsweep merge` keeps the newest")
    return recorded


def sweep_host_list(path: Path, options: SweepOptions, *, output: Path | None,
                    resume: bool = False, shard: Shard | None = None,
                    observer: SweepObserver | None = None, stop_on_signals: bool = True,
                    fallback: Callable[[list[Target]], SweepSummary] | None = None,
                    source: TargetSource | None = None,
                    error: type[Exception] = HostListError) -> SweepSummary:
    """``run_sweep`` for one target file, in memory that does not hold its targets.

    ``source`` reads the targets (default: the host list at ``path``); ``error`` is raised
    for a duplicate. ``fallback`` (``run_sweep`` with everything but the targets bound) runs
    instead, on the loaded targets, when the hosts are names or send names (``sni``) and
    the vhosts probe may compare them (up to ``_LOAD_TO_SPLIT`` targets; a note says what a
    larger list leaves out), or when they sit on few addresses and are not too
    many to load (the loaded path's workers take addresses one at a time, and split an
    address by listener when there are fewer addresses than workers). Otherwise
    ``options.workers`` above one splits the sweep between forked workers when every host
    is an IP literal (module docstring).
    """
    if options.workers > 1:
        prefetch_policy_data(options)  # while the list is read, before the workers fork
    targets_of: TargetSource = source or partial(read_host_list, path)
    # Targets that may go to ``fallback`` are kept while few, not parsed a second time.
    index = HostListIndex.read(path, targets_of, error, workers=options.workers,
                               keep=_LOAD_TO_BALANCE if fallback is not None else 0)
    compares_names = VHOSTS_PROBE in options.probes or options.probes == DEFAULT_PROBES
    names_compared = (index.names_hosts or index.sends_names) and compares_names
    if fallback is not None and names_compared and len(index.digests) <= _LOAD_TO_SPLIT:
        # The names at each address are grouped over the whole list for the vhosts probe.
        return fallback(index.loaded(targets_of))
    if fallback is not None and index.few_addresses is not None and (
            len(index.digests) <= _LOAD_TO_BALANCE
            or (len(index.few_addresses) < options.workers
                and len(index.digests) <= _LOAD_TO_SPLIT)):
        # Few addresses: loaded, the workers take them one at a time as they go, so one
        # address with many listeners does not leave a worker to finish alone; fewer
        # addresses than workers (one load balancer, many listeners): the loaded path also
        # splits an address by listener and divides its slots, where streamed the address
        # would be one worker's and the other cores idle.
        return fallback(index.loaded(targets_of))
    summary = SweepSummary()
    start, end = index.shard_range(shard)
    if shard is not None:
        summary.shard = f"{shard} ({end - start} of {len(index.digests)} targets)"
    low, high = _selection(index, start, end)
    recorded: array[int] = array("Q")
    if resume:
        if output is None:
            raise ValueError("resume needs JSON Lines written to a file")
        recorded = _read_recorded(output, index, start, end, summary)
        summary.skipped = sum(1 for i in range(start, end) if contains(recorded, index.digests[i]))
    # Names would have to be resolved to be split by address (the per-address bound must
    # hold across workers): a list that names hosts is swept in one process.
    partition = AddressPartition.plan(1 if index.names_hosts else options.workers,
                                      index.few_addresses)
    if index.names_hosts and options.workers > 1:
        summary.notes.append(f"{path} names hosts: it is swept through one process (the "
                             f"--workers split needs IP addresses, or the list in memory)")
    if names_compared:  # not loaded: names are never grouped by address
        why = (f"over {_LOAD_TO_SPLIT:,} targets" if len(index.digests) > _LOAD_TO_SPLIT
               else "not loaded")
        summary.notes.append(f"{path} is swept entry by entry ({why}): the vhosts probe "
                             "compared each target's own sni_names only, not the names other "
                             "targets send to the same address (split the file to have those "
                             "compared)")
    del index  # only the shard's digest range and the recorded digests are needed now
    selection = _Selection(low, high, recorded)
    plan = fit_concurrency(options.concurrency)
    if plan.describe(options.concurrency):
        summary.notes.append(str(plan.describe(options.concurrency)))
    options = replace(options, concurrency=plan.concurrency, neighbours={})
    planned = end - start - summary.skipped
    sink = open_sink(OutputFormat.jsonl, output, RenderContext(), summary)
    if partition.workers > 1:
        return run_into(sink, summary, partial(
            _sweep_in_workers, targets_of, selection, partition, options, sink,
            summary=summary, observer=observer, planned=planned))
    targets = (target for target in targets_of()
               if selection.wants(digest64(target.key)))

    def run() -> SweepSummary:
        trio.run(partial(sweep, targets, options, sink, summary=summary, observer=observer,
                         stop_on_signals=stop_on_signals, planned=planned))
        return summary

    return run_into(sink, summary, run)


@dataclass(frozen=True)
class AddressPartition:
    """Which worker scans an IP-literal host: chosen by its address (both spellings of an
    IPv4-mapped address alike), so each address is one worker's and the per-address bound
    holds across them. Few addresses are dealt out evenly (a hash could leave a worker
    without any, idle yet holding its share of --concurrency); many go by a hash."""

    workers: int
    assigned: dict[str, int] | None = None

    @classmethod
    def plan(cls, workers: int, few_addresses: frozenset[str] | None) -> AddressPartition:
        if few_addresses is None:
            return cls(workers)
        count = max(1, min(workers, len(few_addresses)))
        return cls(count, {address: n % count for n, address in enumerate(sorted(few_addresses))})

    def worker_of(self, host: str) -> int:
        key = limit_key(host)
        if self.assigned is not None:
            return self.assigned[key]
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.workers


def _sweep_in_workers(targets_of: TargetSource, selection: _Selection,
                      partition: AddressPartition,
                      options: SweepOptions, sink: RecordSink, *, summary: SweepSummary,
                      observer: SweepObserver | None, planned: int) -> SweepSummary:
    """The second pass in ``workers`` forked processes, each reading the source itself and
    keeping its own addresses' targets: nothing grows with the list but the digests of
    the targets reported (8 bytes each, to find the ones a dead worker left)."""

    def job(number: int) -> WorkerJob:
        in_flight: dict[int, int] = {}  # the worker's index of a target -> its digest

        def targets() -> Iterator[Target]:
            position = 0
            for target in targets_of():
                digest = digest64(target.key)
                if selection.wants(digest) and partition.worker_of(target.host) == number:
                    in_flight[position] = digest
                    position += 1
                    yield target

        return WorkerJob(targets=targets, tag_of=in_flight.pop)

    workers = partition.workers
    reported: list[array[int]] = [array("Q") for _ in range(workers)]

    def unreported(exit_codes: list[int | None]) -> Iterator[tuple[int, Target, int | None]]:
        if all(code == 0 for code in exit_codes):
            return
        done = [sorted_digests(digests) for digests in reported]
        for target in targets_of():
            digest = digest64(target.key)
            number = partition.worker_of(target.host)
            if selection.wants(digest) and exit_codes[number] != 0 \
                    and not contains(done[number], digest):
                yield digest, target, exit_codes[number]

    return sweep_jobs([job(number) for number in range(workers)], options, sink,
                      summary=summary, observer=observer, planned=planned,
                      on_tag=lambda number, digest: reported[number].append(digest),
                      unreported=unreported)
