"""``mtlsweep serve``: run the Prometheus exporter (see ``scanner.run.exporter``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scanner.probes.names import DEFAULT_PROBES

if TYPE_CHECKING:
    import trio

DEFAULT_LISTEN = "127.0.0.1:9219"


def serve(
    inventories: Annotated[list[str] | None, typer.Argument(
        metavar="INVENTORY", show_default=False,
        help="YAML inventories (or endpoints): when given, only their targets may be probed, "
        "by name or host:port, with their settings and expectations.")] = None,
    listen: Annotated[str, typer.Option(
        metavar="HOST:PORT", help="Address to serve HTTP on. The exporter scans what it is "
        "asked to: keep it on loopback or give it an inventory.")] = DEFAULT_LISTEN,
    probes: Annotated[str | None, typer.Option(
        metavar="NAMES", show_default=False,
        help="Probes a request runs unless it names its own (probes=...). Default: "
        "client_auth, enforcement, certificate, ocsp, protocols.")] = None,
    max_timeout: Annotated[float, typer.Option(
        min=1, max=600, help="Most seconds one probe request may take; a request's timeout= "
        "parameter or Prometheus's scrape timeout (less 0.5 s) can shorten it.")] = 30.0,
    timeout: Annotated[float, typer.Option(
        min=0.1, max=600, help="Seconds per connection, as for scan.")] = 10.0,
    max_concurrent: Annotated[int, typer.Option(
        min=1, max=1000, help="Scans at once; a request that gets no slot before its "
        "deadline is answered 503.")] = 4,
    ca_bundle: Annotated[Path | None, typer.Option(
        dir_okay=False, help="PEM CA certificates to validate server chains against.")] = None,
    policy_file: Annotated[list[Path] | None, typer.Option(
        "--policy-file", dir_okay=False, show_default=False,
        help="Add the policies in this YAML file to the catalog (repeatable).")] = None,
) -> None:
    """Serve Prometheus metrics: /probe?target=host:port scans on demand, /metrics counts.

    Blackbox-style job: metrics_path /probe, targets relabelled into ?target= (README).
    """
    from scanner.cli.usage import (
        checked_ca_bundle,
        collect_targets,
        fail_usage,
        load_policy_files,
        parse_probe_list,
    )
    from scanner.config.targets import TargetSyntaxError, parse_endpoint
    from scanner.probes import ProbeOptions
    from scanner.run.exporter import ExporterSettings, run_exporter

    probe_names = parse_probe_list(probes) if probes else tuple(
        name for name in DEFAULT_PROBES
        if name in ("client_auth", "enforcement", "certificate", "ocsp", "protocols"))
    try:
        host, port = parse_endpoint(listen)
    except TargetSyntaxError as exc:
        raise fail_usage(f"--listen {listen!r}: {exc}") from None
    targets, catalog = collect_targets(inventories or [], load_policy_files(policy_file))
    settings = ExporterSettings(
        probes=probe_names, max_timeout=max_timeout, connection_timeout=timeout,
        max_concurrent=max_concurrent, catalog=catalog, targets=targets,
        probe_options=ProbeOptions(ca_bundle=checked_ca_bundle(ca_bundle)))

    def announce(listeners: list[trio.SocketListener]) -> None:
        bound = listeners[0].socket.getsockname()
        typer.echo(f"mtlsweep: serving on http://{listen.rsplit(':', 1)[0]}:{bound[1]} "
                   f"({len(targets) or 'any'} target(s) allowed)", err=True)

    try:
        run_exporter(settings, host, port, on_listening=announce)
    except OSError as exc:
        raise fail_usage(f"--listen {listen}: {exc.strerror or exc}") from None
