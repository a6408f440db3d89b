"""The command line end to end: error records, exit codes, formats, schema, demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import free_port

MTLSWEEP = [sys.executable, "-m", "scanner"]


def run(*args: str, timeout: float = 60,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MTLSWEEP, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"}, check=False)


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_unreachable_targets_each_get_one_typed_record_within_the_timeout(
        tarpit_server, http_server) -> None:
    closed = free_port()
    started = time.monotonic()
    result = run("scan", f"127.0.0.1:{closed}", f"127.0.0.1:{tarpit_server.port}",
                 f"127.0.0.1:{http_server.port}", "no-such-host.invalid", "--timeout", "1.5")
    elapsed = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    by_port = {r["target"]["port"]: r for r in records(result.stdout)}
    assert len(by_port) == 4
    assert all(r["status"] == "error" and r["schema"] == "mtlsweep/1" for r in by_port.values())
    assert by_port[closed]["error"]["kind"] == "connection_refused"
    assert by_port[tarpit_server.port]["error"]["kind"] == "timeout"
    assert "sent nothing" in by_port[tarpit_server.port]["error"]["detail"]
    assert by_port[http_server.port]["error"]["kind"] == "not_tls"
    assert "HTTP/1.1 400 Bad Request" in by_port[http_server.port]["error"]["detail"]
    assert by_port[443]["error"]["kind"] == "dns_failure"
    assert elapsed < 1.5 + 15, "the tarpit must be cut off by --timeout"
    assert "4 target(s)" in result.stderr and "4 error" in result.stderr


def test_allow_unreachable_exits_zero() -> None:
    result = run("scan", f"127.0.0.1:{free_port()}", "--allow-unreachable", "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""
    assert records(result.stdout)[0]["error"]["kind"] == "connection_refused"


def test_scan_inventory_with_output_file_json_and_table(openssl_server, tmp_path: Path) -> None:
    server = openssl_server(verify="require")
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"""
defaults:
  tags: {{env: test}}
  probes: [client_auth, enforcement]
targets:
  - host: 127.0.0.1
    port: {server.port}
    sni: localhost
    name: strict-listener
    http: false
