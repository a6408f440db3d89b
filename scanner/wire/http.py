"""One HTTP request after TLS, and a bounded reading of its answer: sans-IO, over h11 and h2.

Probes ask an HTTP question only to see where a server enforces client certificates, so the
exchange is a single ``GET`` (or ``HEAD``) whose answer is read as far as the status and a
few headers (``Server``, ``Strict-Transport-Security``, ``Location``); the body is counted,
discarded, and no longer read past :data:`MAX_BODY_BYTES`. HTTP/1.x goes through ``h11``,
HTTP/2 (ALPN ``h2``) through ``h2`` in :mod:`scanner.wire.http2`. Both are driven the same way
(:class:`HttpExchange`): ``start()`` gives the bytes to send, ``feed(received)`` the bytes to
send back (h2 acknowledges settings and data), ``feed(b"")`` says the peer closed; a
:class:`WireError` means the answer is not HTTP.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import h11

from .errors import WireError

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_HEAD_BYTES",
    "Http1Exchange",
    "HttpExchange",
    "HttpRequest",
    "HttpResponse",
    "ResponseReader",
]

#: Response bodies are counted and dropped; reading stops after this many bytes of one.
MAX_BODY_BYTES = 16 * 1024
#: The largest status line plus header block waited for (real ones are well under 8 KiB).
MAX_HEAD_BYTES = 16 * 1024

_PREFIX = b"HTTP/"
# RFC 3986 path-absolute plus query (origin-form, RFC 9112 section 3.2.1), printable ASCII
# without spaces; the request line must not be splittable.
_ORIGIN_FORM = re.compile(r"/[!-~]*")
# host [":" port]: a reg-name, IPv4 address or bracketed IPv6 literal.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?")
#: Response headers worth keeping, by lower-case name (the HttpResponse field they fill).
_KEPT_HEADERS = {b"server": "server", b"strict-transport-security": "strict_transport_security",
                 b"location": "location"}
_MAX_HEADER_VALUE = 256


@dataclass(frozen=True)
class HttpRequest:
    """What to ask: method, origin-form path and Host (HTTP/2 ``:authority``), validated so
    nothing taken from an inventory can split the request."""

    path: str = "/"
    host: str = "localhost"
    user_agent: str = "mtlsweep"
    method: Literal["GET", "HEAD"] = "GET"

    def __post_init__(self) -> None:
        if not _ORIGIN_FORM.fullmatch(self.path):
            raise WireError(f"HTTP path {self.path!r} must start with '/' and hold no spaces or "
                            "control characters")
        if not _HOST.fullmatch(self.host):
            raise WireError(f"HTTP Host {self.host!r} is not a host name, IP address or "
                            "host:port")
        if not self.user_agent.isprintable() or not self.user_agent.isascii():
            raise WireError("HTTP User-Agent must be printable ASCII")

    @property
    def label(self) -> str:
        """How records name the request: ``GET /health (Host: api.example)``."""
        return f"{self.method} {self.path} (Host: {self.host})"


@dataclass(frozen=True)
class HttpResponse:
    """The part of an answer a probe reads: status line and the kept headers."""

    http_version: str  # "1.0", "1.1", "2"
    status: int
    reason: str = ""
    server: str | None = None
    strict_transport_security: str | None = None
    location: str | None = None
    #: sha256 (hex) of the body bytes read, at most :data:`MAX_BODY_BYTES`: enough to tell two
    #: answers apart without keeping either body.
    body_sha256: str | None = None
    body_bytes: int = 0  # how many body bytes the digest covers


class HttpExchange(Protocol):
    """One request and its answer, whatever the HTTP version."""

    @property
    def response(self) -> HttpResponse | None:
        """The answer's head, once it has arrived."""

    @property
    def finished(self) -> bool:
        """Nothing more worth reading: the answer ended, its body passed the cap, or the peer
        closed."""

    @property
    def closed(self) -> bool:
        """The peer closed (or reset the stream) before or while answering."""

    @property
    def received(self) -> bytes:
        """The first bytes received (up to 64), to describe an answer that is not HTTP."""

    def start(self) -> bytes:
        """The bytes that open the exchange (the request, and for h2 the preface)."""

    def feed(self, data: bytes) -> bytes:
        """Take received bytes (``b""``: the peer closed); return bytes to send back.
        Raises WireError when the bytes are not the HTTP this exchange speaks."""


