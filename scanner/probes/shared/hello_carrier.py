"""Questions answered by the hellos the suite enumeration sends anyway (``HelloCarrier``):
ALPN at TLS 1.2, key-exchange groups and ALPN at TLS 1.3.

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
instead of the default ones, and answer both questions. It also picks ALPN on its own,
but answers it in EncryptedExtensions: a hello carrying an ALPN question offers real key
shares and reads on past the ServerHello to decrypt it (``wire.tls13_keys``). One TLS 1.3
hello can carry a group question and an ALPN question together (``CarrierSet``, which also
tells which of them a refusal answers); a HelloRetryRequest answers the group question only.

The alpn probe asks its questions one after another (each offer depends on the answer
before), so when it is part of the scan the enumeration waits for its next question, or
for its word that there is none, before each hello: which hello carries which question does
not depend on timing, and neither does the number of connections. The TLS 1.3 version
test carries an ALPN question the same way (``run_version_test``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import trio

from scanner.engine.raw import RawOffer, RawOutcome, RawReply
from scanner.probes.shared.raw_hellos import RawHellos

__all__ = ["AlpnCarrier", "CarrierSet", "GroupCarrier", "HelloCarrier", "Question",
           "Tls13AlpnCarrier"]

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
    """The pending questions of one kind, for the hellos of one version; ``carry`` turns a
    plain hello into one asking the question too, ``usable`` says whether an accepted
    carried hello answers it (else it waits for the next hello)."""

    def __init__(self, carry: Callable[[RawOffer, Q], RawOffer], *, open_: bool,
                 wait_for_asker: bool,
                 usable: Callable[[RawReply], bool] = lambda reply: True) -> None:
        self._carry = carry
        self._usable = usable
        self._pending: list[Question[Q]] = []
        self._closed = not open_
        self._asker_done = not wait_for_asker
        self._changed = trio.Event()
        self._alone: CarrierSet | None = None

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

    @property
    def _ready(self) -> bool:
        """A question is pending, or none will come."""
        return bool(self._pending) or self._asker_done or self._closed

    def _pop(self) -> Question[Q] | None:
        return self._pending.pop(0) if self._pending and not self._closed else None

    def _requeue(self, question: Question[Q]) -> None:
        """Nothing learnt about ``question``: it waits for the next hello."""
        if self._closed:
            question.answer(None)
        else:
            self._pending.insert(0, question)

    async def send(self, hellos: RawHellos, offer: RawOffer) -> tuple[RawReply, int]:
        """Send ``offer`` (a plain hello) carrying the next pending question, if any:
        (the reply ``offer`` alone gets, the hellos sent for it: 1, or 2 after a refusal)."""
        if self._alone is None:
            self._alone = CarrierSet(self)
        return await self._alone.send(hellos, offer)


class CarrierSet:
    """Carriers whose questions can ride on the same hello (one question of each at most).

    Before each hello it waits until every carrier has a question pending or will have
    none, so which hello carries what does not depend on timing. An accepted hello answers
    each question it carried (that its carrier finds usable); which suite a server picks
    does not depend on them, so it answers the suite question too. A refused one is sent
    again plain: the suite question must get a plain hello's answer. If that is refused
    too, nothing was learnt about the questions, and they wait for the next hello. If it
    is accepted, a single question got its answer (the refusal). With two, one more hello
    carries the second alone: accepted, it answers the second and the refusal answers the
    first; refused, that refusal answers the second and the first waits. When the refusal
    names ALPN (the first question), the hello without it goes before the plain one:
    accepted, it answers all three questions with one hello fewer."""

    def __init__(self, *carriers: HelloCarrier[Any]) -> None:
        assert len(carriers) <= 2, "a refusal is told apart for two questions at most"
        self.carriers = carriers

    def close(self) -> None:
        for carrier in self.carriers:
            carrier.close()

    async def _take(self) -> list[tuple[HelloCarrier[Any], Question[Any]]]:
        while (waiting := next((c for c in self.carriers if not c._ready), None)) is not None:
            await waiting._changed.wait()
        return [(carrier, question) for carrier in self.carriers
                if (question := carrier._pop()) is not None]

    @staticmethod
    def _offer(offer: RawOffer, taken: list[tuple[HelloCarrier[Any], Question[Any]]]
               ) -> RawOffer:
        for carrier, question in taken:
            offer = carrier._carry(offer, question.offer)
        return offer

    @staticmethod
    def _answer(reply: RawReply, taken: list[tuple[HelloCarrier[Any], Question[Any]]]
                ) -> None:
        """An accepted hello answers what it carried, where that tells (else: requeue)."""
        for carrier, question in taken:
            if carrier._usable(reply):
                question.answer(reply)
            else:
                carrier._requeue(question)

    async def send(self, hellos: RawHellos, offer: RawOffer) -> tuple[RawReply, int]:
        """Send ``offer`` (a plain hello) carrying the next pending questions, if any:
        (the reply ``offer`` alone gets, the hellos sent for it: 1 to 3)."""
        taken = await self._take()
        if not taken:
            return await hellos.send(offer), 1

        def accepted(reply: RawReply) -> bool:
            return reply.hello and reply.version == offer.version

        carried = await hellos.send(self._offer(offer, taken))
        if accepted(carried):
            self._answer(carried, taken)
            return carried, 1
        if len(taken) == 2 and _names_alpn(carried):
            return await self._without_first(hellos, offer, taken, carried, accepted)
        clean = await hellos.send(offer)
        if not accepted(clean):
            for carrier, question in taken:
                carrier._requeue(question)  # nothing learnt about them: the next hello
            return clean, 2
        if len(taken) == 1:
            taken[0][1].answer(carried)  # only the question made the difference
            return clean, 2
        (first_carrier, first), *rest = taken
        alone = await hellos.send(self._offer(offer, rest))
        if accepted(alone):
            first.answer(carried)  # dropping it made the difference
            self._answer(alone, rest)
        else:
            first_carrier._requeue(first)
            for _, question in rest:  # one question at most after the first
                question.answer(alone)
        return clean, 3

    async def _without_first(self, hellos: RawHellos, offer: RawOffer,
                             taken: list[tuple[HelloCarrier[Any], Question[Any]]],
                             carried: RawReply, accepted: Callable[[RawReply], bool]
                             ) -> tuple[RawReply, int]:
        """A refusal that names the first question (ALPN): the hello without it first,
        which, accepted, answers the suite and the second question, and the first with
        the refusal; refused, the plain hello follows, as after any other refusal."""
        (first_carrier, first), (second_carrier, second) = taken
        alone = await hellos.send(self._offer(offer, taken[1:]))
        if accepted(alone):
            first.answer(carried)  # dropping it made the difference
            self._answer(alone, taken[1:])
            return alone, 2
        clean = await hellos.send(offer)
        if accepted(clean):
            second.answer(alone)  # between these two, only it made the difference
            first_carrier._requeue(first)
        else:
            first_carrier._requeue(first)
            second_carrier._requeue(second)
        return clean, 3


def _names_alpn(reply: RawReply) -> bool:
    """A refusal with the no_application_protocol alert (RFC 7301 3.2): most likely the
    ALPN offer's. Only the order of the hellos that find out depends on it."""
    return reply.alert is not None and reply.alert.name == "no_application_protocol"


