"""The line-based STARTTLS protocols: SMTP (RFC 3207), IMAP (RFC 9051 6.2.1), POP3 (RFC 2595
4) and FTP (RFC 4217 4). Each reads whole lines and moves one step per complete reply."""

from __future__ import annotations

from abc import abstractmethod

from scanner.starttls.errors import NotTheProtocol, StartTlsRefused, TooLong, quote
from scanner.starttls.machine import Answer, AnswerKind, Check, Preamble, mentions_certificate

MAX_LINE = 4096
CLIENT_NAME = "mtlsweep.invalid"  # RFC 2606: names nothing, so an EHLO reveals nothing


def take_lines(buffer: bytearray, protocol: str) -> list[str]:
    """Complete lines removed from the front of ``buffer`` (CRLF or LF), decoded."""
    lines: list[str] = []
    while True:
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_LINE:
                raise TooLong(f"{protocol}: a line over {MAX_LINE} bytes: {quote(bytes(buffer))}")
            return lines
        raw = bytes(buffer[:end]).rstrip(b"\r")
        del buffer[:end + 1]
        lines.append(raw.decode("utf-8", "replace"))


class _LinePreamble(Preamble):
    def __init__(self) -> None:
        super().__init__()
        self.pending = bytearray()
        self.step = 0

    def feed(self, data: bytes) -> bytes:
        self.pending += data  # the lines still to read; ``received`` keeps all for quoting
        return super().feed(data)

    def _advance(self) -> bytes:
        out = b""
        for line in take_lines(self.pending, self.protocol):
            if self.done:
                raise NotTheProtocol(f"{self.protocol}: the server sent {quote(line.encode())} "
                                     "after agreeing to start TLS")
            out += self.line(line)
        return out

    @abstractmethod
    def line(self, line: str) -> bytes: ...


