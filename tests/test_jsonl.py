"""JSON Lines results: torn last lines are tolerated and reported, corruption is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config.targets import Target
from scanner.report.jsonl import (
    JsonlAppender,
    JsonlError,
    JsonlReader,
    read_records,
    recorded_targets,
    repair_tail,
)
from scanner.results import ErrorInfo, ErrorKind, Record
from scanner.run.scan import error_record


def record(port: int) -> Record:
    target = Target(host="127.0.0.1", port=port, sni=None)
    return error_record(target, ErrorInfo(kind=ErrorKind.connection_refused, detail="refused"),
                        ("client_auth",))


def write_lines(path: Path, *records: Record, tail: bytes = b"") -> bytes:
    data = b"".join(r.to_json().encode() + b"\n" for r in records) + tail
    path.write_bytes(data)
    return data


def test_every_cut_of_a_record_is_a_torn_line_never_a_record(tmp_path: Path) -> None:
    """A kill can stop the write after any byte: each prefix must read as 2 records + torn."""
    path = tmp_path / "r.jsonl"
    whole = (record(3).to_json() + "\n").encode()
    for cut in range(1, len(whole) - 1):  # every prefix short of the full line incl. newline
        write_lines(path, record(1), record(2), tail=whole[:cut])
        result = read_records(path)
        assert [r.target.port for r in result.records] == [1, 2]
        assert result.torn is not None, cut
        assert result.torn.line_number == 3
        assert result.torn.offset == len(path.read_bytes()) - cut
        assert "torn last line" in result.torn.describe()


def test_a_complete_record_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, record(1), tail=record(2).to_json().encode())
    result = read_records(path)
    assert [r.target.port for r in result.records] == [1, 2]
    assert result.torn is None


def test_corruption_before_the_last_line_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(record(1).to_json().encode() + b"\n{\"schema\": \"mtl\n"
                     + record(2).to_json().encode() + b"\n")
    with pytest.raises(JsonlError, match=r"r.jsonl:2: not a JSON object"):
        read_records(path)
    path.write_text('{"target": {"host": "a.example", "port": "x"}}\n')
    with pytest.raises(JsonlError, match=r"r.jsonl:1: not a valid mtlsweep record"):
        read_records(path)
    with pytest.raises(JsonlError, match="cannot read"):
        read_records(tmp_path / "missing.jsonl")


def test_blank_lines_are_ignored_and_offsets_point_at_records(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    data = b"\n" + record(1).to_json().encode() + b"\n\n" + record(2).to_json().encode() + b"\n"
    path.write_bytes(data)
    lines = list(JsonlReader(path))
    assert [line.line_number for line in lines] == [2, 4]
    for line in lines:
        assert data[line.offset:line.offset + len(line.raw)] == line.raw
    assert lines[0].key == ("127.0.0.1", 1, None)


def test_repair_cuts_a_torn_line_and_completes_a_lost_newline(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    first, second = record(1), record(2)
    good = write_lines(path, first, second)
    assert repair_tail(path).torn is None and path.read_bytes() == good
    write_lines(path, first, second, tail=record(3).to_json().encode()[:40])
    repair = repair_tail(path)
    assert repair.torn is not None and repair.torn.line_number == 3
    assert path.read_bytes() == good
    write_lines(path, first, tail=second.to_json().encode())
    assert repair_tail(path).added_newline
    assert path.read_bytes() == good
    path.write_bytes(b'{"schema": "mtlsweep/1", "tar')  # a torn first line
    assert repair_tail(path).torn is not None
    assert path.read_bytes() == b""
    assert repair_tail(tmp_path / "absent.jsonl").torn is None


def test_appending_after_a_killed_run_starts_on_a_clean_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, record(1), tail=record(2).to_json().encode()[:25])
    appender = JsonlAppender(path)
    appender.append(record(3).to_json())
    appender.close()
    assert appender.repair.torn is not None
    result = read_records(path)
    assert [r.target.port for r in result.records] == [1, 3]
    assert result.torn is None


def test_recorded_targets_tolerates_the_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    write_lines(path, record(1), record(2), record(1), tail=b'{"schema"')
    recorded = recorded_targets(path)
    assert recorded.keys == {("127.0.0.1", 1, None), ("127.0.0.1", 2, None)}
    assert recorded.records == 3
    assert recorded.torn is not None
    assert recorded_targets(tmp_path / "absent.jsonl").records == 0
