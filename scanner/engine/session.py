"""An endpoint session: how probes talk to one target, within the sweep's limits.

Probes ask for handshakes; the session opens the connection, applies the global and
per-address connection bounds and the deadlines, and counts what it did for the record.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import math
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import trio
from OpenSSL import SSL

from scanner import wire
from scanner.engine import raw
from scanner.engine.connect import Address, kernel_rtt, open_tcp
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import HandshakeResult, TLSConnection
from scanner.engine.preamble import TARGET_FATAL, BeforeTls
from scanner.offers.offer import ClientOffer
from scanner.results import ErrorKind
from scanner.results.identity import host_key
from scanner.wire import TLSVersion

# How long to keep reading after our Finished when a probe wants post-handshake messages:
# a few round trips (measured on the TCP connect), never less than a floor for busy servers.
# The floor is for what a server decides only after our Finished: TLS 1.3 tickets, and the
# verdict on a client certificate it asked for (TLS 1.3 servers judge it after the
# handshake; an application may close the connection once it has looked). A TLS 1.2 server
# that asked for no certificate has said everything in its own Finished; only an
# application that closes at once is left to see, so a short floor serves it (measured: it
# was 72 % of the slot-time of a default sweep at the long floor, with identical facts).
_AFTER_HANDSHAKE_FLOOR_S = 0.25
_AFTER_QUIET_HANDSHAKE_FLOOR_S = 0.05
_AFTER_HANDSHAKE_CEILING_S = 2.0
_AFTER_HANDSHAKE_RTTS = 4


#: The probe a connection is made for, so that its failures are attributed to that probe.
current_probe: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mtlsweep_current_probe", default=None)


@functools.lru_cache(maxsize=4096)
def limit_key(ip: str) -> str:
    """The address limits count by: both spellings of an IPv4-mapped address share one
    bound (``results.identity.host_key``, which duplicate checks use too). Cached: every
    connection asks, and parsing the address each time was ~1 % of a sweep's CPU."""
    return host_key(ip)


class RateLimit:
    """At most ``per_second`` connection starts in any one-second window of the sweep.

    Starts are spaced evenly (no bursts): each caller reserves the next free instant and
    sleeps until it. Timers wake late, and a late wake-up could bunch starts, so a start is
    also recorded as it happens and refused while the ``per_second`` starts before it all lie
    within the last second: the bound holds for every window, not only on average.
    """

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / per_second
        self.per_window = max(1, math.floor(per_second))
        self._next = 0.0
        self._starts: collections.deque[float] = collections.deque(maxlen=self.per_window)
        self._lock = trio.Lock()

    async def wait(self) -> None:
        now = trio.current_time()
        start = max(now, self._next)
        self._next = start + self.interval
        await trio.sleep_until(start)
        async with self._lock:  # one start is decided at a time: the window check is exact
            while len(self._starts) == self.per_window:
                opens = self._starts[0] + _RATE_WINDOW_S
                if trio.current_time() > opens:
                    break
                await trio.sleep_until(opens + _RATE_SLACK_S)
            self._starts.append(trio.current_time())


_RATE_WINDOW_S = 1.0
_RATE_SLACK_S = 1e-4  # strictly after the window closes: a closed 1-s window holds N starts


