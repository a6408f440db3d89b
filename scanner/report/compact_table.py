"""The default table: one row per target with the answers people sort a sweep by.

Columns: target, accepted TLS versions, client certificate (per version when they differ),
CA names sent, enforcement verdict, named policy (match kind, matching software default,
profiled clients that connect), worst finding. Values are short words
separated by spaces, so at 80 columns cells wrap between words instead of splitting them;
``--detail`` gives the full view (``table.py``).
"""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from scanner.report.digest import Digest, digest
from scanner.results import Record

_CLASS_STYLE = {"required": "green", "optional": "yellow", "none": "dim"}
_VERDICT_STYLE = {"required_at_tls": "green", "required_at_http": "green",
                  "optional_verified": "yellow", "optional_unverified": "dark_orange",
                  "accepts_untrusted": "bold red", "not_requested": "dim"}
_SEVERITY_STYLE = {"info": "cyan", "low": "yellow", "medium": "dark_orange",
                   "high": "red", "critical": "bold red"}


def compact_table(records: list[Record], *, span: tuple[int, int] | None = None) -> Table:
    """One row per target; ``span`` numbers the targets when printed in parts."""
    title = "mtlsweep" + (f" (targets {span[0]}-{span[1]})" if span else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("target", overflow="fold")
    table.add_column("TLS", no_wrap=True)
    table.add_column("client cert", overflow="fold", width=8)
    table.add_column("CA names", overflow="fold", width=5)
    table.add_column("verdict", overflow="fold", width=11)
    table.add_column("policy", overflow="fold")
    table.add_column("worst finding", overflow="fold")
    for record in records:
        table.add_row(*row_cells(digest(record)))
    return table


def row_cells(facts: Digest) -> tuple[Text, Text, Text, Text, Text, Text, Text]:
    target = Text(facts.label, style="bold")
    if facts.label != facts.endpoint:
        target.append(f"\n{facts.endpoint}", style="dim")
    if facts.address and facts.address not in facts.endpoint:
        target.append(f"\n{facts.address}", style="dim")
    if facts.status == "error":
        return (target, Text(""), Text("error", style="red"), Text(""),
                Text((facts.error_kind or "").replace("_", " "), style="red"), Text(""),
                _worst(facts))
    return (target, _versions(facts), _client_cert(facts), _ca_names(facts),
            _verdict(facts), _policy(facts), _worst(facts))


def _versions(facts: Digest) -> Text:
    low, high = facts.min_version, facts.max_version
    if low is None or high is None:
        return Text("")
    short = [label.replace("TLSv", "").replace("SSLv", "SSL") for label in (low, high)]
    return Text(short[0] if low == high else f"{short[0]}-{short[1]}")


def _client_cert(facts: Digest) -> Text:
    by_version = facts.client_auth_by_version
    if len(set(by_version.values())) > 1:
        text = Text()
        for index, (label, class_) in enumerate(by_version.items()):
            text.append(("\n" if index else "") + label.replace("TLSv", "") + " ")
            text.append(class_, style=_CLASS_STYLE.get(class_, ""))
        return text
    class_ = facts.client_auth or ""
    return Text(class_, style=_CLASS_STYLE.get(class_, ""))


def _ca_names(facts: Digest) -> Text:
    sent = facts.ca_names_sent
    if sent is None:
        return Text("")
    return Text("yes", style="green") if sent else Text("none", style="yellow")


def _verdict(facts: Digest) -> Text:
    verdict = facts.verdict or ""
    text = Text(verdict.replace("_", " "), style=_VERDICT_STYLE.get(verdict, ""))
    if facts.alb_mode:
        text.append(f"\nALB {facts.alb_mode}", style="cyan")
    return text


def _policy(facts: Digest) -> Text:
    """Matches only (the nearest policy is a guess that needs its differences, in the record
    and in ``--detail``, to be read right), each line a short phrase: the policy and its match
    kind, the server software whose defaults match, and how many profiled clients connect."""
    text = Text()
    if facts.policy_matches:
        # The policy's own name (the id's last part: aws-elb:ELBSecurityPolicy-...); the full
        # ids are in --detail, CSV and HTML. Several matches: the first and how many more.
        text.append(facts.policy_matches[0].rsplit(":", 1)[-1], style="cyan")
        if len(facts.policy_matches) > 1:
            text.append(f" +{len(facts.policy_matches) - 1}", style="dim")
        if facts.policy_match_kind:
            text.append(f"\n{facts.policy_match_kind}",
                        style="green" if facts.policy_match_kind == "exact" else "yellow")
    if facts.software_defaults:
        text.append(("\n" if text else "") + "default "
                    + facts.software_defaults[0].rsplit(":", 1)[-1], style="dim")
        if len(facts.software_defaults) > 1:
            text.append(f" +{len(facts.software_defaults) - 1}", style="dim")
    if facts.clients_connect is not None and facts.clients_fail is not None:
        total = facts.clients_connect + facts.clients_fail
        text.append(("\n" if text else "") + f"clients {facts.clients_connect}/{total}",
                    style="yellow" if facts.clients_fail else "dim")
    return text


def _worst(facts: Digest) -> Text:
    if facts.worst_finding is None:
        return Text("")
    text = Text(facts.worst_finding, style=_SEVERITY_STYLE.get(facts.worst_finding, ""))
    more = sum(facts.findings_by_severity.values()) - 1
    if more:
        text.append(f" +{more}", style="dim")
    text.append(f"\n{facts.worst_finding_id}", style="dim")
    return text
