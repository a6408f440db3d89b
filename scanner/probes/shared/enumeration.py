"""Raw-ClientHello enumeration of one endpoint, shared by the probes that report it.

The protocol, cipher-suite, group, ALPN, NPN, extension and engine-agreement probes ask
overlapping questions: the first hello of a version's suite enumeration is also its version
test, the extension and NPN facts come from that same ServerHello, and the agreement probe
compares all of it with OpenSSL. Each answer is computed once per endpoint session (the
first probe to ask runs it, the others wait) so a default scan stays within a few dozen
connections.

Suites are enumerated the way the issue describes: offer every candidate, note the one the
server picks, remove it, repeat until the server refuses. Candidates are offered weakest
first, so a server that applies its own preference reveals it at once (it does not take
our first acceptable suite); only when every pick matches our order does one more hello,
with the accepted suites reversed, tell "client order" from a coincidence.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, cast

import trio

from scanner import wire
from scanner.engine import raw
from scanner.engine.raw import RawOffer, RawReply
from scanner.engine.session import EndpointSession
from scanner.offers import keyshares
from scanner.offers.keyshares import X25519
from scanner.results import ProtocolLabel
from scanner.wire import TLSVersion

__all__ = [
    "ALPN_CANDIDATES",
    "CHUNK",
    "LABELS",
    "VERSIONS",
    "Enumerator",
    "GroupEnumeration",
    "SuiteEnumeration",
    "VersionTest",
    "enumerator",
]

SSLV2, SSLV3, TLS10, TLS11, TLS12, TLS13 = (
    TLSVersion.SSLv2, TLSVersion.SSLv3, TLSVersion.TLSv1_0, TLSVersion.TLSv1_1,
    TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
VERSIONS: tuple[TLSVersion, ...] = (SSLV2, SSLV3, TLS10, TLS11, TLS12, TLS13)
LABELS: dict[int, ProtocolLabel] = {v: cast(ProtocolLabel, v.label) for v in VERSIONS}

# Suites per hello once a server has refused one big hello. Some TLS stacks fail on more
# than 128 suites or on hellos above a size; 64 suites keep a hello near 400 bytes.
CHUNK = 64

# IANA "TLS Application-Layer Protocol Negotiation (ALPN) Protocol IDs" registry, plus
# spdy/3.1 and grpc-exp, which are deployed without registration.
ALPN_CANDIDATES: tuple[str, ...] = (
    "http/0.9", "http/1.0", "spdy/1", "spdy/2", "spdy/3", "spdy/3.1", "stun.turn",
    "stun.nat-discovery", "h2c", "webrtc", "c-webrtc", "ftp", "imap", "pop3", "managesieve",
    "coap", "xmpp-client", "xmpp-server", "acme-tls/1", "mqtt", "dot", "ntske/1", "sunrpc",
    "h3", "smb", "irc", "nntp", "nnsp", "doq", "sip/2", "tds/8.0", "dicom", "postgresql",
    "radius/1.0", "radius/1.1", "grpc-exp", "http/1.1", "h2",
)

# After this many hellos without a single byte back (and none answered), stop sending.
_SILENT_LIMIT = 3
_SIZE_INTOLERANCE_ALERTS = frozenset({
    wire.AlertDescription.unexpected_message, wire.AlertDescription.record_overflow,
    wire.AlertDescription.illegal_parameter, wire.AlertDescription.decode_error})

Order = Literal["server", "client", "indeterminate"]
_T = TypeVar("_T")


# --- candidate suites ----------------------------------------------------------------


def _cipher_rank(suite: wire.CipherSuite) -> int:
    cipher = suite.cipher
    if cipher.startswith("NULL") or suite.export:
        return 0
    if any(weak in cipher for weak in ("RC4", "RC2", "DES40", "DES_CBC_", "28147")):
        return 1
    if any(old in cipher for old in ("3DES", "IDEA", "SEED")):
        return 2
    return 4 if suite.aead else 3


def _kx_rank(suite: wire.CipherSuite) -> int:
    kx = suite.key_exchange or ""
    if "anon" in kx:
        return 0
    return 2 if kx.startswith(("DHE", "ECDHE")) else 1


def strength(suite: wire.CipherSuite) -> tuple[int, int, int, int]:
    """A rough strength ranking, only used to order offers (never reported)."""
    bits = 256 if "256" in suite.cipher or "CHACHA20" in suite.cipher else 128
    return (_cipher_rank(suite), _kx_rank(suite), bits, suite.code)


# What real listeners deploy, so the first chunk (offered alone to servers that refuse one
# big hello) holds it: then other suites with certificate-based key exchange, then the rest.
_DEPLOYED_KX = ("ECDHE_ECDSA", "ECDHE_RSA", "RSA", "DHE_RSA")
_DEPLOYED_CIPHERS = ("AES_128_CBC", "AES_256_CBC", "AES_128_GCM", "AES_256_GCM",
                     "CHACHA20_POLY1305", "3DES_EDE_CBC", "RC4_128")
_CERTIFICATE_KX = ("RSA", "DHE_RSA", "DHE_DSS", "ECDHE_RSA", "ECDHE_ECDSA")


def _tier(suite: wire.CipherSuite) -> int:
    if suite.key_exchange in _DEPLOYED_KX and suite.cipher.startswith(_DEPLOYED_CIPHERS):
        return 0
    return 1 if suite.key_exchange in _CERTIFICATE_KX and _cipher_rank(suite) else 2


@functools.cache
def candidates(version: int) -> tuple[int, ...]:
    """Suites worth offering at ``version``, most likely to be deployed first.

    Every assigned suite is offered at every version up to TLS 1.2 (a server that picks a
    TLS 1.2-only suite in TLS 1.0 is worth reporting); TLS 1.3 has its own suites.
    """
    suites = [s for s in wire.CIPHER_SUITES.values()
              if not s.signalling and s.tls13 == (version == TLS13)]
    ranked = sorted(suites, key=lambda s: (-_tier(s), strength(s)), reverse=True)
    return tuple(s.code for s in ranked)


_WEAKEST_FIRST: dict[int, int] = {
    suite.code: rank
    for rank, suite in enumerate(sorted(wire.CIPHER_SUITES.values(), key=strength))
}


def weakest_first(codes: Sequence[int]) -> tuple[int, ...]:
    """``codes`` ordered weakest first (unassigned values last, by code)."""
    return tuple(sorted(codes, key=lambda code: (_WEAKEST_FIRST.get(code, 1 << 20), code)))


def chunks(codes: Sequence[int], size: int = CHUNK) -> list[tuple[int, ...]]:
    return [tuple(codes[i : i + size]) for i in range(0, len(codes), size)]


# --- results -------------------------------------------------------------------------


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


@dataclass
class SuiteEnumeration:
    version: int
    accepted: list[int]  # in pick order
    order: Order
    preference: list[int]  # the server's order (order=server) or by code
    complete: bool
    offered: int
    hello_split: bool
    connections: int
    hellos: list[wire.ServerHello]
    notes: list[str] = field(default_factory=list)


@dataclass
class GroupEnumeration:
    version: int
    groups: list[tuple[int, str]]  # (code, via)
    complete: bool
    offered: int
    connections: int
    notes: list[str] = field(default_factory=list)


@dataclass
class AlpnEnumeration:
    version: int | None
    engine: Literal["raw", "openssl"] | None
    supported: list[str]
    without_match: str | None
    complete: bool
    connections: int
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pick:
    offered: tuple[int, ...]
    chosen: int


class _Once:
    """Per-key memo for async computations shared by concurrent tasks."""

    def __init__(self) -> None:
        self._done: dict[Hashable, tuple[bool, Any]] = {}
        self._running: dict[Hashable, trio.Event] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[_T]]) -> _T:
        while key not in self._done:
            running = self._running.get(key)
            if running is not None:
                await running.wait()
                continue
            event = self._running[key] = trio.Event()
            try:
                self._done[key] = (True, await compute())
            except Exception as exc:
                self._done[key] = (False, exc)
            finally:
                del self._running[key]
                event.set()
        ok, value = self._done[key]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]


# --- the enumerator ------------------------------------------------------------------


class Enumerator:
    """All raw enumeration of one endpoint; every public method is computed once."""

    def __init__(self, session: EndpointSession) -> None:
        self.session = session
        self._once = _Once()
        self._silent = 0  # hellos that got no byte back before the deadline
        self._answered = False

    def _offer(self, version: int, suites: Sequence[int], **fields: Any) -> RawOffer:
        return RawOffer(version, tuple(suites), sni=self.session.sni, **fields)

    def _tarpit_reason(self) -> str | None:
        if self._silent >= _SILENT_LIMIT and not self._answered:
            return f"not sent: {self._silent} earlier ClientHellos got no answer at all"
        return None

    async def _send(self, offer: RawOffer,
                    stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO) -> RawReply:
        return await self._exchange(offer.encode(), stop_at)

    async def _exchange(self, payload: bytes,
                        stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO) -> RawReply:
        """Send one hello, unless the server is a tarpit: once several hellos got no byte
        back and none got an answer, waiting out more deadlines would teach nothing."""
        reply = await self.session.raw_exchange(payload, stop_at=stop_at,
                                                skip=self._tarpit_reason)
        if reply.flight.bytes_received:
            self._answered = True
        elif reply.outcome is raw.RawOutcome.timeout:
            self._silent += 1
        return reply

    # versions

    async def version(self, version: int) -> VersionTest:
        return await self._once.get(("version", version), lambda: self._test_version(version))

    async def _test_version(self, version: int) -> VersionTest:
        if version == SSLV2:
            reply = await self._exchange(raw.sslv2_hello())
            return _decide(version, reply, ())
        offered = weakest_first(candidates(version))
        test = _decide(version, await self._send(self._offer(version, offered)), offered)
        if test.accepted is not False or len(offered) <= CHUNK or _definitive(test.reply):
            return test
        # Perhaps the hello was too big for the server: try the most common suites alone.
        first_chunk = weakest_first(chunks(candidates(version))[0])
        retry = _decide(version, await self._send(self._offer(version, first_chunk)),
                        first_chunk)
        retry.connections = 2
        retry.hello_split = bool(retry.accepted)
        outcome = "accepted" if retry.accepted else f"refused too ({retry.refusal})"
        retry.notes.append(f"a ClientHello with {len(offered)} suites was refused "
                           f"({test.refusal}); one with {CHUNK} was {outcome}")
        return retry

    async def highest_legacy_version(self) -> VersionTest | None:
        """The highest of TLS 1.2 ... TLS 1.0 the server accepts (SSLv3 hellos carry no
        extensions, so they cannot tell about extensions, NPN or ALPN)."""
        tests: dict[int, VersionTest] = {}
        async with trio.open_nursery() as nursery:
            for version in (TLS12, TLS11, TLS10):
                nursery.start_soon(self._store_version, version, tests)
        for version in (TLS12, TLS11, TLS10):
            if tests[version].accepted:
                return tests[version]
        return None

    async def _store_version(self, version: int, into: dict[int, VersionTest]) -> None:
        into[version] = await self.version(version)

    # cipher suites

    async def suites(self, version: int) -> SuiteEnumeration | None:
        """Accepted suites at ``version`` (None when the version is not accepted)."""
        return await self._once.get(("suites", version), lambda: self._enumerate_suites(version))

    async def _enumerate_suites(self, version: int) -> SuiteEnumeration | None:
        test = await self.version(version)
        if not test.accepted:
            return None
        if version == SSLV2:
            return _sslv2_suites(test)
        all_candidates = candidates(version)
        groups = ([weakest_first(c) for c in chunks(all_candidates)] if test.hello_split
                  else [weakest_first(all_candidates)])
        picks: list[_Pick] = []
        hellos: list[wire.ServerHello] = []
        notes: list[str] = []
        complete = True
        connections = 0
        for group in groups:
            remaining = list(group)
            while remaining:
                offered = tuple(remaining)
                if offered == test.offered:
                    reply = test.reply  # the version test already asked exactly this
                else:
                    reply = await self._send(self._offer(version, offered))
                    connections += 1
                problem = _pick_problem(version, reply, remaining)
                if problem is not None:
                    if problem:
                        notes.append(problem)
                        complete = False
                    break
                assert reply.server_hello is not None and reply.cipher_suite is not None
                picks.append(_Pick(offered, reply.cipher_suite))
                hellos.append(reply.server_hello)
                remaining.remove(reply.cipher_suite)
        accepted = [pick.chosen for pick in picks]
        order, preference, used = await self._suite_order(version, picks, len(groups) > 1,
                                                          notes)
        return SuiteEnumeration(
            version=version, accepted=accepted, order=order, preference=preference,
            complete=complete, offered=len(all_candidates), hello_split=test.hello_split,
            connections=connections + used, hellos=hellos, notes=notes,
        )

    async def _suite_order(self, version: int, picks: list[_Pick], several_hellos: bool,
                           notes: list[str]) -> tuple[Order, list[int], int]:
        """Whose preference decides, and the server's order when it is its own."""
        accepted = [pick.chosen for pick in picks]
        by_code = sorted(accepted)
        if len(accepted) < 2:
            return "indeterminate", by_code, 0
        connections = 0
        if several_hellos:
            # Suites came from different hellos, so no pick compared them all: rank them in
            # one more series, offering only the accepted ones.
            picks, connections = await self._rank(version, accepted, notes)
            if len(picks) < len(accepted) - 1:
                return "indeterminate", by_code, connections
        order = [pick.chosen for pick in picks]
        order += [code for code in accepted if code not in order]
        accepted_set = set(accepted)
        followed_client = all(
            pick.chosen == next(code for code in pick.offered if code in accepted_set)
            for pick in picks
        )
        if not followed_client:
            return "server", order, connections
        # Every pick was our first acceptable suite: client order, or the server's
        # preference happens to match ours. Offering them reversed tells.
        reversed_offer = tuple(reversed(order))
        reply = await self._send(self._offer(version, reversed_offer))
        connections += 1
        if not reply.hello or reply.version != version:
            notes.append(f"order check: the server refused the accepted suites reversed "
                         f"({reply.refusal})")
            return "indeterminate", by_code, connections
        if reply.cipher_suite == reversed_offer[0]:
            return "client", by_code, connections
        if reply.cipher_suite == order[0]:
            return "server", order, connections
        notes.append("order check: the server picked neither its earlier first choice nor our "
                     "first suite")
        return "indeterminate", by_code, connections

    async def _rank(self, version: int, accepted: list[int],
                    notes: list[str]) -> tuple[list[_Pick], int]:
        remaining = list(weakest_first(accepted))
        picks: list[_Pick] = []
        connections = 0
        while len(remaining) > 1:
            offered = tuple(remaining)
            reply = await self._send(self._offer(version, offered))
            connections += 1
            if not reply.hello or reply.cipher_suite not in remaining:
                notes.append("could not rank the suites found in different hellos: "
                             f"{reply.refusal if not reply.hello else 'unexpected suite'}")
                break
            assert reply.cipher_suite is not None
            picks.append(_Pick(offered, reply.cipher_suite))
            remaining.remove(reply.cipher_suite)
        return picks, connections

    # groups

    async def groups(self, version: int) -> GroupEnumeration | None:
        return await self._once.get(("groups", version), lambda: self._enumerate_groups(version))

    async def _enumerate_groups(self, version: int) -> GroupEnumeration | None:
        test = await self.version(version)
        if not test.accepted or version in (SSLV2, SSLV3):
            return None
        if version == TLS13:
            return await self._groups_tls13(test)
        return await self._curves_tls12(version)

    async def _groups_tls13(self, test: VersionTest) -> GroupEnumeration:
        suites = weakest_first(candidates(TLS13))
        remaining = list(raw.TLS13_GROUPS)
        found: list[tuple[int, str]] = []
        notes: list[str] = []
        complete = True
        connections = 0
        while remaining:
            # One key share, for the first remaining group we have a value for: some servers
            # refuse an empty key_share list, and every other group can still be asked for
            # by a HelloRetryRequest.
            share = next((g for g in remaining if keyshares.key_share(g) is not None), X25519)
            offer = self._offer(TLS13, suites, groups=tuple(remaining), key_share_groups=(share,))
            if tuple(remaining) == raw.TLS13_GROUPS and test.offered == suites:
                reply = test.reply
            else:
                reply = await self._send(offer)
                connections += 1
            if not reply.hello or reply.version != TLS13:
                if not _normal_refusal(reply):
                    notes.append(f"stopped: {reply.refusal}")
                    complete = False
                break
            group = reply.key_exchange_group()
            if group is None or group not in remaining:
                notes.append(f"the server selected group {_group_name(group)}, which was not "
                             "offered")
                complete = False
                break
            via = ("hello_retry_request" if reply.outcome is raw.RawOutcome.hello_retry_request
                   else "server_hello")
            found.append((group, via))
            remaining.remove(group)
        return GroupEnumeration(TLS13, found, complete, len(raw.TLS13_GROUPS), connections,
                                notes)

    async def _curves_tls12(self, version: int) -> GroupEnumeration:
        suites = weakest_first([s.code for s in wire.CIPHER_SUITES.values()
                                if s.ecdhe and not s.tls13])
        remaining = list(raw.TLS12_CURVES)
        found: list[tuple[int, str]] = []
        notes: list[str] = []
        complete = True
        connections = 0
        while remaining:
            reply = await self._send(self._offer(version, suites, groups=tuple(remaining)),
                                     wire.StopAt.SERVER_HELLO_DONE)
            connections += 1
            if not reply.hello or reply.version != version:
                if not _normal_refusal(reply):
                    notes.append(f"stopped: {reply.refusal}")
                    complete = False
                elif not found:
                    notes.append("no ECDHE suite accepted")
                break
            group = reply.key_exchange_group()
            if group is None or group not in remaining:
                notes.append("ServerKeyExchange missing, with explicit curve parameters, or "
                             f"naming a curve not offered ({_group_name(group)})")
                complete = False
                break
            found.append((group, "server_key_exchange"))
            remaining.remove(group)
        return GroupEnumeration(version, found, complete, len(raw.TLS12_CURVES), connections,
                                notes)

    # extensions

    async def cbc_reply(self, version: int) -> RawReply | None:
        """A hello offering only CBC suites, to see whether encrypt_then_mac is echoed."""
        return await self._once.get(("cbc", version), lambda: self._cbc_reply(version))

    async def _cbc_reply(self, version: int) -> RawReply | None:
        test = await self.version(version)
        hello = test.server_hello
        if hello is not None and wire.cipher_suite(hello.cipher_suite).cbc:
            return test.reply
        # Among the suites of the hello the version was accepted with (a size-intolerant
        # server was accepted with a smaller one).
        cbc = [code for code in test.offered if wire.cipher_suite(code).cbc]
        if not cbc:
            return None
        reply = await self._send(self._offer(version, cbc))
        return reply if reply.hello and reply.version == version else None

    # ALPN

    async def alpn_selection(self, version: int, protocols: tuple[str, ...]) -> RawReply:
        """One hello offering ``protocols`` (no NPN, so the answer is about ALPN only)."""
        return await self._once.get(("alpn", version, protocols),
                                    lambda: self._alpn_selection(version, protocols))

    async def _alpn_selection(self, version: int, protocols: tuple[str, ...]) -> RawReply:
        test = await self.version(version)  # its suites are known to be acceptable
        return await self._send(self._offer(version, test.offered, alpn=protocols, npn=False))

    async def alpn(self) -> AlpnEnumeration:
        return await self._once.get("alpn-all", self._enumerate_alpn)

    async def _enumerate_alpn(self) -> AlpnEnumeration:
        legacy = await self.highest_legacy_version()
        if legacy is None:
            tls13 = await self.version(TLS13)
            if not tls13.accepted:
                return AlpnEnumeration(None, None, [], None, True, 0,
                                       ["no TLS version accepted (SSLv3 hellos carry no "
                                        "extensions)"])
            return await self._alpn_openssl()
        remaining = list(ALPN_CANDIDATES)
        supported: list[str] = []
        notes: list[str] = []
        without: str | None = None
        complete = True
        connections = 0
        while remaining:
            reply = await self.alpn_selection(legacy.version, tuple(remaining))
            connections += 1
            if not reply.hello or reply.version != legacy.version:
                without = reply.refusal
                if not _normal_refusal(reply):
                    complete = False
                    notes.append(f"stopped: {reply.refusal}")
                break
            selected = selected_alpn(reply.server_hello)
            if selected is None:
                without = "ignored"
                break
            if selected not in remaining:
                notes.append(f"the server selected {selected!r}, which was not offered")
                complete = False
                break
            supported.append(selected)
            remaining.remove(selected)
        return AlpnEnumeration(legacy.version, "raw", supported, without, complete, connections,
                               notes)

    async def _alpn_openssl(self) -> AlpnEnumeration:
        remaining = list(ALPN_CANDIDATES)
        supported: list[str] = []
        notes: list[str] = []
        without: str | None = None
        complete = True
        connections = 0
        while remaining:
            result = await self.session.handshake(
                self.session.offer(TLSVersion.TLSv1_3, alpn=tuple(remaining)))
            connections += 1
            if result.alpn is None:
                received = result.alert_received
                without = (received.alert.name if received and received.alert
                           else "ignored" if result.server_hello is not None else None)
                if result.server_hello is None and without is None:
                    complete = False
                    notes.append("stopped: "
                                 + (result.failure.detail if result.failure else "no answer"))
                break
            if result.alpn not in remaining:
                notes.append(f"the server selected {result.alpn!r}, which was not offered")
                complete = False
                break
            supported.append(result.alpn)
            remaining.remove(result.alpn)
        return AlpnEnumeration(TLS13, "openssl", supported, without, complete, connections,
                               notes)


