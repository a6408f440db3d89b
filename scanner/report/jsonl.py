"""JSON Lines results: an append-only writer that survives SIGKILL, and a reader that tolerates it.

The writer hands each record to the kernel in one ``write`` of the whole line, newline last,
so a killed sweep leaves every finished record intact and at most one *torn* line: a fragment
at the very end of the file with no newline. A torn line is never a complete JSON object (a
strict prefix of one cannot be), which is how the reader tells it from a record that merely
lost its newline. The reader skips the torn line and reports it; any other line that is not a
JSON object is corruption, which it refuses with the file and line number.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from scanner.results import Record
from scanner.results.identity import TargetKey, target_key

_PREVIEW_CHARS = 60


class JsonlError(Exception):
    """A results file that mtlsweep did not write as it is: unreadable or corrupt mid-file."""


@dataclass(frozen=True)
class TornLine:
    """The unfinished last line a killed writer left behind."""

    path: Path
    line_number: int
    offset: int  # byte offset where the fragment starts: truncating here repairs the file
    length: int
    preview: str

    def describe(self) -> str:
        return (f"{self.path}:{self.line_number}: torn last line ({self.length} bytes, no "
                f"newline: the sweep writing it was killed) ignored: {self.preview!r}")


@dataclass(frozen=True)
class RawRecord:
    """One line of a results file: where it is, its bytes, and the decoded object."""

    path: Path
    line_number: int
    offset: int
    raw: bytes  # without the newline
    data: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line_number}"

    @property
    def key(self) -> TargetKey:
        return record_key(self.data, where=self.where)


def record_key(data: dict[str, Any], *, where: str = "record") -> TargetKey:
    """The target identity of a record as JSON, equal to ``Target.key`` of what was scanned."""
    target = data.get("target")
    if not isinstance(target, dict):
        raise JsonlError(f"{where}: not an mtlsweep record (no 'target' object)")
    host, port, sni = target.get("host"), target.get("port"), target.get("sni")
    if not isinstance(host, str) or not isinstance(port, int) or not isinstance(sni, str | None):
        raise JsonlError(f"{where}: not an mtlsweep record (target host/port/sni missing)")
    address = target.get("address")
    pinned = target.get("per_address") is True and isinstance(address, str)
    return target_key(host, port, sni, address if pinned else None)


class JsonlReader:
    """Iterate over the records of one file; afterwards ``torn`` tells whether a line was torn.

    Streams the file, so reading a huge results file costs one line of memory at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.torn: TornLine | None = None
        self.missing_final_newline = False

    def __iter__(self) -> Iterator[RawRecord]:
        self.torn = None
        self.missing_final_newline = False
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise JsonlError(f"{self.path}: cannot read ({exc.strerror})") from None
        with handle:
            offset = 0
            for number, line in enumerate(handle, start=1):
                start, offset = offset, offset + len(line)
                complete = line.endswith(b"\n")
                body = line.rstrip(b"\r\n") if complete else line
                if not body.strip():
                    continue
                data = _decode(body)
                if data is None:
                    if complete:
                        raise JsonlError(
                            f"{self.path}:{number}: not a JSON object: "
                            f"{_preview(body)!r}; this is not a file mtlsweep wrote as is")
                    self.torn = TornLine(self.path, number, start, len(line), _preview(body))
                    return
                self.missing_final_newline = not complete
                yield RawRecord(self.path, number, start, body, data)


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # nested too deeply is not a record mtlsweep wrote
        return None
    return value if isinstance(value, dict) else None


def _preview(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "..."


@dataclass(frozen=True)
class RecordsRead:
    records: list[Record]
    torn: TornLine | None


def read_records(path: Path) -> RecordsRead:
    """Every record of a JSON Lines file as models, plus the torn last line if there is one.

    Raises JsonlError for an unreadable file, a corrupt line before the end, or a line that is
    JSON but not a valid record.
    """
    reader = JsonlReader(path)
    records = []
    for line in reader:
        try:
            records.append(Record.model_validate(line.data))
        except ValueError as exc:
            first = str(exc).splitlines()
            raise JsonlError(f"{path}:{line.line_number}: not a valid mtlsweep record: "
                             f"{' '.join(first[:3])}") from None
    return RecordsRead(records, reader.torn)


@dataclass(frozen=True)
class TailRepair:
    """What opening a results file for appending had to fix at its end."""

    torn: TornLine | None = None
    added_newline: bool = False


def repair_tail(path: Path) -> TailRepair:
    """Make ``path`` end at a line boundary so that appended records start on their own line.

    A torn last line is cut off (it holds no complete record); a complete record that lost
    its newline gets one. Only the last line is read, so this is cheap on large files.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return TailRepair()
    if size == 0:
        return TailRepair()
    with path.open("r+b") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return TailRepair()
        start = _last_line_start(handle, size)
        handle.seek(start)
        fragment = handle.read()
        if _decode(fragment) is not None:
            handle.seek(size)
            handle.write(b"\n")
            return TailRepair(added_newline=True)
        handle.seek(0)
        line_number = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        handle.truncate(start)
        torn = TornLine(path, line_number + 1, start, len(fragment), _preview(fragment))
        return TailRepair(torn=torn)


def _last_line_start(handle: BinaryIO, size: int) -> int:
    """Offset just after the last newline before ``size`` (0 when there is none)."""
    block = 1 << 16
    end = size
    while end > 0:
        begin = max(0, end - block)
        handle.seek(begin)
        chunk = handle.read(end - begin)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return begin + newline + 1
        end = begin
    return 0


class JsonlAppender:
    """Append records to a file (or stdout), one ``write`` per record, flushed as it goes.

    Missing parent directories are created (a Kubernetes run writes under a new directory
    per run).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.repair = TailRepair()
        self._fd: int | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.repair = repair_tail(path)
                self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise JsonlError(f"{path}: cannot write ({exc.strerror})") from None

    def append(self, line: str) -> None:
        self.append_bytes(line.encode("utf-8"))

    def append_bytes(self, line: bytes) -> None:
        """Append one line given as UTF-8 (without its newline)."""
        data = line + b"\n"
        if self._fd is None:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            return
        view = memoryview(data)
        while view:  # a regular file takes it in one go; loop for the rare short write
            written = os.write(self._fd, view)
            view = view[written:]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class Recorded:
    """What an earlier (possibly killed) sweep left in a results file, for ``--resume``."""

    keys: frozenset[TargetKey]
    records: int  # lines read; more than len(keys) when a target was recorded twice
    torn: TornLine | None


def recorded_targets(path: Path) -> Recorded:
    """The targets already recorded in ``path`` (none when the file does not exist yet)."""
    if not path.exists():
        return Recorded(frozenset(), 0, None)
    reader = JsonlReader(path)
    keys: set[TargetKey] = set()
    count = 0
    for line in reader:
        keys.add(line.key)
        count += 1
    return Recorded(frozenset(keys), count, reader.torn)
