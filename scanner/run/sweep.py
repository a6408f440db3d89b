"""A whole sweep: targets in, records out through a sink, a summary back.

Besides running the scans, a sweep owns what makes it safe to run unattended: it resumes
from the records an earlier run left (``resume``), stays inside the open-file limit, stops
cleanly on SIGINT/SIGTERM (in-flight scans are cancelled and leave no record, so a resumed
run picks them up), and reports progress to an observer.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import trio

from scanner.config.options import VHOSTS_PROBE
from scanner.config.targets import DEFAULT_MAX_SNI_NAMES, Target, colocated_names
from scanner.engine.connect import resolve
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.engine.session import ConnectionLimits, limit_key
from scanner.policy.apply import annotate
from scanner.policy.catalog import Catalog, builtin_catalog
from scanner.policy.clients import client_profiles
from scanner.policy.loading import prefetch
from scanner.probes import DEFAULT_PROBES, PROBES, ProbeOptions
from scanner.report.jsonl import JsonlReader
from scanner.report.render import RenderContext
from scanner.report.sinks import OutputError, OutputFormat, OutputSink, RecordSink
from scanner.results import ExpectationStatus, Record, Severity
from scanner.results.identity import TargetKey, is_ip_literal
from scanner.run import gc_tuning
from scanner.run.addresses import expand_addresses
from scanner.run.fdlimit import fit_concurrency
from scanner.run.keylog import KeylogFile
from scanner.run.runner import run_all
from scanner.run.scan import Scanner, ScanSettings, error_record, internal_error
from scanner.run.shard import Shard, select_shard
from scanner.wire.http_connect import HttpProxy

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class SweepOptions:
    probes: tuple[str, ...]
    concurrency: int = 64
    per_address: int = 64
    per_listener: int = 4
    timeout: float = 10.0
    target_timeout: float = 120.0
    keylog: Path | None = None
    alpn_extra: tuple[str, ...] = ()
    probe_options: ProbeOptions = field(default_factory=ProbeOptions)
    catalog: Catalog | None = None  # policies for identification and expect.policy
    rate: float | None = None
    https_proxy: HttpProxy | None = None  # tunnel every connection through this proxy
    sni_names: tuple[str, ...] = ()  # --sni-names: names every target's address serves
    max_sni_names: int = DEFAULT_MAX_SNI_NAMES
    #: Server names by (host, port) over the whole target list (before shard and resume
    #: pick from it); None: taken from the targets the sweep is given.
    neighbours: dict[tuple[str, int], tuple[str, ...]] | None = None
    workers: int = 1  # processes, each scanning its share of the addresses (run/workers.py)
    #: Per-address bounds lower than ``per_address`` (by address or host name, as limits
    #: count): this process's share of an address other worker processes scan too.
    address_budgets: dict[str, int] = field(default_factory=dict)


class SweepOutcome(Enum):
    """What a finished sweep's records say to a caller that gates on them (CI, a cron job)."""

    clean = "clean"  # every target scanned, nothing at or above the gate
    failed = "failed"  # an expectation failed, or a finding reached the --fail-on severity
    unreachable = "unreachable"  # some targets could not be scanned, and that counts


