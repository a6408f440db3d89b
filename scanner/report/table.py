"""A readable summary of records: one row per target and protocol version.

Client-certificate facts differ by version, so they get a row each; per-target facts of
other probes (certificates, OCSP) are compact lines in the "server" column of the first row.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text

from scanner.results import (
    AlpnAtVersion,
    AttemptStage,
    CertificateChain,
    CertificateFacet,
    ClientAuthAtVersion,
    EnforcementAttempt,
    EnforcementFacet,
    OcspAtVersion,
    OcspFacet,
    Record,
    RenegotiationFacet,
    RenegotiationStatus,
    ResumptionAtTls12,
    ResumptionAtTls13,
)

_CLASS_STYLE = {"required": "green", "optional": "yellow", "none": "dim"}
_VERDICT_STYLE = {"required_at_tls": "green", "required_at_http": "green",
                  "required_at_application": "green",
                  "optional_verified": "yellow", "optional_unverified": "dark_orange",
                  "accepts_untrusted": "bold red", "not_requested": "dim"}
_RESULT_MARK = {"accepted": ("accepted", "yellow"), "rejected": ("rejected", "green"),
                "inconclusive": ("?", "dim")}
_SEVERITY_STYLE = {"info": "cyan", "low": "yellow", "medium": "dark_orange",
                   "high": "red", "critical": "bold red"}


def records_table(records: list[Record], *, span: tuple[int, int] | None = None) -> Table:
    """One table; ``span`` numbers the targets when a long sweep is printed in parts."""
    title = "mtlsweep"
    if span is not None:
        title += f" (targets {span[0]}-{span[1]})"
    table = Table(title=title, show_lines=True)
    table.add_column("target", overflow="fold", ratio=3)
    table.add_column("server", overflow="fold", ratio=4)
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
            table.add_row(target, "", "", detail, "", "", "")
            continue
        facts = server_facts(record)
        auth = record.client_auth
        versions = list(auth.versions().values()) if auth else []
        shown = {v.version for v in versions}
        enforcement = _enforcement_cell(record.enforcement)
        if not versions:
            table.add_row(target, facts, "", Text(record.status), "", enforcement,
                          _findings(record, None, True, shown))
        for index, version in enumerate(versions):
            cert, names = _version_cells(version)
            first = index == 0
            table.add_row(target if first else "", facts if first else "",
                          version.version.removeprefix("TLSv"), cert, names,
                          enforcement if first else "",
                          _findings(record, version.version, first, shown))
    return table


def _enforcement_cell(result: EnforcementFacet | None) -> Text:
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
    answer = attempt.application
    if stage is AttemptStage.application and answer is not None:
        return f"by {answer.protocol} ({answer.outcome.value.replace('_', ' ')})"
    return ""


def server_facts(record: Record) -> Text:
    """One or two lines per probe that describes the server rather than a TLS version."""
    text = Text()
    for describe in _FACT_LINES:
        for line in describe(record):
            if text:
                text.append("\n")
            text.append_text(line)
    return text


def _certificate_lines(record: Record) -> list[Text]:
    facet: CertificateFacet | None = record.certificate
    if facet is None:
        return []
    if not facet.chains:
        return [Text("cert: none received", style="dim")]
    expiring = any(f.id == "certificate.expiring" for f in record.findings)
    return [_chain_line(chain, expiring) for chain in facet.chains]


def _chain_line(chain: CertificateChain, expiring: bool) -> Text:
    line = Text("cert ")
    if not chain.certificates:
        return line.append("unparsable", style="red")
    leaf = chain.certificates[0]
    line.append(f"{leaf.key_type}-{leaf.key_size} {leaf.subject} ")
    if leaf.days_left < 0:
        line.append(f"expired {-leaf.days_left}d ago", style="red")
    else:
        line.append(f"{leaf.days_left}d left", style="yellow" if expiring else "")
    line.append(" · ")
    validation = chain.validation
    if validation.trusted:
        line.append("trusted", style="green")
    else:
        kind = validation.error_kind.value if validation.error_kind else "untrusted"
        line.append(f"untrusted ({kind})", style="red")
    line.append(" · ")
    line.append("name ok" if chain.hostname_matches else f"not for {chain.hostname}",
                style="green" if chain.hostname_matches else "red")
    return line


def _ocsp_lines(record: Record) -> list[Text]:
    facet: OcspFacet | None = record.ocsp
    if facet is None:
        return []
    versions = [v for v in facet.versions().values() if v.supported]
    if not versions:
        return []
    stapled = [v for v in versions if v.stapled]
    line = Text("ocsp ")
    if not stapled:
        line.append("not stapled", style="dim" if not facet.must_staple else "red")
        if facet.must_staple:
            line.append(" (must-staple)", style="red")
        return [line]
    line.append("stapled ")
    described = {summary.plain: summary for summary in map(_staple_summary, stapled)}
    for index, summary in enumerate(described.values()):
        if index:
            line.append("; ")
        line.append_text(summary)
    where = ", ".join(v.version.removeprefix("TLSv") for v in stapled)
    line.append(f" ({where})", style="dim")
    return [line]


def _staple_summary(version: OcspAtVersion) -> Text:
    response = version.response
    if response is None:
        return Text("?")
    if response.parse_error or response.certificate_status is None:
        return Text(f"unusable ({response.response_status or 'malformed'})", style="red")
    status = response.certificate_status.value
    text = Text(status, style={"good": "green", "revoked": "bold red"}.get(status, "yellow"))
    if response.hours_left is not None:
        text.append(f", {response.hours_left}h left" if response.hours_left >= 0
                    else f", stale {-response.hours_left}h", style="" if response.hours_left >= 0
                    else "red")
    if response.serial_matches_leaf is False or response.issuer_matches_leaf is False:
        text.append(", wrong certificate", style="red")
    if response.signature is not None and response.signature.valid is False:
        text.append(", bad signature", style="red")
    return text


# Per-target fact lines, in display order; other probes add theirs here.
def _alpn_lines(record: Record) -> list[Text]:
    facet = record.alpn
    if facet is None:
        return []
    versions = [v for v in facet.versions().values() if v.supported]
    if not versions:
        return []
    described = {_alpn_text(v).plain for v in versions}
    if len(described) == 1:  # the same at every version: one line
        return [Text("alpn ").append_text(_alpn_text(versions[0]))]
    return [Text(f"alpn {v.version.removeprefix('TLSv')}: ").append_text(_alpn_text(v))
            for v in versions]


def _alpn_text(version: AlpnAtVersion) -> Text:
    text = Text(", ".join(version.supported_protocols) or "none",
                style="" if version.supported_protocols else "dim")
    if not version.complete:
        text.append(" (incomplete)", style="yellow")
    overlap = version.no_overlap
    if overlap is not None:
        how = overlap.alert if overlap.alert else overlap.behaviour.value
        text.append(f"; no overlap: {how}", style="dim")
    return text


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "?"}[value]


def _resumption_lines(record: Record) -> list[Text]:
    facet = record.resumption
    if facet is None:
        return []
    lines = []
    for version in facet.versions().values():
        if version.supported:
            lines.append(Text(f"resume {version.version.removeprefix('TLSv')}: ")
                         .append_text(_resumption_text(version)))
    return lines


_NEEDS_CERTIFICATE = "not measured: client cert required"


def _resumption_text(version: ResumptionAtTls12 | ResumptionAtTls13) -> Text:
    if version.not_measured is not None:
        return Text(_NEEDS_CERTIFICATE, style="dim")
    if isinstance(version, ResumptionAtTls13):
        if version.tickets_issued is None:
            return Text("tickets unknown", style="dim")
        if not version.tickets:
            return Text("no tickets")
        lifetimes = "/".join(f"{s}s" for s in sorted({t.lifetime_s for t in version.tickets}))
        early = ", 0-RTT" if any(t.max_early_data for t in version.tickets) else ""
        return Text(f"{version.tickets_issued} ticket(s) {lifetimes}{early}, "
                    f"resumes {_mark(version.resumed_with_psk)}")
    if version.ticket_issued is None and version.session_id_issued is None:
        return Text("unknown", style="dim")
    ticket = (f"ticket {version.ticket.lifetime_s}s resumes "
              f"{_mark(version.resumed_with_ticket)}" if version.ticket else "no ticket")
    session_id = (f"session ID resumes {_mark(version.resumed_with_session_id)}"
                  if version.session_id_issued else "no session ID")
    return Text(f"{ticket}; {session_id}")


_RENEGOTIATION_LABEL = {
    "accepted": "accepted", "refused_warning": "refused (warning)",
    "refused_fatal": "refused", "closed": "connection closed", "no_response": "no answer",
    "error": "error",
}


def _renegotiation_lines(record: Record) -> list[Text]:
    facet: RenegotiationFacet | None = record.renegotiation
    if facet is None:
        return []
    if facet.status is not RenegotiationStatus.tested or facet.client_initiated is None:
        status = "n/a (TLS 1.3 only)" if facet.status is RenegotiationStatus.not_applicable \
            else _NEEDS_CERTIFICATE if facet.not_measured is not None else "untested"
        return [Text(f"reneg {status}", style="dim")]
    initiated = facet.client_initiated
    label = _RENEGOTIATION_LABEL[initiated.outcome.value]
    if initiated.outcome.value == "refused_fatal" and initiated.alert:
        label += f" ({initiated.alert})"
    text = Text("reneg ")
    text.append("secure" if facet.secure_renegotiation else "INSECURE",
                style="" if facet.secure_renegotiation else "bold red")
    text.append(f", client-initiated {label}")
    return [text]


def _policy_lines(record: Record) -> list[Text]:
    """The identified policy (or the nearest) and any matching server software default."""
    identified = record.policy
    if identified is None:
        return []
    lines = []
    if identified.matches:
        first = identified.matches[0]
        line = Text(f"policy {first.id} ({first.match}")
        if first.match == "suites":
            line.append(f"; groups: {first.explanation.get('groups', '?')}")
        line.append(")")
        if len(identified.matches) > 1:
            line.append(f" +{len(identified.matches) - 1} look-alike(s)", style="dim")
        lines.append(line)
    elif identified.nearest:
        near = identified.nearest[0]
        differs = "; ".join(f"{facet}: {what}" for facet, what in near.explanation.items()
                            if what not in ("same", "not probed", "not documented"))
        lines.append(Text(f"policy none; nearest {near.id} ({differs})", style="yellow"))
    for default in identified.software_defaults[:2]:
        lines.append(Text(f"software {default.name}", style="dim"))
    return lines


def _clients_lines(record: Record) -> list[Text]:
    """How many profiled clients connect, and which ones fail and why."""
    view = record.clients
    if view is None:
        return []
    line = Text(f"clients {view.connect}/{view.connect + view.fail} connect")
    failing = [c for c in view.clients if not c.connects]
    if failing:
        line.append("; fail: ")
        line.append(", ".join(f"{c.id} ({c.reason})" for c in failing[:4])
                    + (f", +{len(failing) - 4}" if len(failing) > 4 else ""), style="yellow")
    return [line]


def _paths_lines(record: Record) -> list[Text]:
    """Paths that ask for a certificate after the request: `paths /secure required (PHA)`."""
    facet = record.client_auth
    lines = []
    for entry in (facet.paths or []) if facet else []:
        asked = {v.asked.value for v in entry.versions().values()
                 if v.asked is not None and v.asked.value != "handshake"}
        if asked and entry.classification is not None:
            how = ", ".join(sorted(a.replace("post_handshake_auth", "post-handshake")
                                   for a in asked))
            lines.append(Text(f"path {entry.path} {entry.classification.value} ({how})"))
    return lines


def _vhosts_lines(record: Record) -> list[Text]:
    """`vhosts: no_sni none, a.example required, ... fronting: bypass a->b`."""
    facet = record.vhosts
    if facet is None:
        return []
    views = ", ".join(
        f"{v.sni or v.kind.value} {v.classification.value if v.classification else '?'}"
        for v in facet.views)
    text = Text(f"vhosts {views}")
    for check in facet.fronting:
        text.append(f"; {check.sni}->{check.host} {check.protocol} {check.result.value}",
                    style="bold red" if check.result.value == "bypass" else "")
    return [text]


_FACT_LINES: tuple[Callable[[Record], list[Text]], ...] = (
    _certificate_lines, _ocsp_lines, _alpn_lines, _resumption_lines, _renegotiation_lines,
    _policy_lines, _clients_lines, _paths_lines, _vhosts_lines,
)


def _findings(record: Record, version: str | None, first_row: bool, shown: set[str]) -> Text:
    """Findings for one row: those about its version; the target's first row also takes the
    ones about no version or about a version that has no row of its own."""
    text = Text()
    for finding in record.findings:
        on_this_row = finding.version == version or (
            first_row and (finding.version is None or finding.version not in shown))
        if not on_this_row:
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


def _version_cells(version: ClientAuthAtVersion) -> tuple[Text, Text]:
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
