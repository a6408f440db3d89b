"""XMPP: open a client stream, find ``<starttls/>`` among the stream features, ask, and wait
for ``<proceed/>`` (RFC 6120 5.4). Matched as text, bounded: the preamble needs no XML tree."""

from __future__ import annotations

import re

from scanner.starttls.errors import NotTheProtocol, StartTlsRefused, quote
from scanner.starttls.machine import Preamble

_NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
_FEATURES_END = re.compile(rb"</(?:stream:)?features\s*>|<(?:stream:)?features\s*/>")
_STARTTLS = re.compile(rb"<starttls\b")
_STREAM_ERROR = re.compile(rb"<(?:stream:)?error\b")
_PROCEED = re.compile(rb"<proceed\b[^>]*/?>")
_FAILURE = re.compile(rb"<failure\b")
_STREAM_OPEN = re.compile(rb"<(?:stream:)?stream\b")


def stream_header(domain: str) -> bytes:
    escaped = domain.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;")
    return (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            f"xmlns:stream='http://etherx.jabber.org/streams' to='{escaped}' "
            f"version='1.0'>").encode()


class XmppPreamble(Preamble):
    protocol = "xmpp"

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.domain = domain
        self.asked_at: int | None = None

    def start(self) -> bytes:
        return stream_header(self.domain)

    def _advance(self) -> bytes:
        data = bytes(self.received)
        if self.asked_at is None:
            if len(data) >= 64 and not _STREAM_OPEN.search(data):
                raise NotTheProtocol(f"xmpp: no stream header: {quote(data)}")
            if _STREAM_ERROR.search(data):
                raise StartTlsRefused(f"xmpp: the server sent a stream error: {quote(data)}")
            end = _FEATURES_END.search(data)
            if end is None:
                return b""
            if not _STARTTLS.search(data, 0, end.end()):
                raise StartTlsRefused(f"xmpp: the stream features do not offer STARTTLS: "
                                      f"{quote(data)}")
            self.asked_at = end.end()
            if len(data) > self.asked_at:
                raise NotTheProtocol(f"xmpp: data after the stream features: {quote(data)}")
            return f"<starttls xmlns='{_NS_TLS}'/>".encode()
        answer = data[self.asked_at:]
        if _FAILURE.search(answer):
            raise StartTlsRefused(f"xmpp: STARTTLS failed: {quote(answer)}")
        proceed = _PROCEED.search(answer)
        if proceed is None:
            if _STREAM_ERROR.search(answer):
                raise StartTlsRefused(f"xmpp: the server sent a stream error: {quote(answer)}")
            return b""
        if proceed.end() != len(answer):
            raise NotTheProtocol(f"xmpp: data after <proceed/>: {quote(answer)}")
        self.done = True
        return b""
