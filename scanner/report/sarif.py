"""SARIF 2.1.0: findings as results, for code-scanning dashboards (GitHub, Azure DevOps...).

Each finding is a result whose rule is the finding id. Its location is the endpoint as a
logical location and, when the target came from an inventory file, the line that defines it,
so a dashboard can point at the YAML to change. Targets that could not be scanned are tool
execution notifications (not results: nothing was found, something failed). The document is
streamed over three passes of the records: rules, results, notifications.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from scanner.report.checks import target_label
from scanner.results import Finding, Record, Severity
from scanner.results.identity import TargetKey

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mtlsweep/mtlsweep"

_LEVEL = {Severity.info: "note", Severity.low: "warning", Severity.medium: "warning",
          Severity.high: "error", Severity.critical: "error"}
# GitHub code scanning ranks security results by this CVSS-like number.
_SECURITY_SEVERITY = {Severity.info: "0.0", Severity.low: "3.0", Severity.medium: "5.5",
                      Severity.high: "8.0", Severity.critical: "9.5"}


def _key(record: Record) -> TargetKey:
    return record.target.key()


def _physical(origin: str | None) -> dict[str, Any] | None:
    """``targets.yaml:7:5`` as a SARIF physical location (None for command-line targets)."""
    if not origin:
        return None
    path, _, rest = origin.rpartition(":")
    path, _, line = path.rpartition(":")
    if not path or not line.isdigit() or not rest.isdigit():
        return None
    return {"artifactLocation": {"uri": path},
            "region": {"startLine": int(line), "startColumn": int(rest)}}


def _result(record: Record, finding: Finding, rule_index: int,
            origin: str | None) -> dict[str, Any]:
    label = target_label(record.target)
    location: dict[str, Any] = {"logicalLocations": [{
        "name": label, "kind": "resource",
        "fullyQualifiedName": f"{record.target.host}:{record.target.port}/"
                              f"{record.target.sni or ''}"}]}
    physical = _physical(origin)
    if physical is not None:
        location["physicalLocation"] = physical
    version = f" ({finding.version})" if finding.version else ""
    fingerprint = hashlib.sha256(
        json.dumps([*_key(record), finding.id, finding.version]).encode()).hexdigest()
    return {
        "ruleId": finding.id, "ruleIndex": rule_index, "level": _LEVEL[finding.severity],
        "message": {"text": f"{label}{version}: {finding.detail}"},
        "locations": [location],
        "partialFingerprints": {"mtlsweepTarget/v1": fingerprint},
        "properties": {"severity": finding.severity.value, "probe": finding.probe,
                       "version": finding.version, "target": record.target.model_dump()},
    }


def write_sarif(records: Iterable[Record], out: IO[str], *,
                origins: Mapping[TargetKey, str] | None = None,
                tool_version: str = "") -> None:
    origins = origins or {}
    rules: dict[str, Severity] = {}  # rule id -> highest severity seen
    for record in records:
        for finding in record.findings:
            seen = rules.get(finding.id)
            if seen is None or finding.severity > seen:
                rules[finding.id] = finding.severity
    order = {rule: index for index, rule in enumerate(sorted(rules))}
    driver = {
        "name": "mtlsweep", "version": tool_version, "informationUri": INFORMATION_URI,
        "rules": [{"id": rule, "name": rule,
                   "shortDescription": {"text": rule.replace(".", ": ", 1).replace("_", " ")},
                   "defaultConfiguration": {"level": _LEVEL[rules[rule]]},
                   "properties": {"security-severity": _SECURITY_SEVERITY[rules[rule]]}}
                  for rule in sorted(rules)],
    }
    head = json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0"})[:-1]
    out.write(f'{head}, "runs": [{{"tool": {json.dumps({"driver": driver})}, "results": [')
    first = True
    for record in records:
        for finding in record.findings:
            result = _result(record, finding, order[finding.id], origins.get(_key(record)))
            out.write(("\n" if first else ",\n") + json.dumps(result))
            first = False
    out.write('], "invocations": [{"toolExecutionNotifications": [')
    failed = 0
    for record in records:
        if record.error is None:
            continue
        notification = {
            "level": "error",
            "message": {"text": f"{target_label(record.target)}: {record.error.kind.value}: "
                                f"{record.error.detail}"},
            "descriptor": {"id": record.error.kind.value},
        }
        out.write(("\n" if not failed else ",\n") + json.dumps(notification))
        failed += 1
    # The sweep itself ran to completion; targets it could not reach are the notifications.
    out.write('], "executionSuccessful": true}]}]}\n')
