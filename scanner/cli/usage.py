"""What every sub-command shares: exit codes, usage errors, and turning arguments into targets.

Each check here turns one option (or one combination of options) into the value the sweep
uses, or stops with a one-line usage error (exit 2) before any connection is made.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from scanner import wire
from scanner.cli.exit_codes import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_SIGNALLED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from scanner.config.hostlist import HOST_LIST_SUFFIXES, HostListError, read_host_list
from scanner.config.keyfiles import ENV_NAME, KeyFileError, load_credential
from scanner.config.targets import (
    HttpCheck,
    Target,
    TargetSyntaxError,
    parse_endpoint,
    resolve_protocol,
    validate_alpn_extra,
    validate_sni_names,
)
from scanner.offers.credential import ClientCredential
from scanner.pkix.trust import TrustStoreError, load_ca_bundle
from scanner.probes import DEFAULT_PROBES, PROBES
from scanner.probes.vulns import VulnerabilitiesProbe
from scanner.probes.vulns.robot import RobotProbe
from scanner.report.sinks import OutputFormat
from scanner.results import Severity
from scanner.results.identity import TargetKey, default_sni
from scanner.run.shard import Shard, ShardError, output_for_shard, shard_from_settings
from scanner.run.sweep import SweepOutcome, SweepSummary, can_resume
from scanner.wire.errors import WireError
from scanner.wire.http_connect import HttpProxy, parse_proxy

if TYPE_CHECKING:
    from scanner.policy.catalog import Catalog

# The inventory and the policy catalog (YAML, JSON schemas, expectation tables) load only when
# a YAML file or --policy-file is given: a scan of host:port arguments never needs them
# (tests/test_scan_imports.py holds this).

_SCAN_EXIT_CODES = {SweepOutcome.clean: EXIT_OK, SweepOutcome.failed: EXIT_FAILED,
                    SweepOutcome.unreachable: EXIT_UNREACHABLE}


def scan_exit_code(summary: SweepSummary, *, fail_on: Severity | None,
                   allow_unreachable: bool, allow_partial: bool = False,
                   allow_unevaluated: bool = False) -> int:
    """The exit code of ``mtlsweep scan`` (SCAN_EXIT_CODES_HELP): an interrupted sweep says
    so whatever its records hold, and lost output outranks what the records say."""
    if summary.interrupted_by is not None:
        return EXIT_SIGNALLED + summary.interrupted_by.value
    if summary.io_error is not None:
        return EXIT_OUTPUT
    return _SCAN_EXIT_CODES[summary.outcome(fail_on=fail_on, allow_unreachable=allow_unreachable,
                                            allow_partial=allow_partial,
                                            allow_unevaluated=allow_unevaluated)]


def fail_output(message: str) -> typer.Exit:
    """The output or key log cannot be written: one line, exit 4."""
    typer.echo(f"mtlsweep: error: {message}", err=True)
    return typer.Exit(EXIT_OUTPUT)


def fail_usage(message: str) -> typer.Exit:
    typer.echo(f"mtlsweep: error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


VULNERABILITIES = VulnerabilitiesProbe.name
ROBOT = RobotProbe.name


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


def without_vuln_checks(names: tuple[str, ...], skip: bool) -> tuple[str, ...]:
    """``--no-vuln-checks``: the probe list without the active checks (an error if nothing
    is left to run)."""
    if not skip:
        return names
    left = tuple(name for name in names if name not in (VULNERABILITIES, ROBOT))
    if not left:
        raise fail_usage("--no-vuln-checks leaves no probe to run (--probes lists only "
                         "active checks)")
    return left


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
    from scanner.policy.catalog import PolicyFileError, load_catalog

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


@dataclass(frozen=True)
class AdHocSettings:
    """What ``--client-cert``, ``--sni``, ``--http-host`` and ``--http-path`` set for the
    endpoints named on the command line (an inventory says the same per target)."""

    client_credential: ClientCredential | None = None
    sni: str | None = None
    http_host: str | None = None
    http_path: str | None = None

    @property
    def given(self) -> list[str]:
        names = {"--client-cert": self.client_credential, "--sni": self.sni,
                 "--http-host": self.http_host, "--http-path": self.http_path}
        return [name for name, value in names.items() if value is not None]

    def apply(self, target: Target) -> Target:
        http = HttpCheck(enabled=target.http.enabled, path=self.http_path or target.http.path,
                         host=self.http_host or target.http.host)
        return dataclasses.replace(
            target, sni=self.sni if self.sni is not None else target.sni, http=http,
            client_credential=self.client_credential or target.client_credential)


def adhoc_settings(*, client_cert: Path | None, client_key: Path | None,
                   client_key_pass_env: str | None, sni: str | None, http_host: str | None,
                   http_path: str | None) -> AdHocSettings:
    """Check and load the ad-hoc options now: a bad file or value is exit 2 before any
    connection (the key is read once and kept in memory only)."""
    credential = None
    if (client_cert is None) != (client_key is None):
        raise fail_usage("--client-cert and --client-key go together (a certificate and the "
                         "key it was issued for)")
    if client_key_pass_env is not None:
        if client_key is None:
            raise fail_usage("--client-key-pass-env needs --client-key")
        if not ENV_NAME.fullmatch(client_key_pass_env):
            raise fail_usage(f"--client-key-pass-env {client_key_pass_env!r} is not an "
                             "environment variable name")
    if client_cert is not None and client_key is not None:
        for option, path in (("--client-cert", client_cert), ("--client-key", client_key)):
            if not path.is_file():
                raise fail_usage(f"{option} {path}: no such file")
        try:
            credential = load_credential(
                client_cert, client_key, client_key_pass_env, cert_field="--client-cert",
                key_field="--client-key", env_field="--client-key-pass-env")
        except KeyFileError as exc:
            raise fail_usage(str(exc)) from None
    if sni is not None:
        try:
            if not sni or sni != sni.strip() or not sni.encode("idna"):
                raise ValueError
        except (UnicodeError, ValueError):
            raise fail_usage(f"--sni {sni!r} is not a host name") from None
    try:
        wire.HttpRequest(path=http_path or "/", host=http_host or "localhost")
    except wire.WireError as exc:
        option = "--http-path" if http_path is not None and "path" in str(exc) else "--http-host"
        raise fail_usage(f"{option}: {exc}") from None
    return AdHocSettings(client_credential=credential, sni=sni, http_host=http_host,
                         http_path=http_path)


def parse_sni_names(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    try:
        return validate_sni_names(p.strip() for p in text.split(",") if p.strip())
    except TargetSyntaxError as exc:
        raise fail_usage(f"--sni-names: {exc}") from None


def collect_targets(arguments: list[str], catalog: Catalog | None = None,
                    adhoc: AdHocSettings | None = None, *, starttls: str | None = None
                    ) -> tuple[list[Target], Catalog | None]:
    """YAML inventories, plain host lists (``.txt``: one ``host[:port]`` per line) and
    ``host[:port]`` arguments, in the order given, and the catalog
    extended with the inventories' own policies (None while nothing needed it). ``adhoc``
    and ``starttls`` (the protocol, ``--starttls``) apply to the ``host[:port]`` arguments
    only."""
    if starttls is not None:
        try:
            resolve_protocol(starttls, 0)
        except TargetSyntaxError as exc:
            raise fail_usage(f"--starttls: {exc}") from None
    adhoc = adhoc or AdHocSettings()
    endpoints = 0
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
            from scanner.config.inventory_files import InventoryError
            from scanner.config.inventory_stream import load_inventory

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
        targets.append(adhoc.apply(Target(host=host, port=port, sni=default_sni(host),
                                          protocol=resolve_protocol(starttls or "tls", port))))
        endpoints += 1
    if adhoc.given and not endpoints:
        raise fail_usage(f"{', '.join(adhoc.given)} apply to endpoints named on the command "
                         "line; an inventory sets client_cert, sni, http_host and http_path "
                         "per target")
    seen: dict[TargetKey, Target] = {}
    for target in targets:
        if target.key in seen:
            raise fail_usage(
                f"duplicate target {target.label} ({target.origin}; first from "
                f"{seen[target.key].origin})"
            )
        seen[target.key] = target
    return targets, catalog


def parse_https_proxy(text: str | None) -> HttpProxy | None:
    """``--https-proxy``: host:port, an http:// URL, or ``env`` for $HTTPS_PROXY (used only
    when asked for, since a scanner must not follow a proxy setting it was not told about)."""
    if text is None:
        return None
    value = text
    if text == "env":
        value = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy") or ""
        if not value:
            raise fail_usage("--https-proxy env: HTTPS_PROXY is not set")
    try:
        return parse_proxy(value)
    except WireError as exc:
        raise fail_usage(f"--https-proxy: {exc}") from None


def check_large_inventory(path: Path, *, fmt: OutputFormat, all_addresses: bool,
                          adhoc_given: bool) -> None:
    """A YAML inventory over the whole-file limit is swept entry by entry, which streams
    JSON Lines only and takes every setting from the file; anything else is refused (exit 2)
    before any connection."""
    from scanner.config.inventory_files import MAX_INVENTORY_BYTES

    limit = f"{path} is over {MAX_INVENTORY_BYTES // 2**20} MiB and is read entry by entry"
    if fmt is not OutputFormat.jsonl:
        raise fail_usage(f"{limit}, which writes JSON Lines only; use --format jsonl "
                         "(and `mtlsweep report` afterwards)")
    if all_addresses:
        raise fail_usage(f"{limit}; set all_addresses: true in its defaults: instead of "
                         "--all-addresses")
    if adhoc_given:
        raise fail_usage(f"{limit}; put client certificates, sni and http settings in the "
                         "file, not on the command line")


def command_line_probes_win(targets: list[Target]) -> list[Target]:
    """``--probes`` given on the command line replaces the inventory's ``probes:`` settings;
    a warning names how many targets that changed, so the override is never silent."""
    overridden = [target for target in targets if target.probes is not None]
    if not overridden:
        return targets
    origins = sorted({target.origin.rsplit(":", 2)[0] for target in overridden})
    typer.echo(f"mtlsweep: warning: --probes overrides the probes: setting of "
               f"{len(overridden)} inventory target(s) ({', '.join(origins)})", err=True)
    return [replace(target, probes=None) for target in targets]
