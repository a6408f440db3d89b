"""Process and socket helpers for behaviour tests: free ports, readiness, clean teardown.

Everything listens on 127.0.0.1 only, and every process started here is ended by
its PID (plus, by PID, any process left in its process group, e.g. nginx workers).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

LOOPBACK = "127.0.0.1"
_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


class ServerStartError(RuntimeError):
    """A test server did not come up; the message carries its log."""


def find_binary(name: str) -> str | None:
    """``shutil.which`` that also looks in the sbin directories (nginx, haproxy)."""
    found = shutil.which(name)
    if found:
        return found
    path = os.pathsep.join(_SBIN_DIRS)
    return shutil.which(name, path=path)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free on ``host`` a moment ago (bind to port 0, then close).

    Another process may grab it before the server binds it; the server starters in
    ``tests.support.servers`` retry with a new port when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self").exists()  # gone, unless there is no /proc at all
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def process_group_members(pgid: int) -> list[int]:
    """PIDs (not zombies) whose process group is ``pgid`` (Linux ``/proc``; [] elsewhere)."""
    out: list[int] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields: state ppid pgrp ...
            if fields[0] != "Z" and int(fields[2]) == pgid:
                out.append(int(entry.name))
    return out


class ManagedProcess:
    """A subprocess with stdout/stderr in files under ``workdir``, ended by PID on exit.

    Started in its own session so that any children (e.g. nginx workers) share its
    process group; :meth:`stop` ends the main PID (``stop_signal``, wait, SIGKILL)
    and then SIGKILLs, by PID, any process still in that group.
    """

    def __init__(
        self,
        argv: Sequence[str],
        workdir: Path,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        stop_timeout: float = 5.0,
    ) -> None:
        self.argv = list(argv)
        self.name = name or Path(argv[0]).name
        self.workdir = workdir
        self.env = env
        self.cwd = cwd or workdir
        self.stop_signal = stop_signal
        self.stop_timeout = stop_timeout
        self.stdout_path = workdir / f"{self.name}.stdout"
        self.stderr_path = workdir / f"{self.name}.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.extra_logs: list[Path] = []  # more files shown by log(), e.g. nginx error.log

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} not started")
        return self.proc.pid

    def start(self) -> Self:
        """Start the process; once only, since a second Popen would orphan the first."""
        if self.proc is not None:
            raise RuntimeError(f"{self.name} already started (pid {self.proc.pid})")
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
            )
        return self

    def poll(self) -> int | None:
        """Exit status if the process has exited, else None."""
        return None if self.proc is None else self.proc.poll()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self, limit: int = 8000) -> str:
        """The tail of argv, exit status, stdout, stderr and extra logs, for assertion text."""
        parts = [f"$ {' '.join(self.argv)}", f"[pid {self.proc.pid if self.proc else '-'}"
                 f" exit={self.poll()}]"]
        for path in (self.stdout_path, self.stderr_path, *self.extra_logs):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                parts.append(f"--- {path.name} ---\n{text[-limit:]}")
        return "\n".join(parts)

    def stop(self) -> None:
        """End the process by PID, then any leftover member of its process group."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: pid == pgid == sid
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=self.stop_timeout)
        # Children re-parented after the leader died (orphans) keep the group id.
        for pid in process_group_members(pgid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + self.stop_timeout
        while process_group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self) -> Self:
        # ``with ManagedProcess(...).start() as p`` is a common spelling: do not start twice.
        return self if self.proc is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_for_listen(
    host: str,
    port: int,
    timeout: float = 10.0,
    proc: ManagedProcess | None = None,
    *,
    tls: bool = False,
) -> None:
    """Poll until ``host:port`` accepts TCP (and, if ``tls``, answers a ClientHello).

    Raises :class:`ServerStartError` with the process log as soon as ``proc`` exits,
    or on timeout.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    delay = 0.005
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServerStartError(f"{proc.name} exited before listening\n{proc.log()}")
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                left = max(0.1, min(2.0, deadline - time.monotonic()))
                if not tls or speaks_tls(sock, timeout=left):
                    if proc is not None and proc.poll() is not None:
                        # Something else answered on the port (lost a port race).
                        raise ServerStartError(f"{proc.name} exited\n{proc.log()}")
                    return
                last_error = RuntimeError("listening, but no TLS record in reply to ClientHello")
        except OSError as e:
            last_error = e
        if time.monotonic() >= deadline:
            log = proc.log() if proc else ""
            raise ServerStartError(
                f"{host}:{port} not ready after {timeout}s ({last_error!r})\n{log}"
            )
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def client_hello_bytes() -> bytes:
    """A ClientHello as the local ``ssl`` module would send it (no verification)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def speaks_tls(sock: socket.socket, timeout: float = 2.0) -> bool:
    """Send a ClientHello on a connected socket; True if a TLS record header comes back.

    A handshake record (0x16) or an alert (0x15) both prove a TLS stack is answering.
    """
    sock.settimeout(timeout)
    try:
        sock.sendall(client_hello_bytes())
        head = b""
        while len(head) < 3:
            chunk = sock.recv(3 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:
        return False
    return head[0] in (0x15, 0x16) and head[1] == 0x03


# --- in-process TCP servers -------------------------------------------------------

Handler = Callable[[socket.socket, "TcpServer"], None]


class TcpServer:
    """A threaded TCP listener on 127.0.0.1 with a per-connection ``handler``.

    The listening socket is bound (port 0) before ``start`` returns, so there is no
    port race.  ``stop`` closes the listener and every accepted connection and joins
    all threads.  ``pid`` is this (the test) process.
    """

    def __init__(self, handler: Handler, *, name: str = "tcp", host: str = LOOPBACK) -> None:
        self.handler = handler
        self.name = name
        self.host = host
        self.port = 0
        self.pid = os.getpid()
        self.stopping = threading.Event()
        self.connections = 0
        self._events: list[str] = []
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def note(self, event: str) -> None:
        """Record an event line for :meth:`log`."""
        with self._lock:
            self._events.append(f"{time.monotonic():.3f} {event}")

    def log(self) -> str:
        with self._lock:
            return f"[{self.name} {self.host}:{self.port}]\n" + "\n".join(self._events)

    def start(self) -> Self:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, 0))
        ls.listen(64)
        ls.settimeout(0.05)
        self._listener = ls
        self.port = int(ls.getsockname()[1])
        t = threading.Thread(target=self._accept_loop, name=f"{self.name}-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                conn, addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with self._lock:
                self.connections += 1
                self._conns.add(conn)
            self.note(f"accepted {addr[0]}:{addr[1]}")
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self.handler(conn, self)
        except OSError as e:
            self.note(f"handler error: {e!r}")
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _recv_until_stop(conn: socket.socket, server: TcpServer, *, first_only: bool) -> int:
    """Read (and discard) until peer EOF, server stop, or first data if ``first_only``."""
    conn.settimeout(0.05)
    total = 0
    while not server.stopping.is_set():
        try:
            data = conn.recv(65536)
        except TimeoutError:
            continue
        if not data:
            break
        total += len(data)
        if first_only:
            break
    return total


def tarpit_handler(conn: socket.socket, server: TcpServer) -> None:
    """Accept, read and discard, never answer; hold the connection until EOF or stop."""
    n = _recv_until_stop(conn, server, first_only=False)
    server.note(f"tarpit connection closed after {n} bytes")


_HTTP_400_BODY = b"<html><body><h1>400 Bad Request</h1></body></html>\r\n"
HTTP_400 = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Server: mtlsweep-test\r\n"
    b"Content-Type: text/html\r\n"
    b"Content-Length: " + str(len(_HTTP_400_BODY)).encode() + b"\r\n"
    b"Connection: close\r\n"
    b"\r\n" + _HTTP_400_BODY
)


