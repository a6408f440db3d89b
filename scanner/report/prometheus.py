"""Prometheus text exposition format (version 0.0.4): per-target gauges for alerting.

Written for node_exporter's textfile collector, a Pushgateway, or the ``mtlsweep serve``
exporter. Every series carries the target's labels (``target`` = host:port, ``sni``,
``name``, ``address``). Enumerations are *state sets* (one series per possible value, 1 for
the current one, 0 for the others), so an alert is ``mtlsweep_enforcement_verdict{verdict=
"accepts_untrusted"} == 1`` and a change of state shows as two series changing. Times are
Unix timestamps in seconds (``*_timestamp_seconds``), as blackbox_exporter's
``probe_ssl_earliest_cert_expiry``. A fact the record lacks (a probe that did not run) is
left out rather than written as 0.

Families are written whole, in a fixed order, each with HELP and TYPE, so ``promtool check
metrics`` accepts the output however many targets it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from scanner.report.digest import Digest, digest
from scanner.results import (
    ClientAuthClass,
    EnforcementVerdict,
    ExpectationStatus,
    OcspCertStatus,
    Record,
    Severity,
)
from scanner.results.versions import PROTOCOL_LABELS

__all__ = ["CONTENT_TYPE", "MetricFamilies", "write_prometheus"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STATUSES = ("ok", "partial", "error")
_ALB_MODES = ("off", "passthrough", "verify")

Labels = Mapping[str, str]


@dataclass
class _Family:
    help: str
    type: str
    lines: list[str] = field(default_factory=list)  # formatted samples: a sweep's worth


class MetricFamilies:
    """Samples grouped by metric family, written in the order families were declared."""

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}

    def declare(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self._families.setdefault(name, _Family(help_text, kind))

    def add(self, name: str, labels: Labels, value: float | bool) -> None:
        self._families[name].lines.append(f"{name}{_labels(labels)} {_value(float(value))}\n")

    def write(self, out: IO[str]) -> None:
        for name, family in self._families.items():
            if not family.lines:
                continue
            out.write(f"# HELP {name} {_escape_help(family.help)}\n# TYPE {name} {family.type}\n")
            out.writelines(family.lines)


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items()) + "}"


def _value(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _timestamp(moment: datetime) -> float:
    return float(int(moment.timestamp()))


# (name, help): the order families are written in.
_FAMILIES: tuple[tuple[str, str], ...] = (
    ("mtlsweep_scan_success", "1 when the target answered as a TLS server (status ok or "
     "partial), 0 when it could not be scanned."),
    ("mtlsweep_scan_status", "State set of the record status: ok, partial or error."),
    ("mtlsweep_scan_duration_seconds", "Seconds the scan of the target took."),
    ("mtlsweep_scan_timestamp_seconds", "When the scan started, Unix time."),
    ("mtlsweep_scan_connections", "TCP connections the scan made to the target."),
    ("mtlsweep_client_auth", "State set of the client-certificate class (none, optional, "
     "required); version=\"any\" is the overall class."),
    ("mtlsweep_client_auth_ca_names_sent", "1 when the CertificateRequest at this version "
     "listed at least one CA name, 0 when it listed none."),
    ("mtlsweep_client_auth_ca_names", "CA names the CertificateRequest at this version listed."),
    ("mtlsweep_enforcement_verdict", "State set of the enforcement verdict: does the server "
     "verify the client certificates it asks for, and where."),
    ("mtlsweep_aws_alb_mode", "State set of the AWS ALB mutual-TLS mode the behaviour fits "
     "(off, passthrough, verify); absent when it fits none."),
    ("mtlsweep_tls_version_accepted", "1 when the server accepted this protocol version, 0 "
     "when it refused it."),
    ("mtlsweep_certificate_not_after_timestamp_seconds", "Expiry of the server's leaf "
     "certificate (the earliest over its chains), Unix time."),
    ("mtlsweep_certificate_chain_earliest_not_after_timestamp_seconds", "Earliest expiry of "
     "any certificate the server sent, Unix time."),
    ("mtlsweep_certificate_trusted", "1 when every chain validates against the trust store."),
    ("mtlsweep_certificate_hostname_matches", "1 when every leaf matches the SNI or host."),
    ("mtlsweep_ocsp_stapled", "1 when an OCSP response was stapled at some version."),
    ("mtlsweep_ocsp_status", "State set of the stapled OCSP certificate status (good, "
     "revoked, unknown)."),
    ("mtlsweep_ocsp_next_update_timestamp_seconds", "Earliest next_update of the stapled OCSP "
     "responses, Unix time."),
    ("mtlsweep_policy_match", "1 for each named security policy the endpoint matches on "
     "protocols and suites; match=\"exact\" when the groups agree too, \"suites\" when they "
     "differ."),
    ("mtlsweep_policy_matches", "How many named security policies the endpoint matches."),
    ("mtlsweep_software_default", "1 for each server software's default configuration the "
     "endpoint matches on protocols and suites (reported next to any policy match)."),
    ("mtlsweep_clients", "Profiled clients (mtlsweep policies clients) that would connect or "
     "fail, negotiated on paper from the enumerated suites."),
    ("mtlsweep_client_connects", "1 when the profiled client would connect, 0 when it would "
     "fail (one series per profile: a fixed list of about 20)."),
    ("mtlsweep_expectation_met", "1 when the inventory expectation was met, 0 when it failed; "
     "absent when it could not be evaluated."),
    ("mtlsweep_expectations", "Inventory expectations of the target by status."),
    ("mtlsweep_findings", "Findings of the target by severity."),
    ("mtlsweep_finding", "1 for each finding of the target, by id and severity (ids are a "
     "fixed vocabulary, so alerts can name one, e.g. enforcement.sni_host_bypass)."),
)


def new_families() -> MetricFamilies:
    families = MetricFamilies()
    for name, help_text in _FAMILIES:
        families.declare(name, help_text)
    return families


def target_labels(facts: Digest, record: Record) -> dict[str, str]:
    return {"target": facts.endpoint, "sni": facts.sni or "", "name": record.target.name or "",
            "address": facts.address or ""}


def _state_set(families: MetricFamilies, name: str, labels: Labels, key: str,
               states: Iterable[str], current: str) -> None:
    for state in states:
        families.add(name, {**labels, key: state}, state == current)


def add_record(families: MetricFamilies, record: Record) -> None:
    """Every series of one record."""
    facts = digest(record)
    labels = target_labels(facts, record)
    add = families.add
    add("mtlsweep_scan_success", labels, facts.status != "error")
    _state_set(families, "mtlsweep_scan_status", labels, "status", _STATUSES, facts.status)
    add("mtlsweep_scan_duration_seconds", labels, facts.duration_s)
    if facts.started_at is not None:
        add("mtlsweep_scan_timestamp_seconds", labels, _timestamp(facts.started_at))
    add("mtlsweep_scan_connections", labels, record.stats.connections)
    classes = [c.value for c in ClientAuthClass]
    if facts.client_auth is not None:
        _state_set(families, "mtlsweep_client_auth", {**labels, "version": "any"},
                   "classification", classes, facts.client_auth)
    for version, class_ in facts.client_auth_by_version.items():
        _state_set(families, "mtlsweep_client_auth", {**labels, "version": version},
                   "classification", classes, class_)
    for version, count in facts.ca_names_by_version.items():
        add("mtlsweep_client_auth_ca_names_sent", {**labels, "version": version}, count > 0)
        add("mtlsweep_client_auth_ca_names", {**labels, "version": version}, count)
    if facts.verdict is not None:
        _state_set(families, "mtlsweep_enforcement_verdict", labels, "verdict",
                   [v.value for v in EnforcementVerdict], facts.verdict)
    if facts.alb_mode is not None:
        _state_set(families, "mtlsweep_aws_alb_mode", labels, "mode", _ALB_MODES,
                   facts.alb_mode)
    for version in PROTOCOL_LABELS:
        if version in facts.versions_tested:
            add("mtlsweep_tls_version_accepted", {**labels, "version": version},
                version in facts.versions)
    if facts.leaf_not_after is not None:
        add("mtlsweep_certificate_not_after_timestamp_seconds", labels,
            _timestamp(facts.leaf_not_after))
    if facts.chain_not_after is not None:
        add("mtlsweep_certificate_chain_earliest_not_after_timestamp_seconds", labels,
            _timestamp(facts.chain_not_after))
    if facts.certificate_trusted is not None:
        add("mtlsweep_certificate_trusted", labels, facts.certificate_trusted)
    if facts.hostname_matches is not None:
        add("mtlsweep_certificate_hostname_matches", labels, facts.hostname_matches)
    if facts.ocsp_stapled is not None:
        add("mtlsweep_ocsp_stapled", labels, facts.ocsp_stapled)
    if facts.ocsp_status is not None:
        _state_set(families, "mtlsweep_ocsp_status", labels, "status",
                   [s.value for s in OcspCertStatus], facts.ocsp_status)
    if facts.ocsp_next_update is not None:
        add("mtlsweep_ocsp_next_update_timestamp_seconds", labels,
            _timestamp(facts.ocsp_next_update))
    if record.policy is not None:
        for match in record.policy.matches:
            add("mtlsweep_policy_match", {**labels, "policy": match.id,
                                          "provider": match.provider,
                                          "match": match.match or "unknown"}, 1)
        add("mtlsweep_policy_matches", labels, len(record.policy.matches))
        for software in record.policy.software_defaults:
            add("mtlsweep_software_default", {**labels, "software": software.id}, 1)
    if facts.clients_connect is not None and facts.clients_fail is not None:
        add("mtlsweep_clients", {**labels, "outcome": "connect"}, facts.clients_connect)
        add("mtlsweep_clients", {**labels, "outcome": "fail"}, facts.clients_fail)
    for client, connects in facts.client_outcomes:
        add("mtlsweep_client_connects", {**labels, "client": client}, connects)
    for name, status in facts.expectations.items():
        if status != ExpectationStatus.not_evaluated.value:
            add("mtlsweep_expectation_met", {**labels, "expectation": name},
                status == ExpectationStatus.met.value)
    if facts.expectations:
        for status_ in ExpectationStatus:
            add("mtlsweep_expectations", {**labels, "status": status_.value},
                sum(1 for s in facts.expectations.values() if s == status_.value))
    for severity in Severity:
        add("mtlsweep_findings", {**labels, "severity": severity.value},
            facts.findings_by_severity[severity.value])
    # One series per distinct id: a finding may repeat per version or name, the alert is one.
    for finding_id, severity_value in sorted({(f.id, f.severity.value)
                                              for f in record.findings}):
        add("mtlsweep_finding", {**labels, "finding": finding_id, "severity": severity_value}, 1)


def write_prometheus(records: Iterable[Record], out: IO[str]) -> None:
    """All records' series, grouped by family (needs every record before writing)."""
    families = new_families()
    for record in records:
        add_record(families, record)
    families.write(out)
