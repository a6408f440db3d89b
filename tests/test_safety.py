"""Safety of the scanner itself: where it connects, and how hard it pushes a listener.

It connects only to the inventory's targets, never to a name or address a server hands it
(certificate SANs, HTTP redirects); it keeps at most --per-address connections open to one IP
and starts at most --rate connections per second. Every count here is taken by the listeners.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL
from trio.testing import MockClock
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.engine.session import ConnectionLimits
from scanner.lab.server import LabServer, ListenerConfig
from scanner.pkix.issuing import Issued, make_ca, name
from tests.support import hostile as h
from tests.support import tlsbytes as tb
from tests.support.processes import Handler, TcpServer, tarpit_handler, tcp_server

MTLSWEEP = [sys.executable, "-m", "scanner"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MTLSWEEP, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# --- it goes only where the inventory says --------------------------------------------


def certificate_naming(trap_port: int) -> Issued:
    """A server certificate whose SANs point at other names, addresses and a trap URL."""
    ca = make_ca(name("Safety Test CA"))
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    sans = [x509.DNSName("localhost"), x509.DNSName("other.localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.3")),
            x509.UniformResourceIdentifier(f"https://127.0.0.1:{trap_port}/")]
    certificate = (x509.CertificateBuilder().subject_name(name("localhost"))
                   .issuer_name(ca.certificate.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                   .sign(ca.key, hashes.SHA256()))
    return Issued(certificate, key)


class RedirectingServer(LabServer):
    """A TLS listener that, unasked, answers with an HTTP redirect to another port."""

    def __init__(self, certificate: Issued, location: str) -> None:
        super().__init__(ListenerConfig(certificate=certificate))
        self.location = location

    def after_handshake(self, connection: SSL.Connection) -> None:
        connection.sendall(f"HTTP/1.1 301 Moved Permanently\r\nLocation: {self.location}\r\n"
                           "Content-Length: 0\r\n\r\n".encode())


def plain_redirect(location: str) -> Handler:
    def handler(conn: socket.socket, server: TcpServer) -> None:
        if conn.recv(65536):
            conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\n\r\n".encode())
            h.hold(conn, server)

    return handler


def test_connects_only_to_inventory_targets_never_to_names_a_server_sends(
        tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        trap = stack.enter_context(tcp_server(tarpit_handler, name="trap"))
        trap_url = f"https://127.0.0.1:{trap.port}/"
        tls = stack.enter_context(RedirectingServer(certificate_naming(trap.port), trap_url))
        http = stack.enter_context(tcp_server(plain_redirect(trap_url), name="http"))
        refusing = stack.enter_context(tcp_server(
            h.alert_after_client_hello(h.ALERT_HANDSHAKE_FAILURE), name="refusing"))
        inventory = tmp_path / "targets.yaml"
        inventory.write_text("targets:\n" + "".join(
            f"  - {{host: 127.0.0.1, port: {port}, sni: localhost}}\n"
            for port in (tls.port, http.port, refusing.port)))
        result = run("scan", str(inventory), "--timeout", "3", "--probes", "client_auth")
        time.sleep(0.2)  # a stray connection would have arrived by now
        trap_connections = trap.connections

    assert result.returncode == 3, result.stderr  # the plain HTTP listener is not TLS
    by_port = {r["target"]["port"]: r for r in records(result.stdout)}
    assert set(by_port) == {tls.port, http.port, refusing.port}
    assert by_port[tls.port]["status"] == "ok"
    assert by_port[http.port]["error"]["kind"] == "not_tls"
    assert "HTTP/1.1 302 Found" in by_port[http.port]["error"]["detail"]
    assert trap_connections == 0, "the scanner followed a name or redirect a server sent"
    assert all(r["target"]["address"] == "127.0.0.1" for r in by_port.values())
    # The listener counted exactly the connections the record reports, and no others.
    assert refusing.connections == by_port[refusing.port]["stats"]["connections"] == 2


# --- it keeps to --per-address and --rate ----------------------------------------------


class ConcurrencyMeter:
    """Counts connections open at once, per listener and across listeners."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self.total_active = 0
        self.total_peak = 0
        self.accepted_at: list[float] = []

    def handler(self, hold_s: float) -> Handler:
        """Read the ClientHello, hold the connection ``hold_s``, refuse with an alert."""

        def handle(conn: socket.socket, server: TcpServer) -> None:
            with self.lock:
                self.accepted_at.append(time.monotonic())
                self.active[server.port] = self.active.get(server.port, 0) + 1
                self.peak[server.port] = max(self.peak.get(server.port, 0),
                                             self.active[server.port])
                self.total_active += 1
                self.total_peak = max(self.total_peak, self.total_active)
            answered = False
            try:
                answered = h.read_client_hello(conn, server) is not None
                if answered:
                    server.stopping.wait(hold_s)
            finally:
                # Counted closed *before* the alert goes out: once the client sees it, it may
                # free its slot and connect again, and that connection must not overlap this one.
                with self.lock:
                    self.active[server.port] -= 1
                    self.total_active -= 1
            if answered:
                conn.sendall(tb.alert(h.ALERT_HANDSHAKE_FAILURE))

        return handle


