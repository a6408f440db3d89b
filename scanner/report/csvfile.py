"""CSV: one flat row per target, for spreadsheets and ad-hoc filtering.

Columns are declared once, as (header, value) pairs, so adding a probe means adding its
columns here. Lists are joined with " | " (CA names contain commas and semicolons), booleans
are ``true``/``false``, and an unknown value is an empty cell.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from typing import IO

from scanner.report.digest import Digest, digest
from scanner.results import (
    ClientAuthAtVersion,
    ClientAuthFacet,
    ProtocolLabel,
    Record,
    version_field,
)

Cell = str | int | bool | None
Column = tuple[str, Callable[[Record], Cell]]
LIST_SEPARATOR = " | "


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _joined(values: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(values)


def _version_columns(label: ProtocolLabel) -> list[Column]:
    """Columns about one protocol version's client-auth result, named after its field."""
    attribute = version_field(label)

    def facet(record: Record) -> ClientAuthAtVersion | None:
        auth = record.client_auth
        return auth.at(label) if auth is not None else None

    def request_sent(record: Record) -> Cell:
        version = facet(record)
        request = version.certificate_request if version else None
        return request.sent if request else None

    def ca_names_sent(record: Record) -> Cell:
        version = facet(record)
        request = version.certificate_request if version else None
        return request.ca_names_sent if request else None

    def ca_names(record: Record) -> Cell:
        version = facet(record)
        request = version.certificate_request if version else None
        return _joined(name.rfc4514 for name in request.ca_names) if request else None

    def without_cert(record: Record) -> Cell:
        version = facet(record)
        outcome = version.without_certificate if version else None
        return outcome.outcome.value if outcome else None

    def alert(record: Record) -> Cell:
        version = facet(record)
        outcome = version.without_certificate if version else None
        return outcome.alert if outcome else None

    def cipher(record: Record) -> Cell:
        version = facet(record)
        return version.handshake.cipher if version else None

    def supported(record: Record) -> Cell:
        version = facet(record)
        return version.supported if version else None

    return [
        (f"{attribute}_supported", supported),
        (f"{attribute}_certificate_request", request_sent),
        (f"{attribute}_ca_names_sent", ca_names_sent),
        (f"{attribute}_ca_names", ca_names),
        (f"{attribute}_without_certificate", without_cert),
        (f"{attribute}_alert", alert),
        (f"{attribute}_cipher", cipher),
    ]


def _max_severity(record: Record) -> Cell:
    if not record.findings:
        return None
    return max(f.severity for f in record.findings).value


_last_digest: dict[int, tuple[Record, Digest]] = {}


def _facts(record: Record) -> Digest:
    """The record's digest, computed once per row (the columns below each read one fact)."""
    cached = _last_digest.get(0)
    if cached is None or cached[0] is not record:
        cached = _last_digest[0] = (record, digest(record))
    return cached[1]


# The answers people sort a sweep on, read the same way as the table, metrics and HTML do.
_VERDICT_COLUMNS: list[Column] = [
    ("enforcement_verdict", lambda r: _facts(r).verdict),
    ("aws_alb_mode", lambda r: _facts(r).alb_mode),
    ("policy_match", lambda r: _joined(_facts(r).policy_matches)),
    ("policy_match_kind", lambda r: _facts(r).policy_match_kind),
    ("software_default", lambda r: _joined(_facts(r).software_defaults)),
    ("clients_connect", lambda r: _facts(r).clients_connect),
    ("clients_fail", lambda r: _facts(r).clients_fail),
    ("clients_failing", lambda r: _joined(f"{client}: {reason}"
                                          for client, _, reason in _facts(r).clients_failing)),
    ("certificate_days_left", lambda r: _facts(r).certificate_days_left),
    ("min_version", lambda r: _facts(r).min_version),
    ("max_version", lambda r: _facts(r).max_version),
    ("worst_finding", lambda r: _facts(r).worst_finding_id),
]

COLUMNS: list[Column] = [
    ("name", lambda r: r.target.name),
    ("host", lambda r: r.target.host),
    ("port", lambda r: r.target.port),
    ("sni", lambda r: r.target.sni),
    ("address", lambda r: r.target.address),
    ("tags", lambda r: _joined(f"{k}={v}" for k, v in sorted(r.target.tags.items()))),
    ("status", lambda r: r.status),
    ("error_kind", lambda r: r.error.kind.value if r.error else None),
    ("error_detail", lambda r: r.error.detail if r.error else None),
    ("error_alert", lambda r: r.error.alert if r.error else None),
    ("probe_errors", lambda r: _joined(f"{name}: {e.kind.value}: {e.detail}"
                                       for name, e in r.probe_errors.items())),
    ("started_at", lambda r: r.started_at.isoformat()),
    ("duration_ms", lambda r: r.duration_ms),
    ("probes", lambda r: _joined(r.probes)),
    ("client_auth_requested", lambda r: r.client_auth.requested if r.client_auth else None),
    ("client_auth_classification",
     lambda r: r.client_auth.classification.value
     if r.client_auth and r.client_auth.classification else None),
    ("client_auth_consistent_across_versions",
     lambda r: r.client_auth.consistent_across_versions if r.client_auth else None),
    *(column for label in ClientAuthFacet.version_labels for column in _version_columns(label)),
    ("findings", lambda r: _joined(f.id + (f" ({f.version})" if f.version else "")
                                   for f in r.findings)),
    ("max_severity", _max_severity),
    *_VERDICT_COLUMNS,
    ("connections", lambda r: r.stats.connections),
]

HEADER = [name for name, _ in COLUMNS]


def csv_row(record: Record) -> list[str]:
    return [_cell(value(record)) for _, value in COLUMNS]


def write_csv(records: Iterable[Record], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for record in records:
        writer.writerow(csv_row(record))
