"""A minimal HTTP/1.1 server over trio (h11 does the protocol): GET requests in, one handler
answers each. Enough for an exporter that Prometheus scrapes: keep-alive, bounded request
size and read time, no request bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11
import trio

log = logging.getLogger(__name__)

#: Longest request head accepted (h11 answers larger ones with 431).
MAX_REQUEST_HEAD = 16 * 1024
#: Seconds a client may take to send a request head (an idle keep-alive connection included).
REQUEST_READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-cased names


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]


async def serve_http(handler: Handler, host: str, port: int, *,
                     task_status: trio.TaskStatus[list[trio.SocketListener]]
                     = trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``handler`` on ``host:port`` until cancelled."""

    async def connection(stream: trio.SocketStream) -> None:
        try:
            await _serve_connection(stream, handler)
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            pass
        finally:
            await stream.aclose()

    await trio.serve_tcp(connection, port, host=host, task_status=task_status)


async def _serve_connection(stream: trio.SocketStream, handler: Handler) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_HEAD)
    while True:
        request = await _next_request(stream, conn)
        if request is None:
            return
        try:
            response = await handler(request)
        except Exception:  # a handler bug costs one request, not the server
            log.exception("handling %s %s failed", request.method, request.target)
            response = Response(500, b"internal error\n")
        headers = [("content-type", response.content_type),
                   ("content-length", str(len(response.body))),
                   *response.headers.items()]
        await stream.send_all(conn.send(h11.Response(status_code=response.status,
                                                     headers=headers)) or b"")
        if request.method != "HEAD":
            await stream.send_all(conn.send(h11.Data(data=response.body)) or b"")
        await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return
        conn.start_next_cycle()


async def _next_request(stream: trio.SocketStream, conn: h11.Connection) -> Request | None:
    """The next complete request on the connection; None once the client is gone."""
    request: h11.Request | None = None
    with trio.move_on_after(REQUEST_READ_TIMEOUT_S):
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                await _refuse(stream, conn, exc.error_status_hint)
                return None
            if event is h11.NEED_DATA:
                data = await stream.receive_some(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                return Request(
                    method=request.method.decode("ascii", "replace"),
                    target=request.target.decode("ascii", "replace"),
                    headers={k.decode("latin-1").lower(): v.decode("latin-1")
                             for k, v in request.headers})
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None
    return None


async def _refuse(stream: trio.SocketStream, conn: h11.Connection, status: int) -> None:
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = f"bad request ({status})\n".encode()
    await stream.send_all(conn.send(h11.Response(status_code=status, headers=[
        ("content-type", "text/plain"), ("content-length", str(len(body))),
        ("connection", "close")])) or b"")
    await stream.send_all(conn.send(h11.Data(data=body)) or b"")
    await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
