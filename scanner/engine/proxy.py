"""Opening an HTTP CONNECT tunnel on a TCP stream to the proxy, before anything else is said
on it (TLS, or a STARTTLS preamble). The bytes are built and read by
``scanner.wire.http_connect``; this module only moves them, under the connection deadline.

The proxy's answer is read with MSG_PEEK and then consumed exactly up to the end of its head,
so nothing the far end sends through the tunnel is swallowed.
"""

from __future__ import annotations

import socket

import trio

from scanner.engine.errors import ScanFailure
from scanner.results import ErrorKind
from scanner.wire.errors import WireError
from scanner.wire.http_connect import (
    MAX_CONNECT_RESPONSE_HEAD,
    ConnectResponse,
    HttpProxy,
    connect_request,
    read_connect_response,
)

__all__ = ["open_tunnel"]


async def open_tunnel(stream: trio.SocketStream, host: str, port: int, proxy: HttpProxy, *,
                      timeout: float) -> None:
    """Ask the proxy on ``stream`` for a tunnel to ``host:port``; raise ScanFailure
    (``proxy_error``, ``connection_closed`` or ``connect_timeout``) when there is none."""
    where = f"proxy {proxy} CONNECT {host}:{port}"
    with trio.move_on_after(timeout) as scope:
        await stream.send_all(connect_request(host, port, authorization=proxy.authorization))
        answer = await _read_head(stream, where)
    if scope.cancelled_caught:
        raise ScanFailure(ErrorKind.connect_timeout,
                          f"{where}: no answer from the proxy within {timeout:g}s")
    if not answer.established:
        raise ScanFailure(ErrorKind.proxy_error,
                          f"{where}: the proxy answered {answer.status} {answer.reason}".rstrip())


async def _read_head(stream: trio.SocketStream, where: str) -> ConnectResponse:
    sock = stream.socket
    seen = 0
    while True:
        try:
            peeked = await sock.recv(MAX_CONNECT_RESPONSE_HEAD, socket.MSG_PEEK)
        except OSError as exc:
            raise ScanFailure(ErrorKind.connection_reset, f"{where}: {exc.strerror}") from None
        if not peeked:
            raise ScanFailure(ErrorKind.connection_closed,
                              f"{where}: the proxy closed the connection without answering")
        try:
            answer = read_connect_response(peeked)
        except WireError as exc:
            raise ScanFailure(ErrorKind.proxy_error, f"{where}: {exc}") from None
        if answer is not None:
            await sock.recv(answer.head_length)  # consume the head, leave the tunnel's bytes
            return answer
        if len(peeked) == seen:  # nothing new yet: a peek returns at once, so pause
            await trio.sleep(0.01)
        seen = len(peeked)
