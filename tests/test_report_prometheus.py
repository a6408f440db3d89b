"""``--format prometheus``: the records of a real sweep as text exposition, checked by
``promtool check metrics`` (Debian's prometheus package) and parsed back."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.report.render import OutputFormat, render
from scanner.results import Record
from tests.support.sample_sweep import sample_sweep
from tests.support.servers import REQUIRE_ENV

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Record]]:
    with sample_sweep(tmp_path_factory.mktemp("sweep")) as found:
        yield found


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if __import__("os").environ.get(REQUIRE_ENV) == "1":
            pytest.fail("promtool (Debian package prometheus) is required")
        pytest.skip("promtool not installed")
    return found


def exposition(records: list[Record]) -> str:
    out = io.StringIO()
    render(OutputFormat.prometheus, records, out)
    return out.getvalue()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, line
        labels = frozenset(LABEL.findall(match["labels"] or ""))
        found[(match["name"], labels)] = float(match["value"])
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, /,
          **labels: str) -> float | None:
    """The one sample of ``metric`` whose labels include ``labels``."""
    hits = [v for (n, ls), v in found.items() if n == metric and set(labels.items()) <= ls]
    assert len(hits) <= 1, (metric, labels, hits)
    return hits[0] if hits else None


def test_promtool_accepts_the_exposition(records: list[Record], tmp_path: Path) -> None:
    text = exposition(records)
    result = subprocess.run([promtool(), "check", "metrics"], input=text, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stderr
    (tmp_path / "metrics.prom").write_text(text)
    # every family once, each with HELP and TYPE before its samples
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names))


def test_series_carry_the_facts_of_each_record(records: list[Record]) -> None:
    strict, nameless, closed = records
    found = samples(exposition(records))
    s = {"target": f"127.0.0.1:{strict.target.port}", "name": "strict-nginx"}
    n = {"target": f"127.0.0.1:{nameless.target.port}"}
    c = {"target": f"127.0.0.1:{closed.target.port}"}

    assert value(found, "mtlsweep_scan_success", **s) == 1
    assert value(found, "mtlsweep_scan_success", **c) == 0
    assert value(found, "mtlsweep_scan_status", **c, status="error") == 1
    assert value(found, "mtlsweep_scan_status", **c, status="ok") == 0
    # client auth per version and overall, as state sets
    auth = strict.client_auth
    assert auth is not None and auth.tls1_3 is not None and auth.tls1_2 is not None
    for version, entry in (("TLSv1.3", auth.tls1_3), ("TLSv1.2", auth.tls1_2)):
        assert entry.without_certificate is not None
        seen = entry.without_certificate.classification.value
        assert value(found, "mtlsweep_client_auth", **s, version=version,
                     classification=seen) == 1
        assert value(found, "mtlsweep_client_auth", **s, version=version,
                     classification="none") == 0
    assert value(found, "mtlsweep_client_auth", **s, version="any",
                 classification=auth.classification.value) == 1  # type: ignore[union-attr]
    assert value(found, "mtlsweep_client_auth_ca_names_sent", **s, version="TLSv1.3") == 1
    assert value(found, "mtlsweep_client_auth_ca_names_sent", **n, version="TLSv1.2") == 0
    assert value(found, "mtlsweep_client_auth_ca_names", **s, version="TLSv1.2") == len(
        strict.client_auth.tls1_2.certificate_request.ca_names)  # type: ignore[union-attr]
    # the enforcement verdict as the record has it
    verdict = strict.enforcement.verdict.value  # type: ignore[union-attr]
    assert value(found, "mtlsweep_enforcement_verdict", **s, verdict=verdict) == 1
    assert sum(v for (name, ls), v in found.items()
               if name == "mtlsweep_enforcement_verdict" and ("target", s["target"]) in ls) == 1
    # versions: nginx here accepts TLS 1.2 and 1.3 only, and SSLv3 was tested and refused
    assert value(found, "mtlsweep_tls_version_accepted", **s, version="TLSv1.3") == 1
    assert value(found, "mtlsweep_tls_version_accepted", **s, version="TLSv1.0") == (
        1 if strict.protocols["TLSv1.0"].accepted else 0)  # type: ignore[index]
    # certificate expiry as a Unix timestamp, equal to the record's leaf not_after
    leaf = strict.certificate.chains[0].certificates[0]  # type: ignore[union-attr]
    assert value(found, "mtlsweep_certificate_not_after_timestamp_seconds", **s) == int(
        leaf.not_after.timestamp())
    assert value(found, "mtlsweep_certificate_trusted", **s) == 1
    # no staple from these servers
    assert value(found, "mtlsweep_ocsp_stapled", **s) == 0
    # expectations: ca_names_sent met, min_version TLSv1.3 failed (nginx accepts TLS 1.2)
    assert value(found, "mtlsweep_expectation_met", **s, expectation="ca_names_sent") == 1
    assert value(found, "mtlsweep_expectation_met", **s, expectation="min_version") == 0
    assert value(found, "mtlsweep_expectations", **s, status="failed") == 1
    # findings by severity add up to the record's
    assert sum(v for (name, ls), v in found.items()
               if name == "mtlsweep_findings" and ("target", n["target"]) in ls
               ) == len(nameless.findings)
    assert value(found, "mtlsweep_findings", **s, severity="high") == sum(
        1 for f in strict.findings if f.severity.value == "high")
    # facts a record lacks are absent, not zero
    assert value(found, "mtlsweep_enforcement_verdict", **c, verdict=verdict) is None
    assert value(found, "mtlsweep_certificate_trusted", **c) is None


def test_label_values_are_escaped(records: list[Record], tmp_path: Path) -> None:
    odd = records[0].model_copy(deep=True)
    odd.target.name = 'a "quoted"\\name\nwith a newline'
    text = exposition([odd])
    assert 'name="a \\"quoted\\"\\\\name\\nwith a newline"' in text
    result = subprocess.run([promtool(), "check", "metrics"], input=text, text=True,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_identification_and_client_compatibility_series(records: list[Record]) -> None:
    """The strict nginx serves an ELB policy's suites with X25519 only: it matches the policy
    and the profiled clients without X25519 fail; openssl s_server matches software defaults."""
    strict, nameless, closed = records
    found = samples(exposition(records))
    s = {"target": f"127.0.0.1:{strict.target.port}", "name": "strict-nginx"}
    n = {"target": f"127.0.0.1:{nameless.target.port}"}
    c = {"target": f"127.0.0.1:{closed.target.port}"}
    assert strict.policy is not None and strict.policy.matches and strict.clients is not None
    first = strict.policy.matches[0]
    assert first.match in ("exact", "suites")
    assert value(found, "mtlsweep_policy_match", **s, policy=first.id, match=first.match) == 1
    assert nameless.policy is not None and nameless.policy.software_defaults
    for software in nameless.policy.software_defaults:
        assert value(found, "mtlsweep_software_default", **n, software=software.id) == 1
    assert value(found, "mtlsweep_software_default", **s) is None
    assert value(found, "mtlsweep_clients", **s, outcome="connect") == strict.clients.connect
    assert value(found, "mtlsweep_clients", **s, outcome="fail") == strict.clients.fail > 0
    for client in strict.clients.clients:
        assert value(found, "mtlsweep_client_connects", **s, client=client.id) == (
            1 if client.connects else 0)
    assert value(found, "mtlsweep_client_connects", **s, client="windows-7") == 0
    assert value(found, "mtlsweep_client_connects", **s, client="openssl-3.0") == 1
    # bounded: one series per profile per target, none for a target that was not scanned
    assert len({ls for (name, ls), _ in found.items()
                if name == "mtlsweep_client_connects"}) == 2 * len(strict.clients.clients)
    assert value(found, "mtlsweep_clients", **c, outcome="fail") is None