class SmtpReply:
    """Collects one (possibly multi-line) SMTP/FTP reply: ``250-...`` continued, ``250 ...``."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.lines: list[str] = []

    def add(self, line: str) -> bool:
        """True once the reply is complete."""
        if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
            raise NotTheProtocol(f"{self.protocol}: not a reply line: {quote(line.encode())}")
        if self.lines and line[:3] != self.lines[0][:3]:
            raise NotTheProtocol(f"{self.protocol}: reply code changed mid-reply: "
                                 f"{quote(line.encode())}")
        self.lines.append(line)
        return len(line) == 3 or line[3] == " "

    @property
    def code(self) -> int:
        return int(self.lines[0][:3])

    def quoted(self) -> str:
        return quote(" / ".join(self.lines).encode())


class _ReplyPreamble(_LinePreamble):
    """A protocol of numbered replies (SMTP, FTP): each step acts on one whole reply."""

    def __init__(self) -> None:
        super().__init__()
        self.reply = SmtpReply(self.protocol)

    def line(self, line: str) -> bytes:
        if not self.continues_reply(line) and self.reply.add(line):
            reply, self.reply = self.reply, SmtpReply(self.protocol)
            return self.on_reply(reply)
        return b""

    def continues_reply(self, line: str) -> bool:
        """True if ``line`` was taken as free text inside the reply being read."""
        return False

    @abstractmethod
    def on_reply(self, reply: SmtpReply) -> bytes: ...


class SmtpPreamble(_ReplyPreamble):
    """Greeting 220, EHLO, STARTTLS among the extensions, STARTTLS, 220."""

    protocol = "smtp"

    def on_reply(self, reply: SmtpReply) -> bytes:
        if self.step == 0:
            self.step = 1
            if reply.code != 220:
                raise StartTlsRefused(f"smtp: the greeting is not 220: {reply.quoted()}")
            return f"EHLO {CLIENT_NAME}\r\n".encode()
        if self.step == 1:
            self.step = 2
            if reply.code != 250:
                raise StartTlsRefused(f"smtp: EHLO was refused: {reply.quoted()}")
            keywords = {line[4:].split(" ")[0].upper() for line in reply.lines[1:]}
            if "STARTTLS" not in keywords:
                raise StartTlsRefused(f"smtp: the server does not offer STARTTLS; EHLO "
                                      f"answered {reply.quoted()}")
            return b"STARTTLS\r\n"
        if reply.code != 220:
            raise StartTlsRefused(f"smtp: STARTTLS was refused: {reply.quoted()}")
        self.done = True
        return b""


class FtpPreamble(_ReplyPreamble):
    """Greeting 220, AUTH TLS, 234."""

    protocol = "ftp"

    def continues_reply(self, line: str) -> bool:
        # RFC 959 4.2: continuation lines of a multi-line reply need not start with the code.
        if self.reply.lines and line[:4] != f"{self.reply.lines[0][:3]} ":
            self.reply.lines.append(line)
            return True
        return False

    def on_reply(self, reply: SmtpReply) -> bytes:
        if self.step == 0:
            self.step = 1
            if reply.code != 220:
                raise StartTlsRefused(f"ftp: the greeting is not 220: {reply.quoted()}")
            return b"AUTH TLS\r\n"
        if reply.code != 234:
            raise StartTlsRefused(f"ftp: AUTH TLS was refused: {reply.quoted()}")
        self.done = True
        return b""


class ImapPreamble(_LinePreamble):
    """Greeting ``* OK``, ``A1 STARTTLS``, ``A1 OK`` (untagged lines in between skipped)."""

    protocol = "imap"
    _TAG = "A1"

    def line(self, line: str) -> bytes:
        if self.step == 0:
            self.step = 1
            word = line.split(" ")[:2]
            if word[:1] != ["*"] or len(word) < 2:
                raise NotTheProtocol(f"imap: not an IMAP greeting: {quote(line.encode())}")
            if word[1].upper() != "OK":
                raise StartTlsRefused(f"imap: the greeting is not OK: {quote(line.encode())}")
            return f"{self._TAG} STARTTLS\r\n".encode()
        if line.startswith("* "):
            return b""
        tag, _, rest = line.partition(" ")
        if tag != self._TAG:
            raise NotTheProtocol(f"imap: unexpected line: {quote(line.encode())}")
        if not rest.upper().startswith("OK"):
            raise StartTlsRefused(f"imap: STARTTLS was refused: {quote(line.encode())}")
        self.done = True
        return b""


class Pop3Preamble(_LinePreamble):
    """Greeting ``+OK``, STLS, ``+OK``."""

    protocol = "pop3"

    def line(self, line: str) -> bytes:
        if not line.startswith(("+OK", "-ERR")):
            raise NotTheProtocol(f"pop3: not a POP3 reply: {quote(line.encode())}")
        ok = line.startswith("+OK")
        if self.step == 0:
            self.step = 1
            if not ok:
                raise StartTlsRefused(f"pop3: the greeting is not +OK: {quote(line.encode())}")
            return b"STLS\r\n"
        if not ok:
            raise StartTlsRefused(f"pop3: STLS was refused: {quote(line.encode())}")
        self.done = True
        return b""


class SmtpCheck(Check):
    """EHLO inside TLS: a relay that authenticates peers by certificate may refuse here."""

    protocol = "smtp"
    description = f"SMTP EHLO {CLIENT_NAME}"

    def __init__(self) -> None:
        super().__init__()
        self.pending = bytearray()
        self.reply = SmtpReply(self.protocol)

    def request(self) -> bytes:
        return f"EHLO {CLIENT_NAME}\r\n".encode()

    def feed(self, data: bytes) -> Answer | None:
        self.pending += data
        return super().feed(data)

    def _answer(self) -> Answer | None:
        for line in take_lines(self.pending, self.protocol):
            if self.reply.add(line):
                said = f"{self.reply.code}: {self.reply.quoted()}"
                if self.reply.code == 250:
                    return Answer(AnswerKind.proceeds, said)
                kind = AnswerKind.certificate_rejected if mentions_certificate(said) \
                    else AnswerKind.refused
                return Answer(kind, said)
        return None
