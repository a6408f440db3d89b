"""A record's findings and probe errors come out in the order the probes were asked for, not
the order they finished in: two sweeps of an unchanged server write the same bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from scanner.config.targets import Target
from scanner.probes.base import ProbeOutput
from scanner.results import ErrorInfo, ErrorKind, Finding, Severity
from scanner.run.scan import _Builder

PROBES = ["client_auth", "protocols", "renegotiation"]


def _record_json(finish_order: list[str]) -> str:
    builder = _Builder(Target(host="127.0.0.1", port=443), datetime(2026, 1, 1, tzinfo=UTC),
                       PROBES)
    for name in finish_order:
        finding = Finding(id=f"{name}.seen", severity=Severity.info, probe=name, detail=name)
        output: ProbeOutput[Any] = ProbeOutput(facet=None, findings=[finding])
        builder.outputs[name] = output
        builder.probe_errors[name] = ErrorInfo(kind=ErrorKind.internal_error, detail=name)
    return builder.build(0.0).to_json()


def test_findings_and_probe_errors_follow_the_requested_probes() -> None:
    first = _record_json(["renegotiation", "client_auth", "protocols"])
    assert first == _record_json(["protocols", "renegotiation", "client_auth"])
    record = json.loads(first)
    assert [f["probe"] for f in record["findings"]] == PROBES
    assert list(record["probe_errors"]) == PROBES
