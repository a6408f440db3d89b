"""A readable summary of records: one row per target and protocol version."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from scanner.results import ClientAuthVersion, Record

_CLASS_STYLE = {"required": "green", "optional": "yellow", "none": "dim"}
_SEVERITY_STYLE = {"info": "cyan", "low": "yellow", "medium": "dark_orange",
                   "high": "red", "critical": "bold red"}


def records_table(records: list[Record], *, span: tuple[int, int] | None = None) -> Table:
    """One table; ``span`` numbers the targets when a long sweep is printed in parts."""
    title = "mtlsweep: client certificate requests"
    if span is not None:
        title += f" (targets {span[0]}-{span[1]})"
    table = Table(title=title, show_lines=True)
    table.add_column("target", overflow="fold", ratio=3)
    table.add_column("TLS", no_wrap=True)
    table.add_column("client cert", overflow="fold", ratio=2)
    table.add_column("CA names advertised", overflow="fold", ratio=4)
    table.add_column("findings", overflow="fold", ratio=3)
    for record in records:
        target = Text(record.target.name or f"{record.target.host}:{record.target.port}",
                      style="bold")
        if record.target.name:
            target.append(f"\n{record.target.host}:{record.target.port}", style="dim")
        if record.error:
            detail = Text(f"{record.error.kind.value}: {record.error.detail}", style="red")
            table.add_row(target, "", detail, "", "")
            continue
        auth = record.client_auth
        versions = [v for v in (auth.tls1_3, auth.tls1_2) if v] if auth else []
        if not versions:
            table.add_row(target, "", Text(record.status), "", _findings(record, None, True))
        for index, version in enumerate(versions):
            cert, names = _version_cells(version)
            table.add_row(target if index == 0 else "", version.version.removeprefix("TLSv"),
                          cert, names, _findings(record, version.version, index == 0))
    return table


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


def _version_cells(version: ClientAuthVersion) -> tuple[Text, Text]:
    if not version.supported:
        reason = version.handshake.alert_received or (
            version.handshake.error.kind.value if version.handshake.error else "")
        return Text(f"version not accepted ({reason})", style="dim"), Text("")
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
