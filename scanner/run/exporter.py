"""``mtlsweep serve``: a Prometheus exporter in the blackbox_exporter multi-target style.

``GET /probe?target=host:port`` scans that one target now and answers its metrics in the
``--format prometheus`` families (plus ``mtlsweep_probe_*`` about the request itself), so a
Prometheus job lists targets and relabels them into the ``target`` parameter. ``/metrics``
is the exporter's own counters. Each probe has a deadline (the ``timeout`` parameter, else
Prometheus's ``X-Prometheus-Scrape-Timeout-Seconds`` less a margin, never above the
configured maximum), and at most ``max_concurrent`` scans run at once: a request that cannot
get a slot before its deadline is answered 503, so a scrape never hangs past its timeout.

Given inventory targets, the exporter scans only those (by name or host:port, with their
inventory settings and expectations); without any, it scans whatever it is asked (listen on
loopback, or put it behind something that restricts who may ask).
"""

from __future__ import annotations

import io
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import trio

from scanner.config.targets import Target, TargetSyntaxError, parse_endpoint
from scanner.engine.contexts import ContextFactory
from scanner.engine.session import ConnectionLimits
from scanner.policy.apply import annotate
from scanner.policy.catalog import Catalog, builtin_catalog
from scanner.probes import PROBES, ProbeOptions
from scanner.report.prometheus import CONTENT_TYPE, MetricFamilies, add_record, new_families
from scanner.results import Record
from scanner.results.identity import default_sni, format_endpoint
from scanner.run.http_server import Request, Response, serve_http
from scanner.run.scan import Scanner, ScanSettings

__all__ = ["ExporterSettings", "ProbeExporter", "run_exporter"]

#: Seconds kept free of Prometheus's scrape timeout for the answer to travel back.
SCRAPE_TIMEOUT_MARGIN_S = 0.5


@dataclass(frozen=True)
class ExporterSettings:
    probes: tuple[str, ...]
    max_timeout: float = 30.0  # seconds: the most a probe request may take
    connection_timeout: float = 10.0  # seconds per connection, as --timeout
    max_concurrent: int = 4  # scans at once
    concurrency: int = 64  # connections in flight across all scans
    per_address: int = 4
    probe_options: ProbeOptions = field(default_factory=ProbeOptions)
    catalog: Catalog | None = None
    #: When not empty, the only targets that may be probed (by label and endpoint).
    targets: Sequence[Target] = ()


