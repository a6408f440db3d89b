"""The ``mtlsweep`` command line: parse options, load targets, pick the output, set the exit code.

Nothing here knows TLS; it wires the inventory, the scanner and the report sinks together.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from scanner import __version__
from scanner.inventory import InventoryError, load_inventory
from scanner.probes import DEFAULT_PROBES, PROBES
from scanner.report.sinks import OutputFormat
from scanner.results import record_json_schema
from scanner.sweep import SweepOptions, run_sweep
from scanner.targets import Target, TargetSyntaxError, default_sni, parse_endpoint

EXIT_CODES_HELP = """\
Exit codes: 0 every target was scanned; 2 usage or inventory error (nothing was scanned);
3 some targets could not be scanned (DNS, refused, timeout, not TLS...) unless
--allow-unreachable is given.
"""

app = typer.Typer(
    name="mtlsweep",
    help="Active mTLS/TLS endpoint scanner: what each listener does when it asks for a client "
    "certificate, as JSON you can diff and gate CI on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_USAGE, EXIT_UNREACHABLE = 0, 2, 3


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mtlsweep {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Print the version and exit.")]
    = False,
) -> None:
    """Active mTLS/TLS endpoint scanner."""


def fail_usage(message: str) -> typer.Exit:
    typer.echo(f"mtlsweep: error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def parse_probe_list(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_PROBES
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in PROBES]
    if unknown or not names:
        raise fail_usage(
            f"unknown probe {', '.join(map(repr, unknown)) or '(empty list)'}; "
            f"known probes: {', '.join(PROBES)}"
        )
    return names


def collect_targets(arguments: list[str]) -> list[Target]:
    """YAML inventories and ``host[:port]`` arguments, in the order given."""
    targets: list[Target] = []
    for argument in arguments:
        path = Path(argument)
        if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
            try:
                targets.extend(load_inventory(path, known_probes=PROBES).targets)
            except InventoryError as exc:
                raise fail_usage(str(exc)) from None
            continue
        try:
            host, port = parse_endpoint(argument)
        except TargetSyntaxError as exc:
            raise fail_usage(f"target {argument!r}: {exc}") from None
        targets.append(Target(host=host, port=port, sni=default_sni(host)))
    seen: dict[tuple[str, int, str | None], Target] = {}
    for target in targets:
        if target.key in seen:
            raise fail_usage(
                f"duplicate target {target.label} ({target.origin}; first from "
                f"{seen[target.key].origin})"
            )
        seen[target.key] = target
    return targets


@app.command(epilog=EXIT_CODES_HELP)
def scan(
    targets: Annotated[list[str], typer.Argument(
        help="YAML inventory files and/or endpoints as host, host:port or [IPv6]:port.",
        show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write results here instead of stdout (JSON Lines: appended).",
        dir_okay=False)] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="jsonl streams one record per target as it finishes; json is one "
        "document; table is a readable summary.")] = OutputFormat.jsonl,
    probes: Annotated[str | None, typer.Option(
        help=f"Comma-separated probes to run (default: all: {', '.join(PROBES)}). "
        "An inventory's probes: setting wins for its targets.")] = None,
    concurrency: Annotated[int, typer.Option(
        min=1, max=10000, help="Connections in flight across the whole sweep.")] = 64,
    per_address: Annotated[int, typer.Option(
        min=1, max=64, help="Connections in flight to any one IP address.")] = 4,
    timeout: Annotated[float, typer.Option(
        min=0.1, max=600, help="Seconds allowed for each connection: TCP connect, handshake "
        "and the read after it.")] = 10.0,
    target_timeout: Annotated[float, typer.Option(
        min=1, max=86400, help="Seconds allowed for all the probes of one target.")] = 120.0,
    rate: Annotated[float | None, typer.Option(
        min=0.01, max=100000, help="At most this many connections (handshakes) started per "
        "second across the sweep, evenly spaced. Default: no limit.", show_default=False)]
    = None,
    keylog: Annotated[Path | None, typer.Option(
        envvar="SSLKEYLOGFILE", dir_okay=False,
        help="Append TLS secrets in NSS key log format (for Wireshark). Honours SSLKEYLOGFILE.")]
    = None,
    allow_unreachable: Annotated[bool, typer.Option(
        help="Exit 0 even when some targets could not be scanned.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Scan endpoints and report, per target, one JSON record."""
    probe_names = parse_probe_list(probes)
    target_list = collect_targets(targets)
    options = SweepOptions(
        probes=probe_names, concurrency=concurrency, per_address=per_address, timeout=timeout,
        target_timeout=target_timeout, keylog=keylog, rate=rate,
    )
    summary = run_sweep(target_list, options, fmt=fmt, output=output)
    if not quiet:
        typer.echo(summary.describe(), err=True)
    if summary.errors and not allow_unreachable:
        raise typer.Exit(EXIT_UNREACHABLE)


@app.command()
def schema() -> None:
    """Print the JSON Schema of one result record (generated from the result model)."""
    typer.echo(json.dumps(record_json_schema(), indent=2))


@app.command("probes")
def list_probes() -> None:
    """List the available probes."""
    for name, probe in PROBES.items():
        typer.echo(f"{name:14} {probe.description}")


@app.command()
def demo(
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
    = OutputFormat.table,
) -> None:
    """Start a few local TLS endpoints that imitate real listeners, scan them, stop them.

    Works offline: the endpoints run inside this process on 127.0.0.1 with certificates
    generated in memory.
    """
    from scanner.lab.demo import run_demo

    run_demo(fmt)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("mtlsweep: interrupted", err=True)
        sys.exit(130)
