"""mtlsweep next to its peers on one 200-listener nginx, measured side by side.

Starts one nginx (one process, so its CPU is one number) with 200 TLS listeners on 127.0.0.1
(nginx's default protocols and ciphers, every 4th listener requiring a client certificate)
and a ``stub_status`` page that counts the connections it accepted; optionally a TCP proxy
that adds 50 ms of round-trip time in front of every listener (``bench.delay_proxy``). Then
runs each tool at its default settings over all 200 listeners, interleaved (round 1 of every
tool, then round 2...), and prints per tool: wall time, client CPU, server CPU, connections
(counted by nginx), peak RSS, and how many listeners got complete facts (what "complete"
means per tool is in ``_complete_*``); then the median of each and the ratios to mtlsweep.
Separately, client CPU per full handshake: mtlsweep's engine against ``openssl s_time``.

Tools: mtlsweep (this checkout, ``python -m scanner``); sslyze from a virtualenv given with
``--sslyze`` (never the project's own: ``python3 -m venv /tmp/sslyze && /tmp/sslyze/bin/pip
install sslyze``); nmap, sslscan and openssl from Debian. A missing tool is skipped.

    python -m bench.peers                           # direct, 3 rounds, every tool found
    python -m bench.peers --delay --rounds 1 --tools mtlsweep,nmap
    python -m bench.peers --rounds 2 --tools mtlsweep-w1,mtlsweep,nmap   # --workers 1 vs default
    git worktree add /tmp/base main && python -m bench.peers --baseline /tmp/base --tools \
        baseline,mtlsweep,nmap                       # a change next to the code before it

Every ``scanner`` package run is byte-compiled first, as an install is (see bench.startup).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import nginx_lab
from bench.nginx_lab import status_server, tls_server, write_config, write_pki

LISTENERS = 200
MTLS_EVERY = 4  # every 4th listener requires a client certificate
SSLSCAN_PARALLEL = 8
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Measured:
    wall: float
    client_cpu: float
    server_cpu: float
    connections: int
    peak_rss_mib: float
    complete: int


@dataclass
class Lab:
    directory: Path
    ports: list[int]  # what the tools connect to (the proxy's ports with --delay)
    status_port: int
    nginx_pid: int

    def accepted(self) -> int:
        """nginx's count of accepted connections (this request included)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/status",
                                    timeout=10) as answer:
            text = answer.read().decode()
        match = re.search(r"\n\s*(\d+)\s+\d+\s+\d+", text)
        assert match, text
        return int(match.group(1))

    def server_cpu(self) -> float:
        fields = Path(f"/proc/{self.nginx_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def consecutive_free_ports(count: int, start: int) -> int:
    """The first port from ``start`` on with ``count`` free ports after it."""
    base = start
    while base + count < 65000:
        for port in range(base, base + count):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    base = port + 1
                    break
        else:
            return base
    raise SystemExit("no range of free ports")


def nginx_config(directory: Path, pki: dict[str, Path], base: int, status_port: int) -> Path:
    """nginx's default protocols and ciphers; every MTLS_EVERY-th listener requires a client
    certificate; ``stub_status`` on ``status_port`` counts the connections."""
    return write_config(directory, [status_server(status_port)] + [
        tls_server([f"127.0.0.1:{base + offset}"], pki,
                   "required" if offset % MTLS_EVERY == MTLS_EVERY - 1 else "none")
        for offset in range(LISTENERS)])


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    nginx_lab.wait_listening("127.0.0.1", port, process)


def run_measured(argvs: Sequence[list[str]], parallel: int = 1,
                 cwd: Path | None = None) -> tuple[float, float, float]:
    """Wall, CPU (user + system, all processes) and the largest peak RSS of ``argvs``.

    Each command runs under ``/usr/bin/time``: a child forked from this (large) process
    would otherwise report this process's size as its own peak.
    """
    started = time.perf_counter()

    def one(argv: list[str]) -> tuple[float, float]:
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
            process = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       cwd=cwd)
            _pid, _status, rusage = os.wait4(process.pid, 0)
            process.returncode = 0
            peak_kib = int(rss.read().split()[-1])
        return rusage.ru_utime + rusage.ru_stime, peak_kib / 1024

    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        usage = list(pool.map(one, argvs))
    return (time.perf_counter() - started, sum(cpu for cpu, _ in usage),
            max(rss for _, rss in usage))


