"""A readable summary of the enumeration facets: one row per target and accepted version."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from scanner.results import PROTOCOL_LABELS, Record

_LEGACY = {"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"}


def has_enumeration(record: Record) -> bool:
    return record.protocols is not None or record.cipher_suites is not None


def enumeration_table(records: list[Record]) -> Table:
    table = Table(title="mtlsweep: protocols, cipher suites and groups", show_lines=True)
    table.add_column("target", overflow="fold", ratio=2)
    table.add_column("version", no_wrap=True)
    table.add_column("cipher suites", overflow="fold", ratio=4, min_width=29)
    table.add_column("groups", overflow="fold", ratio=2)
    table.add_column("other", overflow="fold", ratio=2)
    for record in records:
        if record.error or not has_enumeration(record):
            continue
        target = Text(record.target.name or f"{record.target.host}:{record.target.port}",
                      style="bold")
        rows = _version_rows(record)
        other = _other(record)
        for index, (version, suites, groups) in enumerate(rows or [(Text("-"), Text(""),
                                                                     Text(""))]):
            table.add_row(target if index == 0 else "", version, suites, groups,
                          other if index == 0 else "")
    return table


def _version_rows(record: Record) -> list[tuple[Text, Text, Text]]:
    rows = []
    for label in reversed(PROTOCOL_LABELS):
        support = record.protocols.at(label) if record.protocols else None
        if support is not None and not support.accepted:
            continue
        suites = record.cipher_suites.at(label) if record.cipher_suites else None
        if support is None and suites is None:
            continue
        version = Text(label, style="red" if label in _LEGACY else "")
        cell = Text()
        if suites is not None:
            cell.append(f"{len(suites.suites)} suites, {suites.order} order"
                        + ("" if suites.complete else ", incomplete"), style="dim")
            for suite in suites.suites:
                cell.append("\n" + (suite.openssl or suite.iana or suite.code))
        groups = record.groups.at(label) if record.groups else None
        group_cell = Text("\n".join(g.name for g in groups.groups) if groups else "")
        rows.append((version, cell, group_cell))
    return rows


def _other(record: Record) -> Text:
    text = Text()
    if record.protocols is not None:
        refused = [f"{label} ({support.refusal or support.error})"
                   for label, support in record.protocols.items() if not support.accepted]
        if refused:
            text.append("refused: " + ", ".join(refused), style="dim")
    if record.alpn_support is not None and record.alpn_support.supported:
        text.append(f"\nALPN: {', '.join(record.alpn_support.supported)}")
    if record.extensions is not None and record.extensions.version is not None:
        ext = record.extensions
        flags = [name for name, value in (
            ("secure reneg", ext.secure_renegotiation), ("EMS", ext.extended_master_secret),
            ("ETM", ext.encrypt_then_mac), ("tickets", ext.session_ticket),
            ("OCSP stapling", ext.status_request)) if value]
        text.append(f"\n{ext.version}: {', '.join(flags) or 'no extensions echoed'}")
    if record.engine_agreement is not None and record.engine_agreement.disagreements:
        text.append(f"\n{record.engine_agreement.disagreements} raw/OpenSSL disagreement(s)",
                    style="bold yellow")
    return text
