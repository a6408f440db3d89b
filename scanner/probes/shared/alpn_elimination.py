"""ALPN by elimination, whatever the engine: which protocols does the server select?

Offer every protocol not yet decided; the server selects one, which is then known to be
supported and left out of the next offer; when it selects none, every protocol still offered
is unsupported (``peel``). The alpn probe asks with full OpenSSL handshakes per version, the
alpn_support probe with raw hellos (or OpenSSL at TLS 1.3 when nothing older is accepted);
each gives the step that turns one answer into a selection, this module does the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from scanner.engine.handshake import HandshakeResult
from scanner.engine.raw import RawReply
from scanner.probes.shared.peel import End, peel
from scanner.probes.shared.raw_hellos import normal_refusal

__all__ = [
    "ALPN_PROTOCOLS", "COMMON_ALPN_PROTOCOLS", "AlpnElimination", "AlpnEnumeration", "NoPick",
    "eliminate_alpn", "openssl_answer", "raw_answer",
]

#: Every protocol ID we know: the IANA "TLS Application-Layer Protocol Negotiation (ALPN)
#: Protocol IDs" registry, plus spdy/3.1 and grpc-exp, which are deployed without
#: registration. The alpn_support probe offers them all, in this order.
ALPN_PROTOCOLS: tuple[str, ...] = (
    "http/0.9", "http/1.0", "spdy/1", "spdy/2", "spdy/3", "spdy/3.1", "stun.turn",
    "stun.nat-discovery", "h2c", "webrtc", "c-webrtc", "ftp", "imap", "pop3", "managesieve",
    "coap", "xmpp-client", "xmpp-server", "acme-tls/1", "mqtt", "dot", "ntske/1", "sunrpc",
    "h3", "smb", "irc", "nntp", "nnsp", "doq", "sip/2", "tds/8.0", "dicom", "postgresql",
    "radius/1.0", "radius/1.1", "grpc-exp", "http/1.1", "h2",
)


def _among_known(*protocols: str) -> tuple[str, ...]:
    unknown = [p for p in protocols if p not in ALPN_PROTOCOLS]
    if unknown:
        raise ValueError(f"not in ALPN_PROTOCOLS: {unknown}")
    return protocols


#: The ones the alpn probe tests on every server (the user may add more), in the order it
#: reports them: a selection from ``ALPN_PROTOCOLS``, not a second list.
COMMON_ALPN_PROTOCOLS: tuple[str, ...] = _among_known(
    "h2", "http/1.1", "http/1.0", "http/0.9", "spdy/3.1", "grpc-exp", "acme-tls/1",
)


@dataclass(frozen=True)
class NoPick(End):
    """The server selected nothing from an offer; ``without`` says what it did instead
    (an alert, a refusal, "ignored": carried on without ALPN), when known."""

    without: str | None = None


@dataclass
class AlpnElimination:
    supported: list[str]  # in the order the server selected them
    unsupported: list[str]  # what was left when the server selected nothing
    without_match: str | None  # what the server did then
    complete: bool
    asked: int
    notes: list[str] = field(default_factory=list)


async def eliminate_alpn(candidates: Sequence[str],
                         ask: Callable[[tuple[str, ...]], Awaitable[str | NoPick]]
                         ) -> AlpnElimination:
    """Peel ``candidates`` with ``ask(offer)``: the protocol selected, or a ``NoPick``."""
    peeled = await peel(candidates, ask)
    end = peeled.end
    return AlpnElimination(
        supported=peeled.chosen,
        unsupported=list(peeled.remaining) if peeled.refused else [],
        without_match=end.without if isinstance(end, NoPick) else None,
        complete=peeled.complete,
        asked=peeled.asked,
        notes=[peeled.problem] if peeled.problem else [],
    )


def raw_answer(reply: RawReply, version: int) -> str | NoPick:
    """The selection in a raw hello's answer at ``version``."""
    if not reply.hello or reply.version != version:
        return NoPick(None if normal_refusal(reply) else f"stopped: {reply.refusal}",
                      without=reply.refusal)
    selected = reply.server_hello.alpn_protocol if reply.server_hello else None
    return NoPick(without="ignored") if selected is None else selected


def openssl_answer(result: HandshakeResult) -> str | NoPick:
    """The selection in a full handshake's result."""
    if result.alpn is not None:
        return result.alpn
    received = result.alert_received
    without = (received.alert.name if received and received.alert
               else "ignored" if result.server_hello is not None else None)
    if result.server_hello is None and without is None:
        return NoPick("stopped: " + (result.failure.detail if result.failure else "no answer"))
    return NoPick(without=without)


@dataclass
class AlpnEnumeration:
    """The alpn_support probe's answer: the supported set among ``ALPN_PROTOCOLS``."""

    version: int | None
    engine: Literal["raw", "openssl"] | None
    supported: list[str]
    without_match: str | None
    complete: bool
    connections: int
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, version: int, engine: Literal["raw", "openssl"],
           found: AlpnElimination) -> AlpnEnumeration:
        return cls(version, engine, found.supported, found.without_match, found.complete,
                   found.asked, found.notes)
