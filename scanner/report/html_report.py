"""``--format html``: one self-contained page for a sweep, and ``diff --format html`` for two.

The sweep page: summary charts (client-certificate classes, enforcement verdicts, accepted
protocol versions, policy matches and their kind, matching server-software defaults, profiled
clients that would fail, certificate expiry timeline, findings by severity), a
sortable, filterable table with one row per target, and each target's detail. Records are
read twice (digests for the summary, then the details), so memory holds digests, not records.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape
from typing import IO

from scanner import __version__
from scanner.report.digest import Digest, digest, severity_rank
from scanner.report.html_page import bar_chart, cell, page, sortable_table, timeline_chart
from scanner.report.sweep_diff import SweepDiff
from scanner.results import (
    ClientAuthClass,
    EnforcementVerdict,
    Record,
    Severity,
)
from scanner.results.versions import PROTOCOL_LABELS

__all__ = ["write_html", "write_html_diff"]

_CLASS_TONE = {"required": "ok", "optional": "warn", "none": "dim"}
_VERDICT_TONE = {"required_at_tls": "ok", "required_at_http": "ok", "optional_verified": "warn",
                 "optional_unverified": "bad", "accepts_untrusted": "bad",
                 "not_requested": "dim"}
_SEVERITY_TONE = {"info": "info", "low": "warn", "medium": "warn", "high": "bad",
                  "critical": "bad"}


def write_html(records: Iterable[Record], out: IO[str]) -> None:
    facts = [digest(record) for record in records]
    body = [f"<h1>mtlsweep report</h1><p class=\"meta\">{len(facts)} target(s); generated "
            f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} by mtlsweep {__version__}</p>",
            "<h2>Summary</h2>", _charts(facts),
            "<h2>Targets</h2>", _targets_table(facts),
            "<h2>Details</h2>"]
    body += [_detail(index, record) for index, record in enumerate(records)]
    out.write(page("mtlsweep report", "\n".join(body)))


def _charts(facts: list[Digest]) -> str:
    classes = Counter(f.client_auth or "not measured" for f in facts if f.status != "error")
    verdicts = Counter(f.verdict for f in facts if f.verdict)
    versions = Counter(v for f in facts for v in f.versions)
    policies = Counter(p for f in facts for p in f.policy_matches)
    unmatched = sum(1 for f in facts if f.status != "error" and not f.policy_matches)
    match_kinds = Counter(f.policy_match_kind for f in facts if f.policy_match_kind)
    software = Counter(s.rsplit(":", 1)[-1] for f in facts for s in f.software_defaults)
    failing = Counter(name for f in facts for _, name, _ in f.clients_failing)
    all_connect = sum(1 for f in facts if f.clients_connect is not None and not f.clients_fail)
    findings: Counter[str] = Counter()
    for f in facts:
        findings.update(f.findings_by_severity)
    statuses = Counter(f.status for f in facts)
    return "<div class=\"charts\">" + "".join([
        bar_chart("chart-status", "Scan status",
                  [(s, statuses[s], {"ok": "ok", "partial": "warn", "error": "bad"}[s])
                   for s in ("ok", "partial", "error") if statuses[s]]),
        bar_chart("chart-client-auth", "Client certificate",
                  [(c.value, classes[c.value], _CLASS_TONE[c.value]) for c in ClientAuthClass
                   if classes[c.value]]
                  + ([("not measured", classes["not measured"], "dim")]
                     if classes["not measured"] else [])),
        bar_chart("chart-verdicts", "Enforcement verdict",
                  [(v.value, verdicts[v.value], _VERDICT_TONE[v.value])
                   for v in EnforcementVerdict if verdicts[v.value]]),
        bar_chart("chart-versions", "Protocol versions accepted",
                  [(label, versions[label], "bad" if label in ("SSLv2", "SSLv3") else
                    "warn" if label in ("TLSv1.0", "TLSv1.1") else "ok")
                   for label in reversed(PROTOCOL_LABELS) if versions[label]]),
        bar_chart("chart-policies", "Named policy matches",
                  [(name, count, "info") for name, count in policies.most_common(8)]
                  + ([("no match", unmatched, "dim")] if unmatched else [])),
        bar_chart("chart-policy-match-kind", "Policy match kind",
                  [(kind, match_kinds[kind], "ok" if kind == "exact" else "warn")
                   for kind in ("exact", "suites") if match_kinds[kind]]),
        bar_chart("chart-software-defaults", "Server software defaults matched",
                  [(name, count, "info") for name, count in software.most_common(8)]),
        bar_chart("chart-clients", "Profiled clients that fail (targets)",
                  [(name, count, "bad") for name, count in failing.most_common(8)]
                  + ([("all connect", all_connect, "ok")] if all_connect else [])),
        timeline_chart("chart-expiry", "Certificate expiry",
                       [(f.label, f.certificate_days_left) for f in facts
                        if f.certificate_days_left is not None]),
        bar_chart("chart-findings", "Findings by severity",
                  [(s.value, findings[s.value], _SEVERITY_TONE[s.value])
                   for s in reversed(Severity) if findings[s.value]]),
    ]) + "</div>"


_HEADERS = [("target", "text"), ("status", "text"), ("TLS", "text"), ("client cert", "text"),
            ("CA names", "text"), ("verdict", "text"), ("ALB", "text"), ("policy", "text"),
            ("clients", "number"), ("days left", "number"), ("worst finding", "number"),
            ("findings", "number")]


def _targets_table(facts: list[Digest]) -> str:
    rows = []
    for index, f in enumerate(facts):
        versions = (f"{f.min_version}-{f.max_version}".replace("TLSv", "")
                    if f.min_version and f.max_version and f.min_version != f.max_version
                    else (f.min_version or ""))
        ca = "" if f.ca_names_sent is None else "yes" if f.ca_names_sent else "none"
        worst = f"{f.worst_finding}: {f.worst_finding_id}" if f.worst_finding else ""
        rows.append(
            f'<tr id="row-{index}">'
            f'<td><a href="#target-{index}">{escape(f.label)}</a>'
            + (f' <span class="dim">{escape(f.endpoint)}</span>' if f.label != f.endpoint
               else "") + "</td>"
            + cell(f.status if f.status != "error" else f"error: {f.error_kind}",
                   tone="bad" if f.status == "error" else None)
            + cell(versions)
            + cell(_client_auth_text(f), tone=_CLASS_TONE.get(f.client_auth or ""))
            + cell(ca, tone="ok" if ca == "yes" else "warn" if ca == "none" else None)
            + cell(f.verdict, tone=_VERDICT_TONE.get(f.verdict or ""))
            + cell(f.alb_mode)
            + cell(", ".join(f.policy_matches)
                   + (f" ({f.policy_match_kind})" if f.policy_match_kind else ""))
            + _clients_cell(f)
            + cell(f.certificate_days_left, sort=_number(f.certificate_days_left),
                   tone="bad" if (f.certificate_days_left or 0) < 0 else None)
            + cell(worst, sort=-severity_rank(f.worst_finding),
                   tone=_SEVERITY_TONE.get(f.worst_finding or ""))
            + cell(sum(f.findings_by_severity.values()))
            + "</tr>")
    return sortable_table("targets", _HEADERS, rows,
                          placeholder="filter: words that must all appear in a row")


def _clients_cell(f: Digest) -> str:
    """``connect/total`` profiled clients, sorted by how many fail."""
    if f.clients_connect is None or f.clients_fail is None:
        return cell("", sort="")
    return cell(f"{f.clients_connect}/{f.clients_connect + f.clients_fail}",
                sort=str(f.clients_fail), tone="warn" if f.clients_fail else "ok")


def _client_auth_text(f: Digest) -> str:
    if len(set(f.client_auth_by_version.values())) > 1:
        return ", ".join(f"{label.replace('TLSv', '')} {value}"
                         for label, value in f.client_auth_by_version.items())
    return f.client_auth or ""


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _detail(index: int, record: Record) -> str:
    f = digest(record)
    facts: list[tuple[str, object]] = [
        ("endpoint", f.endpoint), ("SNI", f.sni), ("address", f.address),
        ("status", record.status), ("probes", ", ".join(record.probes)),
        ("client certificate", _client_auth_text(f)),
        ("CA names sent", f.ca_names_sent), ("enforcement", f.verdict),
        ("AWS ALB mode", f.alb_mode),
        ("versions accepted", ", ".join(f.versions)),
        ("certificate days left", f.certificate_days_left),
        ("leaf not after", f.leaf_not_after), ("trusted", f.certificate_trusted),
        ("host name matches", f.hostname_matches), ("OCSP staple", f.ocsp_status
                                                    or f.ocsp_stapled),
        ("policy", f.policy), ("policy match", f.policy_match_kind),
        ("software defaults matched", ", ".join(
            d.name for d in record.policy.software_defaults) if record.policy else None),
        ("profiled clients", None if f.clients_connect is None else
         f"{f.clients_connect} connect, {f.clients_fail} fail"),
        ("connections", record.stats.connections),
    ]
    parts = [f'<details id="target-{index}"><summary>{escape(f.label)}'
             f'{"" if f.label == f.endpoint else " (" + escape(f.endpoint) + ")"}</summary><dl>']
    parts += [f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in facts
              if v is not None and v != ""]
    parts.append("</dl>")
    if record.error is not None:
        parts.append(f'<p class="bad">{escape(record.error.kind.value)}: '
                     f'{escape(record.error.detail)}</p>')
    for name, error in record.probe_errors.items():
        parts.append(f'<p class="warn">probe {escape(name)}: {escape(error.kind.value)}: '
                     f'{escape(error.detail)}</p>')
    if record.client_auth is not None:
        for label, entry in record.client_auth.versions().items():
            request = entry.certificate_request
            if request is not None and request.sent:
                names = ", ".join(n.rfc4514 for n in request.ca_names) or "(none)"
                parts.append(f"<p>{escape(label)} CA names: <code>{escape(names)}</code></p>")
    parts += _policy_detail(record)
    if record.enforcement is not None:
        parts.append("<p>enforcement: " + escape(record.enforcement.reason) + "</p><ul>")
        parts += [f"<li>{escape(a.certificate.value)}: {escape(a.result.value)} "
                  f"({escape(a.detail)})</li>" for a in record.enforcement.attempts]
        parts.append("</ul>")
    if record.findings:
        parts.append("<table><thead><tr><th>severity</th><th>finding</th><th>detail</th>"
                     "</tr></thead><tbody>")
        for finding in sorted(record.findings, key=lambda x: -x.severity.rank):
            parts.append("<tr>" + cell(finding.severity.value,
                                       tone=_SEVERITY_TONE[finding.severity.value])
                         + cell(finding.id + (f" ({finding.version})" if finding.version
                                              else ""))
                         + cell(finding.detail) + "</tr>")
        parts.append("</tbody></table>")
    failed = [e for e in record.expectations if e.status.value == "failed"]
    for expectation in failed:
        parts.append(f'<p class="bad">expectation {escape(expectation.name)} failed: '
                     f'{escape(expectation.detail)}</p>')
    parts.append("</details>")
    return "".join(parts)


def _policy_detail(record: Record) -> list[str]:
    """The first match's per-facet explanation, and each failing client with its reason."""
    parts: list[str] = []
    if record.policy is not None and record.policy.matches:
        first = record.policy.matches[0]
        parts.append(f"<p>policy {escape(first.id)} ({escape(first.match or 'match')}): "
                     + escape("; ".join(f"{facet}: {text}"
                                        for facet, text in first.explanation.items()))
                     + "</p>")
    failing = [c for c in record.clients.clients if not c.connects] if record.clients else []
    if failing:
        parts.append('<table class="clients-failing"><thead><tr><th>client</th>'
                     "<th>reason</th><th>detail</th></tr></thead><tbody>")
        parts += ["<tr>" + cell(c.name) + cell(c.reason, tone="bad") + cell(c.detail)
                  + "</tr>" for c in failing]
        parts.append("</tbody></table>")
    return parts


