"""``--https-proxy``: every connection tunnelled through a real HTTP proxy (Debian's
tinyproxy on loopback) with CONNECT, checked against the proxy's own log and ``openssl
s_client``; and the sans-IO CONNECT codec on its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.wire.errors import WireError
from scanner.wire.http_connect import connect_request, parse_proxy, read_connect_response
from tests.support.oracle import s_client
from tests.support.pki import TestPKI, build_test_pki
from tests.support.processes import ManagedProcess, free_port, wait_for_listen
from tests.support.servers import RunningServer, nginx, require_binary


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return build_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    require_binary("nginx")
    with nginx(pki, tmp_path_factory.mktemp("nginx"), mode="ca_names") as running:
        yield running


Proxy = tuple[int, Callable[[], list[str]]]


def _tinyproxy(workdir: Path, extra: str = "") -> Iterator[Proxy]:
    binary = require_binary("tinyproxy")
    port = free_port()
    config = workdir / "tinyproxy.conf"
    config.write_text(f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 100\n"
                      f"Allow 127.0.0.1\nLogLevel Connect\n{extra}")
    with ManagedProcess([binary, "-d", "-c", str(config)], workdir,
                        name="tinyproxy") as process:
        wait_for_listen("127.0.0.1", port, proc=process)

        def connects() -> list[str]:
            return [line for line in process.stdout_path.read_text().splitlines()
                    if "Request (file descriptor" in line and " CONNECT " in line]

        yield port, connects


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    yield from _tinyproxy(tmp_path_factory.mktemp("tinyproxy"))


@pytest.fixture(scope="module")
def strict_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """Allows CONNECT to port 443 only (tinyproxy answers others 403)."""
    yield from _tinyproxy(tmp_path_factory.mktemp("tinyproxy-strict"), "ConnectPort 443\n")


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_every_connection_goes_through_the_proxy(server: RunningServer, proxy: Proxy) -> None:
    port, connects = proxy
    before = len(connects())
    code, out, err = invoke("scan", f"127.0.0.1:{server.port}", "--https-proxy",
                            f"127.0.0.1:{port}", "--probes", "client_auth,protocols", "-q")
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "ok"
    made = connects()[before:]
    assert len(made) == record["stats"]["connections"] > 2  # full handshakes and raw hellos
    assert all(f"CONNECT 127.0.0.1:{server.port} HTTP/1.1" in line for line in made)
    oracle = s_client(server.port, tls_version="1.2").certificate_request
    assert oracle is not None
    request = record["client_auth"]["tls1_2"]["certificate_request"]
    assert [name["rfc4514"] for name in request["ca_names"]] == oracle.ca_names
    assert record["protocols"]["TLSv1.3"]["accepted"] is True
    assert record["target"]["address"] is None  # the proxy, not we, connected to it


def test_https_proxy_from_the_environment_only_when_asked(server: RunningServer,
                                                          proxy: Proxy) -> None:
    port, connects = proxy
    env = {"HTTPS_PROXY": f"http://127.0.0.1:{port}/"}
    before = len(connects())
    code, _, err = invoke("scan", f"127.0.0.1:{server.port}", "--probes", "client_auth", "-q",
                          env=env)
    assert code == 0, err
    assert len(connects()) == before, "HTTPS_PROXY is not used unless --https-proxy env"
    code, out, err = invoke("scan", f"127.0.0.1:{server.port}", "--probes", "client_auth",
                            "-q", "--https-proxy", "env", env=env)
    assert code == 0, err
    assert len(connects()) - before == json.loads(out)["stats"]["connections"]


def test_a_refused_tunnel_is_a_proxy_error(server: RunningServer, strict_proxy: Proxy,
                                           tmp_path: Path) -> None:
    port, _ = strict_proxy
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - {{host: 127.0.0.1, port: {server.port}, "
                         f"https_proxy: '127.0.0.1:{port}'}}\n")
    code, out, _ = invoke("scan", str(inventory), "--probes", "client_auth", "-q")
    assert code == 3
    error = json.loads(out)["error"]
    assert error["kind"] == "proxy_error"
    assert "403" in error["detail"] and f"CONNECT 127.0.0.1:{server.port}" in error["detail"]


@pytest.mark.parametrize(("value", "env", "message"), [
    ("env", {"HTTPS_PROXY": ""}, "HTTPS_PROXY is not set"),
    ("127.0.0.1", {}, "give the proxy's port"),
    ("https://proxy.example:3128", {}, "only http:// proxies"),
    ("proxy.example:3128/path", {}, "without a path"),
])
def test_bad_proxy_settings_exit_2(value: str, env: dict[str, str], message: str) -> None:
    code, _, err = invoke("scan", "127.0.0.1:1", "--https-proxy", value, env=env)
    assert code == 2 and message in err


def test_connect_codec() -> None:
    proxy = parse_proxy("http://scanner:s3cr%40t@[::1]:3128")
    assert (proxy.host, proxy.port) == ("::1", 3128)
    assert "s3cr" not in repr(proxy) and "s3cr" not in str(proxy)
    request = connect_request("api.example.com", 443, authorization=proxy.authorization)
    assert request == (b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443\r\n"
                       b"Proxy-Authorization: Basic c2Nhbm5lcjpzM2NyQHQ=\r\n\r\n")
    assert connect_request("2001:db8::1", 8443).startswith(b"CONNECT [2001:db8::1]:8443 ")
    with pytest.raises(WireError):
        connect_request("a b", 443)
    answer = b"HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\n"
    for cut in range(len(answer)):
        assert read_connect_response(answer[:cut]) is None
    banner = b"220 mail.example ESMTP\r\n"  # a server that speaks first, through the tunnel
    parsed = read_connect_response(answer + banner)
    assert parsed is not None and parsed.established and parsed.status == 200
    assert (answer + banner)[parsed.head_length:] == banner
    refused = read_connect_response(b"HTTP/1.0 403 Forbidden\r\n\r\n")
    assert refused is not None and not refused.established
    with pytest.raises(WireError):
        read_connect_response(b"SSH-2.0-OpenSSH\r\n")
    with pytest.raises(WireError):
        read_connect_response(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 3000)
