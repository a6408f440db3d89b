"""A full default scan of a PostgreSQL and an LDAP (StartTLS) listener, next to sslyze's
``--starttls postgres`` / ``--starttls ldap`` on the same servers, in one run.

    python -m bench.starttls [--no-sslyze] [--repeat 3]

Starts PostgreSQL (``hostssl ... clientcert=verify-full``) and slapd (``TLSVerifyClient
demand``) on 127.0.0.1 with the test PKI (as the tests do), puts a connection-counting proxy
in front of each, and prints wall time, CPU time and TCP connections per tool. sslyze is
pip-installed into a throwaway venv under /tmp (never the project's).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import trio

from bench.enumeration import (
    CountingProxy,
    Run,
    install_sslyze,
    run_sslyze,
    sslyze_version,
    table,
)
from scanner.config.targets import Target
from scanner.probes import DEFAULT_PROBES, ProbeOptions
from scanner.run.sweep import SweepOptions, sweep
from tests.support import starttls_servers
from tests.support.pki import TestPKI, build_test_pki
from tests.support.processes import LOOPBACK
from tests.support.sinks import RecordList


def scan_once(port: int, protocol: str, ca_bundle: Path) -> tuple[float, float, str]:
    """(wall s, CPU s, status) of one full default scan of ``LOOPBACK:port``."""
    target = Target(host=LOOPBACK, port=port, sni="localhost", protocol=protocol)
    options = SweepOptions(probes=DEFAULT_PROBES, timeout=10.0,
                           probe_options=ProbeOptions(ca_bundle=ca_bundle))
    sink = RecordList()
    wall, cpu = time.perf_counter(), time.process_time()
    trio.run(sweep, [target], options, sink)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (record,) = sink.records
    status = record.status + (f" {record.probe_errors}" if record.probe_errors else "")
    return wall, cpu, status


def measure(label: str, port: int, protocol: str, pki: TestPKI, repeat: int,
            sslyze: Path | None, version: str, workdir: Path) -> list[Run]:
    runs = []
    with CountingProxy(port) as proxy:
        samples = []
        for _ in range(repeat):
            before = proxy.connections
            wall, cpu, status = scan_once(proxy.port, protocol, pki.server_ca_file)
            samples.append(Run(f"mtlsweep, default probes ({label})", wall, cpu,
                               proxy.connections - before, "" if status == "ok" else status))
        runs.append(min(samples, key=lambda run: run.wall_s))
        time.sleep(1)  # let the proxy count connections still being closed
        if sslyze is not None:
            runs.append(run_sslyze(sslyze, proxy, ["--starttls", protocol],
                                   f"sslyze {version}, default scan --starttls {protocol}",
                                   workdir))
    return runs


def rows(runs: Sequence[Run]) -> list[list[str]]:
    base = runs[0]
    out = []
    for run in runs:
        ratio = f" ({run.wall_s / base.wall_s:.1f}x)" if run is not base else ""
        conns = f" ({run.connections / base.connections:.1f}x)" if run is not base else ""
        out.append([run.label, f"{run.wall_s:.2f} s{ratio}", f"{run.cpu_s:.2f} s",
                    f"{run.connections}{conns}", run.note])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="mtlsweep runs (best is shown)")
    parser.add_argument("--no-sslyze", action="store_true", help="skip the sslyze runs")
    args = parser.parse_args()
    sslyze, note, version = None, "skipped (--no-sslyze)", ""
    if not args.no_sslyze:
        sslyze, note = install_sslyze()
        version = sslyze_version(sslyze) if sslyze else ""
    with tempfile.TemporaryDirectory(prefix="mtlsweep-bench-starttls-") as temp, \
            contextlib.ExitStack() as stack:
        workdir = Path(temp)
        pki = build_test_pki(workdir / "pki")
        postgres = stack.enter_context(starttls_servers.postgres(pki, workdir / "postgres"))
        demand = stack.enter_context(starttls_servers.slapd(pki, workdir / "slapd-demand"))
        allow = stack.enter_context(starttls_servers.slapd(pki, workdir / "slapd-allow",
                                                           verify="allow"))
        groups = [
            ("PostgreSQL, hostssl ... clientcert=verify-full",
             measure("PostgreSQL", postgres.port, "postgres", pki, args.repeat, sslyze,
                     version, workdir)),
            ("slapd, TLSVerifyClient demand",
             measure("LDAP, demand", demand.port, "ldap", pki, args.repeat, sslyze, version,
                     workdir)),
            ("slapd, TLSVerifyClient allow",
             measure("LDAP, allow", allow.port, "ldap", pki, args.repeat, sslyze, version,
                     workdir)),
        ]
    header = ["one listener", "wall", "CPU", "connections", "note"]
    for title, runs in groups:
        print(table(title, header, rows(runs)) + "\n")
    print(f"   sslyze: {note}; mtlsweep: best of {args.repeat}; "
          f"load average {statistics.mean(_loadavg()):.1f}\n")


def _loadavg() -> tuple[float, ...]:
    return tuple(float(x) for x in Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
