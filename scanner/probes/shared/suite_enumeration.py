"""Cipher-suite enumeration of one version, and whose preference orders the suites.

Offer every candidate, note the one the server picks, remove it, repeat until the server
refuses (``peel``). Candidates are offered weakest first, so a server that applies its own
preference reveals it at once; only when every pick matches our order does one more hello,
with the accepted suites reversed, tell "client order" from a coincidence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from scanner import wire
from scanner.engine import raw
from scanner.engine.raw import RawReply
from scanner.probes.shared.candidates import candidates, chunks, weakest_first
from scanner.probes.shared.hello_carrier import CarrierSet
from scanner.probes.shared.peel import End, Pick, peel
from scanner.probes.shared.raw_hellos import RawHellos, normal_refusal
from scanner.probes.shared.version_tests import VersionTest
from scanner.wire import TLSVersion

__all__ = ["Order", "SuiteEnumeration", "enumerate_suites"]

Order = Literal["server", "client", "indeterminate"]
#: Sends one hello offering these suites at the enumeration's version.
_Send = Callable[[tuple[int, ...]], Awaitable[RawReply]]


@dataclass
class SuiteEnumeration:
    version: int
    accepted: list[int]  # in pick order
    order: Order
    preference: list[int]  # the server's order (order=server) or by code
    complete: bool
    offered: int
    hello_split: bool
    connections: int
    hellos: list[wire.ServerHello]
    notes: list[str] = field(default_factory=list)


async def enumerate_suites(hellos: RawHellos, test: VersionTest,
                          carrier: CarrierSet | None = None
                          ) -> SuiteEnumeration | None:
    """Accepted suites at the version of ``test`` (None when it is not accepted); its hellos
    carry ``carrier``'s questions, when given."""
    version = test.version

    resent = 0  # carried hellos refused and sent again plain

    async def send(offered: tuple[int, ...]) -> RawReply:
        nonlocal resent
        offer = hellos.offer(version, offered)
        if carrier is None:
            return await hellos.send(offer)
        reply, sent = await carrier.send(hellos, offer)
        resent += sent - 1
        return reply

    if not test.accepted:
        return None
    if version == TLSVersion.SSLv2:
        return _sslv2_suites(test)
    all_candidates = candidates(version)
    groups = ([weakest_first(c) for c in chunks(all_candidates)] if test.hello_split
              else [weakest_first(all_candidates)])
    picks: list[Pick[int]] = []
    server_hellos: list[wire.ServerHello] = []
    notes: list[str] = []
    connections = 0

    async def ask(offered: tuple[int, ...]) -> int | End:
        nonlocal connections
        if offered == test.offered:
            reply = test.reply  # the version test already asked exactly this
        else:
            reply = await send(offered)
            connections += 1
        problem = _pick_problem(version, reply, list(offered))
        if problem is not None:
            return End(problem or None)
        assert reply.server_hello is not None and reply.cipher_suite is not None
        server_hellos.append(reply.server_hello)
        return reply.cipher_suite

    complete = True
    for group in groups:
        peeled = await peel(group, ask)
        picks += peeled.picks
        if peeled.problem:
            notes.append(peeled.problem)
            complete = False
    accepted = [pick.chosen for pick in picks]
    order, preference, used = await _suite_order(send, version, picks, len(groups) > 1,
                                                 notes)
    return SuiteEnumeration(
        version=version, accepted=accepted, order=order, preference=preference,
        complete=complete, offered=len(all_candidates), hello_split=test.hello_split,
        connections=connections + used + resent, hellos=server_hellos, notes=notes,
    )


async def _suite_order(send: _Send, version: int, picks: list[Pick[int]],
                       several_hellos: bool, notes: list[str]) -> tuple[Order, list[int], int]:
    """Whose preference decides, and the server's order when it is its own."""
    accepted = [pick.chosen for pick in picks]
    by_code = sorted(accepted)
    if len(accepted) < 2:
        return "indeterminate", by_code, 0
    connections = 0
    if several_hellos:
        # Suites came from different hellos, so no pick compared them all: rank them in
        # one more series, offering only the accepted ones.
        picks, connections = await _rank(send, accepted, notes)
        if len(picks) < len(accepted) - 1:
            return "indeterminate", by_code, connections
    order = [pick.chosen for pick in picks]
    order += [code for code in accepted if code not in order]
    accepted_set = set(accepted)
    followed_client = all(
        pick.chosen == next(code for code in pick.offered if code in accepted_set)
        for pick in picks
    )
    if not followed_client:
        return "server", order, connections
    # Every pick was our first acceptable suite: client order, or the server's
    # preference happens to match ours. Offering them reversed tells.
    reversed_offer = tuple(reversed(order))
    reply = await send(reversed_offer)
    connections += 1
    if not reply.hello or reply.version != version:
        notes.append(f"order check: the server refused the accepted suites reversed "
                     f"({reply.refusal})")
        return "indeterminate", by_code, connections
    if reply.cipher_suite == reversed_offer[0]:
        return "client", by_code, connections
    if reply.cipher_suite == order[0]:
        return "server", order, connections
    notes.append("order check: the server picked neither its earlier first choice nor our "
                 "first suite")
    return "indeterminate", by_code, connections


async def _rank(send: _Send, accepted: list[int],
                notes: list[str]) -> tuple[list[Pick[int]], int]:
    """The server's order among ``accepted``: peel them until one is left."""
    unranked = "could not rank the suites found in different hellos: "

    async def ask(offered: tuple[int, ...]) -> int | End:
        reply = await send(offered)
        if not reply.hello:
            return End(unranked + f"{reply.refusal}")
        if reply.cipher_suite is None:
            return End(unranked + "unexpected suite")
        return reply.cipher_suite

    peeled = await peel(weakest_first(accepted), ask, keep=1,
                        not_offered=lambda _: unranked + "unexpected suite")
    if peeled.problem:
        notes.append(peeled.problem)
    return peeled.picks, peeled.asked


def _pick_problem(version: int, reply: RawReply, remaining: list[int]) -> str | None:
    """None when ``reply`` picked one of ``remaining``; "" for a normal end of the series;
    otherwise why the enumeration of this series is incomplete."""
    if not reply.hello:
        return "" if normal_refusal(reply) else f"stopped: {reply.refusal}"
    if reply.version != version:
        return f"stopped: the server switched to {raw.describe_version(reply.version or 0)}"
    if reply.cipher_suite not in remaining:
        code = wire.format_code(reply.cipher_suite or 0)
        return f"the server selected {code}, which was not offered"
    return None


def _sslv2_suites(test: VersionTest) -> SuiteEnumeration:
    hello = test.reply.flight.sslv2
    kinds = list(hello.cipher_kinds) if isinstance(hello, wire.Ssl2ServerHello) else []
    notes = [] if kinds else ["the SSLv2 SERVER-HELLO lists no cipher kinds"]
    return SuiteEnumeration(TLSVersion.SSLv2, kinds, "indeterminate", kinds, True,
                            len(wire.SSL2_CIPHER_KINDS), False, 0, [], notes)
