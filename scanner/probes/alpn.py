"""Which application protocols does the server negotiate with ALPN (RFC 7301), per version?

For TLS 1.3 and TLS 1.2 separately: the protocol selected for the offers most clients make
(``h2,http/1.1``, ``h2``, ``http/1.1`` and no ALPN at all), the set of protocols the server
supports among well-known ones plus any the user adds, and what it does when nothing we offer
overlaps (fatal ``no_application_protocol`` alert, or carry on without ALPN).

The supported set is found by elimination, not one connection per protocol: offer every
protocol not yet decided; the server picks one, which is then known to be supported and left
out of the next offer; when it picks none, every protocol still offered is unsupported. That
costs one connection per supported protocol plus one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import trio

from scanner import wire
from scanner.engine.handshake import HandshakeResult
from scanner.engine.raw import RawOutcome, RawReply
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.alpn_elimination import (
    COMMON_ALPN_PROTOCOLS,
    NoPick,
    eliminate_alpn,
)
from scanner.probes.shared.credential import presented_in
from scanner.probes.shared.hello_carrier import HelloCarrier
from scanner.probes.shared.report import version_name
from scanner.probes.shared.work import SharedWork
from scanner.results import (
    AlpnAttempt,
    AlpnAtVersion,
    AlpnFacet,
    AlpnNoOverlap,
    AlpnNoOverlapBehaviour,
    AlpnOutcome,
    ErrorKind,
    Finding,
    Severity,
)
from scanner.wire import TLSVersion

#: Protocol IDs tested on every server (a selection from the one list of known IDs).
KNOWN_PROTOCOLS: tuple[str, ...] = COMMON_ALPN_PROTOCOLS
#: The offers real clients make, by the label used in the record.
STANDARD_OFFERS: dict[str, tuple[str, ...]] = {
    "h2,http/1.1": ("h2", "http/1.1"),
    "h2": ("h2",),
    "http/1.1": ("http/1.1",),
    "no_alpn": (),
}
#: Offered alone only when the server selected every listed protocol, to see what it does
#: when nothing overlaps.
NO_OVERLAP_PROBE = "mtlsweep-no-overlap/0"

_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)
_NO_APPLICATION_PROTOCOL = wire.AlertDescription.no_application_protocol.name
_NO_OVERLAP = {
    AlpnOutcome.no_protocol: AlpnNoOverlapBehaviour.ignored,
    AlpnOutcome.rejected: AlpnNoOverlapBehaviour.rejected,
    AlpnOutcome.closed: AlpnNoOverlapBehaviour.closed,
    AlpnOutcome.selected_unoffered: AlpnNoOverlapBehaviour.selected_unoffered,
}


class AlpnProbe(Probe[AlpnFacet]):
    name: ClassVar[str] = "alpn"
    description: ClassVar[str] = (
        "ALPN per TLS version: protocol selected for common offers, supported protocols, and "
        "the answer when nothing overlaps"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[AlpnFacet]:
        candidates = list(dict.fromkeys((*KNOWN_PROTOCOLS, *context.alpn_extra)))
        results: dict[TLSVersion, AlpnAtVersion] = {}

        async def probe_version(version: TLSVersion) -> None:
            try:
                results[version] = await _VersionProbe(context.shared, version).run(candidates)
            finally:  # no more questions for the suite hellos of this version
                _carrier(context.shared, version).asker_done()

        try:
            async with trio.open_nursery() as nursery:
                for version in _VERSIONS:
                    nursery.start_soon(probe_version, version)
        finally:  # whatever happened, the suite enumeration must not wait for us
            for version in _VERSIONS:
                _carrier(context.shared, version).asker_done()
        facet = summarise(results[TLSVersion.TLSv1_3], results[TLSVersion.TLSv1_2])
        return ProbeOutput(facet=facet, findings=findings_for(facet))


class _VersionProbe:
    """The ALPN questions for one protocol version; every attempt is one connection."""

    def __init__(self, shared: SharedWork, version: TLSVersion) -> None:
        self.shared = shared
        self.version = version
        self.attempts: list[AlpnAttempt] = []
        self.results: list[HandshakeResult] = []
        self.version_seen = False

    async def attempt(self, offer: Sequence[str]) -> AlpnAttempt:
        carried = await self._carried(tuple(offer))
        if carried is not None:
            self.version_seen = True  # a carried answer is one at this version
            self.attempts.append(carried)
            return carried
        if not offer:  # no ALPN at all: the shared baseline answers that
            result = await self.shared.completed_baseline(self.version)
        else:
            result = await self.shared.handshake(
                self.shared.offer(self.version, alpn=tuple(offer)))
        self.results.append(result)
        attempt = classify(result, tuple(offer), self.version)
        hello = result.server_hello
        if hello is not None and hello.selected_version == int(self.version):
            self.version_seen = True
        self.attempts.append(attempt)
        return attempt

    async def _carried(self, offer: tuple[str, ...]) -> AlpnAttempt | None:
        """The answer read from a raw hello that carried ``offer`` (at TLS 1.2 in the clear
        ServerHello, at TLS 1.3 in the decrypted EncryptedExtensions): one of the suite
        enumeration's when one is left, else one of its own; None: ask with a handshake.
        The first standard offer stays a handshake: engine_agreement compares it with the
        raw view."""
        if not offer or offer == STANDARD_OFFERS[next(iter(STANDARD_OFFERS))]:
            return None
        reply = await _carrier(self.shared, self.version).ask(offer)
        if reply is not None:
            return classify_raw(reply, offer, self.version)
        reply = await self.shared.enumeration.alpn_hello(self.version, offer)
        attempt = classify_raw(reply, offer, self.version) if reply is not None else None
        if attempt is not None and attempt.outcome is AlpnOutcome.rejected \
                and attempt.alert != _NO_APPLICATION_PROTOCOL:
            # Unlike a carried hello's, no plain twin shows that ALPN made the difference
            # (the key shares differ from the version test's): a handshake tells.
            return None
        return attempt

    async def run(self, candidates: list[str]) -> AlpnAtVersion:
        standard: dict[str, AlpnAttempt] = {}

        async def standard_offer(label: str) -> None:
            standard[label] = await self.attempt(STANDARD_OFFERS[label])

        first_label, *other_labels = STANDARD_OFFERS
        await standard_offer(first_label)
        if not self.version_seen:  # the version refused, or only this offer? No ALPN tells.
            await standard_offer("no_alpn")
            if not self.version_seen:
                return AlpnAtVersion(version=self.version.label, supported=False,
                                   attempts=self.attempts,
                                   client_certificate_presented=presented_in(self.results))
        async with trio.open_nursery() as nursery:
            for label in other_labels:
                if label not in standard:
                    nursery.start_soon(standard_offer, label)
        self.attempts.sort(key=_attempt_order)

        supported: set[str] = set()
        unsupported: set[str] = set()
        for protocol in ("h2", "http/1.1"):
            alone = standard[protocol]
            if alone.outcome is AlpnOutcome.selected:
                supported.add(protocol)
            elif alone.outcome in _NO_OVERLAP:
                unsupported.add(protocol)
        complete = await self._eliminate(candidates, supported, unsupported)
        no_overlap = _no_overlap(self.attempts)
        if complete and no_overlap is None and supported:
            await self.attempt((NO_OVERLAP_PROBE,))
            no_overlap = _no_overlap(self.attempts)
        return AlpnAtVersion(
            version=self.version.label,
            supported=True,
            selected_for={label: _selected(standard[label]) for label in STANDARD_OFFERS},
            supported_protocols=[p for p in candidates if p in supported],
            unsupported_protocols=[p for p in candidates if p in unsupported],
            complete=complete,
            no_overlap=no_overlap,
            attempts=self.attempts,
            client_certificate_presented=presented_in(self.results),
        )

    async def _eliminate(self, candidates: list[str], supported: set[str],
                         unsupported: set[str]) -> bool:
        """Offer every undecided protocol until the server picks none; False if cut short."""
        undecided = [p for p in candidates if p not in supported | unsupported]
        found = await eliminate_alpn(undecided, self._answer)
        supported.update(found.supported)
        unsupported.update(found.unsupported)
        return found.complete

    async def _answer(self, offer: tuple[str, ...]) -> str | NoPick:
        attempt = await self.attempt(offer)
        if attempt.outcome is AlpnOutcome.selected and attempt.selected is not None:
            return attempt.selected
        if attempt.outcome in (AlpnOutcome.no_protocol, AlpnOutcome.rejected,
                               AlpnOutcome.closed):
            return NoPick(without=attempt.outcome.value)
        return NoPick(f"{attempt.outcome.value}: {attempt.detail}")


def _carrier(shared: SharedWork, version: TLSVersion) -> HelloCarrier[tuple[str, ...]]:
    enumeration = shared.enumeration
    return (enumeration.alpn13_carrier if version is TLSVersion.TLSv1_3
            else enumeration.alpn_carrier)


def _attempt_order(attempt: AlpnAttempt) -> int:
    """Standard offers first, in their documented order (they ran concurrently)."""
    offers = list(STANDARD_OFFERS.values())
    return offers.index(tuple(attempt.offer)) if tuple(attempt.offer) in offers else len(offers)


def classify(result: HandshakeResult, offer: tuple[str, ...], version: TLSVersion) -> AlpnAttempt:
    """What one handshake says about ALPN, read from the ServerHello / EncryptedExtensions.

    The server decides ALPN before its ServerHello, so a handshake that fails later (say, for
    want of a client certificate) still tells which protocol was selected.
    """
    offered = list(offer)
    hello = result.server_hello
    failure = result.failure
    if hello is None:
        if failure is not None and failure.alert is not None:
            return AlpnAttempt(offer=offered, outcome=AlpnOutcome.rejected, alert=failure.alert)
        if failure is not None and failure.kind in (ErrorKind.connection_closed,
                                                    ErrorKind.connection_reset):
            return AlpnAttempt(offer=offered, outcome=AlpnOutcome.closed, detail=failure.detail)
        return AlpnAttempt(offer=offered, outcome=AlpnOutcome.error,
                           detail=failure.detail if failure else "no ServerHello")
    if hello.selected_version != int(version):
        return AlpnAttempt(offer=offered, outcome=AlpnOutcome.error,
                           detail=f"the server chose {version_name(hello.selected_version)}")
    try:
        found, selected = _selected_protocol(result, hello)
    except wire.WireError as exc:
        return AlpnAttempt(offer=offered, outcome=AlpnOutcome.error, detail=str(exc))
    if not found:
        why = failure.detail if failure else "no EncryptedExtensions"
        return AlpnAttempt(offer=offered, outcome=AlpnOutcome.error,
                           detail=f"the handshake ended before EncryptedExtensions: {why}")
    if selected is None:
        return AlpnAttempt(offer=offered, outcome=AlpnOutcome.no_protocol)
    outcome = AlpnOutcome.selected if selected in offer else AlpnOutcome.selected_unoffered
    return AlpnAttempt(offer=offered, outcome=outcome, selected=selected)


def classify_raw(reply: RawReply, offer: tuple[str, ...],
                 version: TLSVersion) -> AlpnAttempt | None:
    """What a raw hello's answer says about ALPN, when it says what a handshake's would (a
    ServerHello at ``version`` - at TLS 1.3 with its EncryptedExtensions decrypted - or an
    alert); None otherwise."""
    hello = reply.server_hello
    if hello is None:
        if reply.outcome is RawOutcome.alert and reply.alert is not None:
            return AlpnAttempt(offer=list(offer), outcome=AlpnOutcome.rejected,
                               alert=reply.alert.name)
        return None
    if hello.selected_version != int(version):
        return None
    if version is TLSVersion.TLSv1_3:
        extensions = reply.encrypted_extensions
        if reply.outcome is not RawOutcome.server_hello or extensions is None:
            return None
        selected = extensions.alpn_protocol  # as a handshake reads it (_selected_protocol)
    else:
        try:
            names = hello.alpn_protocols
            selected = _single(names) if names is not None else None
        except wire.WireError:
            return None
    if selected is None:
        return AlpnAttempt(offer=list(offer), outcome=AlpnOutcome.no_protocol)
    outcome = AlpnOutcome.selected if selected in offer else AlpnOutcome.selected_unoffered
    return AlpnAttempt(offer=list(offer), outcome=outcome, selected=selected)


def _selected_protocol(result: HandshakeResult,
                       hello: wire.ServerHello) -> tuple[bool, str | None]:
    """(whether the message carrying the answer was seen, the protocol selected)."""
    if hello.selected_version < int(TLSVersion.TLSv1_3):
        names = hello.alpn_protocols
        return True, _single(names) if names is not None else None
    for message in result.received(wire.HandshakeType.encrypted_extensions):
        if isinstance(message.parsed, wire.EncryptedExtensions):
            return True, message.parsed.alpn_protocol
    return False, None


def _single(names: tuple[str, ...]) -> str:
    if len(names) != 1:  # RFC 7301 3.1: the server's list holds exactly one name
        raise wire.WireError(f"ALPN: the server listed {len(names)} protocols, not one")
    return names[0]


def _selected(attempt: AlpnAttempt) -> str | None:
    return attempt.selected if attempt.outcome is AlpnOutcome.selected else None


def _no_overlap(attempts: list[AlpnAttempt]) -> AlpnNoOverlap | None:
    """The first attempt (with ALPN offered) in which the server selected nothing we offered."""
    for attempt in attempts:
        behaviour = _NO_OVERLAP.get(attempt.outcome)
        if attempt.offer and behaviour is not None:
            return AlpnNoOverlap(behaviour=behaviour, alert=attempt.alert, offer=attempt.offer)
    return None


def summarise(tls13: AlpnAtVersion, tls12: AlpnAtVersion) -> AlpnFacet:
    supported = [v for v in (tls13, tls12) if v.supported]
    top = supported[0] if supported else None
    consistent = None
    if len(supported) == 2:
        consistent = _comparable(tls13) == _comparable(tls12)
    return AlpnFacet(
        supported=top.supported_protocols if top else None,
        selected_for=top.selected_for if top else None,
        no_overlap=top.no_overlap if top else None,
        consistent_across_versions=consistent,
        tls1_3=tls13,
        tls1_2=tls12,
    )


def _comparable(version: AlpnAtVersion) -> tuple[object, ...]:
    overlap = version.no_overlap
    return (version.selected_for, version.supported_protocols,
            (overlap.behaviour, overlap.alert) if overlap else None)


def findings_for(facet: AlpnFacet) -> list[Finding]:
    if facet.consistent_across_versions is not False:
        return []
    parts = []
    for version in (facet.tls1_3, facet.tls1_2):
        overlap = version.no_overlap.behaviour.value if version.no_overlap else "unknown"
        protocols = ", ".join(version.supported_protocols) or "none"
        parts.append(f"{version.version}: supports {protocols}, no overlap {overlap}")
    return [Finding(
        id="alpn.differs_by_version", severity=Severity.info, probe=AlpnProbe.name,
        detail=f"ALPN answers differ between protocol versions ({'; '.join(parts)}).",
    )]