def selected_alpn(hello: wire.ServerHello | None) -> str | None:
    return None if hello is None else hello.alpn_protocol


def npn_protocols(hello: wire.ServerHello) -> tuple[str, ...] | None:
    """The server's NPN list, or None when it did not answer the NPN extension."""
    return hello.npn_protocols


def _group_name(group: int | None) -> str:
    return "none" if group is None else wire.name_for(wire.NAMED_GROUPS, group)


def _normal_refusal(reply: RawReply) -> bool:
    """How a server ends an enumeration: an alert, a close, or a lower-version hello."""
    return reply.outcome in (raw.RawOutcome.alert, raw.RawOutcome.closed,
                             raw.RawOutcome.reset) or reply.hello


def _pick_problem(version: int, reply: RawReply, remaining: list[int]) -> str | None:
    """None when ``reply`` picked one of ``remaining``; "" for a normal end of the series;
    otherwise why the enumeration of this series is incomplete."""
    if not reply.hello:
        return "" if _normal_refusal(reply) else f"stopped: {reply.refusal}"
    if reply.version != version:
        return f"stopped: the server switched to {raw.describe_version(reply.version or 0)}"
    if reply.cipher_suite not in remaining:
        code = wire.format_code(reply.cipher_suite or 0)
        return f"the server selected {code}, which was not offered"
    return None


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
        hello = reply.flight.sslv2
        accepted = isinstance(hello, wire.Ssl2ServerHello) and hello.version == SSLV2
        return VersionTest(version, accepted, None if accepted else "answered SSLv2 "
                           "SERVER-HELLO with another version", reply, offered)
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


def _sslv2_suites(test: VersionTest) -> SuiteEnumeration:
    hello = test.reply.flight.sslv2
    kinds = list(hello.cipher_kinds) if isinstance(hello, wire.Ssl2ServerHello) else []
    notes = [] if kinds else ["the SSLv2 SERVER-HELLO lists no cipher kinds"]
    return SuiteEnumeration(SSLV2, kinds, "indeterminate", kinds, True,
                            len(wire.SSL2_CIPHER_KINDS), False, 0, [], notes)


_enumerators: weakref.WeakKeyDictionary[EndpointSession, Enumerator] = (
    weakref.WeakKeyDictionary())


def enumerator(session: EndpointSession) -> Enumerator:
    """The endpoint's shared enumerator (created on first use)."""
    found = _enumerators.get(session)
    if found is None:
        found = _enumerators[session] = Enumerator(session)
    return found
