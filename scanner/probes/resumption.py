"""Does the server issue session tickets, and does it honour them and its session IDs?

Each fact comes from a pair of connections: a full handshake that receives a ticket (or a
session ID), then a second one offering it back. Three pairs run side by side:

* TLS 1.2 with tickets: the NewSessionTicket's lifetime hint and length, then resumption;
* TLS 1.2 with tickets disabled on our side (no session_ticket extension): the session ID in
  the ServerHello, then resumption by session ID;
* TLS 1.3: the NewSessionTicket messages received within a bounded wait after the handshake
  (they come unasked), then PSK resumption with the last one.

The full handshakes of the ticket pairs are the shared baseline's at that version (the
completed one: with the user's client certificate when the server asks for one), which
other probes make anyway; only the session-ID pair needs a first handshake of its own (the
baseline offers tickets). Every first connection ends with close_notify: OpenSSL-based
servers drop a session from their cache when a client just drops the connection. The second
connection of a pair makes the same offer as the first; without a client certificate, a
server that requires one leaves the facts unknown (``not_measured``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import trio
from OpenSSL import SSL

from scanner import wire
from scanner.engine.handshake import HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.offers.offer import ClientOffer
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.credential import not_measured, presented_in
from scanner.probes.shared.report import handshake_report
from scanner.results import (
    ErrorInfo,
    Finding,
    ResumptionAtTls12,
    ResumptionAtTls13,
    ResumptionFacet,
    Severity,
    Ticket,
)
from scanner.wire import TLSVersion

_Resumable = Callable[[HandshakeResult], bool]
#: Lifetimes above this deserve a finding: a ticket key that must stay secret for days.
LONG_TICKET_LIFETIME_S = 24 * 3600


@dataclass
class _Pair:
    """A full handshake and, when it left something to resume, the resumption attempt."""

    first: HandshakeResult
    second: HandshakeResult | None = None

    @property
    def resumed(self) -> bool | None:
        """Whether the second handshake resumed; None if not tried or cut off by the network.

        A server that answers the resumption offer with an alert does not resume it.
        """
        if self.second is None:
            return None
        if self.second.completed:
            return self.second.session_reused
        failure = self.second.failure
        return False if failure is not None and failure.alert is not None else None

    def errors(self) -> list[ErrorInfo]:
        return [r.failure.info() for r in (self.first, self.second)
                if r is not None and r.failure is not None]


class ResumptionProbe(Probe[ResumptionFacet]):
    name: ClassVar[str] = "resumption"
    description: ClassVar[str] = (
        "Session tickets (TLS 1.2 lifetime hint, TLS 1.3 tickets after the handshake) and "
        "whether resumption by ticket, session ID and PSK works"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[ResumptionFacet]:
        pairs: dict[str, _Pair] = {}

        async def session_ids() -> None:
            pairs["session_id"] = await _full_then_resume(session, context.shared.offer(
                TLSVersion.TLSv1_2, session_tickets=False), _has_session_id)

        async def tickets(key: str, version: TLSVersion) -> None:
            first = await context.shared.completed_baseline(version)
            pairs[key] = await _resume(session, first, _has_ticket)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(tickets, "ticket", TLSVersion.TLSv1_2)
            nursery.start_soon(session_ids)
            nursery.start_soon(tickets, "tls13", TLSVersion.TLSv1_3)
        facet = ResumptionFacet(
            tls1_2=analyse_tls12(pairs["ticket"], pairs["session_id"]),
            tls1_3=analyse_tls13(pairs["tls13"], session.wait_after_handshake()),
        )
        return ProbeOutput(facet=facet, findings=findings_for(facet))


def _tickets(result: HandshakeResult) -> list[wire.NewSessionTicket]:
    return [m.parsed for m in result.received(wire.HandshakeType.new_session_ticket)
            if isinstance(m.parsed, wire.NewSessionTicket)]


def _has_ticket(result: HandshakeResult) -> bool:
    return any(ticket.ticket_length > 0 for ticket in _tickets(result))


def _has_session_id(result: HandshakeResult) -> bool:
    hello = result.server_hello
    return hello is not None and len(hello.session_id) > 0


async def _full_then_resume(session: EndpointSession, offer: ClientOffer,
                            worth_resuming: _Resumable) -> _Pair:
    async with session.connect(offer) as tls:
        first = await tls.handshake()
        await tls.shutdown()
    return await _resume(session, first, worth_resuming)


async def _resume(session: EndpointSession, first: HandshakeResult,
                  worth_resuming: _Resumable) -> _Pair:
    """``first`` and, when it left something worth resuming, the same offer resuming it."""
    resumable: SSL.Session | None = first.session
    if not _negotiated(first, first.offer) or not worth_resuming(first) or resumable is None:
        return _Pair(first)
    return _Pair(first, await session.handshake(first.offer, session=resumable))


def _version_seen(result: HandshakeResult) -> bool:
    """The server chose the offered version (whether or not the handshake then completed)."""
    hello = result.server_hello
    return hello is not None and hello.selected_version == int(result.offer.max_version)


def _negotiated(result: HandshakeResult, offer: ClientOffer) -> bool:
    return result.completed and _version_seen(result)


def analyse_tls12(tickets: _Pair, session_ids: _Pair) -> ResumptionAtTls12:
    supported = _version_seen(tickets.first) or _version_seen(session_ids.first)
    out = ResumptionAtTls12(supported=supported, errors=tickets.errors() + session_ids.errors(),
                          handshake=handshake_report(tickets.first),
                          client_certificate_presented=presented_in(
                              [tickets.first, tickets.second, session_ids.first,
                               session_ids.second]),
                          not_measured=not_measured(tickets.first)
                          or not_measured(session_ids.first))
    if not supported:
        return out
    if _negotiated(tickets.first, tickets.first.offer):
        issued = [t for t in _tickets(tickets.first) if t.ticket_length > 0]
        out.ticket_issued = bool(issued)
        if issued:
            out.ticket = Ticket(lifetime_s=issued[-1].lifetime_s,
                                   ticket_length=issued[-1].ticket_length)
            out.resumed_with_ticket = tickets.resumed
    if _negotiated(session_ids.first, session_ids.first.offer):
        out.session_id_issued = _has_session_id(session_ids.first)
        if out.session_id_issued:
            out.resumed_with_session_id = session_ids.resumed
    return out


def analyse_tls13(pair: _Pair, wait_s: float) -> ResumptionAtTls13:
    first = pair.first
    out = ResumptionAtTls13(supported=_version_seen(first), errors=pair.errors(),
                          handshake=handshake_report(first),
                          client_certificate_presented=presented_in([first, pair.second]),
                          not_measured=not_measured(first))
    if not _negotiated(first, first.offer):
        return out
    tickets = [t for t in _tickets(first) if t.tls13]
    if first.failure is not None and not tickets:
        return out  # rejected right after the handshake (no client certificate?): unknown
    out.tickets_issued = len(tickets)
    out.wait_ms = round(wait_s * 1000)
    out.tickets = [Ticket(lifetime_s=t.lifetime_s, ticket_length=t.ticket_length,
                             max_early_data=t.max_early_data) for t in tickets]
    if tickets:
        out.resumed_with_psk = pair.resumed
    return out


def findings_for(facet: ResumptionFacet) -> list[Finding]:
    findings = []
    tls12, tls13 = facet.tls1_2, facet.tls1_3
    lifetimes: list[tuple[str, int]] = []
    if tls12.ticket:
        lifetimes.append((tls12.version, tls12.ticket.lifetime_s))
    if tls13.tickets:
        lifetimes.append((tls13.version, max(t.lifetime_s for t in tls13.tickets)))
    for version, lifetime in lifetimes:
        if lifetime > LONG_TICKET_LIFETIME_S:
            findings.append(Finding(
                id="resumption.ticket_lifetime_long", severity=Severity.low,
                probe=ResumptionProbe.name, version=version,
                detail=f"Session tickets live {lifetime} s ({lifetime / 3600:g} h), over 24 h: "
                "whoever obtains the ticket key can decrypt sessions resumed that long after.",
            ))
    resumptions: list[tuple[str, bool | None, str]] = [
        (tls12.version, tls12.resumed_with_ticket, "a session ticket"),
        (tls13.version, tls13.resumed_with_psk, "session tickets"),
    ]
    for version, resumed, what in resumptions:
        if resumed is False:
            findings.append(Finding(
                id="resumption.ticket_not_honoured", severity=Severity.low,
                probe=ResumptionProbe.name, version=version,
                detail=f"The server issued {what} but did not resume the session when offered "
                "one (ticket keys not shared behind a load balancer, or a ticket that only "
                "lives in a cache that is off?).",
            ))
    if tls12.resumed_with_session_id is False:
        findings.append(Finding(
            id="resumption.session_id_not_honoured", severity=Severity.info,
            probe=ResumptionProbe.name, version=tls12.version,
            detail="The server sent a session ID but did not resume the session by it (no "
            "server-side session cache, or one not shared between backends).",
        ))
    return findings
