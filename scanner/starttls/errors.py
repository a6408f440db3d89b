"""Typed preamble failures, each quoting (bounded) what the server sent."""

from __future__ import annotations

_QUOTE_CHARS = 120


def quote(data: bytes) -> str:
    """What came back, short and printable: text as text, anything else as hex."""
    if not data:
        return "nothing"
    text = data[:_QUOTE_CHARS].decode("latin-1")
    printable = all(char.isprintable() or char in "\r\n\t" for char in text)
    if printable:
        shown = " ".join(text.split())
        return repr(shown + ("..." if len(data) > _QUOTE_CHARS else ""))
    shown_hex = data[:32].hex()
    return f"hex:{shown_hex}{'...' if len(data) > 32 else ''}"


class PreambleError(Exception):
    """The plaintext step before TLS failed; ``detail`` says how and quotes the server."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StartTlsRefused(PreambleError):
    """The server speaks the protocol but will not start TLS (no STARTTLS offered, ``N`` to
    an SSLRequest, an error answer to the command)."""


class NotTheProtocol(PreambleError):
    """What came back is not the protocol's greeting or answer (wrong port or protocol)."""


class ClosedEarly(PreambleError):
    """The server closed the connection before TLS could start."""


class TooLong(NotTheProtocol):
    """The server sent more than a preamble can need without finishing it."""
