"""Output that cannot be written: exit 4 with one line, before any connection when it can be
known then; nothing already written is lost; the key log is private and its errors count."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.lab.server import LabServer, ListenerConfig
from tests.support import hostile as h
from tests.support.processes import TcpServer, free_port, tarpit
from tests.test_cli import records, run

FAST = ("--probes", "client_auth", "--timeout", "5", "--quiet")


@pytest.fixture(scope="module")
def listener() -> Iterator[LabServer]:
    with LabServer(ListenerConfig(certificate=h.lab_certificate())) as server:
        yield server


@pytest.fixture(scope="module")
def counting() -> Iterator[TcpServer]:
    with tarpit() as server:
        yield server


def test_unwritable_outputs_and_keylog_stop_before_any_connection(
        counting: TcpServer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    target = f"127.0.0.1:{counting.port}"
    cases = {
        "jsonl": ["-o", str(blocker / "out.jsonl")],
        "json document": ["-f", "json", "-o", str(blocker / "out.json")],
        "sarif": ["-f", "sarif", "-o", str(blocker / "out.sarif")],
        "keylog": ["-o", str(tmp_path / "fine.jsonl"), "--keylog", str(blocker / "keys.log")],
    }
    for name, options in cases.items():
        result = run("scan", target, *options, *FAST)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 4, (name, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("mtlsweep: error: "), (name, lines)
        assert "cannot write" in lines[0] and "Traceback" not in result.stderr, name
    assert counting.connections == 0


def test_a_full_disk_mid_sweep_is_exit_4_naming_the_file(listener: LabServer) -> None:
    target = f"{listener.host}:{listener.port}"
    streamed = run("scan", target, "-o", "/dev/full", *FAST)
    assert streamed.returncode == 4, streamed.stderr
    assert streamed.stderr.strip() == ("mtlsweep: error: /dev/full: cannot write a record "
                                       "(No space left on device); the 0 record(s) written "
                                       "before it are kept")
    document = run("scan", target, "-f", "json", "-o", "/dev/full", *FAST)
    assert document.returncode == 4, document.stderr
    assert "/dev/full: cannot write the json document (No space left on device)" in \
        document.stderr and "Traceback" not in document.stderr


def test_the_key_log_is_private_and_its_write_errors_count(listener: LabServer,
                                                            tmp_path: Path) -> None:
    target = f"{listener.host}:{listener.port}"
    keylog = tmp_path / "keys.log"
    old = os.umask(0o022)
    try:
        result = run("scan", target, "-o", str(tmp_path / "out.jsonl"), "--keylog", str(keylog),
                     *FAST)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(keylog.stat().st_mode) == 0o600
    assert "CLIENT_RANDOM" in keylog.read_text() or "TRAFFIC_SECRET" in keylog.read_text()

    full = run("scan", target, "-o", str(tmp_path / "full.jsonl"), "--keylog", "/dev/full",
               *FAST)
    assert full.returncode == 4, full.stderr
    assert "mtlsweep: error: --keylog /dev/full: cannot write (No space left on device)" in \
        full.stderr
    assert len(records((tmp_path / "full.jsonl").read_text())) == 1  # the records are kept


def test_resume_exits_as_every_record_of_the_file_says(tmp_path: Path) -> None:
    """A sweep that exited 3 still exits 3 after a --resume with nothing left to scan."""
    output = tmp_path / "out.jsonl"
    target = f"127.0.0.1:{free_port()}"  # closed: connection refused
    first = run("scan", target, "-o", str(output), *FAST)
    assert first.returncode == 3, first.stderr
    resumed = run("scan", target, "-o", str(output), "--resume", *FAST)
    assert resumed.returncode == 3, resumed.stderr
    allowed = run("scan", target, "-o", str(output), "--resume", "--allow-unreachable", *FAST)
    assert allowed.returncode == 0, allowed.stderr
    assert len(records(output.read_text())) == 1


@pytest.mark.parametrize("source", ["arguments", "host list"])
def test_a_full_disk_stops_every_worker_with_exit_4(tmp_path: Path, source: str) -> None:
    # Four addresses, two workers: the parent's write fails; the workers must stop (not
    # block on pipes nobody reads) and the run end with the one-line error.
    port = free_port()
    targets = [f"127.0.0.{n}:{port}" for n in range(1, 9)]
    if source == "host list":
        listing = tmp_path / "estate.txt"
        listing.write_text("\n".join(targets) + "\n")
        targets = [str(listing)]
    result = run("scan", *targets, "-o", "/dev/full", "--workers", "2", *FAST)
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("mtlsweep: error: /dev/full: cannot write a record "
                                "(No space left on device)"), lines
    assert "Traceback" not in result.stderr
