"""CarrierSet's rules, with a scripted server (no I/O): which question rides on which
TLS 1.3 hello, what answers it, and what happens after a refusal. The real-server checks
that the facts are unchanged are in test_alpn_carried and test_groups_carried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from scanner import wire
from scanner.engine.raw import RawOffer, RawOutcome, RawReply
from scanner.probes.shared.hello_carrier import CarrierSet, GroupCarrier, Tls13AlpnCarrier
from scanner.probes.shared.version_tests import run_version_test
from scanner.wire import TLSVersion

_SUPPORTED_13 = wire.Extension(wire.ExtensionType.supported_versions, b"\x03\x04")


def _hello(*, retry: bool = False) -> RawReply:
    random = wire.HELLO_RETRY_REQUEST_RANDOM if retry else bytes(32)
    hello = wire.ServerHello(0x0303, random, b"", 0x1301, 0, (_SUPPORTED_13,))
    flight = wire.ServerFlight(server_hello=hello)
    outcome = RawOutcome.hello_retry_request if retry else RawOutcome.server_hello
    return RawReply(outcome, flight)


def _with_alpn(protocol: str | None) -> RawReply:
    reply = _hello()
    decryption = wire.HandshakeDecryption(b"", {})
    extensions = () if protocol is None else (wire.alpn_extension((protocol,)),)
    decryption.encrypted_extensions = wire.EncryptedExtensions(extensions)
    reply.flight.decryption = decryption
    return reply


def _alert() -> RawReply:
    flight = wire.ServerFlight(alert=wire.Alert(2, 40))  # handshake_failure
    return RawReply(RawOutcome.alert, flight)


class _Server:
    """Answers each hello with ``answer(offer)`` and keeps what was sent."""

    def __init__(self, answer: Callable[[RawOffer], RawReply]) -> None:
        self.answer = answer
        self.sent: list[RawOffer] = []

    async def send(self, offer: RawOffer, stop_at: Any = None) -> RawReply:
        self.sent.append(offer)
        return self.answer(offer)


def _run(answer: Callable[[RawOffer], RawReply], group_questions: list[Any],
         alpn_questions: list[tuple[str, ...]], hellos: int) -> tuple[_Server, dict[str, Any]]:
    server = _Server(answer)
    groups = GroupCarrier(open_=True, wait_for_asker=True)
    alpn = Tls13AlpnCarrier(open_=True, wait_for_asker=True)
    carriers = CarrierSet(alpn, groups)  # as the enumeration orders them
    answers: dict[str, Any] = {"groups": [], "alpn": []}

    async def ask(carrier: Any, questions: list[Any], key: str) -> None:
        for question in questions:
            answers[key].append(await carrier.ask(question))
        carrier.asker_done()

    async def enumerate_suites() -> None:
        for _ in range(hellos):
            await carriers.send(server, RawOffer(TLSVersion.TLSv1_3, (0x1301,)))  # type: ignore[arg-type]
        carriers.close()

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, groups, group_questions, "groups")
            nursery.start_soon(ask, alpn, alpn_questions, "alpn")
            nursery.start_soon(enumerate_suites)

    trio.run(main)
    return server, answers


def test_one_hello_carries_a_group_and_an_alpn_question() -> None:
    server, answers = _run(lambda offer: _with_alpn("h2"), [((29,), (29,))], [("h2",)], 3)
    first = server.sent[0]
    assert first.groups == (29,) and first.alpn == ("h2",) and first.decrypt
    assert len(server.sent) == 3 and not server.sent[1].alpn and server.sent[1].groups is None
    assert answers["groups"][0] is answers["alpn"][0]


def test_a_hello_retry_request_answers_only_the_group_question() -> None:
    def answer(offer: RawOffer) -> RawReply:
        return _hello(retry=True) if offer.groups == (23,) else _with_alpn("h2")

    server, answers = _run(answer, [((23,), ())], [("h2",)], 2)
    assert answers["groups"][0].outcome is RawOutcome.hello_retry_request
    assert answers["alpn"][0].encrypted_extensions.alpn_protocol == "h2"
    assert server.sent[1].alpn == ("h2",) and server.sent[1].groups is None


def test_a_refused_pair_asks_the_group_question_alone() -> None:
    def answer(offer: RawOffer) -> RawReply:
        return _alert() if offer.groups == (25,) else _with_alpn("h2")

    server, answers = _run(answer, [((25,), (25,))], [("h2",)], 1)
    pair, plain, group_alone = server.sent
    assert pair.groups == (25,) and pair.alpn == ("h2",)
    assert plain.groups is None and not plain.alpn  # the suite question's own answer
    assert group_alone.groups == (25,) and not group_alone.alpn
    assert answers["groups"][0].outcome is RawOutcome.alert  # the refusal was its answer
    assert answers["alpn"] == [None]  # unknown; no hello left: asked on its own


def test_a_refused_pair_whose_group_question_is_fine() -> None:
    def answer(offer: RawOffer) -> RawReply:
        return _alert() if offer.alpn == ("spdy/1",) else _with_alpn(None)

    server, answers = _run(answer, [((29,), (29,))], [("spdy/1",)], 2)
    pair, plain, group_alone, next_hello = server.sent
    assert pair.alpn == ("spdy/1",) and pair.groups == (29,)
    assert not plain.alpn and plain.groups is None  # the suite question's own answer
    assert group_alone.groups == (29,) and not group_alone.alpn
    assert not next_hello.alpn and next_hello.groups is None  # nothing left to carry
    assert answers["alpn"][0].outcome is RawOutcome.alert  # the refusal was its answer
    assert answers["groups"][0].outcome is RawOutcome.server_hello


def test_a_hello_refused_plain_too_teaches_nothing() -> None:
    server, answers = _run(lambda offer: _alert(), [((25,), (25,))], [("h2",)], 1)
    assert len(server.sent) == 2  # carried, then plain: no third hello
    assert answers == {"groups": [None], "alpn": [None]}  # asked on their own later


def test_questions_left_when_the_hellos_end_get_none() -> None:
    _, answers = _run(lambda offer: _hello(retry=True), [], [("h2",), ("http/1.1",)], 2)
    assert answers["alpn"] == [None, None]  # never usable: the asker asks on its own


def _no_application_protocol() -> RawReply:
    flight = wire.ServerFlight(alert=wire.Alert(2, 120))
    return RawReply(RawOutcome.alert, flight)


def test_an_alpn_refusal_asks_without_alpn_before_the_plain_hello() -> None:
    def answer(offer: RawOffer) -> RawReply:
        return _no_application_protocol() if offer.alpn == ("h2",) else _with_alpn(None)

    server, answers = _run(answer, [((29,), (29,))], [("h2",)], 1)
    pair, group_alone = server.sent  # no plain hello: the group one answers the suites
    assert pair.alpn == ("h2",) and group_alone.groups == (29,) and not group_alone.alpn
    assert answers["alpn"][0].alert.name == "no_application_protocol"
    assert answers["groups"][0].outcome is RawOutcome.server_hello


class _Hellos(_Server):
    """The scripted server behind the ``RawHellos`` interface a version test uses."""

    def offer(self, version: int, suites: Any, **fields: Any) -> RawOffer:
        return RawOffer(version, tuple(suites), **fields)


def _version_test(answer: Callable[[RawOffer], RawReply]) -> tuple[_Hellos, Any, Any]:
    """The TLS 1.3 version test carrying an ALPN question that is asked only after a few
    checkpoints: the test waits for it, whatever the order the tasks ran in."""
    hellos = _Hellos(answer)
    alpn = Tls13AlpnCarrier(open_=True, wait_for_asker=True)
    result: dict[str, Any] = {}

    async def asker() -> None:
        for _ in range(5):
            await trio.lowlevel.checkpoint()
        result["alpn"] = await alpn.ask(("h2",))
        alpn.asker_done()

    async def version_test() -> None:
        result["test"] = await run_version_test(hellos, TLSVersion.TLSv1_3, alpn)  # type: ignore[arg-type]
        alpn.close()  # as the suite enumeration does at its end: nobody waits forever

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(version_test)
            nursery.start_soon(asker)

    trio.run(main)
    return hellos, result["test"], result["alpn"]


def test_the_tls13_version_test_waits_for_and_carries_an_alpn_question() -> None:
    hellos, test, alpn = _version_test(lambda offer: _with_alpn("h2" if offer.alpn else None))
    (sent,) = hellos.sent
    assert sent.alpn == ("h2",) and sent.decrypt
    assert test.accepted and test.connections == 1
    assert alpn is test.reply and alpn.encrypted_extensions.alpn_protocol == "h2"


def test_a_refused_carrying_version_test_is_sent_again_plain() -> None:
    def answer(offer: RawOffer) -> RawReply:
        return _no_application_protocol() if offer.alpn else _with_alpn(None)

    hellos, test, alpn = _version_test(answer)
    carried, plain = hellos.sent
    assert carried.alpn == ("h2",) and not plain.alpn and not plain.decrypt
    assert test.accepted and test.connections == 2  # the plain hello's answer
    assert test.reply is not alpn and test.reply.encrypted_extensions.alpn_protocol is None
    assert alpn.alert.name == "no_application_protocol"
