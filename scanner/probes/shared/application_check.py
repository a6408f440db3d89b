"""The protocol-level step of the enforcement probe for non-HTTP targets.

Where HTTPS targets get a ``HEAD`` request, a non-HTTP target gets its protocol's harmless
request (``scanner.starttls`` ``Check``: a StartupMessage for a fixed user, a password-less
login, an anonymous bind, EHLO, IMAP CAPABILITY, POP3 CAPA, FTP FEAT, an XMPP stream
restart) and the server's answer, which says whether the application refuses a connection
the TLS layer accepted (and, for the mail and chat protocols, whether it offers certificate
login).
"""

from __future__ import annotations

import contextlib

from scanner import starttls
from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import TLSConnection
from scanner.results import ApplicationOutcome, ApplicationOutcomeKind

Kind = ApplicationOutcomeKind


def check_description(protocol: str) -> str | None:
    """What the probe sends for ``protocol``, None where nothing is sent."""
    check = starttls.check_for(protocol)
    return check.description if check is not None else None


async def ask_application(tls: TLSConnection, protocol: str,
                          domain: str = "") -> ApplicationOutcome | None:
    """Send the protocol's request and read its answer (within the connection deadline);
    None when the protocol has no check (the probe then only waits for an alert).
    ``domain``: the name the preamble used (XMPP's stream header)."""
    check = starttls.check_for(protocol, domain)
    if check is None:
        return None

    def outcome(kind: Kind, received: str | None = None) -> ApplicationOutcome:
        return ApplicationOutcome(protocol=protocol, request=check.description, outcome=kind,
                                  received=received)

    with contextlib.suppress(ScanFailure):
        # A server that rejected us after the handshake may have closed already; what it
        # sent (an alert) is still read below.
        await tls.send(check.request())
    while True:
        try:
            data = await tls.receive()
        except ScanFailure:
            return outcome(Kind.closed, starttls.quote(bytes(check.received)))
        if data is None:
            return outcome(Kind.no_response, starttls.quote(bytes(check.received)))
        if not data:
            return outcome(Kind.closed, starttls.quote(bytes(check.received)))
        try:
            answer = check.feed(data)
        except starttls.PreambleError as error:
            return outcome(Kind.not_protocol, error.detail)
        if answer is not None:
            return outcome(Kind(answer.kind.value), answer.summary)
