"""`mtlsweep diff OLD NEW`: what changed between two sweeps, per endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.report.sweep_diff import diff_values, read_sweep
from tests.support.processes import free_port
from tests.test_cli import run


def changes_of(old: object, new: object) -> list[tuple[str, str, object, object]]:
    return [(c.path, c.kind, c.old, c.new) for c in diff_values(old, new, "")]


@pytest.mark.servers
def test_a_listener_change_is_reported_field_by_field(openssl_server, pki, tmp_path: Path) -> None:
    before = openssl_server(verify="request")
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    gone = free_port()
    assert run("scan", f"127.0.0.1:{before.port}", f"127.0.0.1:{gone}", "-o", str(old),
               "-q", "--probes", "client_auth").returncode == 3
    after = openssl_server(verify="require", ca_file=pki.client_ca_one_file)
    assert run("scan", f"127.0.0.1:{after.port}", "-o", str(new), "-q",
               "--probes", "client_auth").returncode == 0
    # The same listener, reconfigured: give the new record the old port.
    (record,) = [json.loads(line) for line in new.read_text().splitlines()]
    record["target"]["port"] = before.port
    new.write_text(json.dumps(record) + "\n"
                   + '{"schema": "mtlsweep/1", "target": {"host": "127.0.0.1", "po')

    result = run("diff", str(old), str(new), "--format", "json")
    assert result.returncode == 1, result.stderr
    assert "new.jsonl:2: the last line is not a complete JSON record" in result.stderr
    report = json.loads(result.stdout)
    assert [t["port"] for t in report["only_in_old"]] == [gone]
    assert report["only_in_new"] == [] and report["unchanged"] == 0
    (endpoint,) = report["changed"]
    assert endpoint["target"]["port"] == before.port
    changes = {(c["path"], c["kind"]): (c["old"], c["new"]) for c in endpoint["changes"]}
    assert changes[("client_auth.classification", "changed")] == ("optional", "required")
    two = "CN=Client Root CA Two,OU=Platform,O=Example Corp,C=JP"
    for version in ("tls1_3", "tls1_2"):
        removed = changes[(f"client_auth.{version}.certificate_request.ca_names[{two}]",
                           "removed")]
        assert removed[0]["rfc4514"] == two and removed[1] is None
        assert changes[(f"client_auth.{version}.without_certificate.classification",
                        "changed")] == ("optional", "required")
    assert not any("duration_ms" in path or "transcript" in path for path, _ in changes)
    assert report["new"]["warnings"] and report["old"]["warnings"] == []

    table = run("diff", str(old), str(new))
    assert table.returncode == 1
    assert "client_auth.classification" in table.stdout
    assert "absent from the new sweep" in table.stdout


def test_identical_sweeps_exit_0_and_json_documents_are_read(tmp_path: Path) -> None:
    record = {"schema": "mtlsweep/1", "target": {"host": "A.example", "port": 443,
                                                  "sni": "a.example"},
              "status": "ok", "started_at": "2026-01-01T00:00:00Z", "duration_ms": 5}
    later = {**record, "target": {**record["target"], "host": "a.example"},
             "started_at": "2026-02-01T00:00:00Z", "duration_ms": 9}
    old, new = tmp_path / "old.jsonl", tmp_path / "new.json"
    old.write_text(json.dumps(record) + "\n\n")
    new.write_text(json.dumps([later], indent=2))
    result = run("diff", str(old), str(new))
    assert result.returncode == 0, result.stderr
    assert "0 changed, 0 only in old, 0 only in new, 1 unchanged" in " ".join(
        result.stdout.split())


def test_unreadable_inputs_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"target": {"host": "a", "port": 1}}\nnot json\n{"target": {}}\n')
    result = run("diff", str(bad), str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"mtlsweep: error: {bad}:2: not a JSON record " \
                                    "(Expecting value)"
    assert run("diff", str(tmp_path / "absent.jsonl"), str(bad)).returncode == 2


def test_appended_sweeps_compare_the_last_record_of_each_target(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    first = {"target": {"host": "a", "port": 1, "sni": None}, "status": "error"}
    second = {"target": {"host": "a", "port": 1, "sni": None}, "status": "ok"}
    path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    loaded = read_sweep(path)
    assert list(loaded.records.values()) == [second]
    assert "1 record(s) repeat a target" in loaded.warnings[0]


def test_generic_facets_lists_and_findings() -> None:
    old = {"status": "ok", "protocols": {"TLSv1.0": {"accepted": True}},
           "cipher_suites": {"TLSv1.2": {"suites": [{"code": "0xC02F"}, {"code": "0xC030"}]}},
           "alpn": {"supported": ["h2", "http/1.1"]},
           "findings": [{"id": "x.y", "version": "TLSv1.2", "severity": "low"},
                        {"id": "x.y", "version": "TLSv1.3", "severity": "low"}],
           "stats": {"connections": 3}}
    new = {"status": "ok", "protocols": {"TLSv1.0": {"accepted": False}},
           "cipher_suites": {"TLSv1.2": {"suites": [{"code": "0xC030"}, {"code": "0xCCA8"}]}},
           "alpn": {"supported": ["http/1.1", "h2"]},
           "ocsp": {"stapled": True},
           "findings": [{"id": "x.y", "version": "TLSv1.3", "severity": "high"}],
           "stats": {"connections": 9}}
    assert changes_of(old, new) == [
        ("protocols.TLSv1.0.accepted", "changed", True, False),
        ("cipher_suites.TLSv1.2.suites[0xC02F]", "removed", {"code": "0xC02F"}, None),
        ("cipher_suites.TLSv1.2.suites[0xCCA8]", "added", None, {"code": "0xCCA8"}),
        ("alpn.supported", "reordered", ["h2", "http/1.1"], ["http/1.1", "h2"]),
        ("findings[x.y@TLSv1.2]", "removed",
         {"id": "x.y", "version": "TLSv1.2", "severity": "low"}, None),
        ("findings[x.y@TLSv1.3].severity", "changed", "low", "high"),
        ("ocsp", "added", None, {"stapled": True}),
    ]