# --- the tools: how each is run, and what counts as complete facts ------------------------

def tool_mtlsweep(lab: Lab, out: Path, *extra: str
                  ) -> tuple[list[list[str]], int, Callable[[], int]]:
    inventory = out / "targets.yaml"
    inventory.write_text("targets:\n" + "".join(
        f"  - {{host: 127.0.0.1, port: {port}, sni: localhost}}\n" for port in lab.ports))
    results = out / "mtlsweep.jsonl"
    results.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "scanner", "scan", str(inventory), "-o", str(results), "-q",
            "--allow-unreachable", *extra]

    def complete() -> int:
        records = [json.loads(line) for line in results.read_text().splitlines()]
        return sum(r["status"] == "ok" and bool(r.get("protocols"))
                   and bool(r.get("cipher_suites")) and bool(r.get("certificate"))
                   and bool(r.get("client_auth")) for r in records)

    return [argv], 1, complete


def tool_mtlsweep_one_worker(lab: Lab, out: Path
                             ) -> tuple[list[list[str]], int, Callable[[], int]]:
    """mtlsweep in one process (``--workers 1``): how a sweep of one address ran before
    --workers split an address by listener; the reference for the default's second core."""
    return tool_mtlsweep(lab, out, "--workers", "1")


def tool_sslyze(sslyze: Path) -> Callable[[Lab, Path], tuple[list[list[str]], int,
                                                                Callable[[], int]]]:
    def tool(lab: Lab, out: Path) -> tuple[list[list[str]], int, Callable[[], int]]:
        results = out / "sslyze.json"
        results.unlink(missing_ok=True)
        argv = [str(sslyze), f"--json_out={results}", "--quiet",
                *(f"127.0.0.1:{port}" for port in lab.ports)]

        def complete() -> int:
            if not results.exists():
                return 0
            document = json.loads(results.read_text())
            done = 0
            for server in document.get("server_scan_results", []):
                commands = (server.get("scan_result") or {}).values()
                done += (server.get("scan_status") == "COMPLETED" and all(
                    command.get("status") in ("COMPLETED", "NOT_SCHEDULED")
                    for command in commands if isinstance(command, dict)))
            return done

        return [argv], 1, complete
    return tool


def tool_nmap(lab: Lab, out: Path) -> tuple[list[list[str]], int, Callable[[], int]]:
    results = out / "nmap.xml"
    results.unlink(missing_ok=True)
    ports = ",".join(map(str, lab.ports))
    argv = ["nmap", "-T4", "-Pn", "-n", "-p", ports, "--script", "ssl-enum-ciphers,ssl-cert",
            "-oX", str(results), "127.0.0.1"]

    def complete() -> int:
        if not results.exists():
            return 0
        root = ET.parse(results).getroot()
        return sum({"ssl-enum-ciphers", "ssl-cert"} <= {s.get("id") for s in port.iter("script")}
                   for port in root.iter("port"))

    return [argv], 1, complete


def tool_sslscan(lab: Lab, out: Path) -> tuple[list[list[str]], int, Callable[[], int]]:
    files = [out / f"sslscan-{port}.xml" for port in lab.ports]
    for path in files:
        path.unlink(missing_ok=True)
    argvs = [["sslscan", "--no-colour", f"--xml={path}", f"127.0.0.1:{port}"]
             for port, path in zip(lab.ports, files, strict=True)]

    def complete() -> int:
        done = 0
        for path in files:
            try:
                root = ET.parse(path).getroot()
            except (OSError, ET.ParseError):
                continue
            done += any(True for _ in root.iter("cipher")) and any(
                True for _ in root.iter("certificate"))
        return done

    return argvs, SSLSCAN_PARALLEL, complete


Tool = Callable[[Lab, Path], tuple[list[list[str]], int, Callable[[], int]]]