@contextlib.contextmanager
def listener(meter: ConcurrencyMeter, host: str, hold_s: float) -> Iterator[TcpServer]:
    try:
        with TcpServer(meter.handler(hold_s), host=host) as server:
            yield server
    except OSError as exc:  # 127.0.0.2 is loopback on Linux, not on every system
        pytest.skip(f"cannot listen on {host}: {exc}")


def inventory_for(tmp_path: Path, servers: list[TcpServer], per_server: int) -> Path:
    """``per_server`` targets per listener: same address and port, different SNI."""
    path = tmp_path / "load.yaml"
    path.write_text("targets:\n" + "".join(
        f"  - {{host: {server.host}, port: {server.port}, sni: n{i}.example}}\n"
        for server in servers for i in range(per_server)))
    return path


def test_per_address_limit_holds_under_load(tmp_path: Path) -> None:
    meter = ConcurrencyMeter()
    with listener(meter, "127.0.0.1", 0.3) as first, listener(meter, "127.0.0.2", 0.3) as second:
        inventory = inventory_for(tmp_path, [first, second], per_server=8)
        result = run("scan", str(inventory), "--probes", "client_auth", "--per-address", "3",
                     "--concurrency", "64",
                     "--timeout", "10", "--quiet")
    assert result.returncode == 3, result.stderr  # every listener refuses: all records error
    assert len(records(result.stdout)) == 16
    assert len(meter.accepted_at) == 32  # 16 targets, 2 handshakes each
    assert meter.peak == {first.port: 3, second.port: 3}, "per-address limit not honoured"
    assert meter.total_peak > 3, "the limit is per address, not global"


def test_rate_limit_spaces_connection_starts(tmp_path: Path) -> None:
    meter = ConcurrencyMeter()
    with listener(meter, "127.0.0.1", 0.0) as server:
        inventory = inventory_for(tmp_path, [server], per_server=20)
        result = run("scan", str(inventory), "--probes", "client_auth", "--rate", "20",
                     "--per-address", "64",
                     "--timeout", "10", "--quiet")
    assert result.returncode == 3, result.stderr
    starts = sorted(meter.accepted_at)
    assert len(starts) == 40
    # 40 starts at 20 per second, evenly spaced, take 39/20 = 1.95 s; measured loosely.
    assert starts[-1] - starts[0] >= 1.5, f"40 connections in {starts[-1] - starts[0]:.2f}s"
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 25, f"{busiest} connections started within one second"


def test_rate_option_is_documented_and_validated() -> None:
    runner = CliRunner()
    assert "--rate" in runner.invoke(app, ["scan", "--help"], env={"COLUMNS": "200"}).output
    refused = runner.invoke(app, ["scan", "127.0.0.1:1", "--rate", "0"])
    assert refused.exit_code == 2 and "--rate" in refused.output


def test_rate_limit_spaces_starts_evenly_on_a_virtual_clock() -> None:
    """The same limiter, on trio's virtual clock: exact spacing, no timing involved."""

    async def main() -> list[float]:
        limits = ConnectionLimits(100, 100, rate=10)
        starts: list[float] = []

        async def connect(address: str) -> None:
            async with limits.slot(address):
                starts.append(trio.current_time())
                await trio.sleep(5)  # long connections must not hold back the next start

        async with trio.open_nursery() as nursery:
            for index in range(6):
                nursery.start_soon(connect, f"192.0.2.{index % 2}")
        return starts

    starts = trio.run(main, clock=MockClock(autojump_threshold=0))
    gaps = [round(later - earlier, 6) for earlier, later in itertools.pairwise(starts)]
    assert gaps == [0.1] * 5
