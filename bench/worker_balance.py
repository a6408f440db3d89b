"""Do the workers of a ``--workers 2`` sweep finish together when the work is uneven?

An estate of unequal addresses on loopback, the common shape of one large load balancer
next to small hosts: one nginx answering on 8 addresses (127.0.6.1-8), the first on 60 ports,
the others on 10 each, 130 listeners in all, listed in a shuffled order (no server names: the
vhosts probe stays out of it). Each round sweeps it with this checkout and, with
``--baseline CHECKOUT``, with another one (interleaved), both at the defaults plus
``--workers 2``, and prints the wall time and client CPU of each sweep.

An address is scanned by one worker (the per-address bound holds across them). Workers that
split the sweep up front by number of addresses leave one worker with the large address and
half the small ones, scanning alone long after the other is done; workers that take
addresses as they go end together.

    python -m bench.worker_balance --baseline /tmp/base     # git worktree add /tmp/base REV
    python -m bench.worker_balance --rounds 5

Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.nginx_lab import tls_server, wait_listening, write_config, write_pki
from bench.peers import checkout, compile_package, consecutive_free_ports, run_measured

ADDRESSES = [f"127.0.6.{n}" for n in range(1, 9)]


def ports_at(address: str) -> int:
    """The first address has many listeners, the others fewer."""
    return 60 if address == ADDRESSES[0] else 10


def inventory(path: Path, port: int) -> int:
    rows = [f"  - {{host: {address}, port: {port + i}}}\n"
            for address in ADDRESSES for i in range(ports_at(address))]
    random.Random(7).shuffle(rows)
    path.write_text("targets:\n" + "".join(rows))
    return len(rows)


def sweep(tree: Path, targets: Path, output: Path) -> tuple[float, float, int]:
    """Wall time, client CPU and the number of ``ok`` records of one sweep."""
    output.unlink(missing_ok=True)
    wall, cpu, _rss = run_measured([[sys.executable, "-m", "scanner", "scan", str(targets),
                                     "-o", str(output), "--quiet", "--workers", "2"]], cwd=tree)
    ok = sum(json.loads(line)["status"] == "ok" for line in output.read_text().splitlines())
    return wall, cpu, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="another checkout to run next to this one (its scanner/ package, "
                        "this Python environment)")
    options = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    trees = {"this checkout": here}
    if options.baseline is not None:
        trees["baseline"] = checkout(options.baseline)
    for tree in trees.values():
        compile_package(tree)
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("nginx is needed (apt-get install nginx-light)")
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        port = consecutive_free_ports(ports_at(ADDRESSES[0]), 18400)
        config = write_config(directory, [tls_server(
            [f"{address}:{port + i}" for address in ADDRESSES
             for i in range(ports_at(address))], write_pki(directory))])
        server = subprocess.Popen([nginx, "-p", f"{directory}/", "-c", str(config),
                                   "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        try:
            wait_listening(ADDRESSES[-1], port, server)
            count = inventory(directory / "targets.yaml", port)
            print(f"{count} listeners on {len(ADDRESSES)} addresses ({ports_at(ADDRESSES[0])} "
                  f"on the first, {ports_at(ADDRESSES[1])} on each other); --workers 2")
            runs: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
            for round_number in range(1, options.rounds + 1):
                for label, tree in trees.items():
                    wall, cpu, ok = sweep(tree, directory / "targets.yaml",
                                          directory / "out.jsonl")
                    runs[label].append((wall, cpu))
                    print(f"round {round_number} {label:14} wall {wall:5.1f} s  client CPU "
                          f"{cpu:5.1f} s  ok records {ok}/{count}")
            for label, values in runs.items():
                print(f"median {label:14} wall {statistics.median(w for w, _ in values):5.1f} s"
                      f"  client CPU {statistics.median(c for _, c in values):5.1f} s")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
