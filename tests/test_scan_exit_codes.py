"""``mtlsweep scan``'s exit code as a table: a sweep's summary in, the documented code out.

The real-server tests (test_cli.py, test_expectations_cli.py, test_resume.py) reach each code
through a scan; these rows cover every combination, including the orderings no single scan
shows at once (an interrupted sweep with failed expectations, failures beside unreachable
targets).
"""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scanner.cli.exit_codes import SCAN_EXIT_CODES_HELP
from scanner.cli.usage import scan_exit_code
from scanner.report.sinks import OutputFormat
from scanner.results import Severity
from scanner.run.sweep import SweepOutcome, SweepSummary, can_resume


@dataclass(frozen=True)
class Row:
    errors: int = 0  # targets that could not be scanned
    failed_expectations: int = 0
    findings: dict[str, int] = field(default_factory=dict)  # severity -> count
    interrupted_by: signal.Signals | None = None
    fail_on: Severity | None = None
    allow_unreachable: bool = False
    partial: int = 0  # targets some of whose probes failed
    allow_partial: bool = False
    io_error: str | None = None

    def summary(self) -> SweepSummary:
        summary = SweepSummary(interrupted_by=self.interrupted_by, io_error=self.io_error)
        if self.partial:
            summary.statuses["partial"] = self.partial
        if self.errors:
            summary.errors["connection_refused"] = self.errors
        if self.failed_expectations:
            summary.expectations["failed"] = self.failed_expectations
        summary.expectations["met"] = 1
        summary.findings = Counter(self.findings)
        return summary


EXIT_CODES = {
    "nothing wrong -> 0": (Row(), 0),
    "findings without --fail-on -> 0": (Row(findings={"critical": 2}), 0),
    "findings below --fail-on -> 0": (Row(findings={"low": 3, "info": 1}, fail_on=Severity.medium),
                                      0),
    "a finding at --fail-on -> 1": (Row(findings={"medium": 1}, fail_on=Severity.medium), 1),
    "a finding above --fail-on -> 1": (Row(findings={"critical": 1}, fail_on=Severity.low), 1),
    "a failed expectation, whatever --fail-on -> 1": (Row(failed_expectations=1), 1),
    "unreachable targets -> 3": (Row(errors=2), 3),
    "unreachable targets allowed -> 0": (Row(errors=2, allow_unreachable=True), 0),
    "failed expectation and unreachable targets: 1 wins": (Row(errors=1, failed_expectations=1),
                                                           1),
    "gated finding and unreachable targets: 1 wins": (
        Row(errors=1, findings={"high": 1}, fail_on=Severity.high), 1),
    "partial targets -> 3": (Row(partial=1), 3),
    "partial targets allowed -> 0": (Row(partial=1, allow_partial=True), 0),
    "partial targets, unreachable allowed -> 0": (Row(partial=1, allow_unreachable=True), 0),
    "--allow-partial does not excuse unreachable targets -> 3": (
        Row(partial=1, errors=1, allow_partial=True), 3),
    "output lost -> 4": (Row(io_error="/dev/full: cannot write"), 4),
    "output lost beats a failed expectation -> 4": (
        Row(io_error="/dev/full: cannot write", failed_expectations=1, errors=1), 4),
    "SIGINT -> 130": (Row(interrupted_by=signal.SIGINT), 130),
    "SIGTERM -> 143, whatever the records say": (
        Row(interrupted_by=signal.SIGTERM, errors=3, failed_expectations=1), 143),
}


@pytest.mark.parametrize("row, code", EXIT_CODES.values(), ids=EXIT_CODES.keys())
def test_scan_exit_code(row: Row, code: int) -> None:
    assert scan_exit_code(row.summary(), fail_on=row.fail_on,
                          allow_unreachable=row.allow_unreachable,
                          allow_partial=row.allow_partial) == code


def test_the_outcome_ranks_failures_above_unreachable_targets() -> None:
    summary = Row(errors=1, failed_expectations=1).summary()
    assert summary.outcome(fail_on=None, allow_unreachable=False) is SweepOutcome.failed
    assert Row(errors=1).summary().outcome(
        fail_on=None, allow_unreachable=False) is SweepOutcome.unreachable


def test_every_code_is_documented() -> None:
    for code in sorted({code for _, code in EXIT_CODES.values()}):
        assert str(code) in SCAN_EXIT_CODES_HELP


@pytest.mark.parametrize("fmt, output, possible", [
    (OutputFormat.jsonl, Path("out.jsonl"), True),
    (OutputFormat.jsonl, None, False),
    (OutputFormat.json, Path("out.json"), False),
    (OutputFormat.table, None, False),
])
def test_resume_needs_json_lines_in_a_file(fmt: OutputFormat, output: Path | None,
                                           possible: bool) -> None:
    assert can_resume(fmt, output) is possible
