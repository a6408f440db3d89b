"""Ask one HTTP question on an established TLS connection, within a short deadline of its own.

The sans-IO exchange (``wire.Http1Exchange``, or ``wire.Http2Exchange`` when ALPN chose
``h2``) decides what to send and what the answer says; this module only moves its bytes over
the ``TLSConnection``. A server that answers nothing costs :data:`HTTP_TIMEOUT_S`, never the
whole connection timeout, and the caller holds the target's HTTP turn
(``EndpointSession.http_turn``) while asking, so a single-threaded server (``openssl s_server
-www``) is never kept busy by two of our idle HTTP connections while other probes wait.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import trio

from scanner import wire
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import AfterHandshake, TLSConnection
from scanner.results import ErrorKind, HttpOutcomeKind

__all__ = ["HTTP_TIMEOUT_S", "HttpAnswer", "ask_http", "exchange_for"]

#: How long an HTTP answer may take once the request is sent (within the connection deadline).
HTTP_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class HttpAnswer:
    """How one request ended: a response (its head), a close, silence, or non-HTTP bytes."""

    outcome: HttpOutcomeKind
    protocol: str  # "HTTP/1.1" or "HTTP/2": what was spoken
    response: wire.HttpResponse | None = None
    received: str | None = None  # the first bytes of a non-HTTP answer, described
    alert: str | None = None  # a TLS alert that ended the exchange (e.g. certificate_required)


def exchange_for(request: wire.HttpRequest, alpn: str | None) -> wire.HttpExchange:
    """HTTP/2 when ALPN selected ``h2``, else HTTP/1.1."""
    if alpn == "h2":
        return wire.Http2Exchange(request)
    return wire.Http1Exchange(request)


async def ask_http(tls: TLSConnection, request: wire.HttpRequest, *,
                   timeout: float = HTTP_TIMEOUT_S) -> HttpAnswer:
    """Send ``request`` on a completed handshake and read the answer's head (and a bounded
    part of its body) until it ends, the server closes, or ``timeout`` seconds pass."""
    exchange = exchange_for(request, tls.result.alpn)
    protocol = "HTTP/1.1" if isinstance(exchange, wire.Http1Exchange) else "HTTP/2"
    until = trio.current_time() + timeout
    with contextlib.suppress(ScanFailure):
        # A server that rejected us after the handshake may have closed already; what it
        # sent (its alert) is still read below.
        await tls.send(exchange.start())
    broke: ScanFailure | None = None
    while not exchange.finished:
        try:
            data = await tls.receive(until=until)
        except ScanFailure as failure:
            # An alert, a reset or a flood ends the exchange: the answer, if any, is what came
            # before it, and the reason is kept instead of passing for a plain close.
            broke, data = failure, b""
        if data is None:
            break
        try:
            reply = exchange.feed(data)
        except wire.WireError:
            return HttpAnswer(HttpOutcomeKind.not_http, protocol,
                              received=wire.describe_non_tls(exchange.received))
        if not data:
            break
        if reply:
            with contextlib.suppress(ScanFailure):
                await tls.send(reply)
    alert = broke.alert if broke is not None else None
    if broke is not None and not exchange.received:
        _record_break(tls, broke)
    if exchange.response is not None:
        return HttpAnswer(HttpOutcomeKind.response, protocol, response=exchange.response,
                          alert=alert)
    if exchange.closed or broke is not None:
        return HttpAnswer(HttpOutcomeKind.closed, protocol, alert=alert)
    return HttpAnswer(HttpOutcomeKind.no_response, protocol)


def _record_break(tls: TLSConnection, failure: ScanFailure) -> None:
    """No HTTP byte came before the connection broke: a flood or a protocol violation goes
    into the connection's result, so the session does not count it as an answer. An alert
    (in the transcript, which keeps ``HandshakeResult.answered``), a close or a reset is an
    answer of the server's and changes nothing there."""
    if failure.alert or failure.kind in (ErrorKind.connection_closed,
                                         ErrorKind.connection_reset):
        return
    tls.result.after_handshake = AfterHandshake.failed
    tls.result.failure = failure
