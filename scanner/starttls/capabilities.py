"""What IMAP, POP3, FTP and XMPP answer right after TLS: each asks the server to list what
it offers (capabilities, features), which needs no account and logs nothing in.

These servers check a client certificate, if at all, at login; the answer still tells
whether the session goes on after TLS and whether certificate login (SASL ``EXTERNAL``) is
offered, which the summary names first.
"""

from __future__ import annotations

import re
from abc import abstractmethod

from scanner.starttls.errors import NotTheProtocol, quote
from scanner.starttls.lines import SmtpReply, take_lines
from scanner.starttls.machine import Answer, AnswerKind, Check, mentions_certificate
from scanner.starttls.xmpp import stream_header

_EXTERNAL = "EXTERNAL"


def _refusal(said: str) -> Answer:
    kind = AnswerKind.certificate_rejected if mentions_certificate(said) else AnswerKind.refused
    return Answer(kind, said)


_LISTED_CHARS = 160


def listing(words: list[str], empty: str) -> str:
    """Words the server listed, printable and bounded (they are quoted in the record)."""
    text = " ".join(words)
    text = "".join(char if char.isprintable() else "?" for char in text)
    if len(text) > _LISTED_CHARS:
        text = text[:_LISTED_CHARS] + "..."
    return text or empty


def offered(mechanisms: list[str], extra: str = "") -> str:
    """The facts a summary leads with: the SASL mechanisms and certificate login."""
    listed = listing(mechanisms, "none listed")
    certificate = "; certificate login (SASL EXTERNAL) offered" \
        if _EXTERNAL in (m.upper() for m in mechanisms) else ""
    return f"SASL {listed}{certificate}{extra}"


class _LineCheck(Check):
    def __init__(self) -> None:
        super().__init__()
        self.pending = bytearray()

    def feed(self, data: bytes) -> Answer | None:
        self.pending += data
        return super().feed(data)

    def _answer(self) -> Answer | None:
        for line in take_lines(self.pending, self.protocol):
            answer = self.line(line)
            if answer is not None:
                return answer
        return None

    @abstractmethod
    def line(self, line: str) -> Answer | None: ...


class ImapCheck(_LineCheck):
    """``CAPABILITY`` (RFC 9051 6.1.1): the ``AUTH=`` mechanisms and ``LOGINDISABLED``."""

    protocol = "imap"
    description = "IMAP A2 CAPABILITY"
    _TAG = "A2"

    def __init__(self) -> None:
        super().__init__()
        self.capabilities: list[str] = []

    def request(self) -> bytes:
        return f"{self._TAG} CAPABILITY\r\n".encode()

    def line(self, line: str) -> Answer | None:
        words = line.split()
        if len(words) > 1 and words[0] == "*" and words[1].upper() == "CAPABILITY":
            self.capabilities.extend(words[2:])
            return None
        if len(words) > 1 and words[0] == "*" and words[1].upper() == "BYE":
            return _refusal(quote(line.encode()))
        if words[:1] == ["*"]:
            return None
        if words[:1] != [self._TAG] or len(words) < 2:
            raise NotTheProtocol(f"imap: not an answer to CAPABILITY: {quote(line.encode())}")
        if words[1].upper() != "OK":
            return _refusal(quote(line.encode()))
        mechanisms = [c[5:] for c in self.capabilities if c.upper().startswith("AUTH=")]
        disabled = any(c.upper() == "LOGINDISABLED" for c in self.capabilities)
        return Answer(AnswerKind.proceeds, offered(
            mechanisms, "; LOGINDISABLED" if disabled else "") + f": {quote(line.encode())}")


class Pop3Check(_LineCheck):
    """``CAPA`` (RFC 2449 5): its ``SASL`` line."""

    protocol = "pop3"
    description = "POP3 CAPA"

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None
        self.mechanisms: list[str] = []

    def request(self) -> bytes:
        return b"CAPA\r\n"

    def line(self, line: str) -> Answer | None:
        if self.status is None:
            if line.startswith("-ERR"):
                return _refusal(quote(line.encode()))
            if not line.startswith("+OK"):
                raise NotTheProtocol(f"pop3: not an answer to CAPA: {quote(line.encode())}")
            self.status = line
            return None
        if line == ".":
            return Answer(AnswerKind.proceeds,
                          f"{offered(self.mechanisms)}: {quote(self.status.encode())}")
        words = line.split()
        if words[:1] and words[0].upper() == "SASL":
            self.mechanisms.extend(words[1:])
        return None


class FtpCheck(_LineCheck):
    """``FEAT`` (RFC 2389 3): the features the server lists inside TLS."""

    protocol = "ftp"
    description = "FTP FEAT"

    def __init__(self) -> None:
        super().__init__()
        self.reply = SmtpReply(self.protocol)

    def request(self) -> bytes:
        return b"FEAT\r\n"

    def line(self, line: str) -> Answer | None:
        # RFC 2389: feature lines inside a 211 reply start with a space, not the code.
        if self.reply.lines and line[:4] != f"{self.reply.lines[0][:3]} ":
            self.reply.lines.append(line)
            return None
        if not self.reply.add(line):
            return None
        said = f"{self.reply.code}: {self.reply.quoted()}"
        if self.reply.code != 211:
            return _refusal(said)
        features = [entry.strip() for entry in self.reply.lines[1:-1] if entry.strip()]
        return Answer(AnswerKind.proceeds, f"features {listing(features, 'none')}")


_FEATURES_END = re.compile(rb"</(?:stream:)?features\s*>|<(?:stream:)?features\s*/>")
_STREAM_ERROR = re.compile(rb"<(?:stream:)?error\b")
_STREAM_ERROR_END = re.compile(rb"</(?:stream:)?error\s*>|<(?:stream:)?error\s*/>")
_MECHANISM = re.compile(rb"<mechanism>\s*([^<\s]{1,64})\s*</mechanism>")


class XmppCheck(Check):
    """The stream restart after TLS (RFC 6120 5.4.3.3) and the features it offers: the
    SASL mechanisms (``EXTERNAL`` = certificate login, RFC 6120 6.3.4 / XEP-0178)."""

    protocol = "xmpp"
    description = "XMPP stream restart (stream header, read the stream features)"

    def __init__(self, domain: str) -> None:
        super().__init__()
        self.domain = domain

    def request(self) -> bytes:
        return stream_header(self.domain)

    def _answer(self) -> Answer | None:
        data = bytes(self.received)
        error = _STREAM_ERROR.search(data)
        if error is not None:
            end = _STREAM_ERROR_END.search(data, error.start())
            # The whole error element, so the condition it names is quoted.
            return _refusal(f"stream error: {quote(data[error.start():end.end()])}") \
                if end is not None else None
        end = _FEATURES_END.search(data)
        if end is None:
            if len(data) >= 64 and b"stream" not in data:
                raise NotTheProtocol(f"xmpp: no stream header: {quote(data)}")
            return None
        mechanisms = [m.decode("ascii", "replace")
                      for m in _MECHANISM.findall(data, 0, end.end())]
        return Answer(AnswerKind.proceeds, offered(mechanisms))
