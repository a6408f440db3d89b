"""What the client offers in one handshake: pure data, recorded next to its result."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.offers.credential import ClientCredential
from scanner.wire import TLSVersion

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
    #: OpenSSL sigalgs list ("ECDSA+SHA256:RSA-PSS+SHA256"), e.g. to reach an RSA certificate
    #: on a server that holds both; None keeps OpenSSL's default.
    signature_algorithms: str | None = None
    #: OpenSSL groups list ("X25519:P-256"); None keeps OpenSSL's default (hybrid PQ first).
    groups: str | None = None
    client_credential: ClientCredential | None = None
    #: Offer TLS 1.3 post_handshake_auth, so a server that asks for a certificate only after
    #: the request names a protected path can (servers never ask clients that did not offer).
    post_handshake_auth: bool = False

    def context_key(self) -> tuple[object, ...]:
        """Offers that share an OpenSSL context (SNI and ALPN are set per connection)."""
        credential = self.client_credential.fingerprint if self.client_credential else None
        return (self.min_version, self.max_version, self.cipher_list, self.tls13_ciphersuites,
                self.session_tickets, self.signature_algorithms, self.groups, credential,
                self.post_handshake_auth)
