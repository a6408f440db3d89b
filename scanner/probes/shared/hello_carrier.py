"""Questions answered by the hellos the suite enumeration sends anyway (``HelloCarrier``):
ALPN at TLS 1.2, key-exchange groups at TLS 1.3.

Below TLS 1.3 the server's ALPN choice is in its ServerHello, in the clear, and which suite
a server picks does not depend on the ALPN offered. So while the TLS 1.2 suite enumeration
runs, each of its hellos can carry one pending ALPN offer: an accepted hello answers both
questions with one connection. A carried hello the server refuses is sent again without
ALPN (the suite question must get the answer it would have had); if that one is accepted,
the refusal was the answer to the ALPN offer, else the ALPN question waits for the next
hello. Questions still pending when the enumeration ends get None: the asker then asks on
its own, as it did before.

The same holds for TLS 1.3 groups: a TLS 1.3 server picks its suite and its group
independently, so a suite hello can offer the group enumeration's groups (and key share)
instead of the default ones, and answer both questions.

The alpn probe asks its questions one after another (each offer depends on the answer
before), so when it is part of the scan the enumeration waits for its next question, or
for its word that there is none, before each hello: which hello carries which question does
not depend on timing, and neither does the number of connections.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import trio

from scanner.engine.raw import RawOffer, RawReply
from scanner.probes.shared.raw_hellos import RawHellos

__all__ = ["AlpnCarrier", "GroupCarrier", "HelloCarrier", "Question"]

Q = TypeVar("Q")
#: A group question: the groups offered, and the one key share sent.
GroupQuestion = tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(eq=False)
class Question(Generic[Q]):
    """One question waiting for a hello to carry it."""

    offer: Q
    reply: RawReply | None = None
    done: trio.Event = field(default_factory=trio.Event)

    def answer(self, reply: RawReply | None) -> None:
        self.reply = reply
        self.done.set()


class HelloCarrier(Generic[Q]):
    """The pending questions of one version, and the hellos that carry them; ``carry``
    turns a plain hello into one asking the question too."""

    def __init__(self, carry: Callable[[RawOffer, Q], RawOffer], *, open_: bool,
                 wait_for_asker: bool) -> None:
        self._carry = carry
        self._pending: list[Question[Q]] = []
        self._closed = not open_
        self._asker_done = not wait_for_asker
        self._changed = trio.Event()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def ask(self, offer: Q) -> RawReply | None:
        """The reply to a hello that carried ``offer``; None when no hello could."""
        if self._closed:
            return None
        question: Question[Q] = Question(offer)
        self._pending.append(question)
        self._notify()
        await question.done.wait()
        return question.reply

    def asker_done(self) -> None:
        """The asker asks nothing more: the enumeration stops waiting for it."""
        self._asker_done = True
        self._notify()

    def close(self) -> None:
        """No hello will carry anything more: pending questions get None."""
        self._closed = True
        pending, self._pending = self._pending, []
        for question in pending:
            question.answer(None)
        self._notify()

    async def _take(self) -> Question[Q] | None:
        while not self._pending:
            if self._asker_done or self._closed:
                return None
            await self._changed.wait()
        return self._pending.pop(0)

    async def send(self, hellos: RawHellos, offer: RawOffer) -> tuple[RawReply, int]:
        """Send ``offer`` (a plain hello) carrying the next pending question, if any:
        (the reply ``offer`` alone gets, the hellos sent for it: 1, or 2 after a refusal)."""
        question = await self._take() if not self._closed else None
        if question is None:
            return await hellos.send(offer), 1
        carried = await hellos.send(self._carry(offer, question.offer))
        if carried.hello and carried.version == offer.version:
            question.answer(carried)
            return carried, 1
        clean = await hellos.send(offer)
        if clean.hello and clean.version == offer.version:
            question.answer(carried)  # only the question made the difference
        else:
            self._pending.insert(0, question)  # nothing learnt about it: the next hello
        return clean, 2


def _carry_alpn(offer: RawOffer, protocols: tuple[str, ...]) -> RawOffer:
    # no NPN: the answer is about ALPN only
    return dataclasses.replace(offer, alpn=protocols, npn=False)


def _carry_groups(offer: RawOffer, question: GroupQuestion) -> RawOffer:
    groups, key_share_groups = question
    return dataclasses.replace(offer, groups=groups, key_share_groups=key_share_groups)


class AlpnCarrier(HelloCarrier[tuple[str, ...]]):
    """TLS 1.2 ALPN offers, carried by the TLS 1.2 suite enumeration."""

    def __init__(self, *, open_: bool, wait_for_asker: bool) -> None:
        super().__init__(_carry_alpn, open_=open_, wait_for_asker=wait_for_asker)


class GroupCarrier(HelloCarrier[GroupQuestion]):
    """TLS 1.3 group offers, carried by the TLS 1.3 suite enumeration."""

    def __init__(self, *, open_: bool, wait_for_asker: bool) -> None:
        super().__init__(_carry_groups, open_=open_, wait_for_asker=wait_for_asker)
