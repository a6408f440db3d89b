"""What the client offers in one handshake, and the OpenSSL context that offers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from OpenSSL import SSL
from OpenSSL._util import lib

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


ClientKey = (rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
             | ed448.Ed448PrivateKey | dsa.DSAPrivateKey)


@dataclass(frozen=True, eq=False)
class ClientCredential:
    """A client certificate and its key, held in memory only; named by subject and digest."""

    certificate: x509.Certificate
    key: ClientKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    def __repr__(self) -> str:  # never let a key reach a log line
        return f"ClientCredential(subject={self.subject!r}, sha256={self.fingerprint[:16]}...)"


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
        if offer.signature_algorithms and not lib.SSL_CTX_set1_sigalgs_list(
                context._context, offer.signature_algorithms.encode()):
            raise ValueError(f"OpenSSL rejects signature algorithms {offer.signature_algorithms!r}")
        if offer.groups and not lib.SSL_CTX_set1_curves_list(
                context._context, offer.groups.encode()):
            raise ValueError(f"OpenSSL rejects groups {offer.groups!r}")
        if offer.client_credential is not None:
            credential = offer.client_credential
            context.use_certificate(credential.certificate)
            context.use_privatekey(credential.key)
            for extra in credential.chain:
                context.add_extra_chain_cert(extra)
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