@dataclass
class SweepSummary:
    targets: int = 0  # records produced by this run
    planned: int = 0  # targets this run set out to scan (after --resume skipped some)
    skipped: int = 0  # targets already recorded by an earlier run (--resume)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    classifications: Counter[str] = field(default_factory=Counter)
    #: The enforcement probe's verdicts: the TLS-level classification alone calls a listener
    #: that refuses at HTTP (nginx ``ssl_verify_client on``: 400) "optional".
    verdicts: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    expectations: Counter[str] = field(default_factory=Counter)
    #: Expectations not evaluated on targets that were scanned (an unreachable target's are
    #: the unreachable rule's business).
    unevaluated: int = 0
    duration_s: float = 0.0
    interrupted_by: signal.Signals | None = None
    shard: str | None = None  # e.g. "2/4 (2500 of 10000 targets)"
    notes: list[str] = field(default_factory=list)
    earlier: int = 0  # records of this sweep's targets an earlier run left (--resume): counted
    io_error: str | None = None  # the output or key log could not be written (exit 4)
    not_written: int = 0  # finished records lost to that error

    def add(self, record: Record) -> None:
        self.add_verdict(verdict(record))

    def add_verdict(self, data: dict[str, Any]) -> None:
        """Count one finished target from its ``verdict`` (a worker process sends that
        along with the record, so the parent never re-reads the record)."""
        self.targets += 1
        self.count(data)

    def count(self, data: dict[str, Any]) -> None:
        """Count one record read as JSON data: this run's, or an earlier run's (--resume),
        so that the exit code speaks for every record in the file."""
        self.statuses[str(data.get("status"))] += 1
        error = data.get("error")
        if isinstance(error, dict):
            self.errors[str(error.get("kind"))] += 1
        client_auth = data.get("client_auth")
        if isinstance(client_auth, dict) and client_auth.get("classification") is not None:
            self.classifications[str(client_auth["classification"])] += 1
        enforcement = data.get("enforcement")
        if isinstance(enforcement, dict) and enforcement.get("verdict") is not None:
            self.verdicts[str(enforcement["verdict"])] += 1
        for finding in data.get("findings") or ():
            if isinstance(finding, dict) and finding.get("severity") in _SEVERITIES:
                self.findings[finding["severity"]] += 1
        for expectation in data.get("expectations") or ():
            if isinstance(expectation, dict):
                self.expectations[str(expectation.get("status"))] += 1
                # Not evaluated on a target that was scanned: a gap the user must see.
                if expectation.get("status") == ExpectationStatus.not_evaluated.value \
                        and not isinstance(error, dict):
                    self.unevaluated += 1

    @property
    def partial(self) -> int:
        return self.statuses["partial"]

    @property
    def expectations_failed(self) -> int:
        return self.expectations[ExpectationStatus.failed.value]

    def findings_at_or_above(self, severity: Severity) -> int:
        return sum(count for name, count in self.findings.items()
                   if Severity(name) >= severity)

    def outcome(self, *, fail_on: Severity | None, allow_unreachable: bool,
                allow_partial: bool = False, allow_unevaluated: bool = False) -> SweepOutcome:
        """An unmet expectation (or, unless ``allow_unevaluated``, one that could not be
        evaluated) or a finding at or above ``fail_on`` outranks targets that could not be
        scanned (which count unless ``allow_unreachable``) or only partly (``partial``: some
        probes failed; they count unless ``allow_partial`` or ``allow_unreachable``)."""
        unevaluated = 0 if allow_unevaluated else self.unevaluated
        if self.expectations_failed or unevaluated or (
                fail_on is not None and self.findings_at_or_above(fail_on)):
            return SweepOutcome.failed
        if self.errors and not allow_unreachable:
            return SweepOutcome.unreachable
        if self.partial and not (allow_partial or allow_unreachable):
            return SweepOutcome.unreachable
        return SweepOutcome.clean

    @property
    def not_scanned(self) -> int:
        return self.planned - self.targets

    def describe(self) -> str:
        """The closing report on stderr: first line counts, then one line per aspect."""
        rate = f" ({self.targets / self.duration_s:.1f}/s)" if self.duration_s > 0 else ""
        head = [f"{self.targets} target(s) in {self.duration_s:.1f}s{rate}"]
        if self.earlier:
            head[0] += f" (counts include {self.earlier} record(s) of an earlier run)"
        head += [f"{count} {status}" for status, count in sorted(self.statuses.items())]
        lines = ["mtlsweep: " + "; ".join(head)]
        if self.shard:
            lines.append(f"  shard {self.shard}")
        if self.errors:
            lines.append("  errors: " + _counts(self.errors))
        if self.classifications:
            lines.append("  client certificate: " + _counts(self.classifications))
        if self.verdicts:
            lines.append("  enforcement: " + _counts(self.verdicts))
        if self.findings:
            ranked = sorted(self.findings.items(), key=lambda item: -Severity(item[0]).rank)
            lines.append("  findings: " + ", ".join(f"{k} {v}" for k, v in ranked))
        if self.expectations:
            lines.append("  expectations: " + ", ".join(
                f"{self.expectations[s.value]} {s.value.replace('_', ' ')}"
                for s in ExpectationStatus if self.expectations[s.value]))
        if self.skipped:
            lines.append(f"  resumed: {self.skipped} target(s) already recorded were skipped")
        if self.interrupted_by is not None:
            lines.append(f"  interrupted by {self.interrupted_by.name}: {self.not_scanned} "
                         "target(s) not scanned; run again with --resume to finish")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


