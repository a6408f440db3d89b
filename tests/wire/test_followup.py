"""wire.FollowUpRecords: counts what a server sends after an out-of-order message."""

from __future__ import annotations

import pytest

from scanner import wire
from tests.support.tlsbytes import record

LEAK = record(24, b"\x02" + b"m" * 79)
ALERT = record(21, b"\x02\x0a")


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_records_and_the_first_alert_whatever_the_chunking(chunk: int) -> None:
    records = wire.FollowUpRecords()
    data = LEAK + ALERT + record(23, b"after the alert")
    for start in range(0, len(data), chunk):
        records.feed(data[start:start + chunk])
    assert records.records == [(24, 80), (21, 2)]
    assert records.body_bytes == {24: 80}
    assert records.alert is not None and records.alert.name == "unexpected_message"
    assert records.done


def test_the_cap_stops_reading_and_counts_what_came() -> None:
    records = wire.FollowUpRecords(cap=50)
    records.feed(LEAK)
    assert records.done and records.bytes_received == 50
    assert records.records == [] and records.body_bytes == {24: 45}


def test_junk_is_an_error_not_an_exception() -> None:
    records = wire.FollowUpRecords()
    records.feed(b"\x16\x03\x03\xff\xff")  # longer than any record may be
    assert records.done and records.error is not None
