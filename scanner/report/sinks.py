"""Where records go as they are produced.

JSON Lines is written and flushed record by record, so a sweep killed at any moment keeps
every finished record. The one-document and table formats need all records and write at
the end, in input order so that two runs diff cleanly.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import IO

from rich.console import Console

from scanner.report.enumeration_table import enumeration_table, has_enumeration
from scanner.report.table import records_table
from scanner.results import Record


class OutputFormat(StrEnum):
    jsonl = "jsonl"
    json = "json"
    table = "table"


class RecordSink:
    def __init__(self, fmt: OutputFormat, output: Path | None) -> None:
        self.format = fmt
        self.output = output
        self._held: list[tuple[int, Record]] = []
        self._stream: IO[str] | None = None
        if fmt is OutputFormat.jsonl:
            self._stream = output.open("a" if output else "w", encoding="utf-8") if output \
                else sys.stdout

    def write(self, index: int, record: Record) -> None:
        if self._stream is not None:
            self._stream.write(record.to_json() + "\n")
            self._stream.flush()
        else:
            self._held.append((index, record))

    def close(self) -> None:
        records = [record for _, record in sorted(self._held, key=lambda pair: pair[0])]
        if self.format is OutputFormat.json:
            document = json.dumps(
                [record.model_dump(mode="json", by_alias=True) for record in records], indent=2
            )
            if self.output:
                self.output.write_text(document + "\n", encoding="utf-8")
            else:
                sys.stdout.write(document + "\n")
        elif self.format is OutputFormat.table:
            tables = [records_table(records)]
            if any(has_enumeration(record) for record in records):
                tables.append(enumeration_table(records))
            if self.output:
                with self.output.open("w", encoding="utf-8") as handle:
                    Console(file=handle, width=160).print(*tables)
            else:
                Console().print(*tables)
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
