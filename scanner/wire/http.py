"""The little HTTP/1.1 the enforcement probe needs: build a HEAD request, read a status line.

Sans-IO like the rest of ``wire``: bytes in, values out, :class:`WireError` on anything that
is not HTTP. Only the status line is read; headers and bodies are none of the probe's
business, and a server must not be able to make us buffer them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import WireError

__all__ = ["MAX_STATUS_LINE", "HttpStatusLine", "build_head_request", "read_status_line"]

#: The longest status line we wait for; real ones are a few dozen bytes.
MAX_STATUS_LINE = 4096

_PREFIX = b"HTTP/"
# RFC 9112 section 4: HTTP-version SP 3DIGIT SP [reason-phrase]. Servers in the wild omit
# the space before an empty reason, so it is optional here.
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?")
# RFC 3986 path-absolute plus query (origin-form, RFC 9112 section 3.2.1), printable ASCII
# without spaces; the request line must not be splittable.
_ORIGIN_FORM = re.compile(r"/[!-~]*")
# host [":" port]: a reg-name, IPv4 address or bracketed IPv6 literal.
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?")


@dataclass(frozen=True)
class HttpStatusLine:
    version: str  # "1.1"
    status: int
    reason: str


def build_head_request(path: str, host: str, *, user_agent: str) -> bytes:
    """A minimal ``HEAD`` request that asks the server to close the connection after it."""
    if not _ORIGIN_FORM.fullmatch(path):
        raise WireError(f"HTTP path {path!r} must start with '/' and hold no spaces or "
                        "control characters")
    if not _HOST.fullmatch(host):
        raise WireError(f"HTTP Host {host!r} is not a host name, IP address or host:port")
    if not user_agent.isprintable() or not user_agent.isascii():
        raise WireError("HTTP User-Agent must be printable ASCII")
    return (f"HEAD {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n").encode("ascii")


def read_status_line(received: bytes) -> HttpStatusLine | None:
    """The status line at the start of ``received``; None while more bytes are needed.

    Raises WireError as soon as the bytes cannot be the start of an HTTP/1.x response, so
    a caller never waits for a status line that cannot come.
    """
    head = received[:len(_PREFIX)]
    if head != _PREFIX[:len(head)]:
        raise WireError("not an HTTP response")
    end = received.find(b"\n", 0, MAX_STATUS_LINE)
    if end < 0:
        if len(received) >= MAX_STATUS_LINE:
            raise WireError(f"HTTP status line longer than {MAX_STATUS_LINE} bytes")
        return None
    line = received[:end].removesuffix(b"\r")
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        raise WireError("malformed HTTP status line")
    major, minor, status, reason = match.groups()
    if major != b"1":
        raise WireError(f"unsupported HTTP version {major.decode()}.{minor.decode()}")
    return HttpStatusLine(
        version=f"{major.decode()}.{minor.decode()}",
        status=int(status),
        reason=(reason or b"").decode("latin-1").strip(),
    )
