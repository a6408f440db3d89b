"""Benchmark: sweeps of 1,000, 10,000 and 100,000 targets on loopback, one after the other.

What it shows: memory stays flat as the sweep grows (peak RSS of the scanning process is about
the same for 1,000, 10,000 and 100,000 targets: records stream to disk and nothing of a
finished target stays alive), no record is ``partial`` because of the client, the open-file limit is
handled (the child starts with a low soft limit that it must raise), and every target comes out
exactly once.

The targets: one nginx (C, so the scanner is what is measured) listening on many 127.0.0.0/8
addresses (Linux routes all of 127/8 to lo) and a few ports, each port with its own client-auth
setup (required with CA names, optional, none), every endpoint scanned under several SNI
names, plus targets on a closed port (connection refused). Nothing leaves the machine.

    python -m bench.sweep_10k                       # 1,000, 10,000 and 100,000 targets
    python -m bench.sweep_10k --counts 1000,10000 --concurrency 256

Prints one line per run: targets, wall time, targets/s, peak RSS, records, statuses, and the
scanner's note about the open-file limit.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.nginx_lab import (
    ClientAuth,
    free_port,
    tls_server,
    wait_listening,
    write_config,
    write_pki,
)

#: Client auth per listening port.
PORT_MODES: tuple[ClientAuth, ...] = ("required", "optional", "none", "none")


def nginx_config(directory: Path, pki: dict[str, Path], addresses: list[str],
                 ports: list[int]) -> Path:
    """One server block per port, listening on every address, with that port's client auth."""
    return write_config(directory, [
        tls_server([f"{address}:{port}" for address in addresses], pki, mode,
                   protocols="TLSv1.2 TLSv1.3")
        for port, mode in zip(ports, PORT_MODES, strict=False)])


def write_inventory(path: Path, count: int, addresses: list[str], ports: list[int],
                    closed_port: int, sni_names: int) -> None:
    """``count`` targets: every (address, port, SNI) combination in turn, 2% refused."""
    lines = ["targets:"]
    made = 0
    while made < count:
        for sni in range(sni_names):
            for address in addresses:
                for port in ports:
                    if made == count:
                        break
                    refused = made % 50 == 49
                    lines.append(f"  - {{host: {address}, port: {closed_port if refused else port}"
                                 f", sni: s{sni}-{made}.bench.test}}")
                    made += 1
    path.write_text("\n".join(lines) + "\n")


def run_sweep(inventory: Path, output: Path, *, concurrency: int,
              soft_limit: int, workers: int | None) -> dict[str, object]:
    def lower_soft_limit() -> None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft_limit, hard), hard))

    argv = [sys.executable, "-m", "scanner", "scan", str(inventory), "-o", str(output),
            "--concurrency", str(concurrency), "--per-address", "4", "--timeout", "10",
            "--allow-unreachable", *(["--workers", str(workers)] if workers else [])]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=lower_soft_limit)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"scan failed:\n{stderr}")
    keys: Counter[tuple[str, int, str]] = Counter()
    statuses: Counter[str] = Counter()
    with output.open() as handle:
        for line in handle:
            record = json.loads(line)
            target = record["target"]
            keys[(target["host"], target["port"], target["sni"])] += 1
            statuses[record["status"]] += 1
    notes = [line.strip() for line in stderr.splitlines() if "open-file" in line]
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024, "records": sum(keys.values()),
            "distinct": len(keys), "statuses": dict(statuses), "notes": notes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1000,10000,100000",
                        help="comma-separated sweep sizes, run in this order")
    parser.add_argument("--addresses", type=int, default=250,
                        help="127.0.2.x addresses nginx listens on")
    parser.add_argument("--sni-names", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--soft-limit", type=int, default=256,
                        help="the scanner starts with this open-file soft limit")
    parser.add_argument("--workers", type=int,
                        help="the scanner's --workers (default: its own, one per core); "
                        "peak RSS is then that of the largest process")
    parser.add_argument("--keep", type=Path, help="copy the result files here")
    options = parser.parse_args()
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("nginx is needed (apt-get install nginx-light)")
    addresses = [f"127.0.{2 + i // 250}.{1 + i % 250}" for i in range(options.addresses)]
    ports = [free_port() for _ in PORT_MODES]
    closed_port = free_port()
    with tempfile.TemporaryDirectory(prefix="mtlsweep-bench-") as tmp:
        directory = Path(tmp)
        config = nginx_config(directory, write_pki(directory), addresses, ports)
        server = subprocess.Popen([nginx, "-p", f"{directory}/", "-c", str(config),
                                   "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        try:
            wait_listening(addresses[-1], ports[-1], server)
            print(f"nginx: {len(addresses)} addresses x {len(ports)} ports "
                  f"({', '.join(PORT_MODES)}); scanner concurrency {options.concurrency}, "
                  f"open-file soft limit {options.soft_limit} at start; python "
                  f"{sys.version.split()[0]}, {os.cpu_count()} CPUs")
            print(f"{'targets':>8} {'wall s':>8} {'targets/s':>10} {'CPU s':>8} "
                  f"{'CPU ms/target':>14} {'peak RSS MiB':>13} {'records':>8}  statuses / notes")
            for count in (int(text) for text in options.counts.split(",")):
                inventory = directory / f"targets-{count}.yaml"
                write_inventory(inventory, count, addresses, ports, closed_port,
                                options.sni_names)
                result = run_sweep(inventory, directory / f"results-{count}.jsonl",
                                   concurrency=options.concurrency,
                                   soft_limit=options.soft_limit,
                                   workers=options.workers)
                if options.keep:
                    options.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(directory / f"results-{count}.jsonl", options.keep)
                exact = result["records"] == result["distinct"] == count
                notes = [str(note) for note in result["notes"]]  # type: ignore[attr-defined]
                wall, cpu = float(str(result["wall"])), float(str(result["cpu"]))
                print(f"{count:>8} {wall:>8.1f} {count / wall:>10.1f} {cpu:>8.1f} "
                      f"{1000 * cpu / count:>14.1f} "
                      f"{float(str(result['rss_mib'])):>13.1f} {result['records']!s:>8}  "
                      f"{result['statuses']} {'each target once' if exact else 'MISMATCH'}; "
                      f"{'; '.join(notes) or 'no file-limit change'}")
        finally:
            server.send_signal(signal.SIGQUIT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
