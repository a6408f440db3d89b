"""Human-readable renderings of catalog policies and policy diffs (rich), and their JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from scanner.policy.catalog import Catalog, Policy
from scanner.policy.clients import ClientProfile, ClientsDiff, Negotiated
from scanner.policy.compare import SECTIONS, OrderComparison, PolicyDiff, SetDiff
from scanner.policy.suites import CipherSuite


def short_versions(protocols: Iterable[str]) -> str:
    return " ".join(v.removeprefix("TLSv") for v in protocols)


def policy_list_table(policies: Sequence[Policy]) -> Table:
    table = Table(title=f"{len(policies)} policies", show_lines=False)
    table.add_column("id", overflow="fold", ratio=5)
    table.add_column("TLS", no_wrap=True)
    table.add_column("1.3", justify="right")
    table.add_column("<=1.2", justify="right")
    table.add_column("order", no_wrap=True)
    table.add_column("status", overflow="fold", ratio=2)
    table.add_column("conf.", no_wrap=True)
    for policy in policies:
        status = policy.status.split(" (")[0].split(":")[0]
        table.add_row(policy.id, short_versions(policy.protocols), str(len(policy.tls13)),
                      str(len(policy.tls12)), policy.order, status, policy.confidence or "")
    return table


def policy_as_json(policy: Policy, catalog: Catalog) -> dict[str, object]:
    return {
        "id": policy.id, "name": policy.name, "provider": policy.provider,
        "kind": policy.kind, "aliases": list(policy.aliases), "services": list(policy.services),
        "protocols": list(policy.protocols),
        "cipher_suites": {
            "tls1_3": [s.as_json() for s in policy.tls13],
            "tls1_2_and_below": [s.as_json() for s in policy.tls12],
        },
        "may_be_absent": [f"0x{code:04X}" for code in sorted(policy.may_be_absent)],
        "order": policy.order, "order_note": policy.order_note,
        "fips": policy.fips, "pq_key_exchange": policy.pq_key_exchange,
        "groups": list(policy.groups) if policy.groups is not None else None,
        "status": policy.status, "confidence": policy.confidence,
        "default_for": list(policy.default_for),
        "lookalikes": [p.id for p in catalog.lookalikes(policy)],
        "sources": [{"id": s.id, "url": s.url, "repo_path": s.repo_path, "commit": s.commit,
                     "date": s.date, "used_for": s.used_for} for s in policy.sources],
        "notes": list(policy.notes),
        "defined_in": policy.origin,
    }


def policy_detail(policy: Policy, catalog: Catalog) -> RenderableType:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")

    def fact(label: str, value: object) -> None:
        if value not in (None, "", [], ()):
            facts.add_row(label, str(value))

    fact("id", policy.id)
    fact("name", policy.name)
    fact("provider", policy.provider)
    fact("aliases", ", ".join(policy.aliases))
    fact("services", ", ".join(policy.services))
    fact("protocols", ", ".join(policy.protocols))
    fact("order", f"{policy.order}" + (f" ({policy.order_note})" if policy.order_note else ""))
    fact("FIPS", _yes_no(policy.fips))
    fact("PQ key exchange", _yes_no(policy.pq_key_exchange))
    fact("groups", ", ".join(policy.groups) if policy.groups is not None else "not documented")
    fact("status", policy.status)
    fact("confidence", policy.confidence)
    fact("default for", "; ".join(policy.default_for))
    fact("look-alikes", ", ".join(p.id for p in catalog.lookalikes(policy)))
    fact("defined in", policy.origin)
    parts: list[RenderableType] = [facts]
    for title, suites in (("TLS 1.3", policy.tls13), ("TLS 1.2 and below", policy.tls12)):
        if suites:
            parts.append(_suite_table(f"{title} cipher suites", suites, policy.may_be_absent))
    if policy.sources:
        sources = Table(title="sources", show_header=True)
        sources.add_column("id", no_wrap=True)
        sources.add_column("where", overflow="fold", ratio=3)
        sources.add_column("date", overflow="fold", ratio=1)
        for source in policy.sources:
            where = source.url or source.repo_path or ""
            if source.commit:
                where += f" @ {source.commit[:12]}"
            sources.add_row(source.id, where, source.date or "")
        parts.append(sources)
    if policy.notes:
        parts.append(Text("notes:\n" + "\n".join(f"- {note}" for note in policy.notes)))
    return Group(*parts)


def _yes_no(value: bool | None) -> str:
    return "not stated" if value is None else ("yes" if value else "no")


def _suite_table(title: str, suites: Sequence[CipherSuite],
                 may_be_absent: frozenset[int] = frozenset()) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("IANA name", overflow="fold")
    table.add_column("OpenSSL name", overflow="fold")
    table.add_column("code", no_wrap=True)
    table.add_column("kx/au", no_wrap=True)
    for number, suite in enumerate(suites, 1):
        mark = " (may be absent)" if suite.code in may_be_absent else ""
        table.add_row(str(number), (suite.iana or "?") + mark, suite.openssl or "?", suite.hex,
                      f"{suite.kx or '?'}/{suite.au or '?'}")
    return table


def policy_diff_view(diff: PolicyDiff) -> RenderableType:
    """A and B side by side: protocols, suites per section, then notes on what else differs."""
    notes = [*(_order_note(order) for order in diff.order), _key_exchange_note(diff),
             _indistinguishable_note(diff)]
    return Group(_diff_heading(diff.a, diff.b), _protocols_table(diff.protocols),
                 *(_suites_view(title, diff.suites[section]) for section, title in SECTIONS),
                 *(note for note in notes if note is not None))


def _diff_heading(a: Policy, b: Policy) -> Text:
    head = Text()
    head.append("A ", style="bold cyan")
    head.append(f"{a.id}\n")
    head.append("B ", style="bold magenta")
    head.append(b.id)
    return head


def _protocols_table(protocols: SetDiff[str]) -> Table:
    table = Table(title="protocols", title_justify="left")
    table.add_column("only in A", style="cyan")
    table.add_column("only in B", style="magenta")
    table.add_column("in both")
    table.add_row(", ".join(protocols.only_a) or "-", ", ".join(protocols.only_b) or "-",
                  ", ".join(protocols.both) or "-")
    return table


def _suites_view(title: str, suites: SetDiff[CipherSuite]) -> RenderableType:
    """One section's suites in a table (A only, B only, both), or a line saying there are none."""
    if not (suites.only_a or suites.only_b or suites.both):
        return Text(f"{title} cipher suites: none in either policy", style="dim")
    table = Table(title=f"{title} cipher suites: {len(suites.only_a)} only in A, "
                  f"{len(suites.only_b)} only in B, {len(suites.both)} in both",
                  title_justify="left")
    table.add_column("", no_wrap=True)
    table.add_column("IANA name", overflow="fold")
    table.add_column("OpenSSL name", overflow="fold")
    table.add_column("code", no_wrap=True)
    for label, style, group in (("A", "cyan", suites.only_a), ("B", "magenta", suites.only_b),
                                ("both", "", suites.both)):
        for suite in group:
            table.add_row(Text(label, style=style), suite.iana or "?", suite.openssl or "?",
                          suite.hex)
    return table