# What the exit code and the summary read of a record.
_VERDICT_FIELDS: dict[str, Any] = {
    "status": True, "error": {"kind"}, "client_auth": {"classification"},
    "enforcement": {"verdict"},
    "findings": {"__all__": {"severity"}}, "expectations": {"__all__": {"status"}},
}
_SEVERITIES = frozenset(severity.value for severity in Severity)


def verdict(record: Record) -> dict[str, Any]:
    """What the exit code and the summary read of a record, as JSON data."""
    return record.model_dump(mode="json", include=_VERDICT_FIELDS)


def _counts(counter: Counter[str]) -> str:
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key} {count}" for key, count in ranked)


class SweepObserver(Protocol):
    """Told about a sweep as it goes (the progress bar is one)."""

    def started(self, total: int, done: int) -> None: ...

    def finished(self, status: str) -> None:
        """A target's record was written; ``status`` is its ``status`` field."""

    def stopped(self) -> None: ...


def prefetch_policy_data(options: SweepOptions) -> None:
    """Load the policy data on a thread: a scan needs it once its first target is scanned.
    Before ``--workers`` fork, so that they start with it loaded (``policy.loading`` holds
    the fork until it is) instead of each building its own copy (~70 ms of CPU each)."""
    prefetch(*([] if options.catalog else [builtin_catalog]), client_profiles)


async def sweep(targets: Iterable[Target], options: SweepOptions, sink: RecordSink, *,
                summary: SweepSummary | None = None, observer: SweepObserver | None = None,
                stop_on_signals: bool = False, planned: int | None = None) -> SweepSummary:
    """Scan every target, handing each record to the sink as soon as it is ready.

    With ``stop_on_signals``, SIGINT or SIGTERM cancels the scans in flight (they produce no
    record) and the sweep returns normally with ``interrupted_by`` set. A second signal gets
    the default treatment.

    ``targets`` may be an iterator (``run.streamed``) when ``planned`` gives their number and
    ``options.neighbours`` is set: it is then read only as far as the runner looks ahead.
    """
    summary = summary or SweepSummary()
    prefetch_policy_data(options)
    if planned is None:
        targets = targets if isinstance(targets, list) else list(targets)
        planned = len(targets)
    summary.planned = planned
    started = time.perf_counter()
    keylog = KeylogFile(options.keylog) if options.keylog else None
    contexts = ContextFactory(keylog=keylog.write if keylog else None)
    scanner = Scanner(
        ScanSettings(probes=options.probes, timeout=options.timeout,
                     target_timeout=options.target_timeout, alpn_extra=options.alpn_extra,
                     probe_options=options.probe_options, https_proxy=options.https_proxy,
                     sni_names=options.sni_names, max_sni_names=options.max_sni_names),
        limits=ConnectionLimits(options.concurrency, options.per_address, options.rate,
                                per_listener=options.per_listener,
                                address_budgets=options.address_budgets),
        contexts=contexts,
    )
    scanner.neighbours = (options.neighbours if options.neighbours is not None
                          else await neighbours(
                              targets if isinstance(targets, list) else list(targets), options))

    def finish(record: Record, target: Target) -> Record:
        """Identify the policy and check expectations; a bug here costs only that step."""
        try:
            return annotate(record, target.expect, catalog=options.catalog or builtin_catalog,
                            known_probes=PROBES)
        except Exception as exc:
            log.exception("checking expectations of %s failed", target.label)
            return record.model_copy(update={
                "status": "partial" if record.status == "ok" else record.status,
                "probe_errors": {**record.probe_errors, "expect": internal_error(exc)},
            })

    async def scan_one(item: tuple[int, Target]) -> Record:
        return finish(await scanner.scan(item[1]), item[1])

    def deliver(item: tuple[int, Target], record: Record) -> None:
        try:
            sink.write(item[0], record)
        except OutputError as exc:  # nowhere to put records: stop, keep what is written
            if summary.io_error is None:
                summary.io_error = str(exc)
                summary.not_written += 1
                sweep_scope.cancel()
            return
        summary.add(record)
        if observer is not None:
            observer.finished(record.status)

    def fallback(item: tuple[int, Target], exc: BaseException) -> Record:
        record = error_record(item[1], internal_error(exc),
                              scanner.options_for(item[1]).probes)
        return finish(record, item[1])

    if observer is not None:
        observer.started(summary.skipped + planned, summary.skipped)
    try:
        with trio.CancelScope() as sweep_scope:
            async with trio.open_nursery() as nursery:
                if stop_on_signals:
                    await nursery.start(_cancel_on_signal, sweep_scope, summary)
                await run_all(enumerate(targets), scan_one, workers=options.concurrency,
                              sink=deliver, fallback=fallback,
                              admission=partial(_admission, options))
                nursery.cancel_scope.cancel()  # the sweep is done: stop listening for signals
    finally:
        summary.duration_s = time.perf_counter() - started
        if keylog is not None:
            keylog.close()
            summary.io_error = summary.io_error or keylog.failure()
        if observer is not None:
            observer.stopped()
    return summary


