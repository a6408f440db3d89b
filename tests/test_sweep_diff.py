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


CA_ONE, CA_TWO = "CN=Client Root CA One,O=Example Corp,C=US", "CN=Client Root CA Two,O=Example"

# How two versions of a list are paired up: (old, new, expected changes at path "items").
LIST_MATCHING = {
    "findings by id and version": (
        [{"id": "weak", "version": "TLSv1.2"}, {"id": "weak", "version": "TLSv1.3"}],
        [{"id": "weak", "version": "TLSv1.3", "severity": "high"}],
        [("items[weak@TLSv1.2]", "removed", {"id": "weak", "version": "TLSv1.2"}, None),
         ("items[weak@TLSv1.3].severity", "added", None, "high")]),
    "an empty version names the item by id alone": (
        [{"id": "weak", "version": None}], [{"id": "weak", "version": None, "severity": "low"}],
        [("items[weak].severity", "added", None, "low")]),
    "by id, paired items diffed, their order not (a set)": (
        [{"id": "x", "n": 1}, {"id": "y"}], [{"id": "y"}, {"id": "x", "n": 2}],
        [("items[x].n", "changed", 1, 2)]),
    "CA names by rfc4514": (
        [{"rfc4514": CA_ONE}], [{"rfc4514": CA_TWO}],
        [(f"items[{CA_ONE}]", "removed", {"rfc4514": CA_ONE}, None),
         (f"items[{CA_TWO}]", "added", None, {"rfc4514": CA_TWO})]),
    "code before name": (
        [{"code": 29, "name": "x25519"}], [{"code": 29, "name": "X25519"}],
        [("items[29].name", "changed", "x25519", "X25519")]),
    "name when codes repeat": (
        [{"code": 1, "name": "a"}, {"code": 1, "name": "b"}], [{"code": 1, "name": "b"}],
        [("items[a]", "removed", {"code": 1, "name": "a"}, None)]),
    "duplicate ids fall back to the next unique field": (
        [{"id": "x", "name": "one"}, {"id": "x", "name": "two"}],
        [{"id": "x", "name": "two"}, {"id": "x", "name": "three"}],
        [("items[one]", "removed", {"id": "x", "name": "one"}, None),
         ("items[three]", "added", None, {"id": "x", "name": "three"})]),
    "by version": (
        [{"version": "TLSv1.2", "ok": True}], [{"version": "TLSv1.2", "ok": False}],
        [("items[TLSv1.2].ok", "changed", True, False)]),
    "by oid": (
        [{"oid": "2.5.29.17", "critical": False}], [{"oid": "2.5.29.17", "critical": True}],
        [("items[2.5.29.17].critical", "changed", False, True)]),
    "by path when oids repeat": (
        [{"oid": "1.2", "path": "/a"}, {"oid": "1.2", "path": "/b"}],
        [{"oid": "1.2", "path": "/b"}, {"oid": "1.3", "path": "/a"}],
        [("items[/a].oid", "changed", "1.2", "1.3")]),
    "objects added to and removed from an empty list": (
        [{"id": "gone"}], [], [("items[gone]", "removed", {"id": "gone"}, None)]),
    "names repeated on one side: the whole list changed": (
        [{"id": "a"}], [{"id": "a", "v": 1}, {"id": "a", "v": 2}],
        [("items", "changed", [{"id": "a"}], [{"id": "a", "v": 1}, {"id": "a", "v": 2}])]),
    "an identity field missing on one item: the whole list changed": (
        [{"id": "a"}], [{"name": "a"}], [("items", "changed", [{"id": "a"}], [{"name": "a"}])]),
    "objects without an identity field: the whole list changed": (
        [{"k": 1}], [{"k": 2}], [("items", "changed", [{"k": 1}], [{"k": 2}])]),
    "nested lists: the whole list changed": (
        [[1, 2], [3]], [[3], [2, 1]], [("items", "changed", [[1, 2], [3]], [[3], [2, 1]])]),
    "nested lists in another order: a set, no change": ([[1, 2], [3]], [[3], [1, 2]], []),
    "scalars mixed with objects: the whole list changed": (
        [1, {"a": 1}], [1, {"a": 2}], [("items", "changed", [1, {"a": 1}], [1, {"a": 2}])]),
    "names as a set: removed then added": (
        ["h2", "http/1.1", "spdy/3"], ["http/1.1", "h3", "spdy/3"],
        [("items", "removed", "h2", None), ("items", "added", None, "h3")]),
    "names as a set: the same names in another order are no change": (
        ["h2", "http/1.1"], ["http/1.1", "h2"], []),
    "scalars are told apart by their JSON text": (
        [1, True], ["1", 1],
        [("items", "removed", True, None), ("items", "added", None, "1")]),
    "a repeated name is not a change (set semantics)": (["a", "a"], ["a"], []),
    "scalars added to an empty list": (
        [], ["x", None], [("items", "added", None, "x"), ("items", "added", None, None)]),
}


