"""Crash safety: a sweep killed or stopped at any point keeps its records and resumes exactly.

Real sweeps (`python -m scanner scan` subprocesses) against nginx on 127.0.0.1. A tarpit
target (accepts, never answers) sits among them so that a sweep is provably still running
when it is killed: its scan cannot finish before the long --timeout, whatever the machine's
speed, so no test here depends on timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.report.jsonl import read_records
from tests.support.processes import free_port
from tests.test_cli import MTLSWEEP

SNI_NAMES = 16


def write_inventory(path: Path, nginx_port: int, tarpit_port: int,
                    http_port: int) -> set[tuple[str, int, str | None]]:
    lines = ["defaults:", f"  port: {nginx_port}", "targets:"]
    keys: set[tuple[str, int, str | None]] = set()
    for index in range(SNI_NAMES):
        if index == 3:  # early on, so it is in flight when the sweep is stopped
            lines += ["  - host: 127.0.0.1", f"    port: {tarpit_port}", "    name: tarpit"]
            keys.add(("127.0.0.1", tarpit_port, None))
        lines += ["  - host: 127.0.0.1", f"    sni: site{index}.test"]
        keys.add(("127.0.0.1", nginx_port, f"site{index}.test"))
    closed = free_port()
    lines += ["  - host: 127.0.0.1", f"    port: {http_port}",
              "  - host: 127.0.0.1", f"    port: {closed}"]
    keys |= {("127.0.0.1", http_port, None), ("127.0.0.1", closed, None)}
    path.write_text("\n".join(lines) + "\n")
    return keys


@pytest.fixture
def sweep_setup(nginx_server, tarpit_server, http_server, tmp_path: Path):
    server = nginx_server(mode="optional")
    inventory = tmp_path / "targets.yaml"
    keys = write_inventory(inventory, server.port, tarpit_server.port, http_server.port)
    return inventory, keys, tarpit_server


def start_sweep(inventory: Path, output: Path, *extra: str) -> subprocess.Popen[str]:
    # --timeout 300: the tarpit target stays in flight until the sweep is stopped, holding
    # two of the four connections (one per TLS version) while the others carry on
    return subprocess.Popen(
        [*MTLSWEEP, "scan", "--probes", "client_auth",
         str(inventory), "-o", str(output), "--concurrency", "4",
         "--timeout", "300", "--target-timeout", "600", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"})


def wait_for_records(output: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if output.exists() and output.read_bytes().count(b"\n") >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError(f"the sweep wrote fewer than {count} records in 90s")


def recorded_keys(output: Path) -> Counter:
    result = read_records(output)
    return Counter((r.target.host, r.target.port, r.target.sni) for r in result.records)


def resume(inventory: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MTLSWEEP, "scan", "--probes", "client_auth",
         str(inventory), "-o", str(output), "--resume", "--timeout", "1",
         "--allow-unreachable"], capture_output=True, text=True, timeout=120, check=False)


def test_sigkill_then_resume_records_every_target_exactly_once(sweep_setup,
                                                                tmp_path: Path) -> None:
    inventory, keys, _tarpit = sweep_setup
    output = tmp_path / "results.jsonl"
    process = start_sweep(inventory, output, "--quiet")
    wait_for_records(output, 8, process)
    assert process.poll() is None, "the sweep must still be running when it is killed"
    process.kill()
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    before = read_records(output)  # valid JSON Lines: at most a torn last line
    done_before = recorded_keys(output)
    assert 8 <= sum(done_before.values()) < len(keys)
    assert max(done_before.values()) == 1
    assert ("127.0.0.1", _tarpit.port, None) not in done_before
    kept = output.read_bytes()
    if before.torn is not None:
        kept = kept[:before.torn.offset]
    # the kill may also land in the middle of a write: leave half a record behind as it would
    with output.open("ab") as handle:
        handle.write(b'{"schema":"mtlsweep/1","target":{"host":"127.0.0.1","po')

    result = resume(inventory, output)
    assert result.returncode == 0, result.stderr
    assert f"resumed: {sum(done_before.values())} target(s) already recorded" in result.stderr
    assert "removed the torn last line" in result.stderr
    final = read_records(output)
    assert final.torn is None
    counts = recorded_keys(output)
    assert set(counts) == keys, "every target recorded"
    assert set(counts.values()) == {1}, "no target recorded twice"
    assert output.read_bytes().startswith(kept), "records written before the kill are untouched"
    by_key = {(r.target.host, r.target.port, r.target.sni): r for r in final.records}
    assert by_key[("127.0.0.1", _tarpit.port, None)].error.kind.value == "timeout"  # type: ignore[union-attr]

    again = resume(inventory, output)  # nothing left to do
    assert again.returncode == 0, again.stderr
    assert f"resumed: {len(keys)} target(s) already recorded" in again.stderr
    assert sum(recorded_keys(output).values()) == len(keys)


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_stop_cleanly_with_a_summary(sweep_setup, tmp_path: Path,
                                                        signum: signal.Signals,
                                                        exit_code: int) -> None:
    inventory, keys, tarpit = sweep_setup
    output = tmp_path / "results.jsonl"
    process = start_sweep(inventory, output)
    wait_for_records(output, 4, process)
    process.send_signal(signum)
    _stdout, stderr = process.communicate(timeout=60)  # far less than the tarpit's 300 s
    assert process.returncode == exit_code, stderr
    assert f"interrupted by {signum.name}" in stderr
    assert "run again with --resume" in stderr
    assert "Traceback" not in stderr
    stopped = read_records(output)
    assert stopped.torn is None, "a clean stop leaves no torn line"
    done = recorded_keys(output)
    assert ("127.0.0.1", tarpit.port, None) not in done, "the cancelled scan left no record"
    assert f"{sum(done.values())} target(s) in" in stderr
    assert f"{len(keys) - sum(done.values())} target(s) not scanned" in stderr

    result = resume(inventory, output)
    assert result.returncode == 0, result.stderr
    counts = recorded_keys(output)
    assert set(counts) == keys and set(counts.values()) == {1}


def test_resume_needs_a_json_lines_file(tmp_path: Path) -> None:
    runner = CliRunner()
    for args in (["--resume"], ["--resume", "-o", str(tmp_path / "x.csv"), "-f", "csv"]):
        result = runner.invoke(app, ["scan", "--probes", "client_auth", "127.0.0.1:1", *args])
        assert result.exit_code == 2
        assert "--resume needs JSON Lines written to a file" in result.stderr
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text("not json\n{}\n")
    result = runner.invoke(app, ["scan", "--probes", "client_auth",
                                 "127.0.0.1:1", "--resume", "-o", str(corrupt)])
    assert result.exit_code == 2
    assert f"{corrupt}:1: not a JSON object" in result.stderr
    assert corrupt.read_text() == "not json\n{}\n", "nothing written to a file it cannot trust"