def write_html_diff(result: SweepDiff, out: IO[str]) -> None:
    """``mtlsweep diff --format html``: counts as a chart, every change in a sortable,
    filterable table."""
    chart = bar_chart("chart-diff", "Endpoints", [
        ("changed", len(result.changed), "warn"),
        ("only in old", len(result.only_in_old), "bad"),
        ("only in new", len(result.only_in_new), "info"),
        ("unchanged", result.unchanged, "ok")])
    rows = []
    for _key, label in result.only_in_old:
        rows.append("<tr>" + cell(label) + cell("endpoint") + cell("removed", tone="bad")
                    + cell("present") + cell("absent") + "</tr>")
    for _key, label in result.only_in_new:
        rows.append("<tr>" + cell(label) + cell("endpoint") + cell("added", tone="ok")
                    + cell("absent") + cell("present") + "</tr>")
    for endpoint in result.changed:
        for change in endpoint.changes:
            rows.append("<tr>" + cell(endpoint.label) + cell(change.path) + cell(change.kind)
                        + cell(_value(change.old)) + cell(_value(change.new)) + "</tr>")
    table = sortable_table("changes", [("endpoint", "text"), ("what", "text"),
                                       ("change", "text"), ("old", "text"), ("new", "text")],
                           rows, placeholder="filter changes")
    body = (f"<h1>mtlsweep diff</h1><p class=\"meta\">{escape(str(result.old.path))} \u2192 "
            f"{escape(str(result.new.path))}: {len(result.changed)} changed, "
            f"{len(result.only_in_old)} only in old, {len(result.only_in_new)} only in new, "
            f"{result.unchanged} unchanged</p><div class=\"charts\">{chart}</div>"
            f"<h2>Changes</h2>{table}")
    out.write(page("mtlsweep diff", body))


def _value(value: object) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 500 else text[:499] + "\u2026"