def http_400_handler(conn: socket.socket, server: TcpServer) -> None:
    """On the first bytes received (e.g. a ClientHello), answer HTTP 400 and close."""
    n = _recv_until_stop(conn, server, first_only=True)
    if n:
        conn.sendall(HTTP_400)
        server.note(f"answered {n} bytes with HTTP 400")
        # Lingering close: FIN first and drain, so unread input cannot turn it into RST.
        conn.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + 1.0
        conn.settimeout(0.05)
        while time.monotonic() < deadline and not server.stopping.is_set():
            try:
                if not conn.recv(65536):
                    break
            except TimeoutError:
                continue


@contextlib.contextmanager
def tcp_server(handler: Handler, *, name: str = "tcp") -> Iterator[TcpServer]:
    """Context manager running a :class:`TcpServer` with ``handler``."""
    with TcpServer(handler, name=name) as srv:
        yield srv


def tarpit() -> contextlib.AbstractContextManager[TcpServer]:
    """A listener that accepts and never answers."""
    return tcp_server(tarpit_handler, name="tarpit")


def http_400() -> contextlib.AbstractContextManager[TcpServer]:
    """A plain-HTTP listener answering anything with ``400 Bad Request`` and closing."""
    return tcp_server(http_400_handler, name="http400")


# --- servers in a child process -----------------------------------------------------


