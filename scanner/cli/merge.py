"""``mtlsweep merge``: combine shard result files into one, and say what is missing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scanner.report.formats import OutputFormat

EXIT_INCOMPLETE = 4  # merged, but an inventory target has no record or a line was torn

EXIT_CODES_HELP = """\
Exit codes: 0 merged, and (given --inventory) every target has exactly one record;
2 usage error or a corrupt file (nothing written); 4 incomplete: inventory targets have no
record, or a file ends in a torn line (the output is still written).
"""


def merge(
    files: Annotated[list[Path], typer.Argument(
        help="JSON Lines result files (e.g. the shard outputs of one sweep).",
        show_default=False, dir_okay=False)],
    inventory: Annotated[list[str] | None, typer.Option(
        "--inventory", "-i", help="What the sweep was meant to scan: YAML inventories and/or "
        "endpoints, as given to `scan` (repeat the option for several). Orders the output and "
        "names missing targets.",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the merged results here (replaced atomically) instead "
        "of stdout.", dir_okay=False)] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Output format, as for `scan`.")] = OutputFormat.jsonl,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Report only problems on stderr.")] = False,
    detail: Annotated[bool, typer.Option(
        "--detail", help="With --format table: every fact, a row per TLS version.")] = False,
) -> None:
    """Merge result files: one record per target (the newest wins), in inventory order.

    Reports targets recorded more than once, inventory targets with no record, records of
    targets outside the inventory, and torn last lines left by killed sweeps.
    """
    from scanner.cli.usage import collect_targets, fail_usage
    from scanner.report.jsonl import JsonlError
    from scanner.report.merge import ChosenRecords, chosen_raw, describe_plan, plan_merge
    from scanner.report.render import RenderContext
    from scanner.report.sinks import replacing, write_document

    targets = collect_targets(inventory)[0] if inventory else None
    if output is not None and any(_same_file(output, path) for path in files):
        raise fail_usage(f"--output {output} is one of the input files; write elsewhere")
    try:
        plan = plan_merge(files, targets)
        if fmt is OutputFormat.jsonl:
            with replacing(output) as handle:
                for raw in chosen_raw(plan):
                    handle.write(raw.decode("utf-8") + "\n")
        else:
            origins = {target.key: target.origin for target in targets or ()}
            write_document(fmt, ChosenRecords(plan), output, RenderContext(origins=origins,
                                                                         table_detail=detail))
    except JsonlError as exc:
        raise fail_usage(str(exc)) from None
    report = describe_plan(plan, inventory_given=targets is not None)
    for line in report if not quiet else report[1:]:
        typer.echo(line, err=True)
    if not plan.complete:
        raise typer.Exit(EXIT_INCOMPLETE)


def _same_file(output: Path, path: Path) -> bool:
    try:
        return output.exists() and output.samefile(path)
    except OSError:
        return False
