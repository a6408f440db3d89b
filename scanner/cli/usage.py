"""What every sub-command shares: exit codes, usage errors, and turning arguments into targets."""

from __future__ import annotations

from pathlib import Path

import typer

from scanner.config.inventory import InventoryError, load_inventory
from scanner.config.targets import (
    Target,
    TargetSyntaxError,
    parse_endpoint,
    validate_alpn_extra,
)
from scanner.policy.catalog import Catalog
from scanner.probes import DEFAULT_PROBES, PROBES
from scanner.results.identity import default_sni

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


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


def parse_alpn_extra(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    try:
        return validate_alpn_extra(p.strip() for p in text.split(","))
    except TargetSyntaxError as exc:
        raise fail_usage(f"--alpn-extra: {exc}") from None


def collect_targets(arguments: list[str], catalog: Catalog | None = None
                    ) -> tuple[list[Target], Catalog | None]:
    """YAML inventories and ``host[:port]`` arguments, in the order given, and the catalog
    extended with the inventories' own policies (None while nothing needed it)."""
    targets: list[Target] = []
    for argument in arguments:
        path = Path(argument)
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
