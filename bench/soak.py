"""Soak (issue: nightly sweeps): SIGKILL a sweep at random points and resume until it is done.

10,000 targets (by default) spread over good nginx listeners (client certificate required,
optional, none) and the hostile peers of the test suite (tarpit, drip, garbage, resets,
silence after ServerHello, oversized records, floods, lying lengths, plain HTTP, a closed
port), each listener under many SNI names. The sweep runs with ``--resume`` and is killed
with SIGKILL after a random 1-10 s, again and again, until a run finishes by itself. Then:
every target is in the file exactly once, no torn line is left, and the final exit code is
the documented one (0 with ``--allow-unreachable``, which also excuses partial targets).

    python -m bench.soak
    python -m bench.soak --targets 2000 --seed 7

Not a test (minutes long; it kills processes). Prints one line per run and a verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.nginx_lab import free_port, wait_listening, write_pki
from bench.sweep_10k import PORT_MODES, nginx_config
from tests.support import hostile as h
from tests.support.processes import TcpServer, http_400_handler, tarpit_handler, tcp_server

HOSTILE = {
    "tarpit": tarpit_handler, "http": http_400_handler, "drip": h.drip,
    "garbage": h.garbage, "rst after hello": h.rst_after_client_hello,
    "accept then close": h.accept_then_close, "hello then silence": h.server_hello_then_silence,
    "oversized record": h.oversized_record, "reset mid-handshake": h.reset_mid_handshake,
    "hello request flood": h.hello_request_flood, "lying CA list": h.lying_ca_list_length(),
    "huge certificate": h.huge_certificate(),
}


def write_inventory(path: Path, count: int, ports: list[int]) -> None:
    with path.open("w") as handle:
        handle.write("targets:\n")
        for index in range(count):
            port = ports[index % len(ports)]
            handle.write(f"  - {{host: 127.0.0.1, port: {port}, sni: s{index}.soak.test}}\n")


def check(output: Path, count: int) -> tuple[int, int, bool]:
    data = output.read_bytes()
    torn = bool(data) and not data.endswith(b"\n")
    keys: Counter[str] = Counter()
    lines = data.splitlines()
    for line in lines[:-1] if torn else lines:  # a torn last line is what resume repairs
        record = json.loads(line)
        keys[record["target"]["sni"]] += 1
    return len(keys), sum(keys.values()), torn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-kill-after", type=float, default=10.0)
    options = parser.parse_args()
    chance = random.Random(options.seed)
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("nginx is needed (apt-get install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="mtlsweep-soak-") as tmp, \
            contextlib.ExitStack() as stack:
        directory = Path(tmp)
        good = [free_port() for _ in PORT_MODES]
        config = nginx_config(directory, write_pki(directory), ["127.0.0.1"], good)
        server = subprocess.Popen([nginx, "-p", f"{directory}/", "-c", str(config),
                                   "-g", "daemon off;"], stderr=subprocess.DEVNULL)
        stack.callback(server.wait)
        stack.callback(server.terminate)
        wait_listening("127.0.0.1", good[-1], server)
        hostile: list[TcpServer] = [stack.enter_context(tcp_server(handler, name=name))
                                    for name, handler in HOSTILE.items()]
        ports = good * 3 + [s.port for s in hostile] + [free_port()]  # last: closed
        inventory, output = directory / "targets.yaml", directory / "results.jsonl"
        write_inventory(inventory, options.targets, ports)
        print(f"{options.targets} targets over {len(good)} nginx ports (x3), {len(hostile)} "
              f"hostile peers and a closed port; SIGKILL after 1-{options.max_kill_after:g} s")
        argv = [sys.executable, "-m", "scanner", "scan", str(inventory), "-o", str(output),
                "--resume", "--probes", "client_auth", "--timeout", "2", "--quiet",
                "--allow-unreachable", "--concurrency", "256"]
        kills = 0
        started = time.perf_counter()
        while True:
            process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            kill_after = chance.uniform(1.0, options.max_kill_after)
            try:
                _out, err = process.communicate(timeout=kill_after)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.communicate()
                kills += 1
                distinct, lines, torn = check(output, options.targets) if output.exists() \
                    else (0, 0, False)
                print(f"run {kills:3}: killed after {kill_after:4.1f}s; {distinct} targets "
                      f"recorded in {lines} lines; torn last line: {torn}")
                continue
            distinct, lines, torn = check(output, options.targets)
            print(f"final run: exit {process.returncode} after {kills} SIGKILLs, "
                  f"{time.perf_counter() - started:.0f}s in all; {distinct} targets in {lines} "
                  f"lines; torn: {torn}; stderr: {err.decode().strip()[:200]!r}")
            ok = (process.returncode == 0 and distinct == lines == options.targets
                  and not torn)
            print("verdict:", "every target exactly once, no torn line, exit 0" if ok
                  else "FAILED")
            break


if __name__ == "__main__":
    main()