class Served(Protocol):
    """What :class:`ChildServer` runs: a context manager that listens once entered."""

    host: str
    port: int

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: Any) -> Any: ...


_START_TIMEOUT_S = 10.0
_STATUS_TIMEOUT_S = 2.0


class ChildServer:
    """A scripted peer (a :class:`TcpServer`, a LabServer, ...) run in a forked child process.

    In the test process, a peer's threads compete with the scanner for the GIL: under CPU
    load a HelloRequest or an alert then comes later than any real server would send it.
    In its own process the peer answers on the kernel's schedule. ``make`` builds the server
    in the child (handlers and closures need no pickling: the child is a fork). The parent
    knows ``host``/``port`` once the child listens; ``log()`` and ``connections`` are asked
    of the child over a pipe, and kept from the last answer after ``stop``, which ends the
    child by its PID (SIGKILL, then join). A child whose parent died sees the pipe close
    and exits.
    """

    def __init__(self, make: Callable[[], Served], *, name: str = "child") -> None:
        self.make = make
        self.name = name
        self.host = LOOPBACK
        self.port = 0
        self._process: multiprocessing.process.BaseProcess | None = None
        self._pipe: multiprocessing.connection.Connection | None = None
        self._lock = threading.Lock()
        self._status: tuple[str, int] = (f"[{name}: not started]", 0)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def pid(self) -> int:
        """The child's PID (the server runs there, not in the test process)."""
        if self._process is None or self._process.pid is None:
            raise RuntimeError(f"{self.name} not started")
        return self._process.pid

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError(f"{self.name} already started (pid {self._process.pid})")
        context = multiprocessing.get_context("fork")
        here, there = context.Pipe()
        self._process = context.Process(target=_serve_in_child, args=(self.make, there, here),
                                         name=f"peer-{self.name}", daemon=True)
        self._process.start()
        there.close()
        self._pipe = here
        if not here.poll(_START_TIMEOUT_S):
            self.stop()
            raise ServerStartError(f"{self.name}: child not listening after {_START_TIMEOUT_S}s")
        try:
            kind, *detail = here.recv()
        except EOFError:
            kind, detail = "failed", [f"child exited ({self._process.exitcode})"]
        if kind != "listening":
            self.stop()
            raise ServerStartError(f"{self.name}: {detail[0]}")
        self.host, self.port = detail
        return self

    def _refresh(self) -> tuple[str, int]:
        """Ask the running child for its log and connection count (or keep the last ones)."""
        with self._lock:
            if self._pipe is not None:
                with contextlib.suppress(OSError, EOFError):
                    self._pipe.send("status")
                    if self._pipe.poll(_STATUS_TIMEOUT_S):
                        self._status = self._pipe.recv()
            return self._status

    def log(self) -> str:
        return self._refresh()[0]

    @property
    def connections(self) -> int:
        return self._refresh()[1]

    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def stop(self) -> None:
        """Keep the child's last log, then end it by PID (SIGKILL) and reap it."""
        if self._process is None:
            return
        if self._process.is_alive():
            self._refresh()
        with self._lock:
            if self._pipe is not None:
                self._pipe.close()
                self._pipe = None
        if self._process.pid is not None and self._process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signal.SIGKILL)
        self._process.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve_in_child(make: Callable[[], Served], pipe: multiprocessing.connection.Connection,
                    parent_end: multiprocessing.connection.Connection) -> None:
    """The child: build and start the server, say where it listens, answer status requests
    until the parent closes the pipe (or kills this process)."""
    parent_end.close()  # else the pipe never reads EOF here when the parent dies
    try:
        server = make()
        server.__enter__()
    except BaseException as exc:  # reported to the parent as text
        pipe.send(("failed", repr(exc)))
        return
    pipe.send(("listening", server.host, server.port))
    while True:
        try:
            request = pipe.recv()
        except (EOFError, OSError):
            break
        if request == "status":
            log = (server.log() if isinstance(server, TcpServer)
                   else f"[{server.host}:{server.port}]")
            pipe.send((log, int(getattr(server, "connections", 0))))
    os._exit(0)  # no teardown of the parent's state (fixtures, atexit) in a forked child


@contextlib.contextmanager
def child_server(make: Callable[[], Served], *, name: str = "child") -> Iterator[ChildServer]:
    """Context manager running ``make()``'s server in a child process."""
    with ChildServer(make, name=name) as srv:
        yield srv


def child_tcp_server(handler: Handler, *, name: str = "tcp") -> (
        contextlib.AbstractContextManager[ChildServer]):
    """Like :func:`tcp_server`, with the listener and its handler threads in a child process."""
    return child_server(lambda: TcpServer(handler, name=name), name=name)
