"""An endpoint session: how probes talk to one target, within the sweep's limits.

Probes ask for handshakes; the session opens the connection, applies the global and
per-address connection bounds and the deadlines, and counts what it did for the record.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import trio
from OpenSSL import SSL

from scanner.engine.connect import Address, kernel_rtt, open_tcp
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import HandshakeResult, tls_handshake
from scanner.engine.offer import ClientOffer, ContextFactory, TLSVersion
from scanner.results import ErrorKind

# How long to keep reading after our Finished when a probe wants post-handshake messages:
# a few round trips (measured on the TCP connect), never less than a floor for busy servers.
_AFTER_HANDSHAKE_FLOOR_S = 0.25
_AFTER_HANDSHAKE_CEILING_S = 2.0
_AFTER_HANDSHAKE_RTTS = 4


class ConnectionLimits:
    """Bounds shared by a whole sweep: connections in flight, overall and per IP address."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total = trio.CapacityLimiter(total)
        self.per_address = per_address
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
                yield
        finally:
            self._users[ip] -= 1
            if not self._users[ip]:  # forget idle addresses so a long sweep stays small
                del self._users[ip]
                del self._by_address[ip]


@dataclass
class SessionStats:
    connections: int = 0
    handshakes_completed: int = 0
    server_hellos: int = 0
    failures: list[ScanFailure] = field(default_factory=list)


class EndpointSession:
    def __init__(
        self,
        address: Address,
        sni: str | None,
        *,
        contexts: ContextFactory,
        limits: ConnectionLimits,
        timeout: float,
    ) -> None:
        self.address = address
        self.sni = sni
        self.contexts = contexts
        self.limits = limits
        self.timeout = timeout
        self.stats = SessionStats()

    def offer(self, version: TLSVersion | None = None, **fields: object) -> ClientOffer:
        """An offer carrying this target's SNI, pinned to one version when given."""
        fields.setdefault("sni", self.sni)
        if version is not None:
            fields["min_version"] = fields["max_version"] = version
        return ClientOffer(**fields)  # type: ignore[arg-type]

    async def handshake(
        self,
        offer: ClientOffer,
        *,
        read_after_handshake: bool = False,
        session: SSL.Session | None = None,
    ) -> HandshakeResult:
        """One connection, one handshake; failures come back inside the result."""
        async with self.limits.slot(self.address.ip):
            self.stats.connections += 1
            started = trio.current_time()
            deadline = started + self.timeout
            try:
                stream = await open_tcp(self.address, timeout=self.timeout)
            except ScanFailure as failure:
                self.stats.failures.append(failure)
                return HandshakeResult(offer=offer, failure=failure)
            rtt = kernel_rtt(stream)
            if rtt is None:
                rtt = trio.current_time() - started
            wait = 0.0
            if read_after_handshake:
                wait = min(_AFTER_HANDSHAKE_CEILING_S,
                           max(_AFTER_HANDSHAKE_FLOOR_S, _AFTER_HANDSHAKE_RTTS * rtt))
            async with stream:
                result = await tls_handshake(
                    stream, self.contexts, offer, deadline=deadline,
                    read_after_handshake=wait, session=session,
                )
        self._count(result)
        return result

    def _count(self, result: HandshakeResult) -> None:
        if result.completed:
            self.stats.handshakes_completed += 1
        if result.server_hello is not None:
            self.stats.server_hellos += 1
        if result.failure is not None:
            self.stats.failures.append(result.failure)

    def unreachable_reason(self) -> ScanFailure | None:
        """When no attempt reached a ServerHello, the most telling failure among them."""
        if self.stats.server_hellos or not self.stats.failures:
            return None
        return min(self.stats.failures, key=lambda f: _FAILURE_PRIORITY.get(f.kind, 99))


# Lower is more telling: "not TLS" explains a reset that follows it, not the other way round.
_FAILURE_PRIORITY = {
    kind: rank for rank, kind in enumerate([
        ErrorKind.not_tls, ErrorKind.handshake_failure, ErrorKind.protocol_error,
        ErrorKind.connection_refused, ErrorKind.network_unreachable, ErrorKind.connect_timeout,
        ErrorKind.timeout, ErrorKind.connection_closed, ErrorKind.connection_reset,
    ])
}
