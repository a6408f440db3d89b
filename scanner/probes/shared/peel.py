"""Elimination by peeling: offer every candidate, remove the server's pick, repeat.

Suites, groups and ALPN protocols are enumerated the same way: the server picks one of what
is offered, which is then known to be supported and left out of the next offer, until it
picks nothing (the rest is unsupported) or answers in a way that cuts the series short.
That costs one question per supported candidate plus one. This module owns the loop and
its stop conditions; callers give the one step that asks the server about an offer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["End", "Peeled", "Pick", "peel"]

C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class Pick(Generic[C]):
    """The server chose ``chosen`` when offered ``offered`` (in our order)."""

    offered: tuple[C, ...]
    chosen: C


@dataclass(frozen=True)
class End:
    """The server picked nothing from an offer.

    ``problem`` is None for a normal end (a refusal, or carrying on without choosing): what
    is left is unsupported. Otherwise it says why the series was cut short and what is left
    is undecided.
    """

    problem: str | None = None


@dataclass
class Peeled(Generic[C]):
    picks: list[Pick[C]] = field(default_factory=list)
    #: Candidates never picked: unsupported after a normal end, undecided after a problem.
    remaining: tuple[C, ...] = ()
    #: How the series ended; None when it ran out of candidates (or reached ``keep``).
    end: End | None = None
    #: Questions asked (an answer a caller already had counts too).
    asked: int = 0

    @property
    def chosen(self) -> list[C]:
        """What the server picked, in pick order."""
        return [pick.chosen for pick in self.picks]

    @property
    def problem(self) -> str | None:
        return self.end.problem if self.end is not None else None

    @property
    def complete(self) -> bool:
        """Whether every candidate was decided (picked, or left at a normal end)."""
        return self.problem is None

    @property
    def refused(self) -> bool:
        """Whether the server ended the series normally before the candidates ran out."""
        return self.end is not None and self.end.problem is None


def _not_offered(choice: object) -> str:
    return f"the server selected {choice!r}, which was not offered"


async def peel(
    candidates: Sequence[C],
    ask: Callable[[tuple[C, ...]], Awaitable[C | End]],
    *,
    keep: int = 0,
    not_offered: Callable[[C], str] = _not_offered,
) -> Peeled[C]:
    """Offer ``candidates``, remove each pick, repeat while more than ``keep`` remain.

    ``ask(offer)`` asks the server about one offer and returns its pick, or an ``End``. A
    pick that was not offered ends the series as a problem described by ``not_offered``.
    The loop asks at most ``len(candidates) - keep`` times.
    """
    remaining = list(candidates)
    peeled: Peeled[C] = Peeled()
    while len(remaining) > keep:
        offered = tuple(remaining)
        answer = await ask(offered)
        peeled.asked += 1
        if isinstance(answer, End):
            peeled.end = answer
            break
        if answer not in remaining:
            peeled.end = End(problem=not_offered(answer))
            break
        peeled.picks.append(Pick(offered, answer))
        remaining.remove(answer)
    peeled.remaining = tuple(remaining)
    return peeled
