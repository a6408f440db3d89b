"""A readable summary of records: one row per target and protocol version."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from scanner.results import (
    AlpnVersion,
    ClientAuthVersion,
    Record,
    RenegotiationResult,
    RenegotiationStatus,
    Tls12Resumption,
    Tls13Resumption,
)

_CLASS_STYLE = {"required": "green", "optional": "yellow", "none": "dim"}
_SEVERITY_STYLE = {"info": "cyan", "low": "yellow", "medium": "dark_orange",
                   "high": "red", "critical": "bold red"}
_VERSIONS = ("TLSv1.3", "TLSv1.2")
_RENEGOTIATION_LABEL = {
    "accepted": "accepted", "refused_warning": "refused (warning)",
    "refused_fatal": "refused", "closed": "connection closed", "no_response": "no answer",
    "error": "error",
}


def records_table(records: list[Record]) -> Table:
    table = Table(title="mtlsweep", show_lines=True)
    table.add_column("target", overflow="fold", ratio=3)
    table.add_column("TLS", no_wrap=True)
    table.add_column("client cert", overflow="fold", ratio=2)
    table.add_column("CA names advertised", overflow="fold", ratio=3)
    table.add_column("ALPN", overflow="fold", ratio=2)
    table.add_column("session", overflow="fold", ratio=3)
    table.add_column("findings", overflow="fold", ratio=4)
    for record in records:
        target = Text(record.target.name or f"{record.target.host}:{record.target.port}",
                      style="bold")
        if record.target.name:
            target.append(f"\n{record.target.host}:{record.target.port}", style="dim")
        if record.error:
            detail = Text(f"{record.error.kind.value}: {record.error.detail}", style="red")
            table.add_row(target, "", detail, "", "", "", "")
            continue
        rows = [row for row in (_VersionRow(record, v) for v in _VERSIONS) if row.present]
        if not rows:
            table.add_row(target, "", Text(record.status), "", "", "",
                          _findings(record, None, True))
        for index, row in enumerate(rows):
            table.add_row(target if index == 0 else "", row.version.removeprefix("TLSv"),
                          *row.cells(), _findings(record, row.version, index == 0))
    return table


class _VersionRow:
    """What every facet says about one protocol version of one target."""

    def __init__(self, record: Record, version: str) -> None:
        self.version = version
        key = "tls1_3" if version == "TLSv1.3" else "tls1_2"
        self.client_auth: ClientAuthVersion | None = (
            getattr(record.client_auth, key) if record.client_auth else None)
        self.alpn: AlpnVersion | None = getattr(record.alpn, key) if record.alpn else None
        self.resumption: Tls12Resumption | Tls13Resumption | None = (
            getattr(record.resumption, key) if record.resumption else None)
        self.renegotiation = record.renegotiation if version == "TLSv1.2" else None

    @property
    def present(self) -> bool:
        return any(facet is not None for facet in (
            self.client_auth, self.alpn, self.resumption, self.renegotiation))

    @property
    def supported(self) -> bool:
        facets = [f for f in (self.client_auth, self.alpn, self.resumption) if f is not None]
        tested = (self.renegotiation is not None
                  and self.renegotiation.status is RenegotiationStatus.tested)
        return tested or any(f.supported for f in facets)

    def cells(self) -> tuple[Text, Text, Text, Text]:
        if not self.supported:
            return Text(f"version not accepted{self._refusal()}", style="dim"), Text(""), \
                Text(""), Text("")
        cert, names = _client_auth_cells(self.client_auth) if self.client_auth else (
            Text(""), Text(""))
        session = Text()
        if self.resumption is not None:
            session.append_text(_resumption_cell(self.resumption))
        if self.renegotiation is not None:
            if session:
                session.append("\n")
            session.append_text(_renegotiation_cell(self.renegotiation))
        return cert, names, _alpn_cell(self.alpn) if self.alpn else Text(""), session

    def _refusal(self) -> str:
        handshake = self.client_auth.handshake if self.client_auth else None
        if handshake is None:
            return ""
        reason = handshake.alert_received or (handshake.error.kind.value if handshake.error
                                              else "")
        return f" ({reason})" if reason else ""


def _findings(record: Record, version: str | None, first_row: bool) -> Text:
    """Findings about this version, plus the version-less ones on the target's first row."""
    text = Text()
    for finding in record.findings:
        if finding.version != version and not (first_row and finding.version is None):
            continue
        if text:
            text.append("\n")
        text.append(finding.severity.value, style=_SEVERITY_STYLE.get(finding.severity.value))
        text.append(f" {finding.id}")
    for probe, error in record.probe_errors.items() if first_row else ():
        if text:
            text.append("\n")
        text.append(f"probe {probe} failed: {error.detail}", style="red")
    return text