def measure(tool: Tool, lab: Lab, out: Path, cwd: Path) -> Measured:
    out.mkdir(exist_ok=True)
    argvs, parallel, complete = tool(lab, out)
    before, server_before = lab.accepted(), lab.server_cpu()
    wall, cpu, rss = run_measured(argvs, parallel, cwd=cwd)
    connections = lab.accepted() - before - 1  # less the status request itself
    return Measured(wall, cpu, lab.server_cpu() - server_before, connections, rss, complete())


def checkout(tree: Path) -> Path:
    """``tree`` if it is an mtlsweep checkout (``python -m scanner`` run there imports its
    package); else the benchmark exits saying so."""
    if not (tree / "scanner" / "__init__.py").is_file():
        raise SystemExit(f"{tree}: not an mtlsweep checkout (no scanner/ package)")
    return tree.resolve()


def compile_package(tree: Path) -> None:
    """Byte-compile ``tree``'s scanner package as an install would (into its git-ignored
    ``__pycache__``), so runs measure the scan, not the compiler: under
    PYTHONDONTWRITEBYTECODE a missing ``.pyc`` is compiled again on every run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "scanner")],
                   check=True, stdout=subprocess.DEVNULL)


# --- CPU per full handshake -------------------------------------------------------------

def s_time_cpu_per_handshake(port: int, seconds: int = 5) -> float:
    """Client CPU seconds per full handshake of ``openssl s_time -new``."""
    argv = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    text = process.stdout.read().decode()
    _pid, _status, rusage = os.wait4(process.pid, 0)
    match = re.search(r"(\d+) connections in [\d.]+s", text)
    assert match, text
    return (rusage.ru_utime + rusage.ru_stime) / int(match.group(1))


def _engine_session(port: int) -> str:
    """The start of a script that times mtlsweep's engine: its imports and a ``main`` whose
    first line opens one ``session`` to ``port``, one connection at a time."""
    return f"""
import socket, time, trio
from scanner.engine.connect import Address
from scanner.engine.contexts import ContextFactory
from scanner.engine.raw import RawOffer
from scanner.engine.session import ConnectionLimits, EndpointSession
async def main():
    session = EndpointSession(Address(socket.AF_INET, "127.0.0.1", {port}), "localhost",
                              contexts=ContextFactory(), limits=ConnectionLimits(1, 1),
                              timeout=10)"""


def mtlsweep_cpu_per_handshake(port: int, count: int = 300) -> float:
    """Client CPU seconds per full handshake of mtlsweep's engine (what a probe pays)."""
    code = _engine_session(port) + f"""
    offer = session.offer()
    await session.handshake(offer)  # contexts built, caches warm
    started = time.process_time()
    for _ in range({count}):
        assert (await session.handshake(offer)).completed
    print(time.process_time() - started)
trio.run(main)
"""
    (seconds,) = _engine_timings(code)
    return seconds / count


def cpu_per_raw_hello(port: int, count: int = 1000) -> tuple[float, float]:
    """Client CPU seconds per raw TLS 1.2 ClientHello answered up to ServerHelloDone: through
    mtlsweep's engine (what an enumeration pays), and through a blocking socket that only
    connects, sends the same bytes, reads and closes (the kernel's share: the floor)."""
    code = _engine_session(port) + f"""
    payload, keys = RawOffer(0x0303, (0xC02F, 0xC030, 0xC02B, 0xC02C, 0x9E, 0x9F),
                             sni="localhost").encode_keyed()
    assert (await session.raw_exchange(payload, decryption=keys)).hello
    started = time.process_time()
    for _ in range({count}):
        await session.raw_exchange(payload, decryption=keys)
    engine = time.process_time() - started
    started = time.process_time()
    for _ in range({count}):
        with socket.create_connection(("127.0.0.1", {port}), timeout=10) as sock:
            sock.sendall(payload)
            answer = b""
            while not answer.endswith(bytes((14, 0, 0, 0))):  # ServerHelloDone
                chunk = sock.recv(65536)
                assert chunk, "closed before ServerHelloDone"
                answer += chunk
    print(engine, time.process_time() - started)
trio.run(main)
"""
    engine, bare = _engine_timings(code)
    return engine / count, bare / count


