"""Records parked on disk until a whole-document format is written.

A JSON document, a CSV file or a JUnit report is written once, at the end, in input order so
that two runs diff cleanly. Holding every record in memory for that would make memory grow
with the sweep; the spool instead appends each record's JSON to an anonymous temporary file as
it arrives and keeps only its offset, then replays the records in input order, as often as a
format needs to (JUnit and SARIF read them twice: counts first, then the body).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO

from scanner.results import Record


class RecordSpool:
    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._where: dict[int, tuple[int, int]] = {}  # input index -> (offset, length)
        self._end = 0

    def __len__(self) -> int:
        return len(self._where)

    def add(self, index: int, record: Record) -> None:
        self.add_json(index, record.to_json().encode("utf-8"))

    def add_json(self, index: int, data: bytes) -> None:
        """Park a record already serialised (``Record.to_json``, UTF-8)."""
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="mtlsweep-spool-")  # noqa: SIM115 - closed in close()
        self._file.seek(self._end)
        self._file.write(data)
        self._where[index] = (self._end, len(data))
        self._end += len(data)

    def raw_in_order(self) -> Iterator[bytes]:
        if self._file is None:
            return
        self._file.flush()
        for index in sorted(self._where):
            offset, length = self._where[index]
            self._file.seek(offset)
            yield self._file.read(length)

    def __iter__(self) -> Iterator[Record]:
        for raw in self.raw_in_order():
            yield Record.model_validate_json(raw)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
