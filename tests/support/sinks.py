"""A record sink that keeps the records in memory, for tests and benchmarks."""

from __future__ import annotations

from scanner.report.sinks import RecordSink
from scanner.results import Record


class RecordList:
    """Collects a sweep's records in completion order (``records``)."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def write(self, index: int, record: Record) -> None:
        self.records.append(record)


def _implements_the_protocol(sink: RecordList) -> RecordSink:
    return sink  # mypy checks that RecordList satisfies RecordSink
