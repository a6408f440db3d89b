"""Start-up: ``mtlsweep --help`` and a one-host scan, next to sslscan and ``openssl s_client``.

Starts one nginx TLS listener on 127.0.0.1 (nginx's default protocols and ciphers, no client
certificate asked) and runs each command several times, interleaved, under ``/usr/bin/time``;
prints the median wall time and client CPU of each. The rows:

- ``python -c pass``: the interpreter alone, the floor under every mtlsweep row;
- ``required libraries``: importing only the third-party modules a scan uses (typer, trio,
  pyOpenSSL, cryptography's x509, pydantic, PyYAML, h11), none of mtlsweep: the floor
  under a one-host scan on this stack, whatever mtlsweep's own modules cost;
- ``mtlsweep --help`` and ``mtlsweep scan --help``: building the command line;
- ``mtlsweep scan imports``: everything a scan loads, without connecting;
- ``mtlsweep scan`` of the one listener at the defaults (``--workers 1``: one address);
- ``sslscan`` of the same listener (its default scan) and ``sslscan --version``;
- ``openssl s_client``: one handshake, the least a TLS client can do.

The ``scanner`` package is byte-compiled first (``compileall``, into its git-ignored
``__pycache__``), as ``pip install`` does: with ``PYTHONDONTWRITEBYTECODE`` set (as on the
project's build machines) a source checkout otherwise compiles some 170 modules on every run,
0.1-0.15 s of CPU that no installed mtlsweep spends. ``--no-compile`` skips that step.

    python -m bench.startup                 # 5 rounds
    python -m bench.startup --rounds 9
    python -m bench.startup --baseline /tmp/base   # also the rows of another checkout
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.nginx_lab import tls_server, write_config, write_pki
from bench.peers import (
    checkout,
    compile_package,
    consecutive_free_ports,
    run_measured,
    stop,
    wait_listening,
)

# Ended as the command line ends (scanner.cli.process_exit): without the interpreter's
# teardown, which would otherwise count here as import time (0.1-0.2 s).
LIBRARY_IMPORTS = ("import typer, trio, OpenSSL.SSL, cryptography.x509, "
                   "cryptography.x509.verification, pydantic.main, yaml, h11, os; os._exit(0)")
SCAN_IMPORTS = ("import scanner.cli.app, scanner.cli.usage, scanner.probes.registry, "
                "scanner.run.sweep, scanner.run.workers, scanner.results.record, os; "
                "os._exit(0)")


def start_nginx(directory: Path) -> tuple[int, subprocess.Popen[bytes]]:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise SystemExit("nginx is needed (apt-get install nginx-light)")
    pki = write_pki(directory)
    port = consecutive_free_ports(1, 18600)
    config = write_config(directory, [tls_server([f"127.0.0.1:{port}"], pki)])
    server = subprocess.Popen([nginx, "-p", f"{directory}/", "-c", str(config),
                               "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    wait_listening(port, server)
    return port, server


def commands(port: int) -> dict[str, list[str]]:
    endpoint = f"127.0.0.1:{port}"
    mtlsweep = [sys.executable, "-m", "scanner"]
    rows = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "required libraries": [sys.executable, "-c", LIBRARY_IMPORTS],
        "mtlsweep --help": [*mtlsweep, "--help"],
        "mtlsweep scan --help": [*mtlsweep, "scan", "--help"],
        "mtlsweep scan imports": [sys.executable, "-c", SCAN_IMPORTS],
        "mtlsweep scan (one host)": [*mtlsweep, "scan", endpoint, "--quiet", "--workers", "1"],
    }
    if shutil.which("sslscan"):
        rows["sslscan --version"] = ["sslscan", "--version"]
        rows["sslscan (one host)"] = ["sslscan", "--no-colour", endpoint]
    if shutil.which("openssl"):
        rows["openssl s_client (one handshake)"] = [
            "sh", "-c", f"openssl s_client -connect {endpoint} </dev/null"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true",
                        help="do not byte-compile the scanner package first")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="another mtlsweep checkout: its mtlsweep rows run too, "
                        "interleaved, marked [baseline]")
    options = parser.parse_args()
    repository = Path(__file__).resolve().parent.parent
    trees = [repository, *([options.baseline] if options.baseline else [])]
    for tree in trees:
        checkout(tree)
        if not options.no_compile:
            compile_package(tree)
    with tempfile.TemporaryDirectory(prefix="mtlsweep-startup-") as tmp:
        port, server = start_nginx(Path(tmp))
        try:
            print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}: "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
                  f"one nginx listener on 127.0.0.1; medians of {options.rounds} "
                  "interleaved rounds; scanner "
                  f"{'from source' if options.no_compile else 'byte-compiled'}")
            # ``python -m scanner`` (and ``import scanner``) take the working directory's
            rows = {name: (argv, repository) for name, argv in commands(port).items()}
            if options.baseline:
                rows.update({f"{name} [baseline]": (argv, options.baseline)
                             for name, (argv, _tree) in list(rows.items())
                             if name.startswith("mtlsweep")})
            walls: dict[str, list[float]] = {name: [] for name in rows}
            cpus: dict[str, list[float]] = {name: [] for name in rows}
            for _round in range(options.rounds):
                for name, (argv, tree) in rows.items():
                    wall, cpu, _rss = run_measured([argv], cwd=tree)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
        finally:
            stop([server])
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print("| command | wall | client CPU |")
    print("| --- | --- | --- |")
    for name in rows:
        print(f"| {name} | {statistics.median(walls[name]):.2f} s "
              f"| {statistics.median(cpus[name]):.2f} s |")


if __name__ == "__main__":
    main()
