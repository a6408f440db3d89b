"""Benchmark: fair scheduling on one address with hostile neighbours (issue: nightly sweeps).

One nginx with 200 TLS listeners on 127.0.0.1 (every 4th requires a client certificate), then
the same 200 next to 5 tarpits (accept, never answer) and 5 single-threaded slow servers (one
connection at a time, each relayed to nginx after a delay) on the same address. Both sweeps
run with the scanner's defaults (--concurrency 64, --per-address 64, --per-listener 4,
--timeout 10). What it shows: the healthy listeners' median ``duration_ms`` with the bad
neighbours stays within 2x of the sweep without them, no healthy target ends in error, and
the tarpits cost at most 2 connections each.

    python -m bench.fair_scheduling
    python -m bench.fair_scheduling --healthy 50 --probes client_auth,protocols

Not a test: timings depend on the machine. Prints one line per sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.nginx_lab import free_port, tls_server, wait_listening, write_config, write_pki

HOST = "127.0.0.1"


def nginx_config(directory: Path, pki: dict[str, Path], ports: list[int]) -> Path:
    """Every 4th listener requires a client certificate."""
    return write_config(directory, [
        tls_server([f"{HOST}:{port}"], pki, "required" if index % 4 == 0 else "none",
                   protocols="TLSv1.2 TLSv1.3")
        for index, port in enumerate(ports)])


class Listener:
    """A loopback listener served by one thread: ``tarpit`` holds every connection open and
    silent; ``slow`` serves one connection at a time, relayed to ``upstream`` after ``delay``."""

    def __init__(self, kind: str, *, upstream: int | None = None, delay: float = 1.0) -> None:
        self.kind = kind
        self.upstream = upstream
        self.delay = delay
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.stopping = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.kind == "tarpit":
                self.held.append(conn)
                continue
            with conn:
                time.sleep(self.delay)
                self._relay(conn)

    def _relay(self, conn: socket.socket) -> None:
        assert self.upstream is not None
        try:
            up = socket.create_connection((HOST, self.upstream), timeout=5)
        except OSError:
            return
        with up:
            pair = {conn: up, up: conn}
            while not self.stopping.is_set():
                readable, _, _ = select.select(list(pair), [], [], 0.5)
                for sock in readable:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    try:
                        pair[sock].sendall(data)
                    except OSError:
                        return

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        for conn in self.held:
            conn.close()


def sweep(targets: list[str], output: Path, probes: str) -> tuple[float, list[dict[str, object]]]:
    argv = [sys.executable, "-m", "scanner", "scan", *targets, "-o", str(output), "--quiet",
            "--allow-unreachable", "--probes", probes]
    started = time.perf_counter()
    subprocess.run(argv, check=False, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    with output.open() as handle:
        return wall, [json.loads(line) for line in handle]


def describe(label: str, wall: float, records: list[dict[str, object]],
             healthy: set[int]) -> float:
    good = [r for r in records if r["target"]["port"] in healthy]  # type: ignore[index]
    durations = [int(r["duration_ms"]) for r in good]  # type: ignore[call-overload]
    errors = Counter(r["error"]["kind"] for r in good if r["error"])  # type: ignore[index]
    median = statistics.median(durations)
    print(f"{label:28} wall {wall:7.1f}s  healthy: {len(good)} records, median duration_ms "
          f"{median:7.0f}, max {max(durations):6d}, errors {dict(errors) or 'none'}")
    return float(median)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", type=int, default=200)
    parser.add_argument("--tarpits", type=int, default=5)
    parser.add_argument("--slow", type=int, default=5)
    parser.add_argument("--slow-delay", type=float, default=1.0)
    parser.add_argument("--probes", default="client_auth,protocols,cipher_suites,certificate")
    options = parser.parse_args()
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("nginx is needed (apt-get install nginx-light)")
    unique: set[int] = set()
    while len(unique) < options.healthy:  # a port freed a moment ago may come back
        unique.add(free_port())
    ports = sorted(unique)
    with tempfile.TemporaryDirectory(prefix="mtlsweep-fair-") as tmp:
        directory = Path(tmp)
        config = nginx_config(directory, write_pki(directory), ports)
        server = subprocess.Popen([nginx, "-p", f"{directory}/", "-c", str(config),
                                   "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        bad = ([Listener("tarpit") for _ in range(options.tarpits)]
               + [Listener("slow", upstream=ports[1 + i % 3], delay=options.slow_delay)
                  for i in range(options.slow)])
        try:
            wait_listening(HOST, ports[-1], server)
            print(f"{options.healthy} nginx listeners on {HOST} (every 4th requires a client "
                  f"certificate), {options.tarpits} tarpits, {options.slow} single-threaded "
                  f"servers ({options.slow_delay:g} s per connection); probes {options.probes}; "
                  f"scanner defaults; {os.cpu_count()} CPUs")
            healthy = [f"{HOST}:{port}" for port in ports]
            wall, alone = sweep(healthy, directory / "alone.jsonl", options.probes)
            base = describe("healthy listeners alone", wall, alone, set(ports))
            mixed = healthy + [f"{HOST}:{listener.port}" for listener in bad]
            wall, together = sweep(mixed, directory / "mixed.jsonl", options.probes)
            median = describe("with the bad neighbours", wall, together, set(ports))
            for kind in ("tarpit", "slow"):
                mine = {listener.port for listener in bad if listener.kind == kind}
                rows = [r for r in together if r["target"]["port"] in mine]  # type: ignore[index]
                print(f"  {kind:8} records {len(rows)}: connections "
                      f"{[r['stats']['connections'] for r in rows]}, duration_ms "  # type: ignore[index]
                      f"{[r['duration_ms'] for r in rows]}, errors "
                      f"{[(r['error'] or {}).get('kind') for r in rows]}")  # type: ignore[attr-defined]
            print(f"ratio of medians: {median / base:.2f} (goal: within 2x)")
        finally:
            for listener in bad:
                listener.close()
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
