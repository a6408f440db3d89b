"""What a CI system sees of a record: named checks that pass, fail or could not run.

JUnit (and anything else that wants pass/fail per target) is built from these. Each target
has a ``scanned`` check (error when the target could not be scanned or a probe crashed), then
one failed check per finding at or above the failure threshold. Findings whose id starts with
``expect.`` are unmet expectations (stated in the inventory) and always fail. Findings below
the threshold are notes on the ``scanned`` check rather than checks of their own, so a check
named after a finding always means "this was found".

When records also list the expectations that were met, each becomes a passed check here, next
to the failed ones, and the JUnit report needs no change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from scanner.results import Finding, Record, Severity, TargetInfo
from scanner.results.identity import default_sni, format_endpoint

EXPECTATION_PREFIX = "expect."


class Outcome(StrEnum):
    passed = "passed"
    failed = "failed"
    error = "error"


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    kind: str = ""  # error kind or finding severity
    message: str = ""
    detail: str = ""
    duration_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)


def severity_at_least(severity: Severity, threshold: Severity) -> bool:
    return severity >= threshold


def target_label(target: TargetInfo) -> str:
    """A unique, readable name for a target: its name and endpoint, and SNI when unusual."""
    label = format_endpoint(target.host, target.port)
    if target.sni != default_sni(target.host):
        label += f" sni={target.sni or '(none)'}"
    return f"{target.name} ({label})" if target.name else label


def is_failure(finding: Finding, fail_on: Severity) -> bool:
    return finding.id.startswith(EXPECTATION_PREFIX) or severity_at_least(finding.severity, fail_on)


def target_checks(record: Record, *, fail_on: Severity = Severity.low) -> list[Check]:
    notes = tuple(f"{f.severity.value} {f.id}{_version(f)}: {f.detail}"
                  for f in record.findings if not is_failure(f, fail_on))
    checks = [_scanned(record, notes)]
    seen: dict[str, int] = {}
    for finding in record.findings:
        if not is_failure(finding, fail_on):
            continue
        name = f"{finding.id}{_version(finding)}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f" #{seen[name]}"
        checks.append(Check(name=name, outcome=Outcome.failed, kind=finding.severity.value,
                            message=f"{finding.severity.value}: {finding.detail}",
                            detail=f"probe {finding.probe}: {finding.detail}"))
    return checks


def _version(finding: Finding) -> str:
    return f" ({finding.version})" if finding.version else ""


def _scanned(record: Record, notes: tuple[str, ...]) -> Check:
    duration = record.duration_ms / 1000
    if record.error is not None:
        alert = f" (alert {record.error.alert})" if record.error.alert else ""
        return Check(name="scanned", outcome=Outcome.error, kind=record.error.kind.value,
                     message=f"{record.error.kind.value}: {record.error.detail}{alert}",
                     detail=record.error.detail, duration_s=duration, notes=notes)
    if record.probe_errors:
        detail = "; ".join(f"probe {name}: {error.kind.value}: {error.detail}"
                           for name, error in record.probe_errors.items())
        return Check(name="scanned", outcome=Outcome.error, kind="probe_error",
                     message=f"some probes failed: {detail}", detail=detail,
                     duration_s=duration, notes=notes)
    return Check(name="scanned", outcome=Outcome.passed, duration_s=duration, notes=notes)
