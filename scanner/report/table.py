"""A readable summary of records: one row per target and protocol version."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from scanner.results import (
    AttemptStage,
    ClientAuthVersion,
    EnforcementAttempt,
    EnforcementResult,
    Record,
)

_CLASS_STYLE = {"required": "green", "optional": "yellow", "none": "dim"}
_VERDICT_STYLE = {"required_at_tls": "green", "required_at_http": "green",
                  "optional_verified": "yellow", "optional_unverified": "dark_orange",
                  "accepts_untrusted": "bold red", "not_requested": "dim"}
_RESULT_MARK = {"accepted": ("accepted", "yellow"), "rejected": ("rejected", "green"),
                "inconclusive": ("?", "dim")}
_SEVERITY_STYLE = {"info": "cyan", "low": "yellow", "medium": "dark_orange",
                   "high": "red", "critical": "bold red"}


def records_table(records: list[Record]) -> Table:
    table = Table(title="mtlsweep: client certificate requests", show_lines=True)
    table.add_column("target", overflow="fold", ratio=3)
    table.add_column("TLS", no_wrap=True)
    table.add_column("client cert", overflow="fold", ratio=2)
    table.add_column("CA names advertised", overflow="fold", ratio=4)
    table.add_column("enforcement", overflow="fold", ratio=4)
    table.add_column("findings", overflow="fold", ratio=3)
    for record in records:
        target = Text(record.target.name or f"{record.target.host}:{record.target.port}",
                      style="bold")
        if record.target.name:
            target.append(f"\n{record.target.host}:{record.target.port}", style="dim")
        if record.error:
            detail = Text(f"{record.error.kind.value}: {record.error.detail}", style="red")
            table.add_row(target, "", detail, "", "", "")
            continue
        auth = record.client_auth
        versions = [v for v in (auth.tls1_3, auth.tls1_2) if v] if auth else []
        enforcement = _enforcement_cell(record.enforcement)
        if not versions:
            table.add_row(target, "", Text(record.status), "", enforcement,
                          _findings(record, None, True, all_versions=True))
        for index, version in enumerate(versions):
            cert, names = _version_cells(version)
            table.add_row(target if index == 0 else "", version.version.removeprefix("TLSv"),
                          cert, names, enforcement if index == 0 else "",
                          _findings(record, version.version, index == 0))
    return table


def _enforcement_cell(result: EnforcementResult | None) -> Text:
    """The verdict, the AWS ALB reading, then one line per certificate presented."""
    text = Text()
    if result is None:
        return text
    verdict = result.verdict.value if result.verdict else "undetermined"
    text.append(verdict, style=_VERDICT_STYLE.get(verdict, ""))
    alb = result.aws_alb
    if alb is not None and alb.fits:
        settings = [f"mode {alb.mode}"]
        if alb.advertise_ca_names:
            settings.append(f"CA names {alb.advertise_ca_names}")
        if alb.ignore_client_certificate_expiry:
            settings.append(f"ignore expiry {alb.ignore_client_certificate_expiry}")
        text.append(f"\nALB: {', '.join(settings)}", style="cyan")
    for attempt in result.attempts:
        label, style = _RESULT_MARK[attempt.result.value]
        text.append(f"\n{attempt.certificate.value}: ")
        text.append(label, style=style)
        text.append(f" {_ending(attempt)}".rstrip(), style="dim")
    return text


def _ending(attempt: EnforcementAttempt) -> str:
    stage = attempt.ended
    if stage is AttemptStage.tls_handshake:
        return f"in handshake ({attempt.alert or 'closed'})"
    if stage is AttemptStage.after_handshake:
        return f"after handshake ({attempt.alert or 'closed'})"
    if stage is AttemptStage.tls_only:
        return "by TLS (h2 only)" if attempt.http else "by TLS"
    http = attempt.http
    if stage is AttemptStage.http and http is not None:
        return f"HTTP {http.status}" if http.status is not None else f"HTTP {http.outcome.value}"
    return ""


def _findings(record: Record, version: str | None, first_row: bool, *,
              all_versions: bool = False) -> Text:
    """Findings about this version, plus the version-less ones on the target's first row."""
    text = Text()
    for finding in record.findings:
        if not all_versions and finding.version != version and not (
                first_row and finding.version is None):
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
