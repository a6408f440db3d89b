"""ALPN questions at TLS 1.2 answered by the hellos the suite enumeration sends anyway.

Below TLS 1.3 the server's ALPN choice is in its ServerHello, in the clear, and which suite
a server picks does not depend on the ALPN offered. So while the TLS 1.2 suite enumeration
runs, each of its hellos can carry one pending ALPN offer: an accepted hello answers both
questions with one connection. A carried hello the server refuses is sent again without
ALPN (the suite question must get the answer it would have had); if that one is accepted,
the refusal was the answer to the ALPN offer, else the ALPN question waits for the next
hello. Questions still pending when the enumeration ends get None: the asker then asks on
its own, as it did before.

The alpn probe asks its questions one after another (each offer depends on the answer
before), so when it is part of the scan the enumeration waits for its next question, or
for its word that there is none, before each hello: which hello carries which question does
not depend on timing, and neither does the number of connections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import trio

from scanner.engine.raw import RawOffer, RawReply
from scanner.probes.shared.raw_hellos import RawHellos

__all__ = ["AlpnCarrier", "Question"]


@dataclass(eq=False)
class Question:
    """One ALPN offer waiting for a hello to carry it."""

    offer: tuple[str, ...]
    reply: RawReply | None = None
    done: trio.Event = field(default_factory=trio.Event)

    def answer(self, reply: RawReply | None) -> None:
        self.reply = reply
        self.done.set()


class AlpnCarrier:
    """The pending ALPN questions of one version, and the hellos that carry them."""

    def __init__(self, *, open_: bool, wait_for_asker: bool) -> None:
        self._pending: list[Question] = []
        self._closed = not open_
        self._asker_done = not wait_for_asker
        self._changed = trio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def ask(self, offer: tuple[str, ...]) -> RawReply | None:
        """The reply to a hello that carried ``offer``; None when no hello could."""
        if self._closed:
            return None
        question = Question(offer)
        self._pending.append(question)
        self._notify()
        await question.done.wait()
        return question.reply

    def asker_done(self) -> None:
        """The alpn probe asks nothing more: the enumeration stops waiting for it."""
        self._asker_done = True
        self._notify()

    def close(self) -> None:
        """No hello will carry anything more: pending questions get None."""
        self._closed = True
        pending, self._pending = self._pending, []
        for question in pending:
            question.answer(None)
        self._notify()

    async def _take(self) -> Question | None:
        while not self._pending:
            if self._asker_done or self._closed:
                return None
            await self._changed.wait()
        return self._pending.pop(0)

    async def send(self, hellos: RawHellos, offer: RawOffer) -> tuple[RawReply, int]:
        """Send ``offer`` (a hello without ALPN) carrying the next pending question, if any:
        (the reply ``offer`` alone gets, the hellos sent for it: 1, or 2 after a refusal)."""
        question = await self._take() if not self._closed else None
        if question is None:
            return await hellos.send(offer), 1
        carried = await hellos.send(
            dataclasses.replace(offer, alpn=question.offer, npn=False))
        if carried.hello and carried.version == offer.version:
            question.answer(carried)
            return carried, 1
        clean = await hellos.send(offer)
        if clean.hello and clean.version == offer.version:
            question.answer(carried)  # only the ALPN offer made the difference
        else:
            self._pending.insert(0, question)  # nothing learnt about it: the next hello
        return clean, 2