def _engine_timings(code: str) -> list[float]:
    """Run a timing script from ``_engine_session`` in this checkout; the numbers it printed
    last."""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parent.parent)
    return [float(word) for word in output.stdout.splitlines()[-1].split()]


def connection_mix(records: Path) -> tuple[int, int]:
    """(full handshakes, raw hellos) over the records of one mtlsweep run, from their
    ``stats``."""
    full = raw = 0
    for line in records.read_text().splitlines():
        stats = json.loads(line).get("stats") or {}
        raw += stats.get("raw_connections", 0)
        full += stats.get("connections", 0) - stats.get("raw_connections", 0)
    return full, raw


# --- the run ------------------------------------------------------------------------------

def start_lab(directory: Path, delay: bool) -> tuple[Lab, list[subprocess.Popen[bytes]]]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("nginx is needed (apt-get install nginx-light)")
    base = consecutive_free_ports(LISTENERS, 18700)
    status_port = consecutive_free_ports(1, base + LISTENERS)
    config = nginx_config(directory, write_pki(directory), base, status_port)
    server = subprocess.Popen([nginx, "-p", f"{directory}/", "-c", str(config),
                               "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    processes = [server]
    wait_listening(base + LISTENERS - 1, server)
    ports = list(range(base, base + LISTENERS))
    if delay:
        listen = consecutive_free_ports(LISTENERS, status_port + 1)
        proxy = subprocess.Popen([sys.executable, "-m", "bench.delay_proxy", "--listen",
                                  str(listen), "--upstream", str(base), "--count",
                                  str(LISTENERS), "--delay", "0.025"],
                                 cwd=Path(__file__).resolve().parent.parent)
        processes.append(proxy)
        wait_listening(listen + LISTENERS - 1, proxy)
        ports = list(range(listen, listen + LISTENERS))
    return Lab(directory, ports, status_port, server.pid), processes


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", action="store_true",
                        help="put a proxy adding 50 ms of round-trip time before nginx")
    parser.add_argument("--tools", default="mtlsweep,sslyze,nmap,sslscan",
                        help="comma-separated, in the order each round runs them")
    parser.add_argument("--sslyze", type=Path, default=Path("/tmp/sslyze/bin/sslyze"),
                        help="the sslyze command of a separate virtualenv")
    parser.add_argument("--no-handshake-cpu", action="store_true",
                        help="skip the CPU-per-handshake comparison with openssl s_time")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="another mtlsweep checkout, run (at its defaults, with this "
                        "environment) as the tool 'baseline': a change measured next to the "
                        "code before it, in the same run")
    options = parser.parse_args()
    repository = Path(__file__).resolve().parent.parent
    tools: dict[str, Tool] = {"mtlsweep": tool_mtlsweep,
                              "mtlsweep-w1": tool_mtlsweep_one_worker, "nmap": tool_nmap,
                              "sslscan": tool_sslscan, "sslyze": tool_sslyze(options.sslyze),
                              "baseline": tool_mtlsweep}
    # ``python -m scanner`` imports the package of its working directory.
    trees = {"baseline": options.baseline} if options.baseline else {}
    if "baseline" in options.tools.split(",") and not options.baseline:
        raise SystemExit("the tool 'baseline' needs --baseline CHECKOUT")
    for tree in (repository, *trees.values()):
        compile_package(checkout(tree))
    chosen = []
    for name in options.tools.split(","):
        found = options.sslyze.exists() if name == "sslyze" else (
            name.startswith("mtlsweep") or name == "baseline" or shutil.which(name) is not None)
        if name not in tools:
            raise SystemExit(f"unknown tool {name!r}; choose from {', '.join(tools)}")
        if found:
            chosen.append(name)
        else:
            print(f"skipping {name}: not installed")
    with tempfile.TemporaryDirectory(prefix="mtlsweep-peers-") as tmp:
        directory = Path(tmp)
        lab, processes = start_lab(directory, options.delay)
        try:
            print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}: "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
                  f"{LISTENERS} nginx listeners on 127.0.0.1, every {MTLS_EVERY}th requiring "
                  f"a client certificate; {'50 ms RTT proxy' if options.delay else 'direct'}")
            results: dict[str, list[Measured]] = {name: [] for name in chosen}
            for round_number in range(1, options.rounds + 1):
                for name in chosen:
                    measured = measure(tools[name], lab, directory / name,
                                       trees.get(name, repository))
                    results[name].append(measured)
                    print(f"round {round_number} {name:9} wall {measured.wall:7.1f} s  "
                          f"client CPU {measured.client_cpu:6.1f} s  server CPU "
                          f"{measured.server_cpu:6.1f} s  connections {measured.connections:7d}"
                          f"  peak RSS {measured.peak_rss_mib:6.0f} MiB  complete "
                          f"{measured.complete}/{LISTENERS}", flush=True)
            medians = print_table(results, options.rounds)
            if not options.no_handshake_cpu and not options.delay:
                records = directory / "mtlsweep" / "mtlsweep.jsonl"
                print_handshake_cpu(lab, medians, records if records.exists() else None)
            print(f"load average {os.getloadavg()[0]:.2f} at the end")
        finally:
            stop(processes)