@dataclass
class ResponseReader:
    """Bookkeeping both HTTP versions share: the head, the body count and digest, the end."""

    head_only: HttpResponse | None = None
    body_bytes: int = 0
    ended: bool = False
    closed: bool = False
    received: bytearray = field(default_factory=bytearray)  # the first bytes, for reports
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def response(self) -> HttpResponse | None:
        """The head, with the digest of the body read so far."""
        if self.head_only is None:
            return None
        return replace(self.head_only, body_sha256=self._digest.hexdigest(),
                       body_bytes=min(self.body_bytes, MAX_BODY_BYTES))

    def body(self, data: bytes) -> None:
        """Count body bytes and hash those under the cap; the bytes themselves are dropped."""
        room = MAX_BODY_BYTES - self.body_bytes
        if room > 0:
            self._digest.update(data[:room])
        self.body_bytes += len(data)

    @property
    def finished(self) -> bool:
        return self.ended or self.closed or self.body_bytes >= MAX_BODY_BYTES

    def keep(self, data: bytes) -> None:
        if len(self.received) < 64:
            self.received += data[:64 - len(self.received)]

    def head(self, http_version: str, status: int, reason: bytes,
             headers: list[tuple[bytes, bytes]]) -> None:
        kept: dict[str, str] = {}
        for name, value in headers:
            key = _KEPT_HEADERS.get(name.lower())
            if key is not None and key not in kept:
                kept[key] = value.decode("latin-1")[:_MAX_HEADER_VALUE]
        self.head_only = HttpResponse(
            http_version=http_version, status=status,
            reason=reason.decode("latin-1").strip()[:_MAX_HEADER_VALUE],
            server=kept.get("server"),
            strict_transport_security=kept.get("strict_transport_security"),
            location=kept.get("location"))


class ReadsResponse:
    """What an exchange tells its driver, read off its ``ResponseReader`` (HTTP/1.x and
    HTTP/2 differ only in how bytes become the answer)."""

    _reader: ResponseReader

    @property
    def response(self) -> HttpResponse | None:
        return self._reader.response

    @property
    def finished(self) -> bool:
        return self._reader.finished

    @property
    def closed(self) -> bool:
        return self._reader.closed

    @property
    def received(self) -> bytes:
        return bytes(self._reader.received)


class Http1Exchange(ReadsResponse):
    """HTTP/1.x over ``h11``; the request asks the server to close after answering."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._reader = ResponseReader()

    def start(self) -> bytes:
        request = self.request
        head = h11.Request(method=request.method, target=request.path, headers=[
            ("Host", request.host), ("User-Agent", request.user_agent), ("Accept", "*/*"),
            ("Connection", "close")])
        return (self._h11.send(head) or b"") + (self._h11.send(h11.EndOfMessage()) or b"")

    def feed(self, data: bytes) -> bytes:
        reader = self._reader
        if reader.finished:
            return b""
        # Say "not HTTP" from the first bytes, instead of waiting for a header block that a
        # banner-speaking service will never send.
        start = (bytes(reader.received) + data)[:len(_PREFIX)]
        if reader.head_only is None and start != _PREFIX[:len(start)]:
            reader.keep(data)
            raise WireError("not an HTTP/1.x response")
        reader.keep(data)
        if not data and reader.head_only is None:
            reader.closed = True  # closed before a whole head: a close, whatever came first
            return b""
        try:
            self._h11.receive_data(data)
            self._read_events()
        except h11.RemoteProtocolError as exc:
            if reader.head_only is not None:  # a broken body after a good head: keep the head
                reader.ended = True
                return b""
            raise WireError(f"malformed HTTP/1.x response: {exc}") from None
        return b""

    def _read_events(self) -> None:
        reader = self._reader
        while not reader.finished:
            event = self._h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                reader.head(event.http_version.decode("ascii"), event.status_code,
                            event.reason, list(event.headers))
            elif isinstance(event, h11.Data):
                reader.body(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                reader.ended = True
            elif isinstance(event, h11.ConnectionClosed):
                reader.closed = True
            # InformationalResponse (1xx): the real answer follows.
