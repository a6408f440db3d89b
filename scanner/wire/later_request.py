"""A CertificateRequest the server sent after the handshake, and how it got there.

Servers that protect only some paths (Apache ``SSLVerifyClient require`` in a ``<Location>``)
ask for a client certificate once the request names one: in TLS 1.2 and older by starting a
new handshake (HelloRequest, then a second ServerHello whose CertificateRequest is the real
one; RFC 5246 7.4.1.1), in TLS 1.3 with a CertificateRequest after the handshake, sent only
to clients that offered ``post_handshake_auth`` (RFC 8446 4.6.2). Either one is parsed as it
is captured, like the handshake's own; this reads it back out of the transcript.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from .certificate_request import CertificateRequest
from .registry import HandshakeType, TLSVersion
from .transcript import TranscriptMessage

__all__ = ["LaterCertificateRequest", "LaterMechanism", "later_certificate_request"]

LaterMechanism = Literal["renegotiation", "post_handshake_auth"]


@dataclass(frozen=True)
class LaterCertificateRequest:
    """The first CertificateRequest received after the handshake, parsed or not."""

    mechanism: LaterMechanism
    message: TranscriptMessage
    #: The server started the renegotiation itself (HelloRequest) rather than answering ours.
    hello_request: bool

    @property
    def request(self) -> CertificateRequest | None:
        """The parsed request; None when it did not parse (``message.parse_error`` says why)."""
        handshake = self.message.handshake
        if handshake is not None and isinstance(handshake.parsed, CertificateRequest):
            return handshake.parsed
        return None


_RENEGOTIATION_STARTS = (HandshakeType.hello_request, HandshakeType.server_hello)


def later_certificate_request(messages: Iterable[TranscriptMessage], *,
                              version: int | None) -> LaterCertificateRequest | None:
    """The CertificateRequest received after the handshake, if any, with its mechanism.

    ``version`` is the version the handshake negotiated: a TLS 1.3 request after the
    handshake is post-handshake authentication; below 1.3 only a renegotiation can carry one.
    """
    hello_request = renegotiating = False
    for message in messages:
        if message.direction != "received" or not message.after_handshake:
            continue
        if message.msg_type == HandshakeType.hello_request:
            hello_request = True
        if message.msg_type in _RENEGOTIATION_STARTS:
            renegotiating = True
        if message.msg_type == HandshakeType.certificate_request:
            tls13 = version is not None and version >= TLSVersion.TLSv1_3 and not renegotiating
            return LaterCertificateRequest(
                "post_handshake_auth" if tls13 else "renegotiation", message, hello_request)
    return None
