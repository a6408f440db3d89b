"""Exit codes of `mtlsweep scan` with expectations, end to end against real servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.processes import free_port
from tests.test_cli import records, run

pytestmark = pytest.mark.servers


def inventory(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(body)
    return path


def test_a_failed_expectation_exits_1_and_a_met_one_0(openssl_server, tmp_path: Path) -> None:
    server = openssl_server(verify="request")  # asks for a certificate, does not require one
    path = inventory(tmp_path, f"""
defaults:
  probes: [client_auth]
  expect:
    ca_names_sent: true
targets:
  - host: 127.0.0.1
    port: {server.port}
    sni: localhost
    name: optional-listener
    expect:
      client_auth: required
      ocsp_stapled: true
""")
    result = run("scan", str(path))
    assert result.returncode == 1, result.stderr
    (record,) = records(result.stdout)
    assert [(e["name"], e["status"], e["severity"]) for e in record["expectations"]] == [
        ("client_auth", "failed", "high"), ("ca_names_sent", "met", "medium"),
        ("ocsp_stapled", "not_evaluated", "medium")]
    (finding,) = [f for f in record["findings"] if f["id"].startswith("expect.")]
    assert finding == {"id": "expect.client_auth", "severity": "high", "probe": "expect",
                       "detail": "expected required, observed optional at TLSv1.3, optional "
                                 "at TLSv1.2", "version": None, "references": [],
                       "policy": None, "evidence": []}
    assert "expectations: 1 met, 1 failed, 1 not evaluated" in result.stderr

    path.write_text(path.read_text().replace("client_auth: required", "client_auth: optional"))
    result = run("scan", str(path), "--quiet")
    assert result.returncode == 1, result.stderr  # ocsp_stapled could not be evaluated
    assert [e["status"] for e in records(result.stdout)[0]["expectations"]] == [
        "met", "met", "not_evaluated"]
    assert run("scan", str(path), "--quiet", "--allow-unevaluated").returncode == 0


def test_fail_on_turns_findings_into_exit_1(openssl_server) -> None:
    server = openssl_server(verify="require", no_ca_names=True)  # finding: ca_names_missing
    target = f"127.0.0.1:{server.port}"
    plain = run("scan", target, "--quiet", "--probes", "client_auth")
    assert plain.returncode == 0, plain.stderr
    assert {f["severity"] for f in records(plain.stdout)[0]["findings"]} == {"info"}
    assert run("scan", target, "--quiet", "--probes", "client_auth",
               "--fail-on", "low").returncode == 0
    assert run("scan", target, "--quiet", "--probes", "client_auth",
               "--fail-on", "info").returncode == 1
    bad = run("scan", target, "--fail-on", "severe")
    assert bad.returncode == 2 and "severe" in bad.stderr


def test_unknown_policy_is_refused_before_any_connection(tarpit_server, tmp_path: Path) -> None:
    path = inventory(tmp_path, f"""
targets:
  - host: 127.0.0.1
    port: {tarpit_server.port}
    expect:
      policy: ELBSecurityPolicy-TLS13-1-2-2021-60
""")
    result = run("scan", str(path), "--timeout", "30")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"mtlsweep: error: {path}:6:7: unknown policy 'ELBSecurityPolicy-TLS13-1-2-2021-60'; "
        "did you mean ELBSecurityPolicy-TLS13-1-2-2021-06 or ")
    assert result.stderr.count("\n") == 1
    assert tarpit_server.connections == 0


def test_policies_from_files_and_inventory_are_known_to_expectations(tmp_path: Path) -> None:
    policy_file = tmp_path / "house.yaml"
    policy_file.write_text("policies:\n  - name: house\n    protocols: [TLSv1.3]\n"
                           "    tls13: [TLS_AES_128_GCM_SHA256]\n")
    closed = free_port()
    path = inventory(tmp_path, f"""
targets:
  - host: 127.0.0.1
    port: {closed}
    expect:
      policy: [house, mine]
policies:
  - name: mine
    protocols: [TLSv1.2]
    tls12: [ECDHE-RSA-AES128-GCM-SHA256]
""")
    without = run("scan", str(path))
    assert without.returncode == 2 and "unknown policy 'house'" in without.stderr
    result = run("scan", str(path), "--policy-file", str(policy_file))
    assert result.returncode == 3, result.stderr  # unreachable; nothing failed
    (record,) = records(result.stdout)
    assert record["expectations"] == [{
        "name": "policy", "status": "not_evaluated", "severity": "high",
        "expected": ["house", "mine"], "observed": None,
        "detail": "the target could not be scanned (connection_refused)"}]
    assert run("scan", str(path), "--policy-file", str(policy_file),
               "--allow-unreachable", "-q").returncode == 0


def test_a_failed_expectation_wins_over_unreachable(openssl_server, tmp_path: Path) -> None:
    server = openssl_server(verify=None)
    path = inventory(tmp_path, f"""
defaults:
  probes: [client_auth]
  expect: {{client_auth: required}}
targets:
  - {{host: 127.0.0.1, port: {server.port}}}
  - {{host: 127.0.0.1, port: {free_port()}}}
""")
    result = run("scan", str(path), "--format", "json")
    assert result.returncode == 1, result.stderr
    scanned, unreachable = json.loads(result.stdout)
    assert scanned["expectations"][0]["detail"] == (
        "expected required, observed none at TLSv1.3, none at TLSv1.2")
    assert unreachable["expectations"][0]["status"] == "not_evaluated"


def test_help_documents_the_exit_codes() -> None:
    result = run("scan", "--help")
    text = " ".join(result.stdout.split())
    assert ("1 an expectation failed or could not be evaluated (unless --allow-unevaluated), "
            "or a finding is at or above --fail-on") in text
    assert "3 some targets could not be scanned" in text and "--fail-on" in text
