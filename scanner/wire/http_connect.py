"""HTTP CONNECT (RFC 9110 section 9.3.6), sans-IO: the request that opens a tunnel through an
HTTP proxy, and the proxy's answer read off the bytes received.

The proxy's answer is read up to the blank line that ends its head and no further: whatever
follows already belongs to the tunnel (a server that speaks first, as SMTP does, may have
sent it). ``HttpProxy`` is the proxy as the user gave it (``host:port`` or an
``http://[user:password@]host:port`` URL as in ``HTTPS_PROXY``); its credentials never
appear in its repr.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import h11

from .errors import WireError

__all__ = ["MAX_CONNECT_RESPONSE_HEAD", "ConnectResponse", "HttpProxy", "connect_request",
           "parse_proxy", "read_connect_response"]

#: The longest proxy answer head we read; real ones are a few hundred bytes.
MAX_CONNECT_RESPONSE_HEAD = 16 * 1024

_STATUS_PREFIX = b"HTTP/1."
_HOST = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")


@dataclass(frozen=True)
class HttpProxy:
    host: str
    port: int
    #: The Proxy-Authorization value (Basic), when the URL carried credentials.
    authorization: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" + (" (with credentials)" if self.authorization else "")


@dataclass(frozen=True)
class ConnectResponse:
    status: int
    reason: str
    head_length: int  # bytes of the answer's head, blank line included

    @property
    def established(self) -> bool:
        return 200 <= self.status < 300


def parse_proxy(text: str) -> HttpProxy:
    """``host:port``, ``[v6]:port`` or ``http://[user:password@]host:port[/]``."""
    spec = text.strip()
    if "://" not in spec:
        spec = "http://" + spec
    try:
        parts = urlsplit(spec)
        port = parts.port
    except ValueError as exc:
        raise WireError(f"proxy {text!r}: {exc}") from None
    if parts.scheme != "http":
        raise WireError(f"proxy {text!r}: only http:// proxies are supported (CONNECT over "
                        "plain HTTP)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise WireError(f"proxy {text!r}: give host:port, without a path")
    host = parts.hostname
    if not host or not _HOST.fullmatch(host):
        raise WireError(f"proxy {text!r}: no valid host")
    if port is None or not 1 <= port <= 65535:
        raise WireError(f"proxy {text!r}: give the proxy's port (host:port)")
    authorization = None
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(secret.encode()).decode("ascii")
    return HttpProxy(host=host, port=port, authorization=authorization)


def connect_request(host: str, port: int, *, authorization: str | None = None) -> bytes:
    """``CONNECT host:port`` with its Host header (authority-form, RFC 9112 section 3.2.3)."""
    if not _HOST.fullmatch(host) or not 1 <= port <= 65535:
        raise WireError(f"cannot CONNECT to {host!r} port {port}")
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if authorization is not None:
        if not authorization.isascii() or not authorization.isprintable():
            raise WireError("Proxy-Authorization must be printable ASCII")
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def read_connect_response(received: bytes) -> ConnectResponse | None:
    """The proxy's answer once its head is complete in ``received``; None while more bytes
    are needed. Raises WireError when the bytes cannot be an HTTP/1.x answer, or the head
    is longer than ``MAX_CONNECT_RESPONSE_HEAD``.

    h11 reads the head: after a 2xx answer to CONNECT it switches protocols and hands back
    the bytes that follow (``trailing_data``), which belong to the tunnel."""
    if not received:
        return None  # (h11 would read empty data as the proxy closing)
    start = received[:len(_STATUS_PREFIX)]
    if start != _STATUS_PREFIX[:len(start)]:
        # Say so at once: a head that cannot become HTTP is not worth waiting for.
        raise WireError("proxy answer is not an HTTP/1.x response")
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_CONNECT_RESPONSE_HEAD)
    connection.send(h11.Request(method="CONNECT", target="tunnel:443",
                                headers=[("Host", "tunnel:443")]))
    connection.receive_data(received)
    try:
        event = connection.next_event()
    except h11.RemoteProtocolError as exc:
        raise WireError(f"proxy answer is not HTTP/1.x: {exc}") from None
    if event is h11.NEED_DATA:
        return None
    if not isinstance(event, (h11.Response, h11.InformationalResponse)):
        raise WireError("proxy answer is not an HTTP/1.x response")
    reason = event.reason.decode("latin-1").strip()
    if connection.their_state is h11.SWITCHED_PROTOCOL:
        tunnel_bytes, _ = connection.trailing_data
        return ConnectResponse(status=event.status_code, reason=reason,
                               head_length=len(received) - len(tunnel_bytes))
    # Not established: what follows the head (a body) is never read.
    return ConnectResponse(status=event.status_code, reason=reason,
                           head_length=len(received))
