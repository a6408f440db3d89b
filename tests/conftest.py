"""Shared fixtures: real TLS servers (support.fixtures) and a way to scan them in-process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from scanner.config.targets import Target
from scanner.probes import DEFAULT_PROBES, ProbeOptions
from scanner.results import Record
from scanner.run.sweep import SweepOptions, sweep
from tests.support.pki import TestPKI
from tests.support.sinks import RecordList

pytest_plugins = ["tests.support.fixtures"]

ScanFunction = Callable[..., list[Record]]


def scan_targets(targets: list[Target], **options: object) -> list[Record]:
    """Run a real sweep in-process and return its records in input order."""
    sink = RecordList()
    settings = SweepOptions(**{"probes": DEFAULT_PROBES, "timeout": 5.0, **options})  # type: ignore[arg-type]
    trio.run(sweep, targets, settings, sink)
    by_key = {r.target.port: r for r in sink.records}
    assert len(sink.records) == len(targets), "every target must yield exactly one record"
    return [by_key[t.port] for t in targets]


@pytest.fixture
def scan(pki: TestPKI) -> Callable[..., Record]:
    """Scan one endpoint on 127.0.0.1 (SNI localhost by default) and return its record.

    The test server CA is the trust store (as a user passes an internal CA with
    --ca-bundle) unless ``ca_bundle`` or ``probe_options`` says otherwise.
    """

    def run(port: int, *, host: str = "127.0.0.1", sni: str | None = "localhost",
            ca_bundle: Path | None = pki.server_ca_file, **options: object) -> Record:
        options.setdefault("probe_options", ProbeOptions(ca_bundle=ca_bundle))
        return scan_targets([Target(host=host, port=port, sni=sni)], **options)[0]

    return run
