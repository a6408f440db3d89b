"""The shape every preamble and post-handshake check shares: bytes in, bytes out.

A ``Preamble`` is driven by the engine: send ``start()``, then feed each chunk received to
``feed`` and send what it returns, until ``done``; at end of stream call ``closed()``, which
raises. A ``Check`` runs after the TLS handshake: send ``request()``, feed what comes back
until it returns an ``Answer``. Neither does I/O, so both are tested and fuzzed with bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from scanner.starttls.errors import ClosedEarly, NotTheProtocol, TooLong, quote

#: No preamble needs more than this from the server (XMPP stream features are the largest).
MAX_PREAMBLE_BYTES = 64 * 1024


class Preamble(ABC):
    """One protocol's plaintext steps up to the point where the TLS ClientHello goes out."""

    protocol: str = ""

    def __init__(self) -> None:
        self.done = False
        self.received = bytearray()  # everything the server sent, for quoting

    def start(self) -> bytes:
        """What the client sends before reading anything (empty when the server speaks first)."""
        return b""

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the server; return bytes to send. Raises a ``PreambleError``."""
        if self.done:
            raise NotTheProtocol(
                f"{self.protocol}: the server sent {quote(data)} after agreeing to start TLS")
        self.received += data
        if len(self.received) > MAX_PREAMBLE_BYTES:
            raise TooLong(f"{self.protocol}: over {MAX_PREAMBLE_BYTES} bytes without "
                          f"finishing the preamble: {quote(bytes(self.received))}")
        return self._advance()

    def closed(self) -> None:
        """The server closed the connection: always an error before ``done``."""
        raise ClosedEarly(f"{self.protocol}: the server closed the connection before TLS "
                          f"started; it sent {quote(bytes(self.received))}")

    @abstractmethod
    def _advance(self) -> bytes:
        """Consume what ``received`` now holds; return what to send next."""


class AnswerKind(StrEnum):
    """How the application answered a connection the TLS layer accepted."""

    #: It went on to authentication or a session (the certificate was not refused).
    proceeds = "proceeds"
    #: It refused, naming the client certificate.
    certificate_rejected = "certificate_rejected"
    #: It refused for another reason (unknown user, policy), quoted.
    refused = "refused"


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    summary: str  # what the server said, bounded


class Check(ABC):
    """A harmless protocol request after the handshake and the server's answer to it."""

    protocol: str = ""
    #: What is sent, for the record (never credentials).
    description: str = ""

    def __init__(self) -> None:
        self.received = bytearray()

    @abstractmethod
    def request(self) -> bytes: ...

    def feed(self, data: bytes) -> Answer | None:
        """Bytes from the server; an ``Answer`` once there is one, else None (read more)."""
        self.received += data
        if len(self.received) > MAX_PREAMBLE_BYTES:
            raise TooLong(f"{self.protocol}: over {MAX_PREAMBLE_BYTES} bytes without an "
                          f"answer: {quote(bytes(self.received))}")
        return self._answer()

    @abstractmethod
    def _answer(self) -> Answer | None: ...


def mentions_certificate(text: str) -> bool:
    lowered = text.lower()
    return "certificate" in lowered or "x509" in lowered
