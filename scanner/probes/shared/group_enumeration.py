"""Key-exchange group enumeration: TLS 1.3 groups (key_share / HelloRetryRequest) and the
ECDHE curves of TLS 1.2 and below (ServerKeyExchange), each by ``peel``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from scanner import wire
from scanner.engine import raw
from scanner.engine.raw import RawReply
from scanner.offers import keyshares
from scanner.offers.keyshares import X25519
from scanner.probes.shared.candidates import candidates, weakest_first
from scanner.probes.shared.hello_carrier import GroupCarrier
from scanner.probes.shared.peel import End, Peeled, peel
from scanner.probes.shared.raw_hellos import RawHellos, normal_refusal
from scanner.probes.shared.version_tests import VersionTest
from scanner.wire import TLSVersion

__all__ = ["GroupEnumeration", "enumerate_groups"]


@dataclass
class GroupEnumeration:
    version: int
    groups: list[tuple[int, str]]  # (code, via)
    complete: bool
    offered: int
    connections: int
    notes: list[str] = field(default_factory=list)


async def enumerate_groups(hellos: RawHellos, test: VersionTest,
                          carrier: GroupCarrier | None = None) -> GroupEnumeration | None:
    """The groups accepted at the version of ``test`` (None: not accepted, or no groups); at
    TLS 1.3, ``carrier`` may have the suite enumeration's hellos ask the questions."""
    if not test.accepted or test.version in (TLSVersion.SSLv2, TLSVersion.SSLv3):
        return None
    if test.version == TLSVersion.TLSv1_3:
        return await _groups_tls13(hellos, test, carrier)
    return await _curves_tls12(hellos, test.version)


def _stop(reply: RawReply) -> End:
    """The end of a series on a reply without a ServerHello of the version offered."""
    return End() if normal_refusal(reply) else End(f"stopped: {reply.refusal}")


async def _groups_tls13(hellos: RawHellos, test: VersionTest,
                        carrier: GroupCarrier | None) -> GroupEnumeration:
    suites = weakest_first(candidates(TLSVersion.TLSv1_3))
    via: dict[int, str] = {}
    connections = 0

    async def ask(offered: tuple[int, ...]) -> int | End:
        nonlocal connections
        # One key share, for the first remaining group we have a value for: some servers
        # refuse an empty key_share list, and every other group can still be asked for
        # by a HelloRetryRequest.
        share = next((g for g in offered if keyshares.key_share(g) is not None), X25519)
        if offered == raw.TLS13_GROUPS and test.offered == suites:
            reply = test.reply
        else:
            # a suite enumeration hello may ask it (a TLS 1.3 server's group does not depend
            # on the suites offered); else a hello of our own
            carried = await carrier.ask((offered, (share,))) if carrier is not None else None
            if carried is not None:
                reply = carried
            else:
                reply = await hellos.send(hellos.offer(
                    TLSVersion.TLSv1_3, suites, groups=offered, key_share_groups=(share,)))
                connections += 1
        if not reply.hello or reply.version != TLSVersion.TLSv1_3:
            return _stop(reply)
        group = reply.key_exchange_group()
        if group is None:
            return End(f"the server selected group {_group_name(group)}, which was not offered")
        if group in offered:  # else peel ends the series; an earlier pick keeps its way
            via[group] = ("hello_retry_request" if reply.outcome is
                          raw.RawOutcome.hello_retry_request else "server_hello")
        return group

    peeled = await peel(raw.TLS13_GROUPS, ask, not_offered=lambda group: (
        f"the server selected group {_group_name(group)}, which was not offered"))
    notes = [peeled.problem] if peeled.problem else []
    return GroupEnumeration(TLSVersion.TLSv1_3, [(group, via[group]) for group in peeled.chosen],
                            peeled.complete, len(raw.TLS13_GROUPS), connections, notes)


async def _curves_tls12(hellos: RawHellos, version: int) -> GroupEnumeration:
    suites = weakest_first([s.code for s in wire.CIPHER_SUITES.values()
                            if s.ecdhe and not s.tls13])
    picked_with: dict[int, int | None] = {}  # curve -> the suite it came with

    def unknown_curve(group: int | None) -> str:
        return ("ServerKeyExchange missing, with explicit curve parameters, or naming a "
                f"curve not offered ({_group_name(group)})")

    async def pick(offered: tuple[int, ...]) -> int | End:
        reply = await hellos.send(hellos.offer(version, suites, groups=offered),
                                  wire.StopAt.SERVER_HELLO_DONE)
        if not reply.hello or reply.version != version:
            return _stop(reply)
        group = reply.key_exchange_group()
        if group is None:
            return End(unknown_curve(group))
        picked_with.setdefault(group, reply.cipher_suite)
        return group

    peeled = await peel(raw.TLS12_CURVES, pick, not_offered=unknown_curve)
    chosen, asked, problem = peeled.chosen, peeled.asked, peeled.problem
    if peeled.refused and peeled.remaining and chosen and all(
            _ecdsa_signed(picked_with[curve]) for curve in chosen):
        # An ECDSA-only server also needs its certificate's curve among the offered groups
        # (RFC 8422 5.1.1), so the refusal may be about the certificate, not the rest:
        # ask again about the rest with the curves it picked appended, last.
        anchored = await _anchored_curves(pick, peeled.remaining, tuple(chosen))
        chosen, asked = chosen + anchored.chosen, asked + anchored.asked
        problem = anchored.problem
    notes = [problem] if problem else []
    if peeled.refused and not peeled.picks:
        notes.append("no ECDHE suite accepted")
    return GroupEnumeration(version, [(group, "server_key_exchange") for group in chosen],
                            problem is None, len(raw.TLS12_CURVES), asked, notes)


async def _anchored_curves(pick: Callable[[tuple[int, ...]], Awaitable[int | End]],
                           rest: tuple[int, ...], anchors: tuple[int, ...]) -> Peeled[int]:
    """Peel ``rest`` while offering ``anchors`` (curves known to be accepted) after them.

    A server following our order picks a supported curve of ``rest`` before any anchor, so
    an anchor pick ends the series normally. Whether it follows our order is asked first,
    with two anchors reversed; with one anchor, an anchor pick leaves ``rest`` undecided.
    """
    client_order: bool | None = None
    asked = 0
    if len(anchors) >= 2:
        answer = await pick((anchors[1], anchors[0]))
        asked = 1
        client_order = answer == anchors[1] if not isinstance(answer, End) else None

    async def ask(offered: tuple[int, ...]) -> int | End:
        answer = await pick(offered + anchors)
        if isinstance(answer, End) or answer not in anchors:
            return answer
        if client_order:
            return End()
        return End("the server picked a curve it had already picked over the rest (its "
                   "certificate's curve must be offered); the rest is undecided")

    peeled = await peel(rest, ask)
    peeled.asked += asked
    return peeled


def _ecdsa_signed(suite: int | None) -> bool:
    entry = wire.CIPHER_SUITES.get(suite) if suite is not None else None
    return entry is not None and entry.key_exchange == "ECDHE_ECDSA"


def _group_name(group: int | None) -> str:
    return "none" if group is None else wire.name_for(wire.NAMED_GROUPS, group)
