"""One target's raw ClientHellos: sent within the session's limits, stopped at a tarpit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scanner import wire
from scanner.engine import raw
from scanner.engine.raw import RawOffer, RawReply
from scanner.engine.session import EndpointSession

__all__ = ["RawHellos", "normal_refusal"]

# After this many hellos without a single byte back (and none answered), stop sending.
_SILENT_LIMIT = 3


class RawHellos:
    """Sends the raw hellos of every enumeration of one target, and notices a tarpit."""

    def __init__(self, session: EndpointSession) -> None:
        self.session = session
        self._silent = 0  # hellos that got no byte back before the deadline
        self._answered = False

    def offer(self, version: int, suites: Sequence[int], **fields: Any) -> RawOffer:
        """A raw offer of ``suites`` at ``version``, carrying the target's SNI."""
        return RawOffer(version, tuple(suites), sni=self.session.sni, **fields)

    def _tarpit_reason(self) -> str | None:
        if self._silent >= _SILENT_LIMIT and not self._answered:
            return f"not sent: {self._silent} earlier ClientHellos got no answer at all"
        return None

    async def send(self, offer: RawOffer,
                   stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO) -> RawReply:
        payload, decryption = offer.encode_keyed()
        return await self.exchange(payload, stop_at, decryption=decryption)

    async def exchange(self, payload: bytes,
                       stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO, *,
                       decryption: wire.HandshakeDecryption | None = None) -> RawReply:
        """Send one hello, unless the server is a tarpit: once several hellos got no byte
        back and none got an answer, waiting out more deadlines would teach nothing."""
        reply = await self.session.raw_exchange(payload, stop_at=stop_at,
                                                skip=self._tarpit_reason,
                                                decryption=decryption)
        if reply.flight.bytes_received:
            self._answered = True
        elif reply.outcome is raw.RawOutcome.timeout:
            self._silent += 1
        return reply


def normal_refusal(reply: RawReply) -> bool:
    """How a server ends an enumeration: an alert, a close, or a lower-version hello."""
    return reply.outcome in (raw.RawOutcome.alert, raw.RawOutcome.closed,
                             raw.RawOutcome.reset) or reply.hello
