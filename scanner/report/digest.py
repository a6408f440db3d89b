"""The headline facts of one record, read once: what metrics, CSV verdict columns, the compact
table and the HTML report all show, including which policy (and how exactly) and which
profiled clients would connect.

Each view sorts and alerts on the same handful of answers (client certificate required?, CA
names sent?, verdict, policy, days left, worst finding); deriving them here keeps the four
views in agreement and each view a plain layout of a ``Digest``. Facts a record lacks (a
probe that did not run) stay ``None``, never a guess.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from scanner.results import (
    ExpectationStatus,
    ProtocolLabel,
    Record,
    Severity,
)
from scanner.results.identity import format_endpoint
from scanner.results.versions import PROTOCOL_LABELS

__all__ = ["Digest", "digest"]


@dataclass(frozen=True)
class Digest:
    """One target's headline facts (see the module docstring)."""

    endpoint: str  # host:port ([v6]:port)
    label: str  # the target's name, else the endpoint
    sni: str | None
    address: str | None
    status: str
    error_kind: str | None
    #: Overall client-certificate class (none / optional / required).
    client_auth: str | None
    #: Per measured version (TLSv1.3, TLSv1.2), the class without a certificate.
    client_auth_by_version: dict[ProtocolLabel, str] = field(default_factory=dict)
    #: Per measured version whose CertificateRequest was sent: whether it named CAs, and how many.
    ca_names_by_version: dict[ProtocolLabel, int] = field(default_factory=dict)
    verdict: str | None = None
    alb_mode: str | None = None
    #: Versions the server accepted, oldest first (enumeration, else the full handshakes).
    versions: tuple[ProtocolLabel, ...] = ()
    #: Versions tested either way, so "not accepted" can be told from "not tested".
    versions_tested: tuple[ProtocolLabel, ...] = ()
    certificate_days_left: int | None = None
    leaf_not_after: datetime | None = None
    chain_not_after: datetime | None = None
    certificate_trusted: bool | None = None
    hostname_matches: bool | None = None
    ocsp_stapled: bool | None = None
    ocsp_status: str | None = None
    ocsp_next_update: datetime | None = None
    policy_matches: tuple[str, ...] = ()
    policy_nearest: str | None = None
    #: The first match's kind: exact (groups agree too) or suites (groups differ).
    policy_match_kind: str | None = None
    #: Server-software defaults matching on protocols and suites (ids: software:nginx ...).
    software_defaults: tuple[str, ...] = ()
    #: Profiled clients that would connect / fail; None when no clients view was made.
    clients_connect: int | None = None
    clients_fail: int | None = None
    #: Every profiled client as (id, connects), in profile order.
    client_outcomes: tuple[tuple[str, bool], ...] = ()
    #: The failing clients as (id, name, reason), in profile order.
    clients_failing: tuple[tuple[str, str, str], ...] = ()
    expectations: dict[str, str] = field(default_factory=dict)  # name -> status
    findings_by_severity: Counter[str] = field(default_factory=Counter)
    worst_finding: str | None = None  # severity
    worst_finding_id: str | None = None
    started_at: datetime | None = None
    duration_s: float = 0.0

    @property
    def ca_names_sent(self) -> bool | None:
        """Whether any measured version's CertificateRequest listed a CA name."""
        if not self.ca_names_by_version:
            return None
        return any(count > 0 for count in self.ca_names_by_version.values())

    @property
    def min_version(self) -> ProtocolLabel | None:
        return self.versions[0] if self.versions else None

    @property
    def max_version(self) -> ProtocolLabel | None:
        return self.versions[-1] if self.versions else None

    @property
    def policy(self) -> str | None:
        """The matching policy ids joined, else ``~nearest``, else None."""
        if self.policy_matches:
            return ", ".join(self.policy_matches)
        return f"~{self.policy_nearest}" if self.policy_nearest else None

    @property
    def expectations_failed(self) -> int:
        return sum(1 for status in self.expectations.values()
                   if status == ExpectationStatus.failed.value)


