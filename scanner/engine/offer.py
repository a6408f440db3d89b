"""What the client offers in one handshake, and the OpenSSL context that offers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from OpenSSL import SSL

from scanner.engine import capture


class TLSVersion(IntEnum):
    """Protocol versions by wire code point; names match the record's strings."""

    SSLv3 = 0x0300
    TLSv1_0 = 0x0301
    TLSv1_1 = 0x0302
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304

    @property
    def label(self) -> str:
        return self.name.replace("_", ".")


# Offer everything this OpenSSL can still do: a scanner must talk to weak servers too.
ALL_CIPHERS = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"


@dataclass(frozen=True)
class ClientOffer:
    """The client side of one probe handshake; recorded next to its result."""

    min_version: TLSVersion = TLSVersion.TLSv1_0
    max_version: TLSVersion = TLSVersion.TLSv1_3
    cipher_list: str = ALL_CIPHERS
    tls13_ciphersuites: str | None = None
    alpn: tuple[str, ...] = ()
    sni: str | None = None
    request_ocsp: bool = False
    session_tickets: bool = True

    @classmethod
    def only(cls, version: TLSVersion, **kwargs: object) -> ClientOffer:
        return cls(min_version=version, max_version=version, **kwargs)  # type: ignore[arg-type]

    def context_key(self) -> tuple[object, ...]:
        """Offers that share an OpenSSL context (SNI is set per connection)."""
        return (self.min_version, self.max_version, self.cipher_list, self.tls13_ciphersuites,
                self.alpn, self.session_tickets)


KeylogWriter = Callable[[bytes], None]


class ContextFactory:
    """Builds and caches one client ``SSL.Context`` per distinct offer.

    Creating a context costs far more than a connection, so probes that repeat an offer
    across many targets share one.
    """

    def __init__(self, keylog: KeylogWriter | None = None) -> None:
        self._keylog = keylog
        self._cache: dict[tuple[object, ...], SSL.Context] = {}

    def context_for(self, offer: ClientOffer) -> SSL.Context:
        key = offer.context_key()
        context = self._cache.get(key)
        if context is None:
            context = self._build(offer)
            self._cache[key] = context
        return context

    def _build(self, offer: ClientOffer) -> SSL.Context:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(int(offer.min_version))
        context.set_max_proto_version(int(offer.max_version))
        context.set_cipher_list(offer.cipher_list.encode())
        if offer.tls13_ciphersuites is not None:
            context.set_tls13_ciphersuites(offer.tls13_ciphersuites.encode())
        if offer.alpn:
            context.set_alpn_protos([p.encode() for p in offer.alpn])
        options = SSL.OP_NO_COMPRESSION | SSL.OP_LEGACY_SERVER_CONNECT
        if not offer.session_tickets:
            options |= SSL.OP_NO_TICKET
        context.set_options(options)
        # We observe the server's certificate; judging it is the certificate probe's job.
        context.set_verify(SSL.VERIFY_NONE, None)
        if self._keylog is not None:
            write = self._keylog
            context.set_keylog_callback(lambda _conn, line: write(line + b"\n"))
        capture.install(context)
        return context