def _order_note(order: OrderComparison) -> Text | None:
    """Whether the shared suites are in the same server order, or why that was not compared.

    Nothing when A has no shared suites in this section to order.
    """
    title = dict(SECTIONS)[order.section]
    if order.compared and order.differs:
        return Text(f"{title} order of the shared suites differs:\n  A: "
                    + ", ".join(s.label for s in order.a) + "\n  B: "
                    + ", ".join(s.label for s in order.b), style="yellow")
    if order.compared:
        return Text(f"{title} order: the shared suites are in the same server order",
                    style="dim")
    if order.a:
        return Text(f"{title} order not compared: {order.reason}", style="dim")
    return None


def _key_exchange_note(diff: PolicyDiff) -> Text | None:
    """PQ key exchange, FIPS and documented groups, where A and B differ."""
    a, b = diff.a, diff.b
    differences = (_stated_difference("PQ key exchange", a.pq_key_exchange, b.pq_key_exchange),
                   _stated_difference("FIPS", a.fips, b.fips),
                   _groups_difference(diff.groups))
    found = [d for d in differences if d is not None]
    return Text("key exchange: " + "; ".join(found)) if found else None


def _stated_difference(label: str, a: bool | None, b: bool | None) -> str | None:
    return None if a == b else f"{label}: A {_yes_no(a)}, B {_yes_no(b)}"


