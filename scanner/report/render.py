"""Whole-document output formats, written from records replayed in input order.

Every writer streams: it takes a re-iterable source of records (a spool on disk, a merge of
shard files, or a list in tests) and writes as it reads, so memory does not grow with the
number of targets. JSON Lines is not here: it is written record by record as targets finish
(see ``jsonl.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO

from scanner import __version__
from scanner.report.formats import OutputFormat
from scanner.results import Record, Severity
from scanner.results.identity import TargetKey

# Rows per rich table: keeps the table format's memory flat on a 10,000-target sweep.
TABLE_BATCH = 200


@dataclass(frozen=True)
class RenderContext:
    """What a format may need beyond the records themselves."""

    # Where each target was defined ("targets.yaml:7:5"), for SARIF locations.
    origins: Mapping[TargetKey, str] = field(default_factory=dict)
    # Findings at or above this severity are failures in JUnit.
    fail_on: Severity = Severity.low
    tool_version: str = __version__
    # Rendering width when the table goes to a file or pipe (a terminal sets its own):
    # $COLUMNS when set, as for other tools, else wide enough for the facts to stay unwrapped.
    table_width: int = field(default_factory=lambda: _columns_from_env(default=160))
    # The table format: one row per target (False), or every fact per version (--detail).
    table_detail: bool = False


def _columns_from_env(*, default: int) -> int:
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) >= 40 else default


def render(fmt: OutputFormat, records: Iterable[Record], out: IO[str], *,
           context: RenderContext | None = None, to_terminal: bool = False) -> None:
    """Write ``records`` (iterable more than once) to ``out`` in ``fmt``."""
    context = context or RenderContext()
    if fmt is OutputFormat.jsonl:
        for record in records:
            out.write(record.to_json() + "\n")
    elif fmt is OutputFormat.json:
        write_json_document(records, out)
    elif fmt is OutputFormat.table:
        write_tables(records, out, width=None if to_terminal else context.table_width,
                     detail=context.table_detail)
    elif fmt is OutputFormat.csv:
        from scanner.report.csvfile import write_csv

        write_csv(records, out)
    elif fmt is OutputFormat.junit:
        from scanner.report.junit import write_junit

        write_junit(records, out, fail_on=context.fail_on)
    elif fmt is OutputFormat.sarif:
        from scanner.report.sarif import write_sarif

        write_sarif(records, out, origins=context.origins, tool_version=context.tool_version)
    elif fmt is OutputFormat.prometheus:
        from scanner.report.prometheus import write_prometheus

        write_prometheus(records, out)
    elif fmt is OutputFormat.html:
        from scanner.report.html_report import write_html

        write_html(records, out)
    else:  # pragma: no cover - every member is handled above
        raise AssertionError(fmt)


def write_json_document(records: Iterable[Record], out: IO[str]) -> None:
    """A JSON array of the records, byte-identical to ``json.dumps(list, indent=2)``."""
    first = True
    for record in records:
        body = json.dumps(record.model_dump(mode="json", by_alias=True), indent=2)
        out.write(("[\n" if first else ",\n") + "\n".join("  " + line
                                                          for line in body.splitlines()))
        first = False
    out.write("[]\n" if first else "\n]\n")


def write_tables(records: Iterable[Record], out: IO[str], *, width: int | None,
                 detail: bool = True) -> None:
    from rich.console import Console

    from scanner.report.compact_table import compact_table
    from scanner.report.enumeration_table import enumeration_table, has_enumeration
    from scanner.report.table import records_table

    console = Console(file=out, width=width) if width else Console(file=out)

    def emit(batch: list[Record], span: tuple[int, int] | None) -> None:
        if not detail:
            console.print(compact_table(batch, span=span))
            return
        console.print(records_table(batch, span=span))
        if any(has_enumeration(record) for record in batch):
            console.print(enumeration_table(batch))

    batch: list[Record] = []
    first = 1
    for record in records:
        if len(batch) == TABLE_BATCH:  # only now is it known that more tables follow
            emit(batch, (first, first + len(batch) - 1))
            first += len(batch)
            batch = []
        batch.append(record)
    emit(batch, None if first == 1 else (first, first + len(batch) - 1))