""")
    out = tmp_path / "out.jsonl"
    keylog = tmp_path / "keys.log"
    result = run("scan", str(inventory), "-o", str(out), "--keylog", str(keylog))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    (record,) = records(out.read_text())
    assert record["target"] == {"host": "127.0.0.1", "port": server.port, "sni": "localhost",
                                "name": "strict-listener", "address": "127.0.0.1",
                                "tags": {"env": "test"}, "protocol": "tls",
                                "per_address": False}
    assert record["client_auth"]["classification"] == "required"
    # client_auth: one per version; enforcement: none, self-signed, untrusted and look-alike CA.
    assert record["stats"]["connections"] == 2 + 4
    assert record["enforcement"]["verdict"] == "required_at_tls"
    key_lines = keylog.read_text().splitlines()
    assert any(line.startswith("CLIENT_HANDSHAKE_TRAFFIC_SECRET ") for line in key_lines)
    assert any(line.startswith("CLIENT_RANDOM ") for line in key_lines)  # the TLS 1.2 one

    again = run("scan", str(inventory), "-o", str(out), "--quiet")
    assert again.returncode == 0
    assert len(records(out.read_text())) == 2, "JSON Lines output is appended"

    document = run("scan", str(inventory), "--format", "json")
    assert json.loads(document.stdout)[0]["client_auth"]["classification"] == "required"

    table = run("scan", str(inventory), "--format", "table", "--detail")
    assert "strict-listener" in table.stdout and "certificate_required" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "example.com:99999"], "port 99999 is out of range"),
        (["scan", "127.0.0.1", "--probes", "nope"], "unknown probe 'nope'"),
        (["scan", "127.0.0.1", "--probes", "vulnerabilities", "--no-vuln-checks"],
         "--no-vuln-checks leaves no probe to run"),
        (["scan", "a.example", "A.example:443"], "duplicate target a.example:443"),
        (["scan", "missing.yaml"], "missing.yaml: no such file"),
        (["scan", "127.0.0.1", "--ca-bundle", "nope.pem"], "nope.pem: no such file"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str,
                                           tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_ca_bundle_from_option_and_inventory(openssl_server, pki, tmp_path: Path) -> None:
    server = openssl_server(verify=None)
    endpoint = f"127.0.0.1:{server.port}"
    bundle = tmp_path / "cas" / "server-ca.pem"
    bundle.parent.mkdir()
    bundle.write_bytes(pki.server_ca_file.read_bytes())

    def certificate(*args: str) -> dict:
        result = run("scan", *args, "--probes", "certificate", "--quiet", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        (record,) = records(result.stdout)
        return record["certificate"]

    given = certificate(endpoint, "--ca-bundle", str(bundle))
    assert given["trusted"] is True
    assert given["chains"][0]["validation"]["trust_store"] == str(bundle.resolve())

    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - host: 127.0.0.1\n    port: {server.port}\n"
                         "    ca_bundle: cas/server-ca.pem\n")
    from_yaml = certificate(str(inventory))
    assert from_yaml["chains"][0]["validation"]["trust_store"] == str(bundle.resolve())
    # No SNI for an IP literal: the name checked is the address, which the SANs list.
    assert (from_yaml["chains"][0]["hostname"], from_yaml["hostname_matches"]) == (
        "127.0.0.1", True)


def test_bad_inventory_names_file_line_and_key(tmp_path: Path) -> None:
    inventory = tmp_path / "bad.yaml"
    inventory.write_text("targets:\n  - host: a.example\n    prot: 443\n")
    result = run("scan", str(inventory))
    assert result.returncode == 2
    assert f"{inventory}:3:5: unknown key 'targets[0].prot'" in result.stderr


def test_schema_is_generated_from_the_model_and_validates_records(openssl_server) -> None:
    from scanner.results import Record

    schema = json.loads(run("schema").stdout)
    assert schema == json.loads(json.dumps(
        Record.model_json_schema(by_alias=True, mode="serialization") | {
            "$schema": schema["$schema"], "$id": schema["$id"]}))
    assert "client_auth" in schema["properties"]
    assert schema["properties"]["schema"]["const"] == "mtlsweep/1"
    # "require": s_server -www never answers HEAD, so an accepted enforcement attempt would
    # wait out --timeout (and block this single-threaded server meanwhile).
    server = openssl_server(verify="require")
    (record,) = records(run("scan", f"127.0.0.1:{server.port}").stdout)
    assert record["enforcement"]["verdict"] == "required_at_tls"
    assert set(record) <= set(schema["properties"])
    assert set(schema["required"]) <= set(record)


def test_help_and_version() -> None:
    help_text = run("scan", "--help").stdout
    assert "Exit codes" in help_text and "--concurrency" in help_text
    assert run("--version").stdout.startswith("mtlsweep ")


def test_demo_scans_its_local_listeners() -> None:
    result = run("demo", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    by_name = {r["target"]["name"]: r for r in records(result.stdout)}
    expected = {
        "alb-tls13-verify-ca-names": ("required", True, True, "required_at_tls"),
        "alb-tls13-verify-no-ca-names": ("required", False, False, "required_at_tls"),
        "alb-tls12-ext-2018-06-verify": ("required", None, False, "required_at_tls"),
        "alb-passthrough": ("optional", False, False, "optional_unverified"),
        "optional-client-cert": ("optional", True, True, "optional_verified"),
        "issuer-name-only-check": ("required", True, True, "accepts_untrusted"),
        "no-mtls": ("none", None, None, "not_requested"),
    }
    assert set(by_name) == set(expected)
    for name, (classification, names13, names12, verdict) in expected.items():
        auth = by_name[name]["client_auth"]
        assert by_name[name]["enforcement"]["verdict"] == verdict, name
        assert auth["classification"] == classification, name
        tls13, tls12 = auth["tls1_3"], auth["tls1_2"]
        assert (tls13["certificate_request"] or {}).get("ca_names_sent") == names13, name
        assert tls12["certificate_request"]["ca_names_sent"] == names12, name
    assert by_name["alb-tls12-ext-2018-06-verify"]["client_auth"]["tls1_3"]["supported"] is False
    # The demo trusts its own server CA: certificates are clean, nothing is stapled.
    for name, record in by_name.items():
        assert record["certificate"]["trusted"] is True, name
        assert record["ocsp"]["stapled"] is False, name
        unexpected = [f for f in record["findings"] if f["probe"] not in ("client_auth",
                                                                          "enforcement")]
        assert not unexpected, name
    flagged = {name for name, record in by_name.items()
               if any(f["id"] == "enforcement.accepts_untrusted" for f in record["findings"])}
    assert flagged == {"issuer-name-only-check"}
    # The demo presents its client certificate to the ALB verify listeners: their session
    # facts come from credentialed handshakes instead of being unknown.
    for name in ("alb-tls13-verify-ca-names", "alb-tls13-verify-no-ca-names",
                 "alb-tls12-ext-2018-06-verify"):
        renegotiation, tls12 = by_name[name]["renegotiation"], by_name[name]["resumption"]["tls1_2"]
        assert renegotiation["client_initiated"]["outcome"] == "refused_warning", name
        assert renegotiation["client_certificate_presented"] is True, name
        assert tls12["ticket"]["lifetime_s"] > 0 and tls12["resumed_with_ticket"] is True, name
        assert tls12["client_certificate_presented"] is True, name