def _carry_alpn(offer: RawOffer, protocols: tuple[str, ...]) -> RawOffer:
    # no NPN: the answer is about ALPN only
    return dataclasses.replace(offer, alpn=protocols, npn=False)


def _carry_groups(offer: RawOffer, question: GroupQuestion) -> RawOffer:
    groups, key_share_groups = question
    return dataclasses.replace(offer, groups=groups, key_share_groups=key_share_groups)


def _carry_alpn_tls13(offer: RawOffer, protocols: tuple[str, ...]) -> RawOffer:
    # real key shares, so the answer (in EncryptedExtensions) can be read
    return dataclasses.replace(offer, alpn=protocols, decrypt=True)


def _encrypted_extensions_read(reply: RawReply) -> bool:
    """A TLS 1.3 answer tells about ALPN once EncryptedExtensions was read; a
    HelloRetryRequest, or a group we hold no key for, tells nothing."""
    return reply.outcome is RawOutcome.server_hello and reply.encrypted_extensions is not None


class AlpnCarrier(HelloCarrier[tuple[str, ...]]):
    """TLS 1.2 ALPN offers, carried by the TLS 1.2 suite enumeration."""

    def __init__(self, *, open_: bool, wait_for_asker: bool) -> None:
        super().__init__(_carry_alpn, open_=open_, wait_for_asker=wait_for_asker)


class GroupCarrier(HelloCarrier[GroupQuestion]):
    """TLS 1.3 group offers, carried by the TLS 1.3 suite enumeration."""

    def __init__(self, *, open_: bool, wait_for_asker: bool) -> None:
        super().__init__(_carry_groups, open_=open_, wait_for_asker=wait_for_asker)


class Tls13AlpnCarrier(HelloCarrier[tuple[str, ...]]):
    """TLS 1.3 ALPN offers, carried by the TLS 1.3 suite enumeration (with the group
    questions): the hello offers real key shares and EncryptedExtensions is decrypted."""

    def __init__(self, *, open_: bool, wait_for_asker: bool) -> None:
        super().__init__(_carry_alpn_tls13, open_=open_, wait_for_asker=wait_for_asker,
                         usable=_encrypted_extensions_read)
