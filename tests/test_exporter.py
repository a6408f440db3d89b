"""``mtlsweep serve``: the exporter run as a process and scraped over loopback, as Prometheus
would (a real nginx to probe, a tarpit for deadlines and the concurrency cap), its answers
checked by ``promtool check metrics`` and against ``openssl s_client``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.oracle import s_client
from tests.support.pki import TestPKI, build_test_pki
from tests.support.processes import ManagedProcess, TcpServer, free_port, tarpit, wait_for_listen
from tests.support.servers import REQUIRE_ENV, RunningServer, nginx, require_binary
from tests.test_report_prometheus import samples, value


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def strict(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    require_binary("nginx")
    with nginx(pki, tmp_path_factory.mktemp("nginx"), mode="ca_names") as server:
        yield server


@pytest.fixture(scope="module")
def slow() -> Iterator[TcpServer]:
    with tarpit() as server:
        yield server


@pytest.fixture(scope="module")
def exporter(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("exporter")
    argv = [sys.executable, "-m", "scanner", "serve", "--listen", f"127.0.0.1:{port}",
            "--max-concurrent", "1", "--max-timeout", "20", "--timeout", "5",
            "--ca-bundle", str(pki.server_ca_file)]
    with ManagedProcess(argv, workdir, name="mtlsweep-serve",
                        cwd=Path(__file__).resolve().parent.parent) as process:
        wait_for_listen("127.0.0.1", port, timeout=30, proc=process)
        yield f"http://127.0.0.1:{port}"


def get(url: str, *, timeout: float = 30, headers: dict[str, str] | None = None
        ) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers["content-type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["content-type"], exc.read().decode()


def promtool_accepts(text: str) -> None:
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail("promtool (Debian package prometheus) is required")
        pytest.skip("promtool not installed")
    result = subprocess.run([tool, "check", "metrics"], input=text, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def s_client_sees_ca_names(port: int) -> bool:
    """The oracle: does the TLS 1.2 CertificateRequest name a CA?"""
    request = s_client(port, tls_version="1.2").certificate_request
    return request is not None and bool(request.ca_names)


def test_probe_scans_the_target_and_answers_its_metrics(exporter: str,
                                                          strict: RunningServer) -> None:
    status, content_type, body = get(
        f"{exporter}/probe?target=127.0.0.1:{strict.port}&sni=localhost"
        "&probes=client_auth,enforcement,certificate")
    assert status == 200, body
    assert content_type.startswith("text/plain; version=0.0.4")
    promtool_accepts(body)
    found = samples(body)
    target = {"target": f"127.0.0.1:{strict.port}", "sni": "localhost"}
    assert value(found, "mtlsweep_scan_success", **target) == 1
    assert value(found, "mtlsweep_client_auth_ca_names_sent", **target, version="TLSv1.2") == (
        1 if s_client_sees_ca_names(strict.port) else 0) == 1
    assert value(found, "mtlsweep_certificate_trusted", **target) == 1
    assert sum(v for (name, _), v in found.items()
               if name == "mtlsweep_enforcement_verdict") == 1
    assert value(found, "mtlsweep_probe_duration_seconds") is not None
    # probes not asked for leave their families out
    assert value(found, "mtlsweep_ocsp_stapled", **target) is None


def test_bad_requests_are_refused_without_scanning(exporter: str) -> None:
    assert get(f"{exporter}/probe")[0] == 400
    assert get(f"{exporter}/probe?target=https://x.example/")[0] == 400
    assert get(f"{exporter}/probe?target=127.0.0.1:1&probes=nope")[0] == 400
    assert get(f"{exporter}/probe?target=127.0.0.1:1&timeout=-1")[0] == 400
    assert get(f"{exporter}/nothing-here")[0] == 404


def test_deadline_and_concurrency_cap(exporter: str, slow: TcpServer) -> None:
    """A tarpit holds the only scan slot until the request's 2 s deadline; a request made
    meanwhile with a 0.5 s scrape timeout budget gets 503 instead of waiting past it."""
    results: dict[str, tuple[int, str, str]] = {}

    def first() -> None:
        results["first"] = get(f"{exporter}/probe?target=127.0.0.1:{slow.port}&timeout=2")

    thread = threading.Thread(target=first)
    started = time.monotonic()
    thread.start()
    deadline = time.monotonic() + 10
    while value(samples(get(f"{exporter}/metrics")[2]),
                "mtlsweep_exporter_scans_in_flight") != 1:
        assert time.monotonic() < deadline, "the first scan never started"
        time.sleep(0.05)
    second = get(f"{exporter}/probe?target=127.0.0.1:{slow.port}",
                 headers={"X-Prometheus-Scrape-Timeout-Seconds": "1"})
    thread.join(timeout=30)
    elapsed = time.monotonic() - started
    assert second[0] == 503, second
    status, _, body = results["first"]
    assert status == 200
    found = samples(body)
    assert value(found, "mtlsweep_scan_success") == 0
    assert value(found, "mtlsweep_scan_status", status="error") == 1
    assert elapsed < 2 + 8, "the scan must end at its request's deadline"

    _, _, own = get(f"{exporter}/metrics")
    promtool_accepts(own)
    counters = samples(own)
    assert value(counters, "mtlsweep_exporter_scans_total", result="rejected") >= 1  # type: ignore[operator]
    assert value(counters, "mtlsweep_exporter_max_concurrent_scans") == 1
    assert value(counters, "mtlsweep_exporter_requests_total", path="/probe", code="503") >= 1  # type: ignore[operator]


def test_with_an_inventory_only_its_targets_are_probed(tmp_path: Path,
                                                       strict: RunningServer) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - {{host: 127.0.0.1, port: {strict.port}, "
                         "sni: localhost, name: edge}\n")
    port = free_port()
    argv = [sys.executable, "-m", "scanner", "serve", str(inventory), "--listen",
            f"127.0.0.1:{port}", "--probes", "client_auth"]
    with ManagedProcess(argv, tmp_path / "run", name="serve-inventory",
                        cwd=Path(__file__).resolve().parent.parent) as process:
        wait_for_listen("127.0.0.1", port, timeout=30, proc=process)
        base = f"http://127.0.0.1:{port}"
        assert get(f"{base}/probe?target=127.0.0.1:{free_port()}")[0] == 403
        status, _, body = get(f"{base}/probe?target=edge")
        assert status == 200
        assert value(samples(body), "mtlsweep_scan_success", name="edge") == 1
