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
from scanner.cli import merge as merge_command
from scanner.cli import policies as policies_command
from scanner.cli import sweep_diff as sweep_diff_command
from scanner.cli.usage import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    collect_targets,
    fail_usage,
    parse_alpn_extra,
    parse_probe_list,
)
from scanner.pkix.trust import TrustStoreError, load_ca_bundle
from scanner.policy.catalog import PolicyFileError, load_catalog
from scanner.probes import PROBES, ProbeOptions
from scanner.probes.base import DEFAULT_CERT_EXPIRY_WARNING_DAYS, DEFAULT_OCSP_EXPIRY_WARNING_HOURS
from scanner.report.jsonl import JsonlError
from scanner.report.progress import SweepProgress
from scanner.report.sinks import OutputFormat
from scanner.results import Severity, record_json_schema
from scanner.run.shard import (
    SHARD_ENV,
    SHARDS_ENV,
    ShardError,
    output_for_shard,
    select_shard,
    shard_from_settings,
)
from scanner.run.sweep import SweepOptions, run_sweep

EXIT_CODES_HELP = """\
Exit codes: 0 every target was scanned and every expectation met; 1 an expectation failed, or
a finding is at or above --fail-on; 2 usage, inventory or policy-file error (nothing was
scanned); 3 some targets could not be scanned (DNS, refused, timeout, not TLS...) unless
--allow-unreachable is given. When 1 and 3 both apply, 1 wins. 130 / 143: stopped by SIGINT /
SIGTERM (finished records are kept: run again with --resume).
"""

