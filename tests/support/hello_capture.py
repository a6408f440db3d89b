"""Capture the ClientHello a real client sends: a listener on 127.0.0.1 that reads the first
handshake message, parses it with the project's wire parser and hangs up.

Used to check the client profiles (scanner/policy/data/clients.yaml) against the clients
installed here (OpenSSL, Python, Go, Java, curl): what each offers by default.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from scanner import wire
from scanner.wire.client_hello import ClientHello, parse_client_hello

from .processes import LOOPBACK

_GREASE = frozenset(0x0A0A + 0x1010 * i for i in range(16))
_SIGNALLING = frozenset({0x00FF, 0x5600})  # renegotiation SCSV, fallback SCSV
_LABELS = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1.0",
           0x0300: "SSLv3"}


@dataclass(frozen=True)
class OfferedByClient:
    """What one ClientHello offers, in the client's order, GREASE and SCSVs left out."""

    versions: tuple[str, ...]
    suites: tuple[int, ...]
    groups: tuple[str, ...]
    signature_algorithms: tuple[str, ...]


def offered(hello: ClientHello) -> OfferedByClient:
    versions = hello.supported_versions or tuple(
        v for v in (0x0303, 0x0302, 0x0301, 0x0300) if v <= hello.legacy_version)
    return OfferedByClient(
        versions=tuple(_LABELS[v] for v in versions if v in _LABELS),
        suites=tuple(c for c in hello.cipher_suites if c not in _GREASE | _SIGNALLING),
        groups=tuple(wire.NAMED_GROUPS.get(g, f"0x{g:04X}")
                     for g in hello.supported_groups or () if g not in _GREASE),
        signature_algorithms=tuple(wire.SIGNATURE_SCHEMES.get(s, f"0x{s:04X}")
                                   for s in hello.signature_algorithms or ()
                                   if s not in _GREASE),
    )


@dataclass
class HelloListener:
    """Accepts one connection and keeps the ClientHello it received."""

    port: int
    hellos: list[ClientHello] = field(default_factory=list)
    error: BaseException | None = None


def _read_hello(conn: socket.socket) -> ClientHello:
    buffer = b""
    handshake = b""
    conn.settimeout(10)
    while True:
        while len(buffer) >= 5:
            length = int.from_bytes(buffer[3:5], "big")
            if len(buffer) < 5 + length:
                break
            if buffer[0] != 22:
                raise ValueError(f"first record is not a handshake record: {buffer[:5].hex()}")
            handshake += buffer[5:5 + length]
            buffer = buffer[5 + length:]
            if len(handshake) >= 4:
                size = int.from_bytes(handshake[1:4], "big")
                if len(handshake) >= 4 + size:
                    return parse_client_hello(handshake[4:4 + size])
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("client closed before a whole ClientHello")
        buffer += chunk


@contextlib.contextmanager
def hello_listener() -> Iterator[HelloListener]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((LOOPBACK, 0))
    server.listen(1)
    server.settimeout(120)
    listener = HelloListener(server.getsockname()[1])

    def serve() -> None:
        try:
            conn, _ = server.accept()
            with conn:
                listener.hellos.append(_read_hello(conn))
        except BaseException as exc:  # reported by capture()
            listener.error = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        thread.join(timeout=130)
        server.close()


def capture(argv: Sequence[str], *, timeout: float = 120,
            env: dict[str, str] | None = None) -> OfferedByClient:
    """Run ``argv`` (``{port}`` in any argument becomes the listener's port) and return what
    its first ClientHello offered. The client's own failure afterwards is expected."""
    with hello_listener() as listener:
        command = [arg.replace("{port}", str(listener.port)) for arg in argv]
        subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, check=False, env=env)
    if listener.error is not None:
        raise AssertionError(f"no ClientHello from {command[0]}: {listener.error}")
    return offered(listener.hellos[0])
