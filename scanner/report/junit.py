"""JUnit XML: one test suite per target, one test case per check (see ``checks.py``).

CI systems (GitLab, Jenkins, GitHub test reporters, Azure DevOps) read this format to show
which endpoints failed and why. The writer streams: a first pass over the records counts the
totals for the root element, a second writes the suites, so memory stays flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from scanner.report.checks import Check, Outcome, target_checks, target_label
from scanner.results import Record, Severity

# Characters XML 1.0 cannot carry, even escaped; a server's junk bytes may end up in details.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value))


def _attr(value: str | int | float) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", str(value)))


def _counts(checks: list[Check]) -> tuple[int, int, int]:
    failures = sum(check.outcome is Outcome.failed for check in checks)
    errors = sum(check.outcome is Outcome.error for check in checks)
    return len(checks), failures, errors


def write_junit(records: Iterable[Record], out: IO[str], *,
                fail_on: Severity = Severity.low) -> None:
    tests = failures = errors = 0
    total_time = 0.0
    for record in records:
        counted = _counts(target_checks(record, fail_on=fail_on))
        tests, failures, errors = tests + counted[0], failures + counted[1], errors + counted[2]
        total_time += record.duration_ms / 1000
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f"<testsuites name=\"mtlsweep\" tests=\"{tests}\" failures=\"{failures}\" "
              f"errors=\"{errors}\" time=\"{total_time:.3f}\">\n")
    for record in records:
        _write_suite(record, target_checks(record, fail_on=fail_on), out)
    out.write("</testsuites>\n")


def _write_suite(record: Record, checks: list[Check], out: IO[str]) -> None:
    label = target_label(record.target)
    count, failures, errors = _counts(checks)
    timestamp = record.started_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    out.write(f"  <testsuite name={_attr(label)} tests=\"{count}\" failures=\"{failures}\" "
              f"errors=\"{errors}\" skipped=\"0\" time=\"{record.duration_ms / 1000:.3f}\" "
              f"timestamp=\"{timestamp}\">\n")
    target = record.target
    properties = [("host", target.host), ("port", str(target.port)), ("sni", target.sni or ""),
                  ("address", target.address or ""), ("status", record.status)]
    if target.name:
        properties.append(("name", target.name))
    properties += [(f"tag.{key}", value) for key, value in sorted(target.tags.items())]
    out.write("    <properties>\n")
    for name, value in properties:
        out.write(f"      <property name={_attr(name)} value={_attr(value)}/>\n")
    out.write("    </properties>\n")
    for check in checks:
        out.write(f"    <testcase name={_attr(check.name)} classname={_attr(label)} "
                  f"time=\"{check.duration_s:.3f}\"")
        if check.outcome is Outcome.passed and not check.notes:
            out.write("/>\n")
            continue
        out.write(">\n")
        if check.outcome is not Outcome.passed:
            tag = "failure" if check.outcome is Outcome.failed else "error"
            out.write(f"      <{tag} message={_attr(check.message)} type={_attr(check.kind)}>"
                      f"{_text(check.detail)}</{tag}>\n")
        if check.notes:
            out.write(f"      <system-out>{_text(chr(10).join(check.notes))}</system-out>\n")
        out.write("    </testcase>\n")
    out.write("  </testsuite>\n")