def _admission(options: SweepOptions, item: tuple[int, Target]
               ) -> tuple[tuple[tuple[str, int | None], int], ...]:
    """A target occupies one of its listener's and one of its address's slots while it runs,
    so the runner starts no more targets than those slots can serve (names count by name:
    they are resolved only once the target starts; connections still count by IP)."""
    host = limit_key(item[1].host)
    per_address = options.address_budgets.get(host, options.per_address)
    per_listener = min(options.per_listener, per_address)
    return ((host, item[1].port), per_listener), ((host, None), per_address)


async def _cancel_on_signal(scope: trio.CancelScope, summary: SweepSummary, *,
                            task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
                            ) -> None:
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        task_status.started()
        async for signum in signals:
            summary.interrupted_by = signal.Signals(signum)
            scope.cancel()
            return


class ParallelSweep(Protocol):
    """Runs a prepared sweep in several processes (``run.workers.run_in_workers``)."""

    def __call__(self, targets: list[Target], options: SweepOptions, sink: RecordSink, *,
                 summary: SweepSummary, observer: SweepObserver | None,
                 stop_on_signals: bool) -> SweepSummary: ...


def can_resume(fmt: OutputFormat, output: Path | None) -> bool:
    """Resuming reads back what an earlier run wrote: JSON Lines in a file."""
    return fmt is OutputFormat.jsonl and output is not None


def run_sweep(targets: list[Target], options: SweepOptions, *, fmt: OutputFormat,
              output: Path | None, resume: bool = False, shard: Shard | None = None,
              observer: SweepObserver | None = None, context: RenderContext | None = None,
              stop_on_signals: bool = True,
              parallel: ParallelSweep | None = None) -> SweepSummary:
    """Run a sweep from synchronous code: shard, limits, resume, sink, signals.

    With ``options.workers`` > 1, ``parallel`` (``run.workers.run_in_workers``) runs it
    instead of this process, once the targets, sink and summary are ready.

    ``shard`` keeps that shard's share of the targets. ``resume`` needs JSON Lines written to
    ``output`` (``can_resume``): targets already recorded there are skipped (raises
    ``JsonlError`` if the file is corrupt before its last line).
    """
    summary = SweepSummary()
    if options.workers > 1 and parallel is not None:
        prefetch_policy_data(options)
    if options.neighbours is None:
        # Over the whole target list: a shard's target still compares names with the others.
        options = replace(options, neighbours=trio.run(neighbours, targets, options))
    if shard is not None:
        targets = _select_shard(targets, shard, summary)
    if any(target.all_addresses for target in targets):
        targets = trio.run(partial(expand_addresses, targets, timeout=options.timeout))
    plan = fit_concurrency(options.concurrency)
    if plan.describe(options.concurrency):
        summary.notes.append(str(plan.describe(options.concurrency)))
    options = replace(options, concurrency=plan.concurrency)
    if resume:
        if output is None or not can_resume(fmt, output):
            raise ValueError("resume needs JSON Lines written to a file")
        targets = _skip_recorded(targets, output, summary)
    context = context or RenderContext(origins={t.key: t.origin for t in targets})
    sink = open_sink(fmt, output, context, summary)

    def run() -> SweepSummary:
        if options.workers > 1 and parallel is not None:
            return parallel(targets, options, sink, summary=summary, observer=observer,
                            stop_on_signals=stop_on_signals)
        trio.run(partial(sweep, targets, options, sink, summary=summary,
                         observer=observer, stop_on_signals=stop_on_signals))
        return summary

    return run_into(sink, summary, run)


def open_sink(fmt: OutputFormat, output: Path | None, context: RenderContext,
              summary: SweepSummary) -> OutputSink:
    """The sweep's output, noting a torn last line that a killed sweep left and it removed."""
    sink = OutputSink(fmt, output, context=context)
    if sink.repair.torn is not None:
        summary.notes.append(f"removed the torn last line {output}:{sink.repair.torn.line_number} "
                             "left by a killed sweep (it held no complete record)")
    return sink


