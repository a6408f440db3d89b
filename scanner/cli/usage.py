"""What every sub-command shares: exit codes, usage errors, and turning arguments into targets.

Each check here turns one option (or one combination of options) into the value the sweep
uses, or stops with a one-line usage error (exit 2) before any connection is made.
"""

from __future__ import annotations

from pathlib import Path

import typer

from scanner.config.hostlist import HOST_LIST_SUFFIXES, HostListError, read_host_list
from scanner.config.inventory import InventoryError, load_inventory
from scanner.config.targets import (
    Target,
    TargetSyntaxError,
    parse_endpoint,
    validate_alpn_extra,
)
from scanner.pkix.trust import TrustStoreError, load_ca_bundle
from scanner.policy.catalog import Catalog, PolicyFileError, load_catalog
from scanner.probes import DEFAULT_PROBES, PROBES
from scanner.report.sinks import OutputFormat
from scanner.results import Severity
from scanner.results.identity import default_sni
from scanner.run.shard import Shard, ShardError, output_for_shard, shard_from_settings
from scanner.run.sweep import SweepOutcome, SweepSummary, can_resume

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_OUTPUT = 0, 1, 2, 3, 4
EXIT_SIGNALLED = 128  # plus the signal's number, as shells report a process a signal stopped

SCAN_EXIT_CODES_HELP = """\
Exit codes: 0 every target was scanned and every expectation met; 1 an expectation failed, or
a finding is at or above --fail-on; 2 usage, inventory or policy-file error (nothing was
scanned); 3 some targets could not be scanned (DNS, refused, timeout, not TLS...) or only
partly (status partial: some probes failed) unless --allow-unreachable (or, for partial ones,
--allow-partial) is given; 4 the output or the --keylog file could not be written (checked
before the first connection; a failure mid-sweep keeps every record already written and
names the file). With --resume, the code speaks for every record of the sweep's targets in
the file, not only the new ones. When several apply: 4, then 1, then 3. 130 / 143: stopped by
SIGINT / SIGTERM (finished records are kept: run again with --resume).
"""

_SCAN_EXIT_CODES = {SweepOutcome.clean: EXIT_OK, SweepOutcome.failed: EXIT_FAILED,
                    SweepOutcome.unreachable: EXIT_UNREACHABLE}


def scan_exit_code(summary: SweepSummary, *, fail_on: Severity | None,
                   allow_unreachable: bool, allow_partial: bool = False) -> int:
    """The exit code of ``mtlsweep scan`` (SCAN_EXIT_CODES_HELP): an interrupted sweep says
    so whatever its records hold, and lost output outranks what the records say."""
    if summary.interrupted_by is not None:
        return EXIT_SIGNALLED + summary.interrupted_by.value
    if summary.io_error is not None:
        return EXIT_OUTPUT
    return _SCAN_EXIT_CODES[summary.outcome(fail_on=fail_on, allow_unreachable=allow_unreachable,
                                            allow_partial=allow_partial)]


def fail_output(message: str) -> typer.Exit:
    """The output or key log cannot be written: one line, exit 4."""
    typer.echo(f"mtlsweep: error: {message}", err=True)
    return typer.Exit(EXIT_OUTPUT)


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


def checked_ca_bundle(path: Path | None) -> Path | None:
    """``--ca-bundle``, loaded now (and cached) so that a bad file stops the run here."""
    if path is not None:
        try:
            load_ca_bundle(path)
        except TrustStoreError as exc:
            raise fail_usage(f"--ca-bundle: {exc}") from None
    return path


def load_policy_files(paths: list[Path] | None) -> Catalog | None:
    """The catalog with ``--policy-file``'s policies added; None while none was given."""
    if not paths:
        return None
    try:
        return load_catalog(paths)
    except PolicyFileError as exc:
        raise fail_usage(str(exc)) from None


def resolve_shard(shard: str | None, shards: int | None, output: Path | None
                  ) -> tuple[Shard | None, Path | None]:
    """The shard to scan (``--shard``, or ``--shards`` and the Job's index) and the output
    path with ``{shard}`` filled in."""
    try:
        chosen = shard_from_settings(shard, shards)
        return chosen, output_for_shard(output, chosen)
    except ShardError as exc:
        raise fail_usage(str(exc)) from None


def check_resume(resume: bool, fmt: OutputFormat, output: Path | None) -> None:
    if resume and not can_resume(fmt, output):
        raise fail_usage("--resume needs JSON Lines written to a file (--output FILE, --format "
                         "jsonl); convert the result afterwards with `mtlsweep merge FILE "
                         "--format ...`")


def parse_alpn_extra(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    try:
        return validate_alpn_extra(p.strip() for p in text.split(","))
    except TargetSyntaxError as exc:
        raise fail_usage(f"--alpn-extra: {exc}") from None


def collect_targets(arguments: list[str], catalog: Catalog | None = None
                    ) -> tuple[list[Target], Catalog | None]:
    """YAML inventories, plain host lists (``.txt``: one ``host[:port]`` per line) and
    ``host[:port]`` arguments, in the order given, and the catalog
    extended with the inventories' own policies (None while nothing needed it)."""
    targets: list[Target] = []
    for argument in arguments:
        path = Path(argument)
        if path.suffix.lower() in HOST_LIST_SUFFIXES:
            try:
                targets.extend(read_host_list(path))
            except HostListError as exc:
                raise fail_usage(str(exc)) from None
            continue
        if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
            try:
                inventory = load_inventory(path, known_probes=PROBES, catalog=catalog)
            except InventoryError as exc:
                raise fail_usage(str(exc)) from None
            targets.extend(inventory.targets)
            catalog = inventory.catalog or catalog
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
    return targets, catalog
