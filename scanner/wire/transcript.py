"""The parsed messages of one TLS connection, fed one captured message at a time.

A TLS library reports every handshake message and alert it sends or receives, TLS 1.3
encrypted ones included, as plaintext. Each is parsed once, when it is fed: the ServerHello
decides the negotiated version, and with it the layout of the messages that follow (a TLS 1.3
CertificateRequest is not a TLS 1.2 one). A message that does not parse is kept with the
reason, never dropped, so a report can still say what the peer sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, overload

from .alerts import Alert, parse_alert
from .errors import WireError
from .handshake import HandshakeMessage, parse_handshake_message
from .registry import HANDSHAKE_TYPES, ContentType, HandshakeType, name_for
from .server_hello import ServerHello

__all__ = ["Direction", "Transcript", "TranscriptMessage"]

Direction = Literal["sent", "received"]


@dataclass(frozen=True)
class TranscriptMessage:
    """One captured message, parsed; ``parse_error`` says why ``parsed`` is missing."""

    direction: Direction
    content_type: int
    length: int
    after_handshake: bool
    msg_type: int | None = None  # handshake type, known even when the body failed to parse
    handshake: HandshakeMessage | None = None
    alert: Alert | None = None
    parse_error: str | None = None

    @property
    def name(self) -> str:
        if self.handshake is not None:
            return self.handshake.name
        if self.msg_type is not None:
            return name_for(HANDSHAKE_TYPES, self.msg_type, width=2)
        if self.alert is not None:
            return f"alert:{self.alert.name}"
        return ("change_cipher_spec" if self.content_type == ContentType.change_cipher_spec
                else "unparsed")


class Transcript(Sequence[TranscriptMessage]):
    """The messages of one connection in the order they were captured, each parsed once.

    ``truncated`` is set by whoever feeds it when messages were left out (a peer flooding
    the connection); the messages kept are then a prefix of what was exchanged.
    """

    def __init__(self) -> None:
        self._messages: list[TranscriptMessage] = []
        #: The version the peer's ServerHello selected, once one was received.
        self.version: int | None = None
        self.truncated = False

    def feed(self, direction: Direction, content_type: int, version: int, data: bytes, *,
             after_handshake: bool = False) -> TranscriptMessage:
        """Parse and append one message; ``version`` is the record-layer version it came
        with, used for its layout until a ServerHello has selected one."""
        message = self._parse(direction, content_type, version, data, after_handshake)
        self._messages.append(message)
        return message

    def _parse(self, direction: Direction, content_type: int, version: int, data: bytes,
               after_handshake: bool) -> TranscriptMessage:
        handshake = content_type == ContentType.handshake
        msg_type = data[0] if handshake and data else None
        try:
            if handshake:
                parsed = parse_handshake_message(data, version=self.version or version)
                hello = parsed.parsed
                if isinstance(hello, ServerHello) and direction == "received":
                    self.version = hello.selected_version
                return TranscriptMessage(direction, content_type, len(data), after_handshake,
                                         msg_type, handshake=parsed)
            if content_type == ContentType.alert:
                return TranscriptMessage(direction, content_type, len(data), after_handshake,
                                         msg_type, alert=parse_alert(data))
            return TranscriptMessage(direction, content_type, len(data), after_handshake,
                                     msg_type)
        except WireError as exc:
            return TranscriptMessage(direction, content_type, len(data), after_handshake,
                                     msg_type, parse_error=str(exc))

    @overload
    def __getitem__(self, index: int) -> TranscriptMessage: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[TranscriptMessage]: ...

    def __getitem__(self, index: int | slice) -> TranscriptMessage | Sequence[TranscriptMessage]:
        return self._messages[index]

    def __len__(self) -> int:
        return len(self._messages)

    def received(self, msg_type: int) -> Iterator[HandshakeMessage]:
        """Handshake messages of one type the peer sent, in order."""
        for message in self._messages:
            if (message.direction == "received" and message.handshake is not None
                    and message.handshake.msg_type == msg_type):
                yield message.handshake

    @property
    def server_hello(self) -> ServerHello | None:
        """The first received ServerHello that is not a HelloRetryRequest."""
        for message in self.received(HandshakeType.server_hello):
            hello = message.parsed
            if isinstance(hello, ServerHello) and not hello.is_hello_retry_request:
                return hello
        return None

    def alerts(self, direction: Direction) -> list[TranscriptMessage]:
        """The alerts sent in one direction that parsed, in order."""
        return [m for m in self._messages if m.alert is not None and m.direction == direction]