def _groups_difference(groups: SetDiff[str] | None) -> str | None:
    """Groups only in A and only in B; None unless both document groups and they differ."""
    if groups is None or groups.same:
        return None
    return (f"groups only in A: {', '.join(groups.only_a) or '-'}; "
            f"only in B: {', '.join(groups.only_b) or '-'}")


def _indistinguishable_note(diff: PolicyDiff) -> Text | None:
    if not diff.same_protocols_and_suites:
        return None
    return Text("A and B have the same protocols and cipher suites: a scan can tell them apart "
                "only by key-exchange groups, if at all.", style="bold")


# --- client profiles ---------------------------------------------------------------------


def client_profile_as_json(profile: ClientProfile) -> dict[str, object]:
    return {
        "id": profile.id, "name": profile.name, "versions": list(profile.versions),
        "cipher_suites": {"tls1_3": [s.as_json() for s in profile.tls13],
                          "tls1_2_and_below": [s.as_json() for s in profile.tls12]},
        "groups": list(profile.groups),
        "signature_algorithms": list(profile.signature_algorithms),
        "captured_by": profile.captured_by,
        "sources": [{"id": s.id, "url": s.url, "date": s.date, "used_for": s.used_for}
                    for s in profile.sources],
        "notes": list(profile.notes),
    }


def client_profiles_table(profiles: Sequence[ClientProfile]) -> Table:
    table = Table(title=f"{len(profiles)} client profiles")
    table.add_column("id", no_wrap=True)
    table.add_column("client", overflow="fold", ratio=3)
    table.add_column("TLS", no_wrap=True)
    table.add_column("1.3", justify="right")
    table.add_column("<=1.2", justify="right")
    table.add_column("groups", justify="right")
    table.add_column("from", overflow="fold", ratio=2)
    for profile in profiles:
        origin = "captured here" if profile.captured_by else "documentation"
        table.add_row(profile.id, profile.name, short_versions(profile.versions),
                      str(len(profile.tls13)), str(len(profile.tls12)),
                      str(len(profile.groups)),
                      f"{origin}: {', '.join(s.id for s in profile.sources)}")
    return table


def clients_diff_view(diff: ClientsDiff) -> RenderableType:
    """Clients that negotiate with A but not with B (and the reverse), with B's reason."""
    certificate = "/".join(sorted(diff.key_types)).upper()
    parts: list[RenderableType] = []
    for title, changes, style in (("can connect to A but not to B", diff.lost, "red"),
                                  ("can connect to B but not to A", diff.gained, "green")):
        if not changes:
            parts.append(Text(f"clients that {title}: none ({certificate} certificate)",
                              style="dim"))
            continue
        table = Table(title=f"clients that {title} ({certificate} certificate)",
                      title_justify="left", title_style=style)
        table.add_column("client", overflow="fold", ratio=2)
        table.add_column("with A", overflow="fold", ratio=2)
        table.add_column("with B", overflow="fold", ratio=2)
        for change in changes:
            table.add_row(change.client.name, _negotiated(change.before),
                          _negotiated(change.after))
        parts.append(table)
    parts.append(Text(f"{len(diff.both)} other profiled clients connect to both, "
                      f"{len(diff.neither)} to neither.", style="dim"))
    return Group(*parts)


def _negotiated(result: Negotiated) -> str:
    if result.connects:
        suite = result.suite.label if result.suite else "?"
        return f"{result.version} {suite}" + (f" ({result.group})" if result.group else "")
    return f"{result.reason}" + (f": {result.detail}" if result.detail else "")

