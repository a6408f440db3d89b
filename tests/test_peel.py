"""The elimination loop (probes/shared/peel.py) and the one ALPN elimination built on it,
against scripted servers."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

from scanner.probes.shared.alpn_elimination import (
    ALPN_PROTOCOLS,
    COMMON_ALPN_PROTOCOLS,
    NoPick,
    _among_known,
    eliminate_alpn,
)
from scanner.probes.shared.peel import End, peel


class _Server:
    """Picks by its own preference among what it supports; records every offer."""

    def __init__(self, preference: Sequence[str], *, odd_answer: str | None = None) -> None:
        self.preference = list(preference)
        self.odd_answer = odd_answer
        self.offers: list[tuple[str, ...]] = []

    async def ask(self, offer: tuple[str, ...]) -> str | End:
        self.offers.append(offer)
        if self.odd_answer is not None and len(self.offers) == 2:
            return self.odd_answer
        return next((c for c in self.preference if c in offer), End())


def test_peels_in_the_servers_order_and_ends_at_a_refusal() -> None:
    server = _Server(["c", "a"])
    peeled = trio.run(peel, ("a", "b", "c", "d"), server.ask)
    assert peeled.chosen == ["c", "a"]
    assert peeled.remaining == ("b", "d")
    assert peeled.refused and peeled.complete and peeled.problem is None
    assert peeled.asked == 3 == len(server.offers)
    assert server.offers == [("a", "b", "c", "d"), ("a", "b", "d"), ("b", "d")]
    assert [pick.offered for pick in peeled.picks] == server.offers[:2]


def test_runs_out_of_candidates_without_an_end() -> None:
    peeled = trio.run(peel, ("a", "b"), _Server(["b", "a"]).ask)
    assert peeled.chosen == ["b", "a"]
    assert peeled.end is None and peeled.complete and not peeled.refused
    assert peeled.asked == 2


def test_keep_stops_with_that_many_left() -> None:
    peeled = trio.run(lambda: peel(("a", "b", "c"), _Server(["a", "b", "c"]).ask, keep=1))
    assert peeled.chosen == ["a", "b"] and peeled.remaining == ("c",)
    assert peeled.asked == 2 and peeled.end is None


def test_a_pick_that_was_not_offered_cuts_the_series_short() -> None:
    server = _Server(["a", "b"], odd_answer="a")  # picks "a" again on the second offer
    peeled = trio.run(peel, ("a", "b"), server.ask)
    assert peeled.chosen == ["a"] and peeled.remaining == ("b",)
    assert not peeled.complete and not peeled.refused
    assert peeled.problem == "the server selected 'a', which was not offered"
    custom = trio.run(lambda: peel(("a", "b"), _Server(["a"], odd_answer="z").ask,
                                   not_offered=lambda c: f"odd {c}"))
    assert custom.problem == "odd z"


def test_an_end_with_a_problem_is_incomplete() -> None:
    async def broken(offer: tuple[str, ...]) -> str | End:
        return End("stopped: reset")

    peeled = trio.run(peel, ("a",), broken)
    assert peeled.problem == "stopped: reset" and not peeled.complete and not peeled.refused
    assert peeled.chosen == [] and peeled.remaining == ("a",)


def test_alpn_elimination_keeps_what_the_server_did_without_a_match() -> None:
    async def server(offer: tuple[str, ...]) -> str | NoPick:
        return "h2" if "h2" in offer else NoPick(without="no_application_protocol")

    found = trio.run(eliminate_alpn, ("http/1.1", "h2", "imap"), server)
    assert found.supported == ["h2"]
    assert found.unsupported == ["http/1.1", "imap"]
    assert found.without_match == "no_application_protocol"
    assert found.complete and found.asked == 2 and found.notes == []


def test_alpn_elimination_cut_short_decides_nothing_more() -> None:
    async def server(offer: tuple[str, ...]) -> str | NoPick:
        return NoPick("stopped: connection reset")

    found = trio.run(eliminate_alpn, ("h2",), server)
    assert found.supported == [] and found.unsupported == []
    assert not found.complete and found.notes == ["stopped: connection reset"]
    assert found.without_match is None


def test_one_list_of_alpn_protocol_ids() -> None:
    assert set(COMMON_ALPN_PROTOCOLS) <= set(ALPN_PROTOCOLS)
    assert len(set(ALPN_PROTOCOLS)) == len(ALPN_PROTOCOLS)
    with pytest.raises(ValueError, match="not in ALPN_PROTOCOLS"):
        _among_known("h2", "not-a-registered-id")
