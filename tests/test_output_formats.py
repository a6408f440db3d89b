"""Every output format, from records of a real sweep, read back by a real parser."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.config.targets import Target
from scanner.report.csvfile import HEADER
from scanner.report.render import OutputFormat, RenderContext, render
from scanner.report.spool import RecordSpool
from scanner.results import Finding, Record, Severity
from tests.conftest import scan_targets
from tests.support.processes import free_port
from tests.test_cli import run


@pytest.fixture
def sweep_records(openssl_server, http_server) -> list[Record]:
    """A strict listener without CA names (two info findings), a plain HTTP port, a closed one."""
    strict = openssl_server(verify="require", no_ca_names=True)
    targets = [
        Target(host="127.0.0.1", port=strict.port, sni="localhost", name="strict, \"quoted\"",
               tags={"env": "test", "team": "edge"}, origin="targets.yaml:4:5"),
        Target(host="127.0.0.1", port=http_server.port, sni=None),
        Target(host="127.0.0.1", port=free_port(), sni=None),
    ]
    records = scan_targets(targets, timeout=3.0, probes=("client_auth",))
    assert [r.status for r in records] == ["ok", "error", "error"]
    return records


def rendered(fmt: OutputFormat, records: list[Record], **context: object) -> str:
    out = io.StringIO()
    render(fmt, records, out, context=RenderContext(**context))  # type: ignore[arg-type]
    return out.getvalue()


def test_json_document_and_jsonl_round_trip(sweep_records: list[Record]) -> None:
    document = json.loads(rendered(OutputFormat.json, sweep_records))
    assert [Record.model_validate(item) for item in document] == sweep_records
    assert rendered(OutputFormat.json, []) == "[]\n"
    assert rendered(OutputFormat.json, sweep_records) == json.dumps(
        [r.model_dump(mode="json", by_alias=True) for r in sweep_records], indent=2) + "\n"
    lines = rendered(OutputFormat.jsonl, sweep_records).splitlines()
    assert [Record.model_validate_json(line) for line in lines] == sweep_records


def test_csv_is_one_flat_row_per_target(sweep_records: list[Record]) -> None:
    rows = list(csv.DictReader(io.StringIO(rendered(OutputFormat.csv, sweep_records))))
    assert len(rows) == 3 and list(rows[0]) == HEADER
    strict, http, closed = rows
    assert strict["name"] == 'strict, "quoted"'
    assert strict["tags"] == "env=test | team=edge"
    assert strict["client_auth_classification"] == "required"
    assert strict["tls1_3_certificate_request"] == "true"
    assert strict["tls1_3_ca_names_sent"] == "false"
    assert strict["tls1_2_alert"] == "handshake_failure"
    assert strict["findings"] == ("client_auth.ca_names_missing (TLSv1.3) | "
                                  "client_auth.ca_names_missing (TLSv1.2)")
    assert strict["max_severity"] == "info"
    assert (http["status"], http["error_kind"]) == ("error", "not_tls")
    assert "HTTP/1.1 400" in http["error_detail"]
    assert closed["error_kind"] == "connection_refused"
    assert closed["client_auth_classification"] == "" and closed["findings"] == ""


def test_junit_has_a_suite_per_target_and_a_case_per_check(
        sweep_records: list[Record]) -> None:
    root = ET.fromstring(rendered(OutputFormat.junit, sweep_records))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        f'strict, "quoted" (127.0.0.1:{sweep_records[0].target.port} sni=localhost)',
        f"127.0.0.1:{sweep_records[1].target.port}", f"127.0.0.1:{sweep_records[2].target.port}"]
    strict, http, closed = suites
    # info findings do not fail by default: notes on the passing "scanned" case
    (case,) = strict.findall("testcase")
    assert case.get("name") == "scanned" and not list(case.findall("failure"))
    assert "client_auth.ca_names_missing" in (case.findtext("system-out") or "")
    properties = {p.get("name"): p.get("value") for p in strict.iter("property")}
    assert properties["tag.team"] == "edge" and properties["sni"] == "localhost"
    error = http.find("testcase/error")
    assert error is not None and error.get("type") == "not_tls"
    assert "HTTP/1.1 400" in (error.text or "")
    assert closed.find("testcase/error").get("type") == "connection_refused"  # type: ignore[union-attr]
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "0", "2")


def test_junit_fails_findings_at_the_threshold_and_every_unmet_expectation(
        sweep_records: list[Record]) -> None:
    strict = sweep_records[0]
    unmet = Finding(id="expect.ca_names_sent", severity=Severity.info, probe="expectations",
                    detail="expected CA names to be sent; none were")
    with_expectation = strict.model_copy(update={"findings": [*strict.findings, unmet]})
    root = ET.fromstring(rendered(OutputFormat.junit, [with_expectation]))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"scanned", "expect.ca_names_sent"}
    assert cases["expect.ca_names_sent"].find("failure") is not None
    strict_root = ET.fromstring(rendered(OutputFormat.junit, [strict], fail_on=Severity.info))
    names = sorted(case.get("name") or "" for case in strict_root.iter("testcase"))
    assert names == ["client_auth.ca_names_missing (TLSv1.2)",
                     "client_auth.ca_names_missing (TLSv1.3)", "scanned"]
    assert strict_root.get("failures") == "2"


def test_junit_survives_control_characters_from_a_server(sweep_records: list[Record]) -> None:
    http = sweep_records[1]
    assert http.error is not None
    hostile = http.model_copy(update={"error": http.error.model_copy(
        update={"detail": "got \x00\x1b[31m<b>&\"junk\""})})
    root = ET.fromstring(rendered(OutputFormat.junit, [hostile]))
    assert "<b>&" in (root.findtext("testsuite/testcase/error") or "")


def test_sarif_lists_findings_with_rules_and_inventory_locations(
        sweep_records: list[Record]) -> None:
    strict = sweep_records[0]
    origins = {("127.0.0.1", strict.target.port, "localhost"): "targets.yaml:4:5"}
    sarif = json.loads(rendered(OutputFormat.sarif, sweep_records, origins=origins))
    assert sarif["version"] == "2.1.0"
    (run_,) = sarif["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["client_auth.ca_names_missing"]
    results = run_["results"]
    assert len(results) == 2
    for result in results:
        assert result["ruleId"] == rules[result["ruleIndex"]]["id"]
        assert result["level"] == "note"
        (location,) = result["locations"]
        assert location["physicalLocation"] == {
            "artifactLocation": {"uri": "targets.yaml"},
            "region": {"startLine": 4, "startColumn": 5}}
        assert location["logicalLocations"][0]["name"].startswith('strict, "quoted"')
    assert len({r["partialFingerprints"]["mtlsweepTarget/v1"] for r in results}) == 2
    notifications = run_["invocations"][0]["toolExecutionNotifications"]
    assert sorted(n["descriptor"]["id"] for n in notifications) == ["connection_refused",
                                                                    "not_tls"]
    empty = json.loads(rendered(OutputFormat.sarif, []))
    assert empty["runs"][0]["results"] == []


def test_table_is_printed_in_parts_for_long_sweeps(sweep_records: list[Record],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.report.render.TABLE_BATCH", 2)
    text = rendered(OutputFormat.table, sweep_records, table_detail=True)
    assert "(targets 1-2)" in text and "(targets 3-3)" in text
    assert "certificate_required" in text and "not_tls" in text


def test_spool_replays_records_in_input_order(sweep_records: list[Record]) -> None:
    spool = RecordSpool()
    for index in (2, 0, 1):
        spool.add(index, sweep_records[index])
    assert list(spool) == sweep_records
    assert list(spool) == sweep_records, "a spool can be read more than once"
    spool.close()


def test_cli_writes_documents_atomically(openssl_server, tmp_path: Path) -> None:
    server = openssl_server(verify="request")
    out = tmp_path / "out.csv"
    result = run("scan", "--probes", "client_auth",
                 f"127.0.0.1:{server.port}", "--format", "csv", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert len(list(csv.DictReader(io.StringIO(out.read_text())))) == 1
    for fmt, parse in [("junit", ET.fromstring), ("sarif", json.loads), ("json", json.loads)]:
        out = tmp_path / "nested" / f"out.{fmt}"  # missing directories are created
        in_process = CliRunner().invoke(app, ["scan", "--probes", "client_auth",
                                              f"127.0.0.1:{server.port}", "--format",
                                              fmt, "-o", str(out)])
        assert in_process.exit_code == 0, in_process.stderr
        assert parse(out.read_text())
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert leftovers == [], "no partial files left behind"
