"""Real servers that speak a plaintext protocol before TLS, started on 127.0.0.1 in a temp
directory with the test PKI: PostgreSQL, MariaDB, OpenLDAP slapd, Exim (SMTP) and Dovecot
(IMAP, POP3). Each is a context manager yielding a ``RunningServer``; the process is ended
by PID on exit. Binaries missing raise ``MissingBinaryError`` (the fixtures skip, or fail
under ``MTLSWEEP_REQUIRE_SERVERS=1``)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .pki import TestPKI
from .processes import LOOPBACK, ManagedProcess, ServerStartError, free_port, wait_for_listen
from .servers import MissingBinaryError, RunningServer, binary

START_TIMEOUT = 30.0
_PORT_ATTEMPTS = 3


def _first(patterns: Sequence[str], name: str) -> str:
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    try:
        return binary(name)
    except MissingBinaryError:
        raise MissingBinaryError(f"{name} not found ({', '.join(patterns)} or PATH)") from None


def postgres_bin(name: str) -> str:
    return _first([f"/usr/lib/postgresql/*/bin/{name}", f"/usr/local/bin/{name}"], name)


def _owned_copy(source: Path, target: Path, user: str, mode: int = 0o600) -> Path:
    shutil.copyfile(source, target)
    entry = pwd.getpwnam(user)
    os.chown(target, entry.pw_uid, entry.pw_gid)
    os.chmod(target, mode)
    return target


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


@contextlib.contextmanager
def _listening(kind: str, workdir: Path, argv_for: Callable[[int], Sequence[str]], *,
               env: dict[str, str] | None = None, prepare: Callable[[int], None] = lambda _p: None,
               extra_logs: Callable[[int], Sequence[Path]] = lambda _p: (),
               stop_signal: signal.Signals = signal.SIGTERM) -> Iterator[RunningServer]:
    """Start ``argv_for(port)`` on a free port and wait until it accepts TCP."""
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        prepare(port)
        process = ManagedProcess(argv_for(port), workdir, name=kind, env=env,
                                 stop_signal=stop_signal)
        process.extra_logs.extend(extra_logs(port))
        with process:
            try:
                wait_for_listen(LOOPBACK, port, START_TIMEOUT, process)
            except ServerStartError:
                if attempt < _PORT_ATTEMPTS and "in use" in process.log():
                    continue
                raise
            yield RunningServer(kind, LOOPBACK, port, process, workdir)
            return


# --- PostgreSQL -----------------------------------------------------------------------

@contextlib.contextmanager
def postgres(pki: TestPKI, workdir: Path) -> Iterator[RunningServer]:
    """initdb as the ``postgres`` user, ssl=on with the client CA bundle, and one rule:
    ``hostssl all all 127.0.0.1/32 trust clientcert=verify-full``."""
    initdb, server = postgres_bin("initdb"), postgres_bin("postgres")
    runuser = binary("runuser")
    with _user_directory("postgres", "pg") as home:
        yield from _postgres(pki, workdir, home, initdb, server, runuser)


@contextlib.contextmanager
def _user_directory(user: str, tag: str) -> Iterator[Path]:
    """A fresh directory ``user`` owns, under /tmp: pytest's own temp tree is root-only."""
    home = Path(tempfile.mkdtemp(prefix=f"mtlsweep-{tag}-"))
    try:
        os.chmod(home, 0o711)
        _chown_tree(home, user)
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _postgres(pki: TestPKI, workdir: Path, home: Path, initdb: str, server: str,
              runuser: str) -> Iterator[RunningServer]:
    data = home / "data"
    subprocess.run([runuser, "-u", "postgres", "--", initdb, "-D", str(data), "-A", "trust",
                    "--no-sync", "-U", "postgres"], check=True, capture_output=True,
                   timeout=120)
    cert = _owned_copy(pki.server_files.cert, data / "server.crt", "postgres")
    key = _owned_copy(pki.server_files.key, data / "server.key", "postgres")
    ca = _owned_copy(pki.client_ca_bundle, data / "client-ca.crt", "postgres")
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 trust clientcert=verify-full\n")

    def argv(port: int) -> list[str]:
        return [runuser, "-u", "postgres", "--", server, "-D", str(data), "-k", str(home),
                "-h", LOOPBACK, "-p", str(port), "-c", "ssl=on", "-c", f"ssl_cert_file={cert}",
                "-c", f"ssl_key_file={key}", "-c", f"ssl_ca_file={ca}",
                "-c", "fsync=off", "-c", "shared_buffers=8MB", "-c", "max_connections=40"]

    with _listening("postgres", workdir, argv, stop_signal=signal.SIGINT) as running:
        yield running
