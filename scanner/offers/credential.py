"""The user's client certificate and key, held in memory only."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

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