def print_table(results: dict[str, list[Measured]], rounds: int) -> dict[str, Measured]:
    print(f"\nmedians of {rounds} interleaved round(s):")
    print("| tool | wall s | client CPU s | server CPU s | connections | per target "
          "| peak RSS MiB | complete facts | wall vs mtlsweep |")
    print("|---|---|---|---|---|---|---|---|---|")
    medians = {name: Measured(*(statistics.median(getattr(m, f) for m in runs)
                                for f in Measured.__dataclass_fields__))
               for name, runs in results.items() if runs}
    reference = medians.get("mtlsweep")
    for name, m in medians.items():
        ratio = f"{m.wall / reference.wall:.2f}x" if reference else "-"
        print(f"| {name} | {m.wall:.1f} | {m.client_cpu:.1f} | {m.server_cpu:.1f} | "
              f"{m.connections:.0f} | {m.connections / LISTENERS:.1f} | {m.peak_rss_mib:.0f} | "
              f"{m.complete:.0f}/{LISTENERS} | {ratio} |")
    return medians


def print_handshake_cpu(lab: Lab, medians: dict[str, Measured],
                        records: Path | None) -> None:
    """CPU per connection of each kind, mtlsweep's engine next to its floor; then, with a
    mtlsweep run's records, how much of its client CPU per listener those floors explain
    (the part no Python overhead can remove while the connections stay)."""
    port = lab.ports[0]  # no client certificate required
    s_time = s_time_cpu_per_handshake(port)
    ours = mtlsweep_cpu_per_handshake(port)
    raw_engine, raw_bare = cpu_per_raw_hello(port)
    print(f"\nclient CPU per full handshake (127.0.0.1:{port}): openssl s_time "
          f"{1000 * s_time:.2f} ms, mtlsweep engine {1000 * ours:.2f} ms "
          f"({ours / s_time:.2f}x)")
    print(f"client CPU per raw ClientHello: bare blocking socket {1000 * raw_bare:.2f} ms, "
          f"mtlsweep engine {1000 * raw_engine:.2f} ms ({raw_engine / raw_bare:.2f}x)")
    measured = medians.get("mtlsweep")
    if records is None or measured is None:
        return
    full, raw = connection_mix(records)
    floor = (full * s_time + raw * raw_bare) / LISTENERS
    at_engine = (full * ours + raw * raw_engine) / LISTENERS
    line = (f"client CPU per listener: mtlsweep {1000 * measured.client_cpu / LISTENERS:.1f} "
            f"ms for {full / LISTENERS:.1f} OpenSSL handshakes and {raw / LISTENERS:.1f} raw "
            f"hellos, which cost {1000 * at_engine:.1f} ms through the engine and "
            f"{1000 * floor:.1f} ms at the floors (s_time, bare socket)")
    nmap = medians.get("nmap")
    if nmap is not None:
        line += f"; nmap {1000 * nmap.client_cpu / LISTENERS:.1f} ms"
    print(line)


if __name__ == "__main__":
    main()