class ConnectionLimits:
    """Bounds shared by a whole sweep: connections in flight overall, per listener (IP
    address and port) and per IP address, and optionally how many may start per second.

    A listener's bound keeps one server gentle; the address bound keeps a host with many
    listeners (a load balancer with many names and ports) from seeing the whole sweep at
    once, yet lets its listeners run side by side. Waiting is first come, first served at
    every bound (trio's limiters are fair), so one target cannot jump others' queue.
    """

    def __init__(self, total: int, per_address: int, rate: float | None = None, *,
                 per_listener: int | None = None,
                 address_budgets: Mapping[str, int] | None = None) -> None:
        self.total = trio.CapacityLimiter(total)
        self.per_address = per_address
        self.per_listener = min(per_listener or per_address, per_address)
        # This process's share of an address that other processes scan too (run/workers.py).
        self.address_budgets = {limit_key(a): n for a, n in (address_budgets or {}).items()}
        self.rate = RateLimit(rate) if rate else None
        self._limiters: dict[tuple[str, int | None], trio.CapacityLimiter] = {}
        self._users: dict[tuple[str, int | None], int] = {}

    def _limiter(self, key: tuple[str, int | None], capacity: int) -> trio.CapacityLimiter:
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = trio.CapacityLimiter(capacity)
        self._users[key] = self._users.get(key, 0) + 1
        return limiter

    def _release(self, key: tuple[str, int | None]) -> None:
        self._users[key] -= 1
        if not self._users[key]:  # forget idle addresses so a long sweep stays small
            del self._users[key]
            del self._limiters[key]

    def slot(self, ip: str, port: int | None = None) -> Slot:
        """One connection's place under every bound (``async with limits.slot(ip, port)``)."""
        return Slot(self, ip, port)

    def _bounds(self, ip: str, port: int | None) -> tuple[
            tuple[tuple[str, int | None], ...], tuple[trio.CapacityLimiter, ...]]:
        """The keys a slot registers and its limiters, narrowest first: a queued connection
        holds nothing wider."""
        address = limit_key(ip)
        budget = self.address_budgets.get(address, self.per_address)
        if port is None:
            key = (address, None)
            return (key,), (self._limiter(key, budget), self.total)
        keys = ((address, port), (address, None))
        return keys, (self._limiter(keys[0], min(self.per_listener, budget)),
                      self._limiter(keys[1], budget), self.total)


class Slot:
    """Acquire and release a connection's limiters in a flat loop.

    A slot is taken for every connection of a sweep (tens of thousands), so it avoids a
    generator context manager and an ``AsyncExitStack`` per connection, and takes free
    tokens without parking: one checkpoint when nothing had to wait, as trio's own
    ``acquire`` does per limiter. ``acquire_nowait`` refuses while others queue, so waiting
    stays first come, first served.
    """

    __slots__ = ("_held", "_ip", "_keys", "_limiters", "_limits", "_port")

    def __init__(self, limits: ConnectionLimits, ip: str, port: int | None) -> None:
        self._limits = limits
        self._ip = ip
        self._port = port
        self._keys: tuple[tuple[str, int | None], ...] = ()
        self._limiters: tuple[trio.CapacityLimiter, ...] = ()
        self._held = 0

    async def __aenter__(self) -> None:
        self._keys, self._limiters = self._limits._bounds(self._ip, self._port)
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            waited = False
            for limiter in self._limiters:
                try:
                    limiter.acquire_nowait()
                except trio.WouldBlock:
                    await limiter.acquire()
                    waited = True
                self._held += 1
            rate = self._limits.rate
            if rate is not None:
                await rate.wait()
            elif not waited:
                await trio.lowlevel.cancel_shielded_checkpoint()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._leave()

    def _leave(self) -> None:
        for limiter in reversed(self._limiters[:self._held]):
            limiter.release()
        for key in self._keys:
            self._limits._release(key)
        self._held = 0
        self._keys = self._limiters = ()


@dataclass(frozen=True)
class AttemptFailure:
    """A connection that got no answer from the server, and the probe that made it."""

    probe: str | None
    failure: ScanFailure
    refused: bool  # turned down before a ServerHello (alert, close, reset): often normal

    def __post_init__(self) -> None:
        self.failure.detached()


@dataclass
class SessionStats:
    connections: int = 0
    handshakes_completed: int = 0
    server_hellos: int = 0
    raw_connections: int = 0  # of ``connections``: raw ClientHello exchanges
    answered: int = 0
    failures: list[AttemptFailure] = field(default_factory=list)


# A connection that ends like this, with no ServerHello, met nobody speaking TLS: refused,
# unreachable, silent (a tarpit) or something else entirely.
_NO_TLS_HERE = frozenset({ErrorKind.connection_refused, ErrorKind.network_unreachable,
                          ErrorKind.connect_timeout, ErrorKind.not_tls, ErrorKind.timeout})
_CONTACT_ATTEMPTS = 2  # such connections in a row before a target is given up


