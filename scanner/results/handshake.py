"""One TLS handshake as the record reports it: the offer, the transcript, the outcome."""

from typing import Literal

from pydantic import Field

from scanner.results.common import ErrorInfo, Model


class Offer(Model):
    """What the client offered in one handshake, recorded so every result is reproducible."""

    min_version: str
    max_version: str
    cipher_list: str
    tls13_ciphersuites: str | None = None
    alpn: list[str] = Field(default_factory=list)
    sni: str | None = None
    client_certificate: str | None = Field(
        default=None, description="Subject of the certificate presented, if any."
    )


class TranscriptEntry(Model):
    direction: Literal["sent", "received"]
    type: str = Field(description="Handshake message or alert name, e.g. certificate_request.")
    length: int
    after_handshake: bool = False
    parse_error: str | None = None


class HandshakeReport(Model):
    """One TLS handshake as it happened on the wire."""

    offer: Offer
    completed: bool
    version: str | None = None
    cipher: str | None = None
    group: str | None = None
    alpn: str | None = None
    alert_received: str | None = None
    alert_received_after_handshake: bool = False
    alert_sent: str | None = None
    error: ErrorInfo | None = None
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    transcript_truncated: bool = Field(
        default=False, description="The server sent more than the capture keeps (1 MiB or "
        "256 messages per connection); later messages are missing from the transcript.")
    duration_ms: int