def run_into(sink: OutputSink, summary: SweepSummary,
             run: Callable[[], SweepSummary]) -> SweepSummary:
    """Run a prepared sweep with the collector tuned for it, then close ``sink``: a failure
    to write the end of the output is the summary's ``io_error`` (exit 4), never a lost run."""
    gc_tuning.tune_for_sweep()
    try:
        summary = run()
    except BaseException:
        with contextlib.suppress(OutputError):
            sink.close()
        raise
    finally:
        gc_tuning.restore()
    try:
        sink.close()
    except OutputError as exc:
        summary.io_error = summary.io_error or str(exc)
    return summary


async def neighbours(targets: list[Target], options: SweepOptions,
                     ) -> dict[tuple[str, int], tuple[str, ...]]:
    """The names that share a resolved address and port, per target (host, port).

    Host names are resolved first (as many lookups at once as ``concurrency``, each within
    ``timeout``; a failed lookup leaves the name grouped by itself, and its scan reports the
    failure), only when some target may run the vhosts probe and only for names whose port
    another target shares.
    """
    if not any(_may_compare_names(target, options) for target in targets):
        return colocated_names(targets)
    per_port = Counter(t.port for t in targets)  # a target alone on its port has no neighbour
    names = {(t.host, t.port) for t in targets
             if not is_ip_literal(t.host) and per_port[t.port] > 1}
    if not names:
        return colocated_names(targets)
    addresses: dict[tuple[str, int], str] = {}
    limiter = trio.CapacityLimiter(max(1, min(options.concurrency, len(names))))

    async def look_up(host: str, port: int) -> None:
        async with limiter:
            with contextlib.suppress(ScanFailure):
                found = await resolve(host, port, timeout=options.timeout)
                addresses[host, port] = found[0].ip  # the one its scan connects to

    async with trio.open_nursery() as nursery:
        for host, port in sorted(names):
            nursery.start_soon(look_up, host, port)
    return colocated_names(targets, addresses)


def _may_compare_names(target: Target, options: SweepOptions) -> bool:
    probes = target.probes or options.probes
    return VHOSTS_PROBE in probes or (target.probes is None and options.probes == DEFAULT_PROBES)


def _select_shard(targets: list[Target], shard: Shard, summary: SweepSummary) -> list[Target]:
    chosen = select_shard(targets, shard, key=lambda target: target.key)
    summary.shard = f"{shard} ({len(chosen)} of {len(targets)} targets)"
    return chosen


def _skip_recorded(targets: list[Target], output: Path, summary: SweepSummary) -> list[Target]:
    """The targets ``output`` holds no record of; the records it holds of this sweep's
    targets (the last one of each) are counted in ``summary``, so a resumed sweep exits as
    the whole file says, not only as the targets it scanned itself."""
    wanted = {target.key for target in targets}
    last: dict[TargetKey, dict[str, Any]] = {}
    keys: set[TargetKey] = set()
    lines = 0
    if output.exists():
        for line in JsonlReader(output):
            key = line.key
            keys.add(key)
            lines += 1
            if key in wanted:
                last[key] = verdict_of(line.data)
    remaining = [target for target in targets if target.key not in keys]
    summary.skipped = len(targets) - len(remaining)
    summary.earlier = len(last)
    for data in last.values():
        summary.count(data)
    foreign = len(keys - wanted)
    if foreign:
        summary.notes.append(f"{output} also holds {foreign} record(s) of targets outside this "
                             "sweep (kept as they are; they do not count toward the exit code)")
    if lines > len(keys):
        summary.notes.append(f"{output} holds {lines - len(keys)} duplicate "
                             "record(s) from earlier runs; `mtlsweep merge` keeps the newest")
    return remaining


def verdict_of(data: dict[str, Any]) -> dict[str, Any]:
    """Only what ``SweepSummary.count`` reads, so a million earlier records stay small."""
    client_auth = data.get("client_auth")
    return {
        "status": data.get("status"),
        "error": data.get("error"),
        "client_auth": {"classification": client_auth.get("classification")}
        if isinstance(client_auth, dict) else None,
        "findings": [{"severity": f.get("severity")} for f in data.get("findings") or ()
                     if isinstance(f, dict)],
        "expectations": [{"status": e.get("status")} for e in data.get("expectations") or ()
                         if isinstance(e, dict)],
    }
