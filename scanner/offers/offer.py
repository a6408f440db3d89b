"""What the client offers in one handshake: pure data, recorded next to its result."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from scanner.offers.credential import ClientCredential


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
    #: OpenSSL sigalgs list ("ECDSA+SHA256:RSA-PSS+SHA256"), e.g. to reach an RSA certificate
    #: on a server that holds both; None keeps OpenSSL's default.
    signature_algorithms: str | None = None
    #: OpenSSL groups list ("X25519:P-256"); None keeps OpenSSL's default (hybrid PQ first).
    groups: str | None = None
    client_credential: ClientCredential | None = None

    @classmethod
    def only(cls, version: TLSVersion, **kwargs: object) -> ClientOffer:
        return cls(min_version=version, max_version=version, **kwargs)  # type: ignore[arg-type]

    def context_key(self) -> tuple[object, ...]:
        """Offers that share an OpenSSL context (SNI and ALPN are set per connection)."""
        credential = self.client_credential.fingerprint if self.client_credential else None
        return (self.min_version, self.max_version, self.cipher_list, self.tls13_ciphersuites,
                self.session_tickets, self.signature_algorithms, self.groups, credential)