class FirstContact:
    """At most two connections at a time until the target has shown it speaks TLS.

    A target's probes start together, and each of them used to pay for a closed port or a
    tarpit separately (15-18 connections, each waiting the full timeout). Until a connection
    gets past the ``_NO_TLS_HERE`` failures, at most ``_CONTACT_ATTEMPTS`` trial connections
    run (side by side, so a silent peer costs one timeout, not two); when they all fail that
    way the target is ``lost`` and no more connections are made: a refused port costs two
    connections, a tarpit about one ``--timeout``. A trial cancelled before its outcome hands
    its turn to the next connection.
    """

    def __init__(self) -> None:
        self.established = False
        self.lost: ScanFailure | None = None
        self.misses = 0
        self._trials = 0  # started and not abandoned
        self._changed = trio.Event()

    @property
    def settled(self) -> bool:
        return self.established or self.lost is not None

    async def enter(self) -> bool:
        """Wait for this connection's turn; True when it is a trial whose outcome counts
        (the caller then calls ``settle`` or ``abandon``)."""
        while not self.settled:
            if self._trials < _CONTACT_ATTEMPTS:
                self._trials += 1
                return True
            await self._changed.wait()
        return False

    def settle(self, failure: ScanFailure | None, server_hello: bool) -> None:
        if failure is not None and failure.kind in TARGET_FATAL:
            # The server spoke and will not start TLS (a refused STARTTLS, another protocol):
            # every later connection would hear the same.
            self.lost = failure.detached()
        elif failure is None or server_hello or failure.kind not in _NO_TLS_HERE:
            self.established = True
        else:
            self.misses += 1
            if self.misses >= _CONTACT_ATTEMPTS and not self.established:
                self.lost = failure.detached()
        self._wake()

    def abandon(self) -> None:
        """The trial ended without an outcome (cancelled, skipped): another may take it."""
        self._trials -= 1
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


