"""Scan one target: resolve it, run its probes, and always return exactly one record."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trio

from scanner.config.options import SweepDefaults, TargetOptions, resolve_options
from scanner.config.targets import Target
from scanner.engine.connect import Address, resolve
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.engine.preamble import starttls_step
from scanner.engine.session import ConnectionLimits, EndpointSession, current_probe
from scanner.probes import PROBES, ProbeOutput
from scanner.probes.shared.work import SharedWork
from scanner.results import ErrorInfo, ErrorKind, Finding, Record, Stats, TargetInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanSettings(SweepDefaults):
    """The sweep's defaults for every target, and each target's time budget."""

    target_timeout: float = 120.0


class Scanner:
    """Shared state of one sweep: OpenSSL contexts and connection limits."""

    def __init__(self, settings: ScanSettings, *, limits: ConnectionLimits,
                 contexts: ContextFactory) -> None:
        self.settings = settings
        self.limits = limits
        self.contexts = contexts
        #: Server names by (host, port) across the sweep's targets (the vhosts probe's
        #: neighbours); set by the sweep.
        self.neighbours: dict[tuple[str, int], tuple[str, ...]] = {}

    def options_for(self, target: Target) -> TargetOptions:
        return resolve_options(target, self.settings,
                               self.neighbours.get((target.host, target.port), ()))

    async def scan(self, target: Target) -> Record:
        """The target's record. Its budget (``--target-timeout``) and ``duration_ms`` start
        with its first connection: time spent waiting for a free slot is not the target's."""
        started_at = datetime.now(UTC)
        options = self.options_for(target)
        record = _Builder(target, started_at, options.probes)
        budget = self.settings.target_timeout
        try:
            with trio.CancelScope() as scope:
                def start_budget() -> None:
                    scope.deadline = trio.current_time() + budget
                    record.started = time.perf_counter()
                    record.started_at = datetime.now(UTC)

                await self._scan(target, options, record, start_budget)
            if scope.cancelled_caught:
                record.fail(ErrorInfo(
                    kind=ErrorKind.timeout,
                    detail=f"the target did not finish within its {budget:g}s budget "
                    "(--target-timeout)",
                ))
        except ScanFailure as failure:
            record.fail(failure.info())
        except Exception as exc:  # a bug must cost one record's detail, never the record
            log.exception("internal error scanning %s", target.label)
            record.fail(internal_error(exc))
        try:
            return record.build(time.perf_counter() - record.started)
        finally:
            # The session holds the budget callback, which holds the builder: a cycle that
            # would keep the whole target (connections' results, probe outputs) alive until
            # the cyclic collector ran. Cut here, refcounting frees it now.
            record.session = None

    async def _scan(self, target: Target, options: TargetOptions, record: _Builder,
                    on_first_connection: Callable[[], None]) -> None:
        proxy = options.https_proxy
        if proxy is not None:  # the proxy resolves the name; we resolve only the proxy
            hop = (await resolve(proxy.host, proxy.port, timeout=options.timeout))[0]
            address = Address(hop.family, target.address or target.host, target.port,
                              via=proxy, via_address=(hop.family, hop.ip))
            record.address = target.address
        else:
            # pinned by --all-addresses: no DNS, this address only
            addresses = await resolve(target.address or target.host, target.port,
                                      timeout=options.timeout)
            address = addresses[0]
            record.address = address.ip
        preamble = starttls_step(options.protocol, target.sni or target.host)
        session = EndpointSession(address, target.sni, contexts=self.contexts,
                                  limits=self.limits, timeout=options.timeout,
                                  before_tls=[preamble] if preamble else [],
                                  on_first_connection=on_first_connection)
        record.session = session
        context = options.probe_context(
            target.host, SharedWork(session, credential=options.client_credential,
                                    probes=options.probes))
        outputs: dict[str, ProbeOutput[Any]] = {}

        async def run_probe(name: str) -> None:
            current_probe.set(name)  # this task's context: its connections count for it
            try:
                outputs[name] = await PROBES[name].run(session, context)
            except Exception as exc:  # one probe's bug must not cost the others' results
                log.exception("probe %s failed on %s", name, target.label)
                record.probe_errors[name] = internal_error(exc)

        async with trio.open_nursery() as nursery:
            for name in options.probes:
                nursery.start_soon(run_probe, name)
        unreachable = session.unreachable_reason()
        if unreachable is not None:
            record.fail(unreachable.info())
            return
        for name, failure in session.probe_failures().items():
            record.probe_errors.setdefault(name, failure.info())
        record.outputs = outputs


class _Builder:
    def __init__(self, target: Target, started_at: datetime, probes: Sequence[str]) -> None:
        self.target = target
        self.started_at = started_at
        self.started = time.perf_counter()  # moved to the first connection when there is one
        self.probes = list(probes)
        self.address: str | None = None
        self.session: EndpointSession | None = None
        self.outputs: dict[str, ProbeOutput[Any]] = {}
        self.error: ErrorInfo | None = None
        self.probe_errors: dict[str, ErrorInfo] = {}

    def fail(self, error: ErrorInfo) -> None:
        self.error = error

    def _probe_order(self, name: str) -> tuple[int, str]:
        """Position of ``name`` in the requested probes (others after them, by name)."""
        try:
            return self.probes.index(name), name
        except ValueError:
            return len(self.probes), name

    def build(self, duration_s: float) -> Record:
        findings: list[Finding] = []
        facets = {}
        if self.error is None:
            # In the order the probes were asked for, not the order they finished in: two
            # sweeps of an unchanged server must write the same bytes (diffs, caches, review).
            for name in sorted(self.outputs, key=self._probe_order):
                output = self.outputs[name]
                facets[name] = output.facet
                findings.extend(output.findings)
        stats = self.session.stats if self.session else None
        return Record.model_validate({
            "target": TargetInfo(
                host=self.target.host, port=self.target.port, sni=self.target.sni,
                name=self.target.name, address=self.address or self.target.address,
                tags=self.target.tags,
                protocol=self.target.protocol,
                per_address=self.target.address is not None,
            ),
            "status": "error" if self.error else "partial" if self.probe_errors else "ok",
            "error": self.error,
            "probe_errors": {name: self.probe_errors[name]
                             for name in sorted(self.probe_errors, key=self._probe_order)},
            "started_at": self.started_at,
            "duration_ms": round(duration_s * 1000),
            "probes": self.probes,
            **facets,
            "findings": findings,
            "stats": Stats(
                connections=stats.connections if stats else 0,
                handshakes_completed=stats.handshakes_completed if stats else 0,
                raw_connections=stats.raw_connections if stats else 0,
            ),
        })


def internal_error(exc: BaseException) -> ErrorInfo:
    """Describe a bug by its innermost exception, not by the task group that carried it."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return ErrorInfo(kind=ErrorKind.internal_error, detail=f"{type(exc).__name__}: {exc}")


def error_record(target: Target, error: ErrorInfo, probes: Sequence[str]) -> Record:
    """A record for a target that never got as far as a scan."""
    builder = _Builder(target, datetime.now(UTC), probes)
    builder.fail(error)
    return builder.build(0.0)
