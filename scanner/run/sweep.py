"""A whole sweep: targets in, records out through a sink, a summary back.

Besides running the scans, a sweep owns what makes it safe to run unattended: it resumes
from the records an earlier run left (``resume``), stays inside the open-file limit, stops
cleanly on SIGINT/SIGTERM (in-flight scans are cancelled and leave no record, so a resumed
run picks them up), and reports progress to an observer.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Protocol

import trio

from scanner.config.options import resolve_options
from scanner.config.targets import Target
from scanner.engine.contexts import ContextFactory, KeylogWriter
from scanner.engine.session import ConnectionLimits
from scanner.policy.apply import annotate
from scanner.policy.catalog import Catalog, builtin_catalog
from scanner.probes import PROBES, ProbeOptions
from scanner.report.jsonl import recorded_targets
from scanner.report.render import RenderContext
from scanner.report.sinks import OutputFormat, OutputSink, RecordSink
from scanner.results import ExpectationStatus, Record, Severity
from scanner.run import gc_tuning
from scanner.run.fdlimit import fit_concurrency
from scanner.run.runner import run_all
from scanner.run.scan import Scanner, ScanSettings, error_record, internal_error
from scanner.run.shard import Shard, select_shard

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class SweepOptions:
    probes: tuple[str, ...]
    concurrency: int = 64
    per_address: int = 4
    timeout: float = 10.0
    target_timeout: float = 120.0
    keylog: Path | None = None
    alpn_extra: tuple[str, ...] = ()
    probe_options: ProbeOptions = field(default_factory=ProbeOptions)
    catalog: Catalog | None = None  # policies for identification and expect.policy
    rate: float | None = None
    workers: int = 1  # processes, each scanning its share of the addresses (run/workers.py)


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
    findings: Counter[str] = field(default_factory=Counter)
    expectations: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0
    interrupted_by: signal.Signals | None = None
    shard: str | None = None  # e.g. "2/4 (2500 of 10000 targets)"
    notes: list[str] = field(default_factory=list)

    def add(self, record: Record) -> None:
        self.targets += 1
        self.statuses[record.status] += 1
        if record.error is not None:
            self.errors[record.error.kind.value] += 1
        if record.client_auth is not None and record.client_auth.classification is not None:
            self.classifications[record.client_auth.classification.value] += 1
        for finding in record.findings:
            self.findings[finding.severity.value] += 1
        for expectation in record.expectations:
            self.expectations[expectation.status.value] += 1

    @property
    def expectations_failed(self) -> int:
        return self.expectations[ExpectationStatus.failed.value]

    def findings_at_or_above(self, severity: Severity) -> int:
        return sum(count for name, count in self.findings.items()
                   if Severity(name) >= severity)

    def outcome(self, *, fail_on: Severity | None, allow_unreachable: bool) -> SweepOutcome:
        """An unmet expectation or a finding at or above ``fail_on`` outranks targets that
        could not be scanned (which count unless ``allow_unreachable``)."""
        if self.expectations_failed or (fail_on is not None
                                         and self.findings_at_or_above(fail_on)):
            return SweepOutcome.failed
        if self.errors and not allow_unreachable:
            return SweepOutcome.unreachable
        return SweepOutcome.clean

    @property
    def not_scanned(self) -> int:
        return self.planned - self.targets

    def describe(self) -> str:
        """The closing report on stderr: first line counts, then one line per aspect."""
        rate = f" ({self.targets / self.duration_s:.1f}/s)" if self.duration_s > 0 else ""
        head = [f"{self.targets} target(s) in {self.duration_s:.1f}s{rate}"]
        head += [f"{count} {status}" for status, count in sorted(self.statuses.items())]
        lines = ["mtlsweep: " + "; ".join(head)]
        if self.shard:
            lines.append(f"  shard {self.shard}")
        if self.errors:
            lines.append("  errors: " + _counts(self.errors))
        if self.classifications:
            lines.append("  client certificate: " + _counts(self.classifications))
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


def _counts(counter: Counter[str]) -> str:
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key} {count}" for key, count in ranked)


class SweepObserver(Protocol):
    """Told about a sweep as it goes (the progress bar is one)."""

    def started(self, total: int, done: int) -> None: ...

    def finished(self, record: Record) -> None: ...

    def stopped(self) -> None: ...


def _keylog_writer(path: Path) -> KeylogWriter:
    handle = path.open("ab")

    def write(line: bytes) -> None:
        handle.write(line)
        handle.flush()

    return write


async def sweep(targets: list[Target], options: SweepOptions, sink: RecordSink, *,
                summary: SweepSummary | None = None, observer: SweepObserver | None = None,
                stop_on_signals: bool = False) -> SweepSummary:
    """Scan every target, handing each record to the sink as soon as it is ready.

    With ``stop_on_signals``, SIGINT or SIGTERM cancels the scans in flight (they produce no
    record) and the sweep returns normally with ``interrupted_by`` set. A second signal gets
    the default treatment.
    """
    summary = summary or SweepSummary()
    summary.planned = len(targets)
    started = time.perf_counter()
    contexts = ContextFactory(keylog=_keylog_writer(options.keylog) if options.keylog else None)
    scanner = Scanner(
        ScanSettings(probes=options.probes, timeout=options.timeout,
                     target_timeout=options.target_timeout, alpn_extra=options.alpn_extra,
                     probe_options=options.probe_options),
        limits=ConnectionLimits(options.concurrency, options.per_address, options.rate),
        contexts=contexts,
    )

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
        sink.write(item[0], record)
        summary.add(record)
        if observer is not None:
            observer.finished(record)

    def fallback(item: tuple[int, Target], exc: BaseException) -> Record:
        record = error_record(item[1], internal_error(exc),
                              resolve_options(item[1], scanner.settings).probes)
        return finish(record, item[1])

    if observer is not None:
        observer.started(summary.skipped + len(targets), summary.skipped)
    try:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                if stop_on_signals:
                    await nursery.start(_cancel_on_signal, scope, summary)
                await run_all(enumerate(targets), scan_one, workers=options.concurrency,
                              sink=deliver, fallback=fallback)
                nursery.cancel_scope.cancel()  # the sweep is done: stop listening for signals
    finally:
        summary.duration_s = time.perf_counter() - started
        if observer is not None:
            observer.stopped()
    return summary


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
    if shard is not None:
        targets = _select_shard(targets, shard, summary)
    plan = fit_concurrency(options.concurrency)
    if plan.describe(options.concurrency):
        summary.notes.append(str(plan.describe(options.concurrency)))
    options = replace(options, concurrency=plan.concurrency)
    if resume:
        if output is None or not can_resume(fmt, output):
            raise ValueError("resume needs JSON Lines written to a file")
        targets = _skip_recorded(targets, output, summary)
    context = context or RenderContext(origins={t.key: t.origin for t in targets})
    sink = OutputSink(fmt, output, context=context)
    if sink.repair.torn is not None:
        summary.notes.append(f"removed the torn last line {output}:{sink.repair.torn.line_number} "
                             "left by a killed sweep (it held no complete record)")
    gc_tuning.tune_for_sweep()
    try:
        if options.workers > 1 and parallel is not None:
            return parallel(targets, options, sink, summary=summary, observer=observer,
                            stop_on_signals=stop_on_signals)
        return trio.run(partial(sweep, targets, options, sink, summary=summary,
                                observer=observer, stop_on_signals=stop_on_signals))
    finally:
        gc_tuning.restore()
        sink.close()


def _select_shard(targets: list[Target], shard: Shard, summary: SweepSummary) -> list[Target]:
    chosen = select_shard(targets, shard, key=lambda target: target.key)
    summary.shard = f"{shard} ({len(chosen)} of {len(targets)} targets)"
    return chosen


def _skip_recorded(targets: list[Target], output: Path, summary: SweepSummary) -> list[Target]:
    recorded = recorded_targets(output)
    remaining = [target for target in targets if target.key not in recorded.keys]
    summary.skipped = len(targets) - len(remaining)
    foreign = len(recorded.keys - {target.key for target in targets})
    if foreign:
        summary.notes.append(f"{output} also holds {foreign} record(s) of targets outside this "
                             "sweep (kept as they are)")
    if recorded.records > len(recorded.keys):
        summary.notes.append(f"{output} holds {recorded.records - len(recorded.keys)} duplicate "
                             "record(s) from earlier runs; `mtlsweep merge` keeps the newest")
    return remaining
