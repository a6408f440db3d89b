"""Large sweeps stay inside the open-file limit; the progress bar shows only on a terminal."""

from __future__ import annotations

import os
import pty
import re
import resource
import subprocess
from pathlib import Path

import pytest

from scanner.report.jsonl import read_records
from scanner.run.fdlimit import RESERVED_DESCRIPTORS, fit_concurrency
from tests.test_cli import MTLSWEEP

ADDRESSES = [f"127.0.1.{i}" for i in range(1, 61)]


@pytest.fixture(scope="module")
def many_addresses_inventory(pki, tmp_path_factory: pytest.TempPathFactory):
    """One nginx listening on 60 loopback addresses; 120 targets (two SNI names each)."""
    from tests.support import servers
    from tests.support.fixtures import require_binary

    require_binary("nginx")
    workdir = tmp_path_factory.mktemp("nginx-many")
    with servers.nginx(pki, workdir, mode="none", extra_addresses=ADDRESSES,
                       worker_connections=1024) as server:
        lines = ["defaults:", f"  port: {server.port}", "targets:"]
        for address in ADDRESSES:
            for sni in ("a.test", "b.test"):
                lines += [f"  - host: {address}", f"    sni: {sni}"]
        inventory = workdir / "targets.yaml"
        inventory.write_text("\n".join(lines) + "\n")
        yield inventory


def scan_with_file_limit(inventory: Path, output: Path, soft: int,
                         hard: int) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return subprocess.run(
        [*MTLSWEEP, "scan", "--probes", "client_auth",
         str(inventory), "-o", str(output), "--concurrency", "500",
         "--per-address", "4", "--timeout", "20"],
        capture_output=True, text=True, timeout=300, check=False, preexec_fn=limit)


def test_a_low_hard_limit_caps_concurrency_and_no_target_fails(
        many_addresses_inventory: Path, tmp_path: Path) -> None:
    output = tmp_path / "capped.jsonl"
    result = scan_with_file_limit(many_addresses_inventory, output, 128, 128)
    assert result.returncode == 0, result.stderr
    assert (f"scanning with {128 - RESERVED_DESCRIPTORS} connections in flight instead"
            in result.stderr)
    records = read_records(output).records
    assert len(records) == 2 * len(ADDRESSES)
    assert {r.status for r in records} == {"ok"}, [r.error for r in records if r.error]


def test_the_soft_limit_is_raised_when_the_hard_limit_allows(
        many_addresses_inventory: Path, tmp_path: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 500 + RESERVED_DESCRIPTORS:
        pytest.skip(f"the hard open-file limit ({hard}) is too low to show raising")
    output = tmp_path / "raised.jsonl"
    result = scan_with_file_limit(many_addresses_inventory, output, 128, hard)
    assert result.returncode == 0, result.stderr
    assert (f"raised the open-file soft limit from 128 to {500 + RESERVED_DESCRIPTORS}"
            in result.stderr)
    records = read_records(output).records
    assert len(records) == 2 * len(ADDRESSES) and {r.status for r in records} == {"ok"}


def test_fit_concurrency_leaves_a_sufficient_limit_alone() -> None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    plan = fit_concurrency(8)
    assert plan.concurrency == 8
    assert plan.describe(8) is None or soft < 8 + RESERVED_DESCRIPTORS


def run_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; return (exit code, what it drew there)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([*MTLSWEEP, *args], stdout=subprocess.DEVNULL, stderr=terminal,
                               env={**os.environ, "TERM": "xterm", "COLUMNS": "160"})
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    drawn = b"".join(chunks).decode("utf-8", "replace")
    return process.wait(timeout=120), re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)


def test_progress_bar_on_a_terminal_only(openssl_server, tmp_path: Path) -> None:
    server = openssl_server(verify="request")
    targets = [f"127.0.0.1:{server.port}", "127.0.0.1:1"]
    code, drawn = run_on_a_terminal("scan", "--probes", "client_auth",
                                    *targets, "-o", str(tmp_path / "a.jsonl"))
    assert code == 3
    assert "scanning" in drawn and "2/2 targets" in drawn and "1 error(s)" in drawn
    assert "/s" in drawn
    assert "mtlsweep: 2 target(s) in" in drawn  # the summary follows the bar
    code, drawn = run_on_a_terminal("scan", "--probes", "client_auth",
                                    *targets, "-o", str(tmp_path / "b.jsonl"), "-q")
    assert code == 3 and drawn == ""
    piped = subprocess.run([*MTLSWEEP, "scan", "--probes", "client_auth",
                            *targets], capture_output=True, text=True,
                           timeout=120, check=False)
    assert "scanning" not in piped.stderr and "mtlsweep: 2 target(s) in" in piped.stderr
