#!/usr/bin/env python3
"""How fast and how gentle is mtlsweep's enumeration? Measured against references, in one run.

    python -m bench.enumeration                # from the repository root
    python -m bench.enumeration --endpoints 50 --no-sslyze

Starts its own servers on 127.0.0.1 (nothing else is contacted, except PyPI to install
sslyze into a throwaway venv under /tmp when it is reachable):

* one nginx listener imitating an AWS ALB with ``ELBSecurityPolicy-TLS13-1-0-2021-06``-like
  settings (TLS 1.0-1.3, an RSA certificate, the 2016-08 cipher list);
* one nginx listening on N ports (default 200) with the same settings.

and prints two tables:

1. a full scan of the one host: mtlsweep's default probes, mtlsweep's enumeration probes
   only, sslyze's default scan and sslyze's enumeration commands (versions, suites,
   curves) -- wall time, CPU time and TCP connections (counted by a forwarding proxy in
   front of nginx, the same for every tool), with ratios to mtlsweep;
2. throughput: ``openssl s_time -new`` (C, one full handshake after another) as the
   reference, then mtlsweep sweeping the N endpoints with full handshakes only
   (client_auth probe, which also waits >= 0.25 s after each handshake for a late alert),
   with raw ClientHellos only (enumeration probes), and with every default probe --
   connections per second and CPU milliseconds per connection, with ratios to s_time.

Needs nginx and openssl on the PATH (as the test suite does). Numbers depend on the machine
and its load; compare ratios, and run it twice.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from scanner.config.targets import Target
from scanner.probes import DEFAULT_PROBES
from scanner.results import Record
from scanner.run.sweep import SweepOptions, sweep
from tests.support.sinks import RecordList

LOOPBACK = "127.0.0.1"
SSLYZE_VENV = Path(tempfile.gettempdir()) / "mtlsweep-bench-sslyze"
ENUMERATION_PROBES = ("protocols", "cipher_suites", "groups")

# ELBSecurityPolicy-2016-08 (TLS 1.2 and below) from shared/reference/tls-policies/aws-elb.yaml;
# with an RSA certificate only the RSA and ECDHE-RSA suites can be negotiated, as on an ALB.
ALB_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-SHA384:"
    "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA:ECDHE-ECDSA-AES256-SHA:AES128-GCM-SHA256:"
    "AES128-SHA256:AES128-SHA:AES256-GCM-SHA384:AES256-SHA256:AES256-SHA:@SECLEVEL=0"
)

NGINX_CONF = """\
{user}master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/cb; proxy_temp_path {dir}/p; fastcgi_temp_path {dir}/f;
    uwsgi_temp_path {dir}/u; scgi_temp_path {dir}/s;
    server {{
{listen}
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
        ssl_ciphers "{ciphers}";
        ssl_prefer_server_ciphers on;
        ssl_ecdh_curve X25519:prime256v1:secp384r1;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


# --- servers --------------------------------------------------------------------------


def write_certificate(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((LOOPBACK, 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_listening(ports: Sequence[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                socket.create_connection((LOOPBACK, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx is not listening on {port}") from None
                time.sleep(0.02)


@contextlib.contextmanager
def nginx(directory: Path, ports: Sequence[int], cert: Path, key: Path,
          workers: int) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    listen = "\n".join(f"        listen {LOOPBACK}:{port} ssl;" for port in ports)
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        user="user root;\n" if os.geteuid() == 0 else "", workers=workers, dir=directory,
        listen=listen, cert=cert, key=key, ciphers=ALB_CIPHERS))
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([exe, "-p", f"{directory}/", "-c", str(conf), "-e",
                                f"{directory}/error.log", "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        wait_listening(ports)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # nginx master and its workers
        process.wait(timeout=10)


class CountingProxy:
    """Forwards 127.0.0.1:port to the server and counts the TCP connections made."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(1024)
        self.port = int(self.listener.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((LOOPBACK, self.target_port))
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                source.close()


# --- measurements ---------------------------------------------------------------------


@dataclass
class Run:
    label: str
    wall_s: float
    cpu_s: float
    connections: int
    note: str = ""


def mtlsweep(ports: Sequence[int], probes: Sequence[str], *, concurrency: int = 64,
             per_address: int = 4) -> tuple[float, float, list[Record]]:
    targets = [Target(host=LOOPBACK, port=port, sni="localhost") for port in ports]
    options = SweepOptions(probes=tuple(probes), concurrency=concurrency,
                           per_address=per_address, timeout=10.0)
    sink = RecordList()
    wall, cpu = time.perf_counter(), time.process_time()
    trio.run(sweep, targets, options, sink)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    bad = [r for r in sink.records if r.status != "ok"]
    if bad:
        raise RuntimeError(f"{len(bad)} target(s) not scanned cleanly: {bad[0].error} "
                           f"{bad[0].probe_errors}")
    return wall, cpu, sink.records


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def install_sslyze() -> tuple[Path | None, str]:
    exe = SSLYZE_VENV / "bin" / "sslyze"
    if exe.exists():
        return exe, "already installed"
    subprocess.run([sys.executable, "-m", "venv", str(SSLYZE_VENV)], check=True,
                   capture_output=True)
    result = subprocess.run([str(SSLYZE_VENV / "bin" / "pip"), "install", "-q", "sslyze"],
                            capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0 or not exe.exists():
        reason = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        return None, f"could not pip-install sslyze: {reason}"
    return exe, "installed from PyPI"


def sslyze_version(exe: Path) -> str:
    result = subprocess.run([str(SSLYZE_VENV / "bin" / "pip"), "show", "sslyze"],
                            capture_output=True, text=True, check=False)
    match = re.search(r"^Version: (\S+)", result.stdout, re.M)
    return match.group(1) if match else "?"


def run_sslyze(exe: Path, proxy: CountingProxy, args: Sequence[str], label: str,
               workdir: Path) -> Run:
    out = workdir / f"sslyze-{len(args)}.json"
    before_connections, before_cpu = proxy.connections, children_cpu()
    wall = time.perf_counter()
    result = subprocess.run([str(exe), "--quiet", "--json_out", str(out), *args,
                             f"localhost:{proxy.port}{{{LOOPBACK}}}"],
                            capture_output=True, text=True, timeout=900, check=False)
    wall = time.perf_counter() - wall
    note = ""
    try:
        document = json.loads(out.read_text())
        status = document["server_scan_results"][0]["scan_status"]
        if status != "COMPLETED":
            note = f"scan status {status}"
    except (OSError, ValueError, KeyError, IndexError):
        note = f"no JSON result (exit {result.returncode}): {result.stderr.strip()[-200:]}"
    return Run(label, wall, children_cpu() - before_cpu, proxy.connections - before_connections,
               note)


def s_time(port: int, seconds: int) -> tuple[float, float, int]:
    """(handshakes per wall second, CPU seconds per handshake, handshakes) of s_time -new."""
    exe = shutil.which("openssl") or "openssl"
    wall = time.perf_counter()
    result = subprocess.run([exe, "s_time", "-connect", f"{LOOPBACK}:{port}", "-new",
                             "-time", str(seconds)], capture_output=True, text=True,
                            timeout=seconds + 60, check=False)
    wall = time.perf_counter() - wall
    match = re.search(r"(\d+) connections in ([\d.]+)s;", result.stdout)
    if not match:
        raise RuntimeError(f"cannot read openssl s_time output:\n{result.stdout}{result.stderr}")
    count, cpu = int(match.group(1)), float(match.group(2))
    return count / wall, cpu / max(count, 1), count


# --- report ---------------------------------------------------------------------------


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows,
                                                                       strict=True)]
    line = "  ".join("-" * width for width in widths)
    out = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    for row in rows:
        out.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=200,
                        help="ports the throughput nginx listens on (default 200)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each mtlsweep one-host scan (median reported)")
    parser.add_argument("--s-time-seconds", type=int, default=5)
    parser.add_argument("--no-sslyze", action="store_true", help="skip the sslyze runs")
    args = parser.parse_args()
    for tool in ("nginx", "openssl"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            sys.exit(f"bench: {tool} is required on the PATH")

    with tempfile.TemporaryDirectory(prefix="mtlsweep-bench-") as tmp:
        workdir = Path(tmp)
        cert, key = write_certificate(workdir)
        one_port = free_ports(1)[0]
        print(f"mtlsweep enumeration benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        print(f"one host: nginx on 127.0.0.1:{one_port}, TLS 1.0-1.3, RSA certificate, "
              "ELBSecurityPolicy-2016-08 cipher list, server order\n")

        with nginx(workdir / "one", [one_port], cert, key, workers=1), \
                CountingProxy(one_port) as proxy:
            runs: list[Run] = []
            for label, probes in (("mtlsweep, default probes", DEFAULT_PROBES),
                                  ("mtlsweep, enumeration probes only", ENUMERATION_PROBES)):
                samples = []
                for _ in range(args.repeat):
                    before = proxy.connections
                    wall, cpu, records = mtlsweep([proxy.port], probes)
                    samples.append(Run(label, wall, cpu, proxy.connections - before))
                median = sorted(samples, key=lambda r: r.wall_s)[len(samples) // 2]
                stats = records[0].stats
                median.note = (f"record.stats: {stats.connections} connections "
                               f"({stats.raw_connections} raw)")
                runs.append(median)
            sslyze_note = "skipped (--no-sslyze)"
            if not args.no_sslyze:
                exe, sslyze_note = install_sslyze()
                if exe is not None:
                    version = sslyze_version(exe)
                    runs.append(run_sslyze(exe, proxy, [], f"sslyze {version}, default scan",
                                           workdir))
                    runs.append(run_sslyze(
                        exe, proxy, ["--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2",
                                     "--tlsv1_3", "--elliptic_curves"],
                        f"sslyze {version}, versions + suites + curves", workdir))
            base = runs[0]
            rows = [[r.label, f"{r.wall_s:.2f}", f"{r.wall_s / base.wall_s:.1f}x",
                     f"{r.cpu_s:.2f}", str(r.connections),
                     f"{r.connections / max(base.connections, 1):.1f}x", r.note]
                    for r in runs]
            print(table("1. Full scan of one host (median of "
                        f"{args.repeat} for mtlsweep; connections counted by a proxy)",
                        ["tool", "wall s", "vs ours", "CPU s", "connections", "vs ours",
                         "note"], rows))
            print(f"   sslyze: {sslyze_note}\n")

        ports = free_ports(args.endpoints)
        with nginx(workdir / "many", ports, cert, key, workers=2):
            rate, cpu_per, count = s_time(ports[0], args.s_time_seconds)
            rows = [["openssl s_time -new (C reference, sequential)", f"{rate:.0f}",
                     f"{cpu_per * 1000:.2f}", "1.00x", f"{count} handshakes"]]
            for label, probes in (("mtlsweep client_auth (full handshakes)", ("client_auth",)),
                                  ("mtlsweep enumeration probes (raw only)", ENUMERATION_PROBES),
                                  ("mtlsweep default probes (raw + full)", DEFAULT_PROBES)):
                wall, cpu, records = mtlsweep(ports, probes, concurrency=64, per_address=64)
                connections = sum(r.stats.connections for r in records)
                ours = connections / wall
                rows.append([f"{label}, {len(ports)} endpoints", f"{ours:.0f}",
                             f"{cpu / connections * 1000:.2f}", f"{ours / rate:.2f}x",
                             f"{connections} connections in {wall:.1f}s, CPU {cpu:.1f}s"])
            print(table(f"2. Throughput: {len(ports)} endpoints (one nginx, 2 workers); "
                        "mtlsweep --concurrency 64 --per-address 64",
                        ["run", "conn/s", "CPU ms/conn", "vs s_time", "detail"], rows))


if __name__ == "__main__":
    main()
