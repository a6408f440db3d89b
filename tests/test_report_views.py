"""The CSV verdict columns and the compact table, from one real sweep (the sample sweep:
nginx requiring a certificate with CA names, openssl s_server without, a closed port)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Iterator

import pytest

from scanner.report.render import OutputFormat, RenderContext, render
from scanner.results import Record
from tests.support.sample_sweep import sample_sweep


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Record]]:
    with sample_sweep(tmp_path_factory.mktemp("sweep")) as found:
        yield found


def rendered(fmt: OutputFormat, records: list[Record], **context: object) -> str:
    out = io.StringIO()
    render(fmt, records, out, context=RenderContext(**context))  # type: ignore[arg-type]
    return out.getvalue()


def test_csv_verdict_columns(records: list[Record]) -> None:
    strict, nameless, _closed = records
    rows = list(csv.DictReader(io.StringIO(rendered(OutputFormat.csv, records))))
    assert strict.enforcement is not None and strict.enforcement.verdict is not None
    assert rows[0]["enforcement_verdict"] == strict.enforcement.verdict.value
    assert nameless.enforcement is not None and nameless.enforcement.aws_alb is not None
    alb = nameless.enforcement.aws_alb
    assert rows[1]["aws_alb_mode"] == (alb.mode if alb.fits and alb.mode else "")
    assert strict.certificate is not None
    assert rows[0]["certificate_days_left"] == str(strict.certificate.days_left)
    accepted = [label for label, entry in strict.protocols.items()  # type: ignore[union-attr]
                if entry.accepted]
    assert (rows[0]["min_version"], rows[0]["max_version"]) == (accepted[0], accepted[-1])
    worst = max(strict.findings, key=lambda f: f.severity.rank)
    assert rows[0]["worst_finding"] == worst.id
    assert rows[0]["max_severity"] == worst.severity.value
    assert rows[0]["policy_match"] == " | ".join(
        m.id for m in strict.policy.matches) if strict.policy else ""
    assert rows[2]["enforcement_verdict"] == rows[2]["min_version"] == ""


@pytest.mark.parametrize("width", [80, 120])
def test_compact_table_is_one_row_per_target_and_readable_at_80_columns(
        records: list[Record], width: int) -> None:
    strict, nameless, _closed = records
    text = rendered(OutputFormat.table, records, table_width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("target"))
    worst_at = lines[header].index("finding") if width == 80 else lines[header].index("worst")
    body = lines[header + 2:]
    # one row per target: its first line carries the client-cert class (or "error")
    cert_at = lines[header].index("TLS")
    starts = [line for line in body
              if re.match(r"\S+\s+(required|optional|none|error)\b", line[cert_at:])
              or re.match(r"\s+error\b", line[cert_at:])]
    assert len(starts) == 3, text
    assert "strict-nginx".startswith(starts[0].split()[0])  # folded at 80 columns
    # vocabulary wraps between words, never inside one
    words = set(re.findall(r"[a-z]+", " ".join(body)))
    assert strict.client_auth is not None and strict.client_auth.classification is not None
    assert strict.client_auth.classification.value in words
    assert {"connection", "refused", "yes", "none", "verify"} <= words
    verdict = strict.enforcement.verdict.value  # type: ignore[union-attr]
    assert set(verdict.split("_")) <= words
    # the last column folds identifiers, losing no character
    last_column = "".join(line[worst_at:].strip() for line in body)
    for record in (strict, nameless):
        worst = max(record.findings, key=lambda f: f.severity.rank)
        assert worst.id in last_column


def test_detail_keeps_the_per_version_view(records: list[Record]) -> None:
    text = rendered(OutputFormat.table, records, table_detail=True)
    assert "CA names advertised" in text and "TLSv1.3" not in text.split("CA names")[0]
    assert "1.3" in text and "1.2" in text


def test_identification_and_clients_columns_agree_with_openssl(records: list[Record]) -> None:
    """CSV's policy/clients columns say what the record says; openssl s_client confirms the
    reason the failing clients give: the strict nginx completes a handshake when X25519 is
    offered and none with only P-256/P-384, the groups Windows 7 and Java 8 offer."""
    strict, nameless, _closed = records
    rows = list(csv.DictReader(io.StringIO(rendered(OutputFormat.csv, records))))
    assert strict.policy is not None and strict.clients is not None
    assert rows[0]["policy_match_kind"] == strict.policy.matches[0].match == "exact"
    assert rows[0]["software_default"] == ""
    assert nameless.policy is not None
    assert rows[1]["software_default"].split(" | ") == [
        d.id for d in nameless.policy.software_defaults] != [""]
    assert (rows[0]["clients_connect"], rows[0]["clients_fail"]) == (
        str(strict.clients.connect), str(strict.clients.fail))
    failing = dict(item.split(": ", 1) for item in rows[0]["clients_failing"].split(" | "))
    assert failing == {c.id: c.reason for c in strict.clients.clients if not c.connects}
    assert failing["windows-7"] == failing["java-8"] == "no common group"
    assert rows[1]["clients_fail"] == "0" and rows[1]["clients_failing"] == ""
    assert rows[2]["clients_connect"] == rows[2]["policy_match_kind"] == ""

    def handshake(groups: str) -> bool:
        done = subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{strict.target.port}",
             "-servername", "localhost", "-tls1_2", "-groups", groups],
            input="", capture_output=True, text=True, timeout=30, check=False)
        return "Cipher is ECDHE-" in done.stdout
    # (P-256 stays in the working list: at TLS 1.2 it also names the ECDSA certificate's curve)
    assert handshake("X25519:P-256") and not handshake("P-256:P-384")


def test_compact_policy_cell_shows_match_kind_software_and_clients(
        records: list[Record]) -> None:
    strict, _nameless, _closed = records
    assert strict.clients is not None
    text = rendered(OutputFormat.table, records, table_width=120)
    assert max(len(line) for line in text.splitlines()) <= 120
    total = strict.clients.connect + strict.clients.fail
    assert "exact" in text and f"clients {strict.clients.connect}/{total}" in text
    assert "default apache-httpd +2" in text
    narrow = rendered(OutputFormat.table, records, table_width=80)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert {"exact", "clients", "default"} <= set(re.findall(r"[a-z]+", narrow))


def test_detail_table_names_the_failing_clients(records: list[Record]) -> None:
    text = rendered(OutputFormat.table, records, table_detail=True, table_width=200)
    assert "match exact" in text or "(exact" in text
    assert "no common group" in text