def digest(record: Record) -> Digest:
    """Read a record's headline facts."""
    target = record.target
    findings: Counter[str] = Counter(f.severity.value for f in record.findings)
    worst = max(record.findings, key=lambda f: f.severity.rank, default=None)
    return Digest(
        endpoint=format_endpoint(target.host, target.port),
        label=target.name or format_endpoint(target.host, target.port),
        sni=target.sni,
        address=target.address,
        status=record.status,
        error_kind=record.error.kind.value if record.error else None,
        client_auth=_client_auth(record),
        client_auth_by_version=_client_auth_by_version(record),
        ca_names_by_version=_ca_names_by_version(record),
        verdict=(record.enforcement.verdict.value
                 if record.enforcement and record.enforcement.verdict else None),
        alb_mode=_alb_mode(record),
        versions=_versions(record, accepted_only=True),
        versions_tested=_versions(record, accepted_only=False),
        certificate_days_left=record.certificate.days_left if record.certificate else None,
        leaf_not_after=_not_after(record, leaves_only=True),
        chain_not_after=_not_after(record, leaves_only=False),
        certificate_trusted=record.certificate.trusted if record.certificate else None,
        hostname_matches=record.certificate.hostname_matches if record.certificate else None,
        ocsp_stapled=record.ocsp.stapled if record.ocsp else None,
        ocsp_status=(record.ocsp.certificate_status.value
                     if record.ocsp and record.ocsp.certificate_status else None),
        ocsp_next_update=_ocsp_next_update(record),
        policy_matches=tuple(m.id for m in record.policy.matches) if record.policy else (),
        policy_nearest=(record.policy.nearest[0].id
                        if record.policy and record.policy.nearest else None),
        policy_match_kind=(record.policy.matches[0].match
                           if record.policy and record.policy.matches else None),
        software_defaults=(tuple(d.id for d in record.policy.software_defaults)
                           if record.policy else ()),
        clients_connect=record.clients.connect if record.clients else None,
        clients_fail=record.clients.fail if record.clients else None,
        client_outcomes=(tuple((c.id, c.connects) for c in record.clients.clients)
                         if record.clients else ()),
        clients_failing=(tuple((c.id, c.name, c.reason or c.detail or "fails")
                               for c in record.clients.clients if not c.connects)
                         if record.clients else ()),
        expectations={e.name: e.status.value for e in record.expectations},
        findings_by_severity=findings,
        worst_finding=worst.severity.value if worst else None,
        worst_finding_id=worst.id if worst else None,
        started_at=record.started_at,
        duration_s=record.duration_ms / 1000,
    )


def _client_auth(record: Record) -> str | None:
    auth = record.client_auth
    return auth.classification.value if auth and auth.classification else None


def _client_auth_by_version(record: Record) -> dict[ProtocolLabel, str]:
    if record.client_auth is None:
        return {}
    return {label: entry.without_certificate.classification.value
            for label, entry in record.client_auth.versions().items()
            if entry.supported and entry.without_certificate is not None}


def _ca_names_by_version(record: Record) -> dict[ProtocolLabel, int]:
    if record.client_auth is None:
        return {}
    return {label: len(entry.certificate_request.ca_names)
            for label, entry in record.client_auth.versions().items()
            if entry.certificate_request is not None and entry.certificate_request.sent}


def _alb_mode(record: Record) -> str | None:
    alb = record.enforcement.aws_alb if record.enforcement else None
    return alb.mode if alb is not None and alb.fits else None


def _versions(record: Record, *, accepted_only: bool) -> tuple[ProtocolLabel, ...]:
    """From the raw enumeration when it ran (every version tested alone), else from the
    full handshakes of client_auth (TLS 1.3 and 1.2 only)."""
    found: set[ProtocolLabel] = set()
    if record.protocols is not None:
        for label, entry in record.protocols.versions().items():
            if entry.accepted or (not accepted_only and entry.accepted is not None):
                found.add(label)
    elif record.client_auth is not None:
        for label, auth in record.client_auth.versions().items():
            if auth.supported or not accepted_only:
                found.add(label)
    return tuple(label for label in PROTOCOL_LABELS if label in found)


def _not_after(record: Record, *, leaves_only: bool) -> datetime | None:
    if record.certificate is None:
        return None
    dates = [certificate.not_after
             for chain in record.certificate.chains
             for certificate in (chain.certificates[:1] if leaves_only else chain.certificates)]
    return min(dates, default=None)


def _ocsp_next_update(record: Record) -> datetime | None:
    if record.ocsp is None:
        return None
    dates = [entry.response.next_update for entry in record.ocsp.versions().values()
             if entry.response is not None and entry.response.next_update is not None]
    return min(dates, default=None)


def severity_rank(severity: str | None) -> int:
    """For sorting: -1 for no finding, else the severity's rank."""
    return Severity(severity).rank if severity else -1