app = typer.Typer(
    name="mtlsweep",
    help="Active mTLS/TLS endpoint scanner: what each listener does when it asks for a client "
    "certificate, as JSON you can diff and gate CI on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



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


@app.command(epilog=EXIT_CODES_HELP)
def scan(
    targets: Annotated[list[str], typer.Argument(
        help="YAML inventory files and/or endpoints as host, host:port or [IPv6]:port.",
        show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write results here instead of stdout. JSON Lines are appended "
        "and flushed per record; other formats replace the file when the sweep ends. "
        "'{shard}' in the path becomes the shard number.", dir_okay=False)] = None,
    fmt: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="jsonl streams one record per target as it finishes; json is one "
        "document; table is a readable summary; csv has one flat row per target; junit has a "
        "test suite per target for CI; sarif lists findings for code-scanning dashboards.")]
    = OutputFormat.jsonl,
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
    ca_bundle: Annotated[Path | None, typer.Option(
        dir_okay=False, help="PEM file of CA certificates to validate server certificates "
        "against instead of the system trust store (an inventory's ca_bundle wins for its "
        "targets).")] = None,
    cert_expiry_warning_days: Annotated[int, typer.Option(
        min=0, max=3650, help="Report certificates that expire within this many days.")]
    = DEFAULT_CERT_EXPIRY_WARNING_DAYS,
    ocsp_expiry_warning_hours: Annotated[float, typer.Option(
        min=0, max=8760, help="Report stapled OCSP responses whose next_update is within this "
        "many hours.")] = DEFAULT_OCSP_EXPIRY_WARNING_HOURS,
    rate: Annotated[float | None, typer.Option(
        min=0.01, max=100000, help="At most this many connections (handshakes) started per "
        "second across the sweep, evenly spaced. Default: no limit.", show_default=False)]
    = None,
    keylog: Annotated[Path | None, typer.Option(
        envvar="SSLKEYLOGFILE", dir_okay=False,
        help="Append TLS secrets in NSS key log format (for Wireshark). Honours SSLKEYLOGFILE.")]
    = None,
    alpn_extra: Annotated[str | None, typer.Option(
        help="Comma-separated ALPN protocol IDs the alpn probe tests besides h2, http/1.1, "
        "http/1.0, http/0.9, spdy/3.1, grpc-exp and acme-tls/1 (e.g. h3,imap). An inventory's "
        "alpn_extra: setting wins for its targets.", show_default=False)] = None,
    allow_unreachable: Annotated[bool, typer.Option(
        help="Do not exit 3 when some targets could not be scanned.")] = False,
    fail_on: Annotated[Severity | None, typer.Option(
        help="Exit 1 when any finding has this severity or higher (failed expectations exit "
        "1 whatever their severity).", show_default=False)] = None,
    policy_file: Annotated[list[Path] | None, typer.Option(
        "--policy-file", dir_okay=False, show_default=False,
        help="Add the policies in this YAML file to the catalog used by expect.policy and "
        "policy identification (repeatable; see `mtlsweep policies`).")] = None,
    shard: Annotated[str | None, typer.Option(
        envvar=SHARD_ENV, show_envvar=True, metavar="I/N",
        help="Scan only shard I of N (1-based): a stable, balanced share of the targets. "
        "The N shard outputs together hold every target once; see `mtlsweep merge`.")] = None,
    shards: Annotated[int | None, typer.Option(
        envvar=SHARDS_ENV, show_envvar=True, min=1, metavar="N",
        help="Split into N shards and scan the one JOB_COMPLETION_INDEX (0-based, set by a "
        "Kubernetes Indexed Job) names.")] = None,
    resume: Annotated[bool, typer.Option(
        help="Skip targets already recorded in --output (JSON Lines) by an earlier, "
        "interrupted run, and append the rest: each target ends up there once.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress bar and no summary on stderr.")] = False,
) -> None:
    """Scan endpoints and report, per target, one JSON record.

    Inventory expectations (expect:) are checked after each target's scan; each unmet one is
    a finding expect.<name> and makes the exit code 1.
    """
    probe_names = parse_probe_list(probes)
    if ca_bundle is not None:
        try:
            load_ca_bundle(ca_bundle)
        except TrustStoreError as exc:
            raise fail_usage(f"--ca-bundle: {exc}") from None
    extra_alpn = parse_alpn_extra(alpn_extra)
    catalog = None
    if policy_file:
        try:
            catalog = load_catalog(policy_file)
        except PolicyFileError as exc:
            raise fail_usage(str(exc)) from None
    target_list, catalog = collect_targets(targets, catalog)
    try:
        chosen_shard = shard_from_settings(shard, shards)
        output = output_for_shard(output, chosen_shard)
    except ShardError as exc:
        raise fail_usage(str(exc)) from None
    if resume and (fmt is not OutputFormat.jsonl or output is None):
        raise fail_usage("--resume needs JSON Lines written to a file (--output FILE, --format "
                         "jsonl); convert the result afterwards with `mtlsweep merge FILE "
                         "--format ...`")
    everything = len(target_list)
    if chosen_shard is not None:
        target_list = select_shard(target_list, chosen_shard, key=lambda target: target.key)
    options = SweepOptions(
        probes=probe_names, concurrency=concurrency, per_address=per_address, timeout=timeout,
        target_timeout=target_timeout, keylog=keylog, alpn_extra=extra_alpn, catalog=catalog,
        rate=rate,
        probe_options=ProbeOptions(
            ca_bundle=ca_bundle, cert_expiry_warning_days=cert_expiry_warning_days,
            ocsp_expiry_warning_hours=ocsp_expiry_warning_hours),
    )
    observer = SweepProgress() if not quiet and sys.stderr.isatty() else None
    try:
        summary = run_sweep(target_list, options, fmt=fmt, output=output, resume=resume,
                            observer=observer)
    except JsonlError as exc:
        raise fail_usage(str(exc)) from None
    if chosen_shard is not None:
        summary.shard = f"{chosen_shard} ({len(target_list)} of {everything} targets)"
    if not quiet:
        typer.echo(summary.describe(), err=True)
    else:
        for note in summary.notes:
            typer.echo(f"mtlsweep: note: {note}", err=True)
    if summary.interrupted_by is not None:
        raise typer.Exit(128 + summary.interrupted_by.value)
    if summary.expectations_failed or (fail_on and summary.findings_at_or_above(fail_on)):
        raise typer.Exit(EXIT_FAILED)
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


app.add_typer(policies_command.app, name="policies")
app.command("diff", epilog=sweep_diff_command.EXIT_CODES_HELP)(sweep_diff_command.diff)
app.command("merge", epilog=merge_command.EXIT_CODES_HELP)(merge_command.merge)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("mtlsweep: interrupted", err=True)
        sys.exit(130)