class ProbeExporter:
    """Answers ``/probe`` and ``/metrics`` (see the module docstring)."""

    def __init__(self, settings: ExporterSettings) -> None:
        self.settings = settings
        self.limits = ConnectionLimits(settings.concurrency, settings.per_address, None)
        self.contexts = ContextFactory()
        self.slots = trio.Semaphore(settings.max_concurrent)
        self.known: dict[str, Target] = {}
        for target in settings.targets:
            self.known.setdefault(target.label, target)
            self.known.setdefault(format_endpoint(target.host, target.port), target)
        self.requests: Counter[tuple[str, int]] = Counter()
        self.scans: Counter[str] = Counter()
        self.in_flight = 0
        self.scan_seconds = 0.0

    async def handle(self, request: Request) -> Response:
        path = urlsplit(request.target).path
        if request.method not in ("GET", "HEAD"):
            response = Response(405, b"only GET\n", headers={"allow": "GET, HEAD"})
        elif path == "/probe":
            response = await self.probe(request)
        elif path == "/metrics":
            response = Response(200, self.own_metrics().encode(), CONTENT_TYPE)
        elif path == "/":
            response = Response(200, b"mtlsweep exporter: /probe?target=host:port, /metrics\n")
        else:
            response = Response(404, b"not found\n")
        self.requests[(path if path in ("/probe", "/metrics", "/") else "other",
                       response.status)] += 1
        return response

    async def probe(self, request: Request) -> Response:
        query = parse_qs(urlsplit(request.target).query)
        try:
            target = self._target(query)
            probes = self._probes(query)
            timeout = self._timeout(query, request.headers)
        except ValueError as exc:
            return Response(400, f"{exc}\n".encode())
        except PermissionError as exc:
            return Response(403, f"{exc}\n".encode())
        deadline = trio.current_time() + timeout
        acquired = False
        with trio.move_on_at(deadline):
            await self.slots.acquire()
            acquired = True
        if not acquired:
            self.scans["rejected"] += 1
            return Response(503, f"no scan slot free within {timeout:g}s "
                            f"({self.settings.max_concurrent} scans at once)\n".encode())
        try:  # the scan's own budget ends it by the deadline, with a record saying so
            return await self._scan(target, probes, deadline)
        finally:
            self.slots.release()

    async def _scan(self, target: Target, probes: tuple[str, ...], deadline: float) -> Response:
        budget = max(0.1, deadline - trio.current_time())
        settings = ScanSettings(probes=probes,
                                timeout=min(self.settings.connection_timeout, budget),
                                target_timeout=budget,
                                probe_options=self.settings.probe_options)
        scanner = Scanner(settings, limits=self.limits, contexts=self.contexts)
        self.in_flight += 1
        started = time.perf_counter()
        try:
            record = await scanner.scan(target)
        finally:
            self.in_flight -= 1
            self.scan_seconds += time.perf_counter() - started
        record = annotate(record, target.expect,
                          catalog=self.settings.catalog or builtin_catalog, known_probes=PROBES)
        self.scans["success" if record.status != "error" else "failure"] += 1
        return Response(200, probe_metrics(record, time.perf_counter() - started).encode(),
                        CONTENT_TYPE)

    def _target(self, query: Mapping[str, list[str]]) -> Target:
        text = _one(query, "target")
        if text is None:
            raise ValueError("the target parameter is required: /probe?target=host:port")
        if self.known:
            if text not in self.known:
                raise PermissionError(f"target {text!r} is not in the exporter's inventory")
            return self.known[text]
        try:
            host, port = parse_endpoint(text)
        except TargetSyntaxError as exc:
            raise ValueError(f"target {text!r}: {exc}") from None
        sni = _one(query, "sni")
        return Target(host=host, port=port, sni=sni if sni is not None else default_sni(host),
                      name=_one(query, "name"))

    def _probes(self, query: Mapping[str, list[str]]) -> tuple[str, ...]:
        text = _one(query, "probes")
        if text is None:
            return self.settings.probes
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        unknown = [name for name in names if name not in PROBES]
        if unknown or not names:
            raise ValueError(f"unknown probe {', '.join(unknown) or '(empty list)'}; known "
                             f"probes: {', '.join(PROBES)}")
        return names

    def _timeout(self, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> float:
        """The request's deadline: ``timeout=``, else the scrape timeout less a margin."""
        text = _one(query, "timeout")
        if text is None:
            scrape = headers.get("x-prometheus-scrape-timeout-seconds")
            if scrape is None:
                return self.settings.max_timeout
            text, margin = scrape, SCRAPE_TIMEOUT_MARGIN_S
        else:
            margin = 0.0
        try:
            seconds = float(text) - margin
        except ValueError:
            raise ValueError(f"timeout {text!r} is not a number of seconds") from None
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"timeout {text!r} leaves no time to scan")
        return min(seconds, self.settings.max_timeout)

    def own_metrics(self) -> str:
        families = MetricFamilies()
        families.declare("mtlsweep_exporter_requests_total",
                         "HTTP requests answered, by path and status code.", "counter")
        families.declare("mtlsweep_exporter_scans_total", "Probe requests by result: success "
                         "(the target answered), failure (it could not be scanned), rejected "
                         "(no scan slot before the deadline).", "counter")
        families.declare("mtlsweep_exporter_scans_in_flight", "Scans running now.")
        families.declare("mtlsweep_exporter_scan_seconds_total",
                         "Seconds spent scanning, over all probe requests.", "counter")
        families.declare("mtlsweep_exporter_max_concurrent_scans", "The concurrency cap.")
        for (path, status), count in sorted(self.requests.items()):
            families.add("mtlsweep_exporter_requests_total",
                         {"path": path, "code": str(status)}, count)
        for result in ("success", "failure", "rejected"):
            families.add("mtlsweep_exporter_scans_total", {"result": result},
                         self.scans[result])
        families.add("mtlsweep_exporter_scans_in_flight", {}, self.in_flight)
        families.add("mtlsweep_exporter_scan_seconds_total", {}, round(self.scan_seconds, 3))
        families.add("mtlsweep_exporter_max_concurrent_scans", {},
                     self.settings.max_concurrent)
        out = io.StringIO()
        families.write(out)
        return out.getvalue()


def probe_metrics(record: Record, seconds: float) -> str:
    """One scan's families, plus how long the probe request took (blackbox's
    ``probe_duration_seconds``)."""
    families = new_families()
    families.declare("mtlsweep_probe_duration_seconds",
                     "Seconds this probe request took, queueing included.")
    add_record(families, record)
    families.add("mtlsweep_probe_duration_seconds", {}, round(seconds, 3))
    out = io.StringIO()
    families.write(out)
    return out.getvalue()


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


OnListening = Callable[[list[trio.SocketListener]], None]


async def _run(exporter: ProbeExporter, host: str, port: int,
               on_listening: OnListening | None) -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(serve_http, exporter.handle, host, port)
        if on_listening is not None:
            on_listening(listeners)


def run_exporter(settings: ExporterSettings, host: str, port: int, *,
                 on_listening: OnListening | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM end ``trio.run`` by KeyboardInterrupt or the
    default signal action)."""
    trio.run(_run, ProbeExporter(settings), host, port, on_listening)