def _client_auth_cells(version: ClientAuthVersion) -> tuple[Text, Text]:
    outcome = version.without_certificate
    request = version.certificate_request
    if outcome is None or request is None:
        return Text(""), Text("")
    label = Text(outcome.classification.value,
                 style=_CLASS_STYLE.get(outcome.classification.value, ""))
    if outcome.alert:
        where = "after handshake" if version.handshake.alert_received_after_handshake else ""
        label.append(f"\n{outcome.alert} {where}".rstrip(), style="dim")
    if not request.sent:
        return label, Text("not requested", style="dim")
    if not request.ca_names_sent:
        why = ("no certificate_authorities extension"
               if request.certificate_authorities_extension is False else "empty list")
        return label, Text(f"none ({why})", style="bold yellow")
    return label, Text("\n".join(name.rfc4514 for name in request.ca_names))


def _alpn_cell(version: AlpnVersion) -> Text:
    if not version.supported:
        return Text("")
    text = Text(", ".join(version.supported_protocols) or "none",
                style="" if version.supported_protocols else "dim")
    if not version.complete:
        text.append(" (incomplete)", style="yellow")
    overlap = version.no_overlap
    if overlap is not None:
        how = overlap.alert if overlap.alert else overlap.behaviour.value
        text.append(f"\nno overlap: {how}", style="dim")
    return text


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "?"}[value]


def _resumption_cell(version: Tls12Resumption | Tls13Resumption) -> Text:
    if isinstance(version, Tls13Resumption):
        if version.tickets_issued is None:
            return Text("tickets: unknown", style="dim")
        if not version.tickets:
            return Text("no tickets")
        lifetimes = "/".join(f"{s} s" for s in sorted({t.lifetime_s for t in version.tickets}))
        early = ", 0-RTT" if any(t.max_early_data for t in version.tickets) else ""
        return Text(f"{version.tickets_issued} ticket(s), {lifetimes}{early}; "
                    f"resumes: {_mark(version.resumed_with_psk)}")
    if version.ticket_issued is None and version.session_id_issued is None:
        return Text("resumption: unknown", style="dim")
    ticket = (f"ticket, {version.ticket.lifetime_s} s; resumes: "
              f"{_mark(version.resumed_with_ticket)}" if version.ticket else "no ticket")
    session_id = (f"session ID resumes: {_mark(version.resumed_with_session_id)}"
                  if version.session_id_issued else "no session ID")
    return Text(f"{ticket}\n{session_id}")


def _renegotiation_cell(facet: RenegotiationResult) -> Text:
    if facet.status is not RenegotiationStatus.tested or facet.client_initiated is None:
        status = "n/a" if facet.status is RenegotiationStatus.not_applicable else "untested"
        return Text(f"renegotiation: {status}", style="dim")
    initiated = facet.client_initiated
    label = _RENEGOTIATION_LABEL[initiated.outcome.value]
    if initiated.outcome.value == "refused_fatal" and initiated.alert:
        label += f" ({initiated.alert})"
    text = Text("secure renegotiation" if facet.secure_renegotiation
                else "INSECURE renegotiation",
                style="" if facet.secure_renegotiation else "bold red")
    text.append(f"\nclient reneg: {label}")
    return text
