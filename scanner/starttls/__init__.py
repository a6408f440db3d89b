"""Sans-IO plaintext preambles before TLS (STARTTLS and database SSL requests), and the
harmless protocol request each protocol answers after the handshake.

Pure like ``wire``: bytes in, bytes out, typed ``PreambleError``s quoting (bounded) what
the server sent. The engine drives a ``Preamble`` before every connection of a target whose
``protocol`` is not ``tls``; the enforcement probe drives a ``Check`` after the handshake.
"""

from __future__ import annotations

from collections.abc import Callable

from scanner.starttls.capabilities import FtpCheck, ImapCheck, Pop3Check, XmppCheck
from scanner.starttls.errors import (
    ClosedEarly,
    NotTheProtocol,
    PreambleError,
    StartTlsRefused,
    TooLong,
    quote,
)
from scanner.starttls.ldap import LdapCheck, LdapPreamble
from scanner.starttls.lines import (
    FtpPreamble,
    ImapPreamble,
    Pop3Preamble,
    SmtpCheck,
    SmtpPreamble,
)
from scanner.starttls.machine import (
    MAX_PREAMBLE_BYTES,
    Answer,
    AnswerKind,
    Check,
    Preamble,
)
from scanner.starttls.mysql import MySqlCheck, MySqlPreamble
from scanner.starttls.postgres import PostgresCheck, PostgresPreamble
from scanner.starttls.xmpp import XmppPreamble

__all__ = [
    "AUTO", "MAX_PREAMBLE_BYTES", "PROTOCOLS", "TLS", "WELL_KNOWN_PORTS", "Answer",
    "AnswerKind", "Check", "ClosedEarly", "NotTheProtocol", "Preamble", "PreambleError",
    "StartTlsRefused", "TooLong", "check_for", "preamble_for", "protocol_for_port", "quote",
]

#: Direct TLS from the first byte: no preamble.
TLS = "tls"
#: Take the protocol from the port (``WELL_KNOWN_PORTS``), else direct TLS.
AUTO = "auto"

_PREAMBLES: dict[str, Callable[[str], Preamble]] = {
    "postgres": lambda _domain: PostgresPreamble(),
    "mysql": lambda _domain: MySqlPreamble(),
    "ldap": lambda _domain: LdapPreamble(),
    "smtp": lambda _domain: SmtpPreamble(),
    "imap": lambda _domain: ImapPreamble(),
    "pop3": lambda _domain: Pop3Preamble(),
    "ftp": lambda _domain: FtpPreamble(),
    "xmpp": XmppPreamble,
}
#: Every protocol name the inventory and ``--starttls`` take, ``tls`` first.
PROTOCOLS: tuple[str, ...] = (TLS, *_PREAMBLES)

_CHECKS: dict[str, Callable[[str], Check]] = {
    "postgres": lambda _domain: PostgresCheck(), "mysql": lambda _domain: MySqlCheck(),
    "ldap": lambda _domain: LdapCheck(), "smtp": lambda _domain: SmtpCheck(),
    "imap": lambda _domain: ImapCheck(), "pop3": lambda _domain: Pop3Check(),
    "ftp": lambda _domain: FtpCheck(), "xmpp": XmppCheck,
}

#: IANA service ports whose plaintext protocol upgrades to TLS (``protocol: auto``).
WELL_KNOWN_PORTS: dict[int, str] = {
    5432: "postgres", 3306: "mysql", 389: "ldap", 25: "smtp", 587: "smtp", 143: "imap",
    110: "pop3", 21: "ftp", 5222: "xmpp",
}


def protocol_for_port(port: int) -> str:
    return WELL_KNOWN_PORTS.get(port, TLS)


def preamble_for(protocol: str, domain: str) -> Preamble | None:
    """A fresh preamble (one per connection), None for direct TLS. ``domain`` is what XMPP
    names in its stream header (the SNI, else the host)."""
    if protocol == TLS:
        return None
    return _PREAMBLES[protocol](domain)


def check_for(protocol: str, domain: str = "") -> Check | None:
    """The protocol's post-handshake request, None where there is no cheap and safe one.
    ``domain`` is what XMPP's restarted stream names (as in ``preamble_for``)."""
    factory = _CHECKS.get(protocol)
    return factory(domain) if factory is not None else None