class EndpointSession:
    def __init__(
        self,
        address: Address,
        sni: str | None,
        *,
        contexts: ContextFactory,
        limits: ConnectionLimits,
        timeout: float,
        before_tls: Sequence[BeforeTls] = (),
        on_first_connection: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        #: Steps run on every new TCP stream before TLS (a proxy tunnel is made in open_tcp;
        #: a STARTTLS preamble is a step).
        self.before_tls = tuple(before_tls)
        self.sni = sni
        self.contexts = contexts
        self.limits = limits
        self.timeout = timeout
        self.stats = SessionStats()
        self.last_rtt = 0.0
        self.contact = FirstContact()
        self.first_connection_at: float | None = None  # trio clock: the target's budget starts
        self._on_first_connection = on_first_connection
        #: Held while a probe asks its HTTP question: one HTTP exchange at a time per target.
        self.http_turn = trio.Lock()

    def offer(self, version: TLSVersion | None = None, **fields: object) -> ClientOffer:
        """An offer carrying this target's SNI, pinned to one version when given."""
        fields.setdefault("sni", self.sni)
        if version is not None:
            fields["min_version"] = fields["max_version"] = version
        return ClientOffer(**fields)  # type: ignore[arg-type]

    def _connection_starts(self) -> None:
        if self.first_connection_at is None:
            self.first_connection_at = trio.current_time()
            if self._on_first_connection is not None:
                self._on_first_connection()

    @contextlib.asynccontextmanager
    async def connect(
        self, offer: ClientOffer, *, session: SSL.Session | None = None
    ) -> AsyncIterator[TLSConnection]:
        """A TLS connection (not yet handshaken) within the sweep's limits and deadlines.

        A failed TCP connect still yields a connection, whose ``handshake()`` returns the
        failure: probes handle one kind of outcome. So does a target given up on
        (``FirstContact``): its connection fails at once, without a packet sent.
        """
        trial = await self.contact.enter()
        try:
            if self.contact.lost is not None:
                yield TLSConnection(None, self.contexts, offer, deadline=trio.current_time(),
                                    failure=self.contact.lost)
                return
            async with self.limits.slot(self.address.ip, self.address.port), \
                    contextlib.AsyncExitStack() as stack:
                self._connection_starts()
                self.stats.connections += 1
                started = trio.current_time()
                stream: trio.SocketStream | None = None
                failure: ScanFailure | None = None
                try:
                    stream = await open_tcp(self.address, timeout=self.timeout)
                except ScanFailure as error:
                    failure = error
                else:
                    # The kernel's smoothed RTT: under load, timing connect() from the event
                    # loop measures our own scheduling delay, not the network.
                    rtt = kernel_rtt(stream)
                    self.last_rtt = rtt if rtt is not None else trio.current_time() - started
                    # Closed without trio's checkpoint in ``aclose``: one scheduler trip
                    # less per connection, and nothing here needs it.
                    stack.callback(stream.socket.close)
                    try:
                        await self._before_tls(stream, started + self.timeout)
                    except ScanFailure as error:
                        failure, stream = error, None
                connection = TLSConnection(stream, self.contexts, offer,
                                           deadline=started + self.timeout, session=session,
                                           failure=failure)
                try:
                    yield connection
                finally:
                    result = connection.close()
                    self._count(result)
                    if trial:
                        trial = False
                        self.contact.settle(result.failure, result.server_hello is not None)
        finally:
            if trial:
                self.contact.abandon()

    async def _before_tls(self, stream: trio.SocketStream, deadline: float) -> None:
        for step in self.before_tls:
            await step(stream, deadline)

    def wait_after_handshake(self, result: HandshakeResult | None = None) -> float:
        """Seconds to read after the handshake: a few round trips, within a floor and ceiling.

        Given the handshake's ``result``, a TLS 1.2 (or older) handshake in which the server
        asked for no client certificate gets the short floor: nothing is still due."""
        floor = _AFTER_HANDSHAKE_FLOOR_S
        if (result is not None and result.version is not None
                and result.version < TLSVersion.TLSv1_3 and not result.certificate_requested):
            floor = _AFTER_QUIET_HANDSHAKE_FLOOR_S
        return min(_AFTER_HANDSHAKE_CEILING_S,
                   max(floor, _AFTER_HANDSHAKE_RTTS * self.last_rtt))

    async def handshake(
        self,
        offer: ClientOffer,
        *,
        read_after_handshake: bool = False,
        session: SSL.Session | None = None,
    ) -> HandshakeResult:
        """One connection, one handshake; failures come back inside the result. With
        ``read_after_handshake``, the short read after it, then close_notify: a server keeps
        the session of a connection closed that way (OpenSSL's drops it otherwise), so the
        result's session can be resumed (the resumption probe resumes the shared baseline's)."""
        async with self.connect(offer, session=session) as connection:
            result = await connection.handshake()
            if read_after_handshake:
                await connection.read_after_handshake(self.wait_after_handshake(result))
                await connection.shutdown()
        return result

    async def raw_exchange(
        self, payload: bytes, *, stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO,
        skip: Callable[[], str | None] | None = None,
        then: Callable[[raw.RawReply], bytes | None] | None = None,
        then_window: float = 2.0,
        then_enough: Callable[[wire.FollowUpRecords], bool] | None = None,
        decryption: wire.HandshakeDecryption | None = None,
    ) -> raw.RawReply:
        """One connection, one raw ClientHello (``payload``), the server's answer; within
        the same limits, deadline and counters as a full handshake. ``skip``, asked once a
        connection slot is free, may give a reason not to connect after all. ``then``, given
        the answer, may return one more message to send on the same connection; what comes
        back within ``then_window`` seconds (at most 64 KiB, and no more once ``then_enough``
        says the records read so far settle the question) is ``reply.followup``. With
        ``decryption`` (``RawOffer.encode_keyed``), a TLS 1.3 answer is read on to its
        EncryptedExtensions."""
        trial = await self.contact.enter()
        try:
            if self.contact.lost is not None:
                return raw.connect_failed(self.contact.lost)
            reply = await self._raw_exchange(payload, stop_at=stop_at, skip=skip, then=then,
                                             then_window=then_window, then_enough=then_enough,
                                             decryption=decryption)
            if trial and reply.outcome is not raw.RawOutcome.skipped:
                trial = False
                answered = bool(reply.hello) or reply.outcome in _RAW_ANSWERS
                self.contact.settle(reply.failure, answered)
        finally:
            if trial:
                self.contact.abandon()
        if reply.hello or reply.outcome is raw.RawOutcome.sslv2_server_hello:
            self.stats.server_hellos += 1
            self.stats.answered += 1
        elif reply.failure is not None:
            self.stats.failures.append(AttemptFailure(
                current_probe.get(), reply.failure, reply.outcome in _RAW_REFUSALS))
        return reply

    async def _raw_exchange(
        self, payload: bytes, *, stop_at: wire.StopAt,
        skip: Callable[[], str | None] | None,
        then: Callable[[raw.RawReply], bytes | None] | None, then_window: float,
        then_enough: Callable[[wire.FollowUpRecords], bool] | None,
        decryption: wire.HandshakeDecryption | None = None,
    ) -> raw.RawReply:
        async with self.limits.slot(self.address.ip, self.address.port):
            reason = skip() if skip is not None else None
            if reason is not None:
                return raw.skipped(reason)
            self._connection_starts()
            self.stats.connections += 1
            self.stats.raw_connections += 1
            deadline = trio.current_time() + self.timeout
            try:
                stream = await open_tcp(self.address, timeout=self.timeout)
            except ScanFailure as failure:
                return raw.connect_failed(failure)
            try:  # closed without trio's checkpoint in ``aclose`` (as in ``connect``)
                try:
                    await self._before_tls(stream, deadline)
                except ScanFailure as failure:
                    return raw.connect_failed(failure)
                reply = await raw.exchange(stream, payload, deadline=deadline, stop_at=stop_at,
                                           decryption=decryption)
                more = then(reply) if then is not None else None
                if more is not None:
                    reply.followup = await raw.follow_up(stream, more, deadline=deadline,
                                                         window=then_window, cap=65536,
                                                         enough=then_enough)
                return reply
            finally:
                stream.socket.close()

    def _count(self, result: HandshakeResult) -> None:
        if result.completed:
            self.stats.handshakes_completed += 1
        if result.server_hello is not None:
            self.stats.server_hellos += 1
        if result.answered:
            self.stats.answered += 1
        elif result.failure is not None:
            self.stats.failures.append(
                AttemptFailure(current_probe.get(), result.failure, result.refused))

    def unreachable_reason(self) -> ScanFailure | None:
        """When no attempt got an answer, the most telling failure among them."""
        if self.stats.answered or not self.stats.failures:
            return None
        return most_telling(attempt.failure for attempt in self.stats.failures)

    def probe_failures(self) -> dict[str, ScanFailure]:
        """Per probe, the most telling failure of an attempt that neither got an answer nor
        was plainly refused (for a target that did answer other attempts)."""
        by_probe: dict[str, list[ScanFailure]] = {}
        for attempt in self.stats.failures:
            if attempt.probe is not None and not attempt.refused:
                by_probe.setdefault(attempt.probe, []).append(attempt.failure)
        return {probe: most_telling(failures) for probe, failures in by_probe.items()}


# A raw hello turned down before any ServerHello: normal while enumerating versions and suites.
_RAW_REFUSALS = frozenset({raw.RawOutcome.alert, raw.RawOutcome.closed, raw.RawOutcome.reset,
                           raw.RawOutcome.sslv2_error})
# A raw answer that shows a TLS (or SSLv2) server is there, whatever it chose.
_RAW_ANSWERS = frozenset({raw.RawOutcome.sslv2_server_hello, raw.RawOutcome.sslv2_error,
                          raw.RawOutcome.alert})


def most_telling(failures: Iterable[ScanFailure]) -> ScanFailure:
    return min(failures, key=lambda f: _FAILURE_PRIORITY.get(f.kind, 99))


# Lower is more telling: what the server did wrong explains a reset or timeout that follows
# it, and "not TLS" explains everything.
_FAILURE_PRIORITY = {
    kind: rank for rank, kind in enumerate([
        ErrorKind.starttls_refused, ErrorKind.starttls_unexpected,
        ErrorKind.not_tls, ErrorKind.record_overflow, ErrorKind.malformed_handshake,
        ErrorKind.message_too_large, ErrorKind.unexpected_message, ErrorKind.message_flood,
        ErrorKind.wrong_version, ErrorKind.handshake_failure, ErrorKind.protocol_error,
        ErrorKind.connection_refused, ErrorKind.network_unreachable, ErrorKind.connect_timeout,
        ErrorKind.timeout, ErrorKind.connection_closed, ErrorKind.connection_reset,
    ])
}
