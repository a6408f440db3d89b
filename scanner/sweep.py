"""A whole sweep: targets in, records out through a sink, a summary back."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import trio

from scanner.engine.offer import ContextFactory, KeylogWriter
from scanner.engine.session import ConnectionLimits
from scanner.report.sinks import OutputFormat, RecordSink
from scanner.results import Record
from scanner.runner import run_all
from scanner.scan import Scanner, ScanSettings, error_record, internal_error
from scanner.targets import Target


@dataclass(frozen=True)
class SweepOptions:
    probes: tuple[str, ...]
    concurrency: int = 64
    per_address: int = 4
    timeout: float = 10.0
    target_timeout: float = 120.0
    keylog: Path | None = None
    rate: float | None = None


@dataclass
class SweepSummary:
    targets: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    def add(self, record: Record) -> None:
        self.targets += 1
        self.statuses[record.status] += 1
        if record.error is not None:
            self.errors[record.error.kind.value] += 1
        for finding in record.findings:
            self.findings[finding.severity.value] += 1

    def describe(self) -> str:
        parts = [f"{self.targets} target(s) in {self.duration_s:.1f}s"]
        parts += [f"{count} {status}" for status, count in sorted(self.statuses.items())]
        if self.errors:
            parts.append("errors: " + ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())))
        if self.findings:
            parts.append("findings: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.findings.items())))
        return "mtlsweep: " + "; ".join(parts)


def _keylog_writer(path: Path) -> KeylogWriter:
    handle = path.open("ab")

    def write(line: bytes) -> None:
        handle.write(line)
        handle.flush()

    return write


async def sweep(targets: list[Target], options: SweepOptions, sink: RecordSink) -> SweepSummary:
    """Scan every target, handing each record to the sink as soon as it is ready."""
    summary = SweepSummary()
    started = time.perf_counter()
    contexts = ContextFactory(keylog=_keylog_writer(options.keylog) if options.keylog else None)
    scanner = Scanner(
        ScanSettings(probes=options.probes, timeout=options.timeout,
                     target_timeout=options.target_timeout),
        limits=ConnectionLimits(options.concurrency, options.per_address, options.rate),
        contexts=contexts,
    )
    indexed = list(enumerate(targets))

    async def scan_one(item: tuple[int, Target]) -> Record:
        return await scanner.scan(item[1])

    def deliver(item: tuple[int, Target], record: Record) -> None:
        summary.add(record)
        sink.write(item[0], record)

    def fallback(item: tuple[int, Target], exc: BaseException) -> Record:
        return error_record(item[1], internal_error(exc), item[1].probes or options.probes)

    await run_all(indexed, scan_one, workers=options.concurrency, sink=deliver, fallback=fallback)
    summary.duration_s = time.perf_counter() - started
    return summary


def run_sweep(targets: list[Target], options: SweepOptions, *, fmt: OutputFormat,
              output: Path | None) -> SweepSummary:
    sink = RecordSink(fmt, output)
    try:
        return trio.run(sweep, targets, options, sink)
    finally:
        sink.close()
