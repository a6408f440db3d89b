"""The ``mtlsweep`` command line: parse options, load targets, pick the output, set the exit code.

Nothing here knows TLS; it wires the inventory, the scanner and the report sinks together.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scanner import __version__
from scanner.cli import merge as merge_command
from scanner.cli import policies as policies_command
from scanner.cli import serve as serve_command
from scanner.cli import sweep_diff as sweep_diff_command
from scanner.cli.command import CommandApp
from scanner.cli.exit_codes import SCAN_EXIT_CODES_HELP
from scanner.cli.process_exit import exit_code, exit_now
from scanner.probes.names import (
    DEFAULT_CERT_EXPIRY_WARNING_DAYS,
    DEFAULT_OCSP_EXPIRY_WARNING_HOURS,
    DEFAULT_PROBES,
    PROBE_NAMES,
)
from scanner.report.formats import OutputFormat
from scanner.results.severity import Severity
from scanner.run import gc_tuning
from scanner.run.shard import SHARD_ENV, SHARDS_ENV

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from scanner.config.targets import Target
    from scanner.policy.catalog import Catalog
    from scanner.run.sweep import SweepObserver, SweepSummary

# Only what the options are declared with is imported above: building the help (and every
# command's options) must not load pydantic, OpenSSL or trio. Each command imports what it
# runs (tests/test_cli_startup.py holds this).

app = CommandApp(
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


@app.command(epilog=SCAN_EXIT_CODES_HELP)
def scan(
    targets: Annotated[list[str], typer.Argument(
        help="YAML inventory files and/or endpoints as host, host:port or [IPv6]:port.",
        show_default=False, metavar="TARGET")],
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
        metavar="NAMES", show_default=False,
        help=f"Comma-separated probes to run (default: {', '.join(DEFAULT_PROBES)}; also "
        f"available: {', '.join(sorted(set(PROBE_NAMES) - set(DEFAULT_PROBES)))}). Given here, it "
        "wins over an inventory's probes: setting (with a warning saying so).")] = None,
    concurrency: Annotated[int, typer.Option(
        min=1, max=10000, help="Connections in flight across the whole sweep.")] = 64,
    per_address: Annotated[int, typer.Option(
        min=1, max=10000, help="Connections in flight to any one IP address, over all its "
        "ports (and targets started there: each needs a slot).")] = 64,
    per_listener: Annotated[int, typer.Option(
        min=1, max=10000, help="Connections in flight to any one listener (IP address and "
        "port), which is what one server sees; at most --per-address.")] = 4,
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
        metavar="IDS",
        help="Comma-separated ALPN protocol IDs the alpn probe tests besides h2, http/1.1, "
        "http/1.0, http/0.9, spdy/3.1, grpc-exp and acme-tls/1 (e.g. h3,imap). An inventory's "
        "alpn_extra: setting wins for its targets.", show_default=False)] = None,
    sni_names: Annotated[str | None, typer.Option(
        help="Comma-separated server names the targets' addresses also serve: the vhosts probe "
        "compares the certificate and client authentication of each, no SNI and an unknown "
        "name, and tests SNI/Host fronting between them. An inventory's sni_names: wins.",
        show_default=False)] = None,
    max_sni_names: Annotated[int, typer.Option(
        min=1, max=256, help="At most this many server names per address for the vhosts "
        "probe (each costs about 3 connections, each pair of names one request).")] = 16,
    allow_unreachable: Annotated[bool, typer.Option(
        help="Do not exit 3 when some targets could not be scanned (or only partly).")]
    = False,
    allow_partial: Annotated[bool, typer.Option(
        help="Do not exit 3 for targets scanned only partly (status partial: some probes "
        "failed); unreachable ones still count.")] = False,
    allow_unevaluated: Annotated[bool, typer.Option(
        help="Do not exit 1 when an expectation could not be evaluated (e.g. a server "
        "requires a client certificate and none was given).")] = False,
    client_cert: Annotated[Path | None, typer.Option(
        dir_okay=False, show_default=False, help="Your client certificate (PEM/DER, chain may "
        "follow), presented by every probe that needs a completed handshake, for the endpoints "
        "named on the command line (an inventory's client_cert does this per target).")] = None,
    client_key: Annotated[Path | None, typer.Option(
        dir_okay=False, show_default=False, help="The private key of --client-cert (must not be "
        "readable by group or others when it is yours).")] = None,
    client_key_pass_env: Annotated[str | None, typer.Option(
        show_default=False, metavar="VAR",
        help="Environment variable holding the passphrase of --client-key.")] = None,
    sni: Annotated[str | None, typer.Option(
        show_default=False, help="Server name to send to the endpoints named on the command "
        "line (default: the host, none for IP addresses).")] = None,
    http_host: Annotated[str | None, typer.Option(
        show_default=False, help="Host header (HTTP/2 :authority) of the HTTP request, for the "
        "endpoints named on the command line (default: the SNI, else the host).")] = None,
    http_path: Annotated[str | None, typer.Option(
        show_default=False, help="Path of the HTTP GET request, for the endpoints named on the "
        "command line (default: /).")] = None,
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
    starttls: Annotated[str | None, typer.Option(
        metavar="PROTO", help="Plaintext protocol the host[:port] arguments upgrade to TLS: "
        "postgres, mysql, ldap, smtp, imap, pop3, ftp, xmpp, or auto (by port). An "
        "inventory's protocol: setting covers its own targets.", show_default=False)] = None,
    https_proxy: Annotated[str | None, typer.Option(
        metavar="HOST:PORT", show_default=False,
        help="Tunnel every connection through this HTTP proxy with CONNECT (host:port or "
        "http://[user:password@]host:port; 'env' takes $HTTPS_PROXY). An inventory's "
        "https_proxy: wins for its targets.")] = None,
    all_addresses: Annotated[bool, typer.Option(
        "--all-addresses", help="Scan every address each host name resolves to, one record "
        "per address (the address is then part of the record's identity for --resume, merge "
        "and diff). Inventory: all_addresses: true.")] = False,
    detail: Annotated[bool, typer.Option(
        "--detail", help="With --format table: every fact, a row per TLS version (default: "
        "one row per target).")] = False,
    no_vuln_checks: Annotated[bool, typer.Option(
        "--no-vuln-checks", help="Skip the active vulnerability checks (the vulnerabilities "
        "probe: Heartbleed, CCS injection, TLS_FALLBACK_SCSV, compression, Ticketbleed, 0-RTT; "
        "up to 7 connections).")]
    = False,
    workers: Annotated[int | None, typer.Option(
        min=1, max=256, show_default=False, help="Processes to scan in, each owning a share of "
        "the IP addresses (so --per-address holds across them; with fewer addresses than "
        "workers, a share of an address's listeners and of its --per-address slots; "
        "--concurrency and --rate are divided). Default: one per CPU core.")] = None,
) -> None:
    """Scan endpoints and report, per target, one JSON record.

    Inventory expectations (expect:) are checked after each target's scan; each unmet one is
    a finding expect.<name> and makes the exit code 1.
    """
    # Loading the scanner and building its models allocates a long-lived heap that the
    # cyclic collector would walk again and again for nothing (gc_tuning.startup). Only the
    # imports: reading an inventory makes garbage worth collecting.
    with gc_tuning.startup():
        from scanner.cli.usage import (
            adhoc_settings,
            check_large_inventory,
            check_resume,
            checked_ca_bundle,
            collect_targets,
            command_line_probes_win,
            fail_output,
            fail_usage,
            load_policy_files,
            parse_alpn_extra,
            parse_https_proxy,
            parse_probe_list,
            parse_sni_names,
            resolve_shard,
            scan_exit_code,
            without_vuln_checks,
        )
        from scanner.config.hostlist import HostListError
        from scanner.config.inventory_files import InventoryError
        from scanner.probes import ProbeOptions
        from scanner.report.jsonl import JsonlError
        from scanner.report.render import RenderContext
        from scanner.report.sinks import OutputError
        from scanner.run.streamed import (
            large_inventory,
            streamable,
            streamable_inventory,
            sweep_host_list,
        )
        from scanner.run.sweep import SweepOptions, run_sweep
        from scanner.run.workers import default_workers, run_in_workers


    probe_names = without_vuln_checks(parse_probe_list(probes), no_vuln_checks)
    probe_options = ProbeOptions(ca_bundle=checked_ca_bundle(ca_bundle),
                                 cert_expiry_warning_days=cert_expiry_warning_days,
                                 ocsp_expiry_warning_hours=ocsp_expiry_warning_hours)
    extra_alpn = parse_alpn_extra(alpn_extra)
    adhoc = adhoc_settings(client_cert=client_cert, client_key=client_key,
                           client_key_pass_env=client_key_pass_env, sni=sni,
                           http_host=http_host, http_path=http_path)
    host_list = streamable(targets, fmt=fmt, all_addresses=all_addresses,
                           adhoc_given=bool(adhoc.given))
    big_inventory = large_inventory(targets)
    if big_inventory is not None:
        check_large_inventory(big_inventory, fmt=fmt, all_addresses=all_addresses,
                              adhoc_given=bool(adhoc.given))
    else:
        big_inventory = streamable_inventory(targets, fmt=fmt, all_addresses=all_addresses,
                                             adhoc_given=bool(adhoc.given))
    if big_inventory is not None:
        host_list = big_inventory
    target_list, catalog = (
        ([], load_policy_files(policy_file)) if host_list else collect_targets(
            targets, load_policy_files(policy_file), adhoc, starttls=starttls))
    source = None
    if big_inventory is not None:
        source = _inventory_source(big_inventory, catalog, override_probes=probes is not None)
        catalog = _inventory_catalog(big_inventory, catalog)
    if probes is not None:
        target_list = command_line_probes_win(target_list)
    if all_addresses:
        target_list = [replace(target, all_addresses=True) for target in target_list]
    chosen_shard, output = resolve_shard(shard, shards, output)
    check_resume(resume, fmt, output)
    options = SweepOptions(
        probes=probe_names, concurrency=concurrency, per_address=per_address,
        per_listener=per_listener, timeout=timeout,
        target_timeout=target_timeout, keylog=keylog, alpn_extra=extra_alpn, catalog=catalog,
        rate=rate, probe_options=probe_options, https_proxy=parse_https_proxy(https_proxy),
        sni_names=parse_sni_names(sni_names), max_sni_names=max_sni_names,
        workers=workers or default_workers())
    try:
        sweep_list = partial(run_sweep, options=options, fmt=fmt, output=output, resume=resume,
                             shard=chosen_shard, observer=_progress_bar(quiet),
                             context=RenderContext(origins={t.key: t.origin for t in target_list},
                                                   table_detail=detail),
                             parallel=run_in_workers)
        summary = sweep_list(target_list) if host_list is None else sweep_host_list(
            host_list, options, output=output, resume=resume, shard=chosen_shard,
            observer=_progress_bar(quiet), fallback=sweep_list,
            source=source, error=InventoryError if source is not None else HostListError)
    except (HostListError, InventoryError) as exc:
        raise fail_usage(str(exc)) from None
    except OutputError as exc:
        raise fail_output(str(exc)) from None
    except JsonlError as exc:
        raise fail_usage(str(exc)) from None
    _print_summary(summary, quiet=quiet)
    if summary.io_error is not None:
        typer.echo(f"mtlsweep: error: {summary.io_error}", err=True)
    raise typer.Exit(scan_exit_code(summary, fail_on=fail_on, allow_unreachable=allow_unreachable,
                                    allow_partial=allow_partial,
                                    allow_unevaluated=allow_unevaluated))


def _inventory_source(path: Path, catalog: Catalog | None, *, override_probes: bool
                      ) -> Callable[[], Iterator[Target]]:
    """Reads the inventory's targets again on each call; ``--probes`` wins over the file's
    ``probes:`` as it does for a loaded inventory, with the same warning once the first
    read has counted the targets it overrides."""
    from scanner.config.inventory_stream import stream_inventory
    from scanner.probes import PROBES

    warned = False

    def read() -> Iterator[Target]:
        nonlocal warned
        overridden = 0
        for target in stream_inventory(path, known_probes=PROBES, catalog=catalog):
            if override_probes and target.probes is not None:
                overridden += 1
                target = replace(target, probes=None)
            yield target
        if overridden and not warned:
            warned = True
            typer.echo(f"mtlsweep: warning: --probes overrides the probes: setting of "
                       f"{overridden} inventory target(s) ({path})", err=True)

    return read


def _inventory_catalog(path: Path, catalog: Catalog | None) -> Catalog | None:
    """The catalog the streamed targets' expectations are evaluated against: extended with
    the inventory's own ``policies:`` (its header alone is read here)."""
    from scanner.cli.usage import fail_usage
    from scanner.config.inventory_files import InventoryError
    from scanner.config.inventory_stream import inventory_catalog

    try:
        return inventory_catalog(path, catalog)
    except InventoryError as exc:
        raise fail_usage(str(exc)) from None


def _progress_bar(quiet: bool) -> SweepObserver | None:
    """A progress bar on stderr, only where someone watches it (rich loads only then)."""
    if quiet or not sys.stderr.isatty():
        return None
    from scanner.report.progress import SweepProgress

    return SweepProgress()


def _print_summary(summary: SweepSummary, *, quiet: bool) -> None:
    """The closing report on stderr; ``--quiet`` keeps only its notes."""
    if not quiet:
        typer.echo(summary.describe(), err=True)
        return
    for note in summary.notes:
        typer.echo(f"mtlsweep: note: {note}", err=True)


@app.command()
def schema() -> None:
    """Print the JSON Schema of one result record (generated from the result model)."""
    from scanner.results import record_json_schema

    typer.echo(json.dumps(record_json_schema(), indent=2))


@app.command("probes")
def list_probes() -> None:
    """List the available probes."""
    from scanner.probes import PROBES

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
app.command("serve")(serve_command.serve)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("mtlsweep: interrupted", err=True)
        code = 130
    except SystemExit as done:  # typer ends every command this way, errors included
        code = exit_code(done.code)
    else:
        code = 0
    exit_now(code)