@pytest.mark.parametrize(("old", "new", "expected"), LIST_MATCHING.values(), ids=LIST_MATCHING)
def test_list_items_are_paired_by_the_first_matching_rule(
        old: list[object], new: list[object], expected: list[tuple[str, str, object, object]],
) -> None:
    assert changes_of({"items": old}, {"items": new}) == expected


def test_only_the_order_of_ordered_lists_is_a_change() -> None:
    """The server's suite preference is an answer; the order of findings is not."""
    old = {"cipher_suites": {"TLSv1.2": {"suites": [{"code": "0x1"}, {"code": "0x2"}]}},
           "findings": [{"id": "a", "version": None}, {"id": "b", "version": None}],
           "tags": ["x", "y"]}
    new = {"cipher_suites": {"TLSv1.2": {"suites": [{"code": "0x2"}, {"code": "0x1"}]}},
           "findings": [{"id": "b", "version": None}, {"id": "a", "version": None}],
           "tags": ["y", "x"]}
    assert changes_of(old, new) == [
        ("cipher_suites.TLSv1.2.suites", "reordered", ["0x1", "0x2"], ["0x2", "0x1"])]


def test_generated_material_timings_counts_and_probe_attribution_are_ignored() -> None:
    def attempt(sha: str, day: int, subject: str = "CN=mtlsweep self-signed client") -> dict:
        return {"certificate": "self_signed", "result": "rejected",
                "presented": {"subject": subject, "sha256": sha, "generated": True,
                              "not_before": f"2026-12-0{day}T00:00:00Z"},
                "handshake": {"duration_ms": day, "transcript": [{"length": day}],
                              "offer": {"sni": None}}}

    old = {"enforcement": {"attempts": [attempt("aa", 1)]}, "stats": {"connections": 80},
           "cipher_suites": {"TLSv1.2": {"connections": 12, "offered": 40}},
           "resumption": {"tls1_3": {"wait_ms": 250}}, "duration_ms": 900,
           "probe_errors": {"ocsp": {"kind": "timeout", "detail": "d"}}}
    new = {"enforcement": {"attempts": [attempt("bb", 2)]}, "stats": {"connections": 66},
           "cipher_suites": {"TLSv1.2": {"connections": 14, "offered": 41}},
           "resumption": {"tls1_3": {"wait_ms": 400}}, "duration_ms": 1200,
           "probe_errors": {"certificate": {"kind": "timeout", "detail": "d"}}}
    assert changes_of(old, new) == []
    # ... but what a generated certificate stands for, and what failed, still count.
    new["enforcement"]["attempts"] = [attempt("bb", 2, subject="CN=other")]
    new["probe_errors"] = {"certificate": {"kind": "connection_reset", "detail": "d"}}
    assert [(path, kind) for path, kind, _, _ in changes_of(old, new)] == [
        ("enforcement.attempts[self_signed].presented.subject", "changed"),
        ("probe_errors", "removed"), ("probe_errors", "added")]

