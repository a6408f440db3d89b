"""Version tests: one raw ClientHello per protocol version, and what its answer means.

A version test is also the first hello of that version's suite enumeration, and its
ServerHello is where the extension and NPN facts are read, so it is shared (through
``Enumerator.version``) by every probe that needs it. Like the suite enumeration's hellos,
it can carry a question of another probe (``hello_carrier``): the answer it reports is
always a plain hello's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from scanner import wire
from scanner.engine import raw
from scanner.engine.raw import RawOffer, RawReply
from scanner.probes.shared.candidates import CHUNK, candidates, chunks, weakest_first
from scanner.probes.shared.hello_carrier import HelloCarrier
from scanner.probes.shared.raw_hellos import RawHellos
from scanner.results import ProtocolLabel
from scanner.wire import TLSVersion

__all__ = ["LABELS", "VERSIONS", "VersionTest", "run_version_test"]

VERSIONS: tuple[TLSVersion, ...] = (
    TLSVersion.SSLv2, TLSVersion.SSLv3, TLSVersion.TLSv1_0, TLSVersion.TLSv1_1,
    TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
LABELS: dict[int, ProtocolLabel] = {v: cast(ProtocolLabel, v.label) for v in VERSIONS}
_SIZE_INTOLERANCE_ALERTS = frozenset({
    wire.AlertDescription.unexpected_message, wire.AlertDescription.record_overflow,
    wire.AlertDescription.illegal_parameter, wire.AlertDescription.decode_error})


@dataclass
class VersionTest:
    version: int
    accepted: bool | None
    refusal: str | None
    reply: RawReply
    offered: tuple[int, ...]  # suites of the deciding hello
    hello_split: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    connections: int = 1

    @property
    def server_hello(self) -> wire.ServerHello | None:
        return self.reply.server_hello if self.accepted else None


async def run_version_test(hellos: RawHellos, version: int,
                           carrier: HelloCarrier[Any] | None = None) -> VersionTest:
    """Offer every candidate suite at ``version`` alone; retry with the most common ones
    when the refusal may have been about the hello's size. The first hello carries
    ``carrier``'s next question, when given (sent again plain if refused)."""
    if version == TLSVersion.SSLv2:
        reply = await hellos.exchange(raw.sslv2_hello())
        return _decide(version, reply, ())
    offered = weakest_first(candidates(version))
    reply, sent = await _send(hellos, hellos.offer(version, offered), carrier)
    test = _decide(version, reply, offered)
    test.connections = sent
    if test.accepted is not False or len(offered) <= CHUNK or _definitive(test.reply):
        return test
    # Perhaps the hello was too big for the server: try the most common suites alone.
    first_chunk = weakest_first(chunks(candidates(version))[0])
    retry = _decide(version, await hellos.send(hellos.offer(version, first_chunk)),
                    first_chunk)
    retry.connections = test.connections + 1
    retry.hello_split = bool(retry.accepted)
    outcome = "accepted" if retry.accepted else f"refused too ({retry.refusal})"
    retry.notes.append(f"a ClientHello with {len(offered)} suites was refused "
                       f"({test.refusal}); one with {CHUNK} was {outcome}")
    return retry


async def _send(hellos: RawHellos, offer: RawOffer,
                carrier: HelloCarrier[Any] | None) -> tuple[RawReply, int]:
    """(the reply ``offer`` alone gets, the hellos sent for it)."""
    if carrier is None:
        return await hellos.send(offer), 1
    return await carrier.send(hellos, offer)


def _definitive(reply: RawReply) -> bool:
    """An answer about the version itself, not possibly about the hello's size: servers that
    cannot take a big hello close, reset, or complain about its encoding. (They may also hang,
    but so does a filtered port; a timeout is not worth a second deadline.)"""
    if reply.outcome is raw.RawOutcome.alert and reply.alert is not None:
        return reply.alert.description not in _SIZE_INTOLERANCE_ALERTS
    return reply.outcome not in (raw.RawOutcome.closed, raw.RawOutcome.reset,
                                 raw.RawOutcome.malformed)


def _decide(version: int, reply: RawReply, offered: tuple[int, ...]) -> VersionTest:
    if reply.outcome is raw.RawOutcome.sslv2_server_hello:
        # An SSLv2 SERVER-HELLO accepts only an SSLv2 hello: to a TLS hello it is a refusal
        # of the version offered, whatever the version field inside says.
        hello = reply.flight.sslv2
        accepted = (version == TLSVersion.SSLv2 and isinstance(hello, wire.Ssl2ServerHello)
                    and hello.version == TLSVersion.SSLv2)
        refusal = ("answered with an SSLv2 SERVER-HELLO" if version != TLSVersion.SSLv2 else
                   "answered SSLv2 SERVER-HELLO with another version")
        return VersionTest(version, accepted, None if accepted else refusal, reply, offered)
    if reply.hello:
        selected = reply.version or 0
        if selected == version:
            return VersionTest(version, True, None, reply, offered)
        verb = "downgraded to" if selected < version else "answered with"
        return VersionTest(version, False, f"{verb} {raw.describe_version(selected)}", reply,
                           offered)
    if reply.outcome in (raw.RawOutcome.connect_failed, raw.RawOutcome.skipped):
        detail = reply.failure.detail if reply.failure else "connection failed"
        return VersionTest(version, None, None, reply, offered, error=detail)
    return VersionTest(version, False, reply.refusal, reply, offered)
