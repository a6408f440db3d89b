"""The Python API: scan from code (a CI job, a notebook, an inventory system) without the CLI.

``scan(targets, **options)`` runs a sweep and returns one ``Record`` per target, in input
order. ``scan_records(targets, **options)`` is the same sweep as a trio async generator
(wrapped by ``trio.as_safe_channel``): records arrive as targets finish::

    async with scan_records(["api.example.com", "targets.yaml"]) as records:
        async for record in records:
            ...

Targets are what ``mtlsweep scan`` takes: ``host``, ``host:port``, ``[IPv6]:port``, paths of
YAML inventories (``str`` ending in .yaml/.yml, or a ``Path``), or ``Target`` objects. Options
mirror the command's. Bad input (an unknown probe, a malformed endpoint, a broken inventory or
CA bundle, duplicate targets) raises ``ScanInputError`` before any connection is made.
Records are the pydantic models of ``scanner.results`` (re-exported here); ``record.to_json()``
is the JSON Lines form.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import trio

from scanner.config.inventory_files import InventoryError
from scanner.config.inventory_stream import load_inventory
from scanner.config.targets import Target, TargetSyntaxError, parse_endpoint, validate_alpn_extra
from scanner.pkix.trust import TrustStoreError, load_ca_bundle
from scanner.policy.catalog import Catalog, PolicyFileError, load_catalog
from scanner.probes import DEFAULT_PROBES, PROBES, ProbeOptions
from scanner.probes.names import DEFAULT_CERT_EXPIRY_WARNING_DAYS, DEFAULT_OCSP_EXPIRY_WARNING_HOURS
from scanner.results import Finding, Record, Severity
from scanner.results.identity import default_sni
from scanner.run.addresses import expand_addresses
from scanner.run.fdlimit import fit_concurrency
from scanner.run.sweep import SweepOptions, sweep

__all__ = ["Finding", "Record", "ScanInputError", "Severity", "Target", "scan", "scan_records"]

TargetSpec = str | Path | Target


class ScanInputError(ValueError):
    """The targets or options cannot be scanned; nothing was contacted."""


@dataclass(frozen=True)
class _Plan:
    targets: list[Target]
    options: SweepOptions


def scan(targets: Iterable[TargetSpec], *, probes: Sequence[str] | None = None,
         timeout: float = 10.0, target_timeout: float = 120.0, concurrency: int = 64,
         per_address: int = 4, rate: float | None = None, ca_bundle: Path | None = None,
         cert_expiry_warning_days: int = DEFAULT_CERT_EXPIRY_WARNING_DAYS,
         ocsp_expiry_warning_hours: float = DEFAULT_OCSP_EXPIRY_WARNING_HOURS,
         alpn_extra: Sequence[str] = (), policy_files: Sequence[Path] = (),
         all_addresses: bool = False) -> list[Record]:
    """Scan every target and return their records in input order (runs its own trio loop;
    from async code use ``scan_records``)."""
    plan = _plan(targets, probes=probes, timeout=timeout, target_timeout=target_timeout,
                 concurrency=concurrency, per_address=per_address, rate=rate,
                 ca_bundle=ca_bundle, cert_expiry_warning_days=cert_expiry_warning_days,
                 ocsp_expiry_warning_hours=ocsp_expiry_warning_hours, alpn_extra=alpn_extra,
                 policy_files=policy_files)
    sink = _InputOrder()
    trio.run(_sweep, plan, all_addresses, sink)
    return sink.in_order()


async def _sweep(plan: _Plan, all_addresses: bool, sink: _InputOrder | _ChannelSink) -> None:
    targets = plan.targets
    if all_addresses or any(target.all_addresses for target in targets):
        targets = await expand_addresses(
            [replace(t, all_addresses=t.all_addresses or all_addresses) for t in targets],
            timeout=plan.options.timeout)
    await sweep(targets, plan.options, sink)


@trio.as_safe_channel
async def scan_records(
        targets: Iterable[TargetSpec], *, probes: Sequence[str] | None = None,
        timeout: float = 10.0, target_timeout: float = 120.0, concurrency: int = 64,
        per_address: int = 4, rate: float | None = None, ca_bundle: Path | None = None,
        cert_expiry_warning_days: int = DEFAULT_CERT_EXPIRY_WARNING_DAYS,
        ocsp_expiry_warning_hours: float = DEFAULT_OCSP_EXPIRY_WARNING_HOURS,
        alpn_extra: Sequence[str] = (), policy_files: Sequence[Path] = (),
        all_addresses: bool = False,
) -> AsyncGenerator[Record, None]:
    """Records as targets finish (completion order), within the caller's trio loop. Leaving
    the ``async with`` block early cancels the scans still running."""
    plan = _plan(targets, probes=probes, timeout=timeout, target_timeout=target_timeout,
                 concurrency=concurrency, per_address=per_address, rate=rate,
                 ca_bundle=ca_bundle, cert_expiry_warning_days=cert_expiry_warning_days,
                 ocsp_expiry_warning_hours=ocsp_expiry_warning_hours, alpn_extra=alpn_extra,
                 policy_files=policy_files)
    # Unbounded: a sink is called synchronously, so it must never block the sweep.
    send, receive = trio.open_memory_channel[Record](math.inf)

    async def run() -> None:
        async with send:
            await _sweep(plan, all_addresses, _ChannelSink(send))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        async with receive:
            async for record in receive:
                yield record


class _InputOrder:
    def __init__(self) -> None:
        self.records: dict[int, Record] = {}

    def write(self, index: int, record: Record) -> None:
        self.records[index] = record

    def in_order(self) -> list[Record]:
        return [self.records[index] for index in sorted(self.records)]


class _ChannelSink:
    def __init__(self, send: trio.MemorySendChannel[Record]) -> None:
        self.send = send

    def write(self, index: int, record: Record) -> None:
        self.send.send_nowait(record)


def _plan(targets: Iterable[TargetSpec], *, probes: Sequence[str] | None, timeout: float,
          target_timeout: float, concurrency: int, per_address: int, rate: float | None,
          ca_bundle: Path | None, cert_expiry_warning_days: int,
          ocsp_expiry_warning_hours: float, alpn_extra: Sequence[str],
          policy_files: Sequence[Path]) -> _Plan:
    """Everything checked and loaded before any connection (ScanInputError otherwise)."""
    chosen = tuple(probes) if probes is not None else DEFAULT_PROBES
    unknown = [name for name in chosen if name not in PROBES]
    if unknown or not chosen:
        raise ScanInputError(f"unknown probe {', '.join(map(repr, unknown)) or '(none given)'}; "
                             f"known probes: {', '.join(PROBES)}")
    if timeout <= 0 or target_timeout <= 0 or concurrency < 1 or per_address < 1 or (
            rate is not None and rate <= 0):
        raise ScanInputError("timeout, target_timeout, concurrency, per_address and rate must "
                             "be positive")
    try:
        if ca_bundle is not None:
            load_ca_bundle(ca_bundle)
        catalog = load_catalog(policy_files) if policy_files else None
        extra = validate_alpn_extra(alpn_extra) if alpn_extra else ()
    except (TrustStoreError, PolicyFileError, TargetSyntaxError) as exc:
        raise ScanInputError(str(exc)) from None
    resolved, catalog = _targets(targets, catalog)
    options = SweepOptions(
        probes=chosen, concurrency=fit_concurrency(concurrency).concurrency,
        per_address=per_address, timeout=timeout, target_timeout=target_timeout,
        alpn_extra=extra, catalog=catalog, rate=rate,
        probe_options=ProbeOptions(ca_bundle=ca_bundle,
                                   cert_expiry_warning_days=cert_expiry_warning_days,
                                   ocsp_expiry_warning_hours=ocsp_expiry_warning_hours))
    return _Plan(resolved, options)


def _targets(specs: Iterable[TargetSpec], catalog: Catalog | None
             ) -> tuple[list[Target], Catalog | None]:
    found: list[Target] = []
    for spec in specs:
        if isinstance(spec, Target):
            found.append(spec)
        elif isinstance(spec, Path) or spec.lower().endswith((".yaml", ".yml")):
            try:
                inventory = load_inventory(Path(spec), known_probes=PROBES, catalog=catalog)
            except InventoryError as exc:
                raise ScanInputError(str(exc)) from None
            found.extend(inventory.targets)
            catalog = inventory.catalog or catalog
        else:
            try:
                host, port = parse_endpoint(spec)
            except TargetSyntaxError as exc:
                raise ScanInputError(f"target {spec!r}: {exc}") from None
            found.append(Target(host=host, port=port, sni=default_sni(host), origin="api"))
    seen: set[object] = set()
    for target in found:
        if target.key in seen:
            raise ScanInputError(f"duplicate target {target.label} ({target.origin})")
        seen.add(target.key)
    return found, catalog
