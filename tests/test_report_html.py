"""``--format html`` and ``diff --format html`` opened in headless Chromium: the page loads
offline with no console error, the charts render, the table filters and sorts. Screenshots
are saved in the test's temp dir."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.report.render import OutputFormat, render
from scanner.results import Record
from tests.support.browser import headless_chromium
from tests.support.sample_sweep import sample_sweep


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Record]]:
    with sample_sweep(tmp_path_factory.mktemp("sweep")) as found:
        yield found


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def html_of(records: list[Record]) -> str:
    out = io.StringIO()
    render(OutputFormat.html, records, out)
    return out.getvalue()


def console_errors(browser: Any) -> list[dict[str, Any]]:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def visible_rows(browser: Any, table_id: str) -> list[Any]:
    return [row for row in browser.find_elements("css selector", f"#{table_id} tbody tr")
            if row.is_displayed()]


def test_the_page_is_self_contained(records: list[Record]) -> None:
    text = html_of(records)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "default-src 'none'" in text  # the CSP forbids any fetch the page might try
    assert "<script src" not in text and "<link" not in text


def test_report_in_a_browser(records: list[Record], browser: Any, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_of(records))
    browser.get(page.as_uri())
    assert browser.title == "mtlsweep report"
    browser.save_screenshot(str(tmp_path / "report.png"))
    assert (tmp_path / "report.png").stat().st_size > 0
    assert console_errors(browser) == []

    charts = {figure.get_attribute("id"): figure
              for figure in browser.find_elements("css selector", "figure")}
    assert {"chart-client-auth", "chart-verdicts", "chart-versions", "chart-policies",
            "chart-expiry", "chart-findings"} <= set(charts)
    for chart_id in ("chart-client-auth", "chart-verdicts", "chart-versions",
                     "chart-findings", "chart-policy-match-kind", "chart-software-defaults",
                     "chart-clients"):
        bars = charts[chart_id].find_elements("css selector", "rect")
        assert bars and all(bar.size["width"] > 0 and bar.size["height"] > 0 for bar in bars)
    strict, nameless, _ = records
    verdict_bars = charts["chart-verdicts"].find_elements("css selector", "g.bar title")
    assert {bar.get_attribute("textContent").split(":")[0] for bar in verdict_bars} == {
        r.enforcement.verdict.value for r in (strict, nameless)}  # type: ignore[union-attr]
    points = charts["chart-expiry"].find_elements("css selector", "circle.point")
    assert len(points) == 2 and all(p.size["width"] > 0 for p in points)

    # one row per target; filtering by words hides the others and says how many are shown
    assert len(visible_rows(browser, "targets")) == 3
    search = browser.find_element("css selector", "input.filter")
    search.send_keys("strict-nginx")
    rows = visible_rows(browser, "targets")
    assert len(rows) == 1 and "strict-nginx" in rows[0].text
    assert browser.find_element("id", "targets-count").text == "1 of 3"
    search.clear()
    search.send_keys("error connection")
    assert len(visible_rows(browser, "targets")) == 1
    search.send_keys("\b" * 40)
    assert len(visible_rows(browser, "targets")) == 3

    # sorting by findings (numeric), both ways
    header = browser.find_element("xpath", "//table[@id='targets']//th[text()='findings']")
    header.click()
    counts = [int(row.find_elements("tag name", "td")[-1].text)
              for row in visible_rows(browser, "targets")]
    assert counts == sorted(counts)
    header.click()
    counts = [int(row.find_elements("tag name", "td")[-1].text)
              for row in visible_rows(browser, "targets")]
    assert counts == sorted(counts, reverse=True)

    # each target's detail opens from its row
    browser.find_element("css selector", "#targets a[href='#target-0']").click()
    detail = browser.find_element("id", "target-0")
    detail.find_element("tag name", "summary").click()
    assert "CA names" in detail.text
    failing = detail.find_elements("css selector", "table.clients-failing tbody tr")
    assert strict.clients is not None
    assert [row.find_elements("tag name", "td")[0].text for row in failing] == [
        c.name for c in strict.clients.clients if not c.connects]
    browser.save_screenshot(str(tmp_path / "report-filtered-sorted.png"))
    assert console_errors(browser) == []


def test_identification_and_clients_in_the_report(records: list[Record]) -> None:
    """The summary counts match kinds, software defaults and failing clients; the targets
    table has connect/total; each detail lists the failing clients with their reasons."""
    strict, nameless, _ = records
    assert strict.clients is not None and strict.policy is not None
    assert nameless.policy is not None
    text = html_of(records)
    kinds = re.search(r'<figure id="chart-policy-match-kind">(.*?)</figure>', text, re.S)
    assert kinds and f"{strict.policy.matches[0].match}: 1" in kinds[1]
    software = re.search(r'<figure id="chart-software-defaults">(.*?)</figure>', text, re.S)
    assert software and all(d.id.rsplit(":", 1)[-1] + ": 1" in software[1]
                            for d in nameless.policy.software_defaults)
    clients = re.search(r'<figure id="chart-clients">(.*?)</figure>', text, re.S)
    failing = [c for c in strict.clients.clients if not c.connects]
    assert clients and failing and all(escape(c.name) + ": 1" in clients[1] for c in failing)
    assert "all connect: 1" in clients[1]
    total = strict.clients.connect + strict.clients.fail
    assert f">{strict.clients.connect}/{total}</td>" in text
    detail = text[text.index('id="target-0"'):text.index('id="target-1"')]
    assert all(f"<td>{escape(c.name)}</td><td class=\"bad\">{c.reason}</td>" in detail
               for c in failing)
    assert "groups: " in detail  # the first match's per-facet explanation


def test_sweep_diff_as_html(records: list[Record], browser: Any, tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    old.write_text("".join(r.to_json() + "\n" for r in records[:2]))
    changed = json.loads(records[0].to_json())
    changed["client_auth"]["classification"] = "none"
    new.write_text(json.dumps(changed) + "\n" + records[2].to_json() + "\n")
    result = CliRunner().invoke(app, ["diff", str(old), str(new), "--format", "html"])
    assert result.exit_code == 1, result.output
    page = tmp_path / "diff.html"
    page.write_text(result.stdout)
    browser.get(page.as_uri())
    assert browser.title == "mtlsweep diff"
    assert console_errors(browser) == []
    bars = browser.find_elements("css selector", "#chart-diff rect")
    assert len(bars) == 4 and all(bar.size["width"] > 0 for bar in bars)
    rows = visible_rows(browser, "changes")
    texts = [row.text for row in rows]
    assert any("client_auth.classification" in t for t in texts)
    assert any("removed" in t for t in texts) and any("added" in t for t in texts)
    browser.find_element("css selector", "input.filter").send_keys("classification")
    assert len(visible_rows(browser, "changes")) == 1
    browser.save_screenshot(str(tmp_path / "diff.png"))
