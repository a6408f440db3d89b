"""Benchmark: large estates (issue: nightly sweeps) - loading and sweeping 10k..1M targets.

Targets are closed ports on 127.0.0.0/8 addresses (connection refused: the scanner's own cost
is what is measured, and nothing leaves the machine), written as a plain ``host:port`` list
(``.txt``) and, up to the inventory size limit, as a YAML inventory. For each size it prints:
the peak RSS and time of loading the targets alone, then of the whole sweep (peak RSS of the
scanning process, records written, every target exactly once), and with ``--shards N`` that
the N shard outputs together hold every target exactly once.

    python -m bench.large_estate                       # 10k and 100k swept, 1M loaded
    python -m bench.large_estate --sizes 10000 --sweep-up-to 10000 --shards 4
    python -m bench.large_estate --sizes 10000 100000 --sweep yaml   # the inventory swept

Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from bench.nginx_lab import free_port


def address(index: int) -> str:
    return f"127.{1 + index // 62_500}.{(index // 250) % 250}.{1 + index % 250}"


def write_list(path: Path, count: int, port: int) -> None:
    with path.open("w") as handle:
        for index in range(count):
            handle.write(f"{address(index)}:{port}\n")


def write_yaml(path: Path, count: int, port: int) -> None:
    with path.open("w") as handle:
        handle.write(f"defaults:\n  port: {port}\ntargets:\n")
        for index in range(count):
            handle.write(f"  - host: {address(index)}\n")


def measure(argv: list[str], time_limit: float | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MiB), exit code and stderr of one child process (sent SIGTERM
    after ``time_limit`` seconds: a sweep stops cleanly and keeps what it wrote)."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    timer = None
    if time_limit is not None:
        timer = threading.Timer(time_limit, process.send_signal, (signal.SIGTERM,))
        timer.start()
    stderr = process.stderr.read().decode()
    _pid, status, usage = os.wait4(process.pid, 0)
    if timer is not None:
        timer.cancel()
    return (time.perf_counter() - started, usage.ru_maxrss / 1024,
            os.waitstatus_to_exitcode(status), stderr)


LOAD_ONLY = ("from scanner.cli.usage import collect_targets; import sys; "
             "targets, _ = collect_targets([sys.argv[1]]); print(len(targets))")


STREAM_ONLY = ("from scanner.config.inventory_stream import stream_inventory; "
               "from scanner.probes import PROBES; import sys; from pathlib import Path; "
               "print(sum(1 for _ in stream_inventory(Path(sys.argv[1]), known_probes=PROBES)))")


def stream(path: Path) -> str:
    """The YAML read entry by entry, as a sweep of an inventory over 16 MiB reads it."""
    wall, rss, code, stderr = measure([sys.executable, "-c", STREAM_ONLY, str(path)])
    if code != 0:
        return f"failed: {stderr.strip().splitlines()[-1][:120]}"
    return f"read entry by entry in {wall:6.1f}s, peak RSS {rss:6.0f} MiB"


def load(path: Path) -> str:
    wall, rss, code, stderr = measure([sys.executable, "-c", LOAD_ONLY, str(path)])
    if code != 0:
        return f"refused: {stderr.strip().splitlines()[-1][:120]}"
    return f"loaded in {wall:6.1f}s, peak RSS {rss:6.0f} MiB"


def count_records(*outputs: Path) -> tuple[int, int, Counter[str]]:
    keys: Counter[tuple[str, int]] = Counter()
    statuses: Counter[str] = Counter()
    for output in outputs:
        with output.open() as handle:
            for line in handle:
                record = json.loads(line)
                keys[(record["target"]["host"], record["target"]["port"])] += 1
                statuses[record["status"]] += 1
    return sum(keys.values()), len(keys), statuses


def sweep(targets: Path, output: Path, *extra: str, workers: int = 1,
          time_limit: float | None = None) -> tuple[float, float, bool]:
    """Wall seconds, peak RSS and whether the sweep finished (False: stopped at the limit).
    The plain list and the YAML inventory are streamed (run/streamed.py); with ``workers``
    above one each worker reads the file for its own addresses."""
    wall, rss, code, stderr = measure([
        sys.executable, "-m", "scanner", "scan", str(targets), "-o", str(output), "--quiet",
        "--allow-unreachable", "--probes", PROBES, "--concurrency", "512",
        "--timeout", "5", "--workers", str(workers), *extra], time_limit)
    if code == 128 + signal.SIGTERM or code == -signal.SIGTERM:
        return wall, rss, False
    if code != 0:
        raise SystemExit(f"sweep failed ({code}): {stderr[-500:]}")
    return wall, rss, True


PROBES = "client_auth"  # the cheapest: a closed port costs it 2 refused connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--sweep-up-to", type=int, default=100_000,
                        help="sweep only sizes up to this (larger ones are only loaded)")
    parser.add_argument("--shards", type=int, default=0, help="also check N shards cover all")
    parser.add_argument("--workers", type=int, default=1,
                        help="scanner processes (the file is streamed either way; more than one "
                        "split it by address)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="stop each sweep (SIGTERM) after this many seconds and report "
                        "what it wrote by then")
    parser.add_argument("--no-load", action="store_true", help="skip the load-only runs")
    parser.add_argument("--sweep", nargs="+", choices=("list", "yaml"), default=["list"],
                        help="which files to sweep: the plain list and/or the YAML inventory "
                        "(both streamed)")
    options = parser.parse_args()
    port = free_port()  # closed: nothing listens there
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; targets are closed ports")
    with tempfile.TemporaryDirectory(prefix="mtlsweep-estate-") as tmp:
        directory = Path(tmp)
        for size in options.sizes:
            plain, inventory = directory / f"{size}.txt", directory / f"{size}.yaml"
            write_list(plain, size, port)
            write_yaml(inventory, size, port)
            if not options.no_load:
                print(f"{size:>9} targets  list ({plain.stat().st_size / 1e6:5.1f} MB): "
                      f"{load(plain)}")
                print(f"{size:>9} targets  YAML ({inventory.stat().st_size / 1e6:5.1f} MB): "
                      f"{load(inventory)}", flush=True)
                print(f"{size:>9} targets  YAML ({inventory.stat().st_size / 1e6:5.1f} MB): "
                      f"{stream(inventory)}", flush=True)
            if size > options.sweep_up_to:
                continue
            for kind in options.sweep:
                source = plain if kind == "list" else inventory
                output = directory / f"{size}-{kind}.jsonl"
                wall, rss, finished = sweep(source, output, workers=options.workers,
                                            time_limit=options.time_limit)
                records, distinct, statuses = count_records(output)
                how = "swept in" if finished else "stopped after"
                print(f"{size:>9} targets  {kind:4} {how} {wall:7.1f}s ({records / wall:6.0f}/s),"
                      f" workers {options.workers}, probes {PROBES}, peak RSS {rss:6.0f} MiB, "
                      f"{records} records, {distinct} distinct, {dict(statuses)}", flush=True)
            if options.shards:
                outputs = []
                for index in range(1, options.shards + 1):
                    shard_output = directory / f"{size}-shard{index}.jsonl"
                    sweep(plain, shard_output, "--shard", f"{index}/{options.shards}",
                          workers=options.workers)
                    outputs.append(shard_output)
                records, distinct, _ = count_records(*outputs)
                print(f"{size:>9} targets  {options.shards} shards: {records} records, "
                      f"{distinct} distinct (every target once: {records == distinct == size})")


if __name__ == "__main__":
    main()
