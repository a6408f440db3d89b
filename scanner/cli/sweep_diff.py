"""``mtlsweep diff OLD NEW``: what changed between two sweeps, per endpoint."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from scanner.report.sweep_diff import SweepDiff

EXIT_CODES_HELP = """\
Exit codes: 0 no differences; 1 some endpoint changed, appeared or disappeared; 2 a file could
not be read.
"""

_CELL_LIMIT = 200


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


def diff(
    old: Annotated[Path, typer.Argument(help="Results of the earlier sweep (JSON Lines or "
                                        "--format json).", dir_okay=False, show_default=False)],
    new: Annotated[Path, typer.Argument(help="Results of the later sweep.", dir_okay=False,
                                        show_default=False)],
    fmt: Annotated[DiffFormat, typer.Option(
        "--format", "-f", help="table for people, json for scripts, html for a page to "
        "open in a browser.")] = DiffFormat.table,
) -> None:
    """Compare two sweeps endpoint by endpoint (matched by host, port and SNI).

    Reports every changed fact: status and errors, client-auth classification, CA names,
    protocol versions, cipher suites, policy matches, expectations, findings, and any other
    facet the records carry. Timings and transcripts are ignored. A torn last line (a sweep
    killed while writing) is skipped with a warning.
    """
    from scanner.cli.usage import fail_usage
    from scanner.report.html_report import write_html_diff
    from scanner.report.sweep_diff import SweepFileError, diff_as_json, diff_sweeps, read_sweep

    try:
        result = diff_sweeps(read_sweep(old), read_sweep(new))
    except SweepFileError as exc:
        raise fail_usage(str(exc)) from None
    for warning in (*result.old.warnings, *result.new.warnings):
        typer.echo(f"mtlsweep: warning: {warning}", err=True)
    if fmt is DiffFormat.json:
        typer.echo(json.dumps(diff_as_json(result), indent=2))
    elif fmt is DiffFormat.html:
        write_html_diff(result, sys.stdout)
    else:
        from rich.console import Console

        Console().print(diff_table(result))
    raise typer.Exit(1 if result.differs else 0)


def _cell(value: object) -> Text:
    from rich.text import Text

    if value is None:
        return Text("-", style="dim")
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if len(text) > _CELL_LIMIT:
        text = text[: _CELL_LIMIT - 1] + "…"
    return Text(text)


def diff_table(result: SweepDiff) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"mtlsweep diff: {len(result.changed)} changed, {len(result.only_in_old)} only in "
        f"old, {len(result.only_in_new)} only in new, {result.unchanged} unchanged",
        show_lines=True,
    )
    table.add_column("endpoint", overflow="fold", ratio=2)
    table.add_column("what", overflow="fold", ratio=3)
    table.add_column("old", overflow="fold", ratio=3)
    table.add_column("new", overflow="fold", ratio=3)
    for _key, label in result.only_in_old:
        table.add_row(Text(label, style="bold"), Text("endpoint", style="red"),
                      Text("present"), Text("absent from the new sweep", style="red"))
    for _key, label in result.only_in_new:
        table.add_row(Text(label, style="bold"), Text("endpoint", style="green"),
                      Text("absent from the old sweep", style="green"), Text("present"))
    for endpoint in result.changed:
        for index, change in enumerate(endpoint.changes):
            what = Text(change.path)
            if change.kind != "changed":
                what.append(f" ({change.kind})", style="dim")
            table.add_row(Text(endpoint.label, style="bold") if index == 0 else Text(""),
                          what, _cell(change.old), _cell(change.new))
    return table
