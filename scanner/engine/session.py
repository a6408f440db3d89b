"""An endpoint session: how probes talk to one target, within the sweep's limits.

Probes ask for handshakes; the session opens the connection, applies the global and
per-address connection bounds and the deadlines, and counts what it did for the record.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import trio
from OpenSSL import SSL

from scanner import wire
from scanner.engine import raw
from scanner.engine.connect import Address, kernel_rtt, open_tcp
from scanner.engine.contexts import ContextFactory
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import HandshakeResult, TLSConnection
from scanner.engine.preamble import BeforeTls
from scanner.offers.offer import ClientOffer
from scanner.results import ErrorKind
from scanner.wire import TLSVersion

# How long to keep reading after our Finished when a probe wants post-handshake messages:
# a few round trips (measured on the TCP connect), never less than a floor for busy servers.
_AFTER_HANDSHAKE_FLOOR_S = 0.25
_AFTER_HANDSHAKE_CEILING_S = 2.0
_AFTER_HANDSHAKE_RTTS = 4


#: The probe a connection is made for, so that its failures are attributed to that probe.
current_probe: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mtlsweep_current_probe", default=None)


class RateLimit:
    """At most ``per_second`` connection starts per second across the whole sweep.

    Starts are spaced evenly (no bursts): each caller reserves the next free instant and
    sleeps until it, so the limit holds however many tasks are waiting.
    """

    def __init__(self, per_second: float) -> None:
        if per_second <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = trio.current_time()
        start = max(now, self._next)
        self._next = start + self.interval
        await trio.sleep_until(start)


class ConnectionLimits:
    """Bounds shared by a whole sweep: connections in flight, overall and per IP address,
    and optionally how many connections may start per second."""

    def __init__(self, total: int, per_address: int, rate: float | None = None) -> None:
        self.total = trio.CapacityLimiter(total)
        self.per_address = per_address
        self.rate = RateLimit(rate) if rate else None
        self._by_address: dict[str, trio.CapacityLimiter] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def slot(self, ip: str) -> AsyncIterator[None]:
        limiter = self._by_address.get(ip)
        if limiter is None:
            limiter = self._by_address[ip] = trio.CapacityLimiter(self.per_address)
        self._users[ip] = self._users.get(ip, 0) + 1
        try:
            async with limiter, self.total:
                if self.rate is not None:
                    await self.rate.wait()
                yield
        finally:
            self._users[ip] -= 1
            if not self._users[ip]:  # forget idle addresses so a long sweep stays small
                del self._users[ip]
                del self._by_address[ip]


@dataclass(frozen=True)
class AttemptFailure:
    """A connection that got no answer from the server, and the probe that made it."""

    probe: str | None
    failure: ScanFailure
    refused: bool  # turned down before a ServerHello (alert, close, reset): often normal


@dataclass
class SessionStats:
    connections: int = 0
    handshakes_completed: int = 0
    server_hellos: int = 0
    raw_connections: int = 0  # of ``connections``: raw ClientHello exchanges
    answered: int = 0
    failures: list[AttemptFailure] = field(default_factory=list)


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
    ) -> None:
        self.address = address
        #: Steps run on every new TCP stream before TLS (e.g. a STARTTLS preamble).
        self.before_tls = tuple(before_tls)
        self.sni = sni
        self.contexts = contexts
        self.limits = limits
        self.timeout = timeout
        self.stats = SessionStats()
        self.last_rtt = 0.0
        #: Held while a probe asks its HTTP question: one HTTP exchange at a time per target.
        self.http_turn = trio.Lock()

    def offer(self, version: TLSVersion | None = None, **fields: object) -> ClientOffer:
        """An offer carrying this target's SNI, pinned to one version when given."""
        fields.setdefault("sni", self.sni)
        if version is not None:
            fields["min_version"] = fields["max_version"] = version
        return ClientOffer(**fields)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def connect(
        self, offer: ClientOffer, *, session: SSL.Session | None = None
    ) -> AsyncIterator[TLSConnection]:
        """A TLS connection (not yet handshaken) within the sweep's limits and deadlines.

        A failed TCP connect still yields a connection, whose ``handshake()`` returns the
        failure: probes handle one kind of outcome.
        """
        async with self.limits.slot(self.address.ip), contextlib.AsyncExitStack() as stack:
            self.stats.connections += 1
            started = trio.current_time()
            stream: trio.SocketStream | None = None
            failure: ScanFailure | None = None
            try:
                stream = await open_tcp(self.address, timeout=self.timeout)
            except ScanFailure as error:
                failure = error
            else:
                # The kernel's smoothed RTT: under load, timing connect() from the event loop
                # measures our own scheduling delay, not the network.
                rtt = kernel_rtt(stream)
                self.last_rtt = rtt if rtt is not None else trio.current_time() - started
                await stack.enter_async_context(stream)
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
                self._count(connection.close())

    async def _before_tls(self, stream: trio.SocketStream, deadline: float) -> None:
        for step in self.before_tls:
            await step(stream, deadline)

    def wait_after_handshake(self) -> float:
        """Seconds to read after the handshake: a few round trips, within a floor and ceiling."""
        return min(_AFTER_HANDSHAKE_CEILING_S,
                   max(_AFTER_HANDSHAKE_FLOOR_S, _AFTER_HANDSHAKE_RTTS * self.last_rtt))

    async def handshake(
        self,
        offer: ClientOffer,
        *,
        read_after_handshake: bool = False,
        session: SSL.Session | None = None,
    ) -> HandshakeResult:
        """One connection, one handshake; failures come back inside the result."""
        async with self.connect(offer, session=session) as connection:
            result = await connection.handshake()
            if read_after_handshake:
                await connection.read_after_handshake(self.wait_after_handshake())
        return result

    async def raw_exchange(
        self, payload: bytes, *, stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO,
        skip: Callable[[], str | None] | None = None,
        then: Callable[[raw.RawReply], bytes | None] | None = None,
        then_window: float = 2.0,
        then_enough: Callable[[wire.FollowUpRecords], bool] | None = None,
    ) -> raw.RawReply:
        """One connection, one raw ClientHello (``payload``), the server's answer; within
        the same limits, deadline and counters as a full handshake. ``skip``, asked once a
        connection slot is free, may give a reason not to connect after all. ``then``, given
        the answer, may return one more message to send on the same connection; what comes
        back within ``then_window`` seconds (at most 64 KiB, and no more once ``then_enough``
        says the records read so far settle the question) is ``reply.followup``."""
        async with self.limits.slot(self.address.ip):
            reason = skip() if skip is not None else None
            if reason is not None:
                return raw.skipped(reason)
            self.stats.connections += 1
            self.stats.raw_connections += 1
            deadline = trio.current_time() + self.timeout
            try:
                stream = await open_tcp(self.address, timeout=self.timeout)
            except ScanFailure as failure:
                self.stats.failures.append(AttemptFailure(current_probe.get(), failure, False))
                return raw.connect_failed(failure)
            async with stream:
                try:
                    await self._before_tls(stream, deadline)
                except ScanFailure as failure:
                    self.stats.failures.append(
                        AttemptFailure(current_probe.get(), failure, False))
                    return raw.connect_failed(failure)
                reply = await raw.exchange(stream, payload, deadline=deadline, stop_at=stop_at)
                more = then(reply) if then is not None else None
                if more is not None:
                    reply.followup = await raw.follow_up(stream, more, deadline=deadline,
                                                         window=then_window, cap=65536,
                                                         enough=then_enough)
        if reply.hello or reply.outcome is raw.RawOutcome.sslv2_server_hello:
            self.stats.server_hellos += 1
            self.stats.answered += 1
        elif reply.failure is not None:
            self.stats.failures.append(AttemptFailure(
                current_probe.get(), reply.failure, reply.outcome in _RAW_REFUSALS))
        return reply

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
