"""The certificate facet: the chains the server sends, judged (order, trust, host name)."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from scanner.results.common import Model, presented_field
from scanner.results.handshake import HandshakeReport


class CertificateInfo(Model):
    """One X.509 certificate as the server sent it."""

    subject: str = Field(description="RFC 4514 string.")
    issuer: str = Field(description="RFC 4514 string.")
    serial: str = Field(description="Serial number in lowercase hex (no 0x, no colons).")
    subject_alt_names: list[str] = Field(
        default_factory=list,
        description="Typed entries: DNS:name, IP:address, URI:uri, email:address, DirName:dn.")
    not_before: datetime
    not_after: datetime
    days_left: int = Field(
        description="Whole days from the scan until not_after (negative once expired).")
    key_type: str = Field(description="RSA, EC, Ed25519, Ed448 or DSA.")
    key_size: int = Field(description="Bits: RSA/DSA modulus, EC curve size.")
    curve: str | None = Field(default=None, description="EC curve name, e.g. secp256r1.")
    signature_algorithm: str = Field(description="E.g. ecdsa-with-SHA256, sha256WithRSAEncryption.")
    sha256: str = Field(description="SHA-256 fingerprint of the DER, lowercase hex.")
    must_staple: bool = Field(
        description="Carries the TLS Feature extension with status_request (RFC 7633).")
    is_ca: bool
    self_signed: bool


class UnparsedCertificate(Model):
    index: int = Field(description="Position in the chain as sent (0 = leaf).")
    sha256: str
    error: str


class ChainOrder(Model):
    correct: bool = Field(description="Each certificate is issued by the next one sent.")
    issues: list[str] = Field(default_factory=list)
    includes_root: bool = Field(description="The last certificate sent is self-signed.")


class ValidationErrorKind(StrEnum):
    expired = "expired"
    not_yet_valid = "not_yet_valid"
    self_signed = "self_signed"
    untrusted_root = "untrusted_root"
    unknown_issuer = "unknown_issuer"
    invalid = "invalid"
    no_trust_anchors = "no_trust_anchors"


class PathValidation(Model):
    """Path validation (RFC 5280 / CA/Browser Forum rules, as cryptography implements them)."""

    trusted: bool
    trust_store: str = Field(description="system (<file>) or the --ca-bundle / ca_bundle path.")
    error_kind: ValidationErrorKind | None = None
    error: str | None = None
    path: list[str] = Field(
        default_factory=list, description="Subjects from the leaf to the trust anchor, if trusted.")


class CertificateChain(Model):
    """One certificate chain the server sends; one entry per distinct leaf."""

    found_by: list[str] = Field(
        description="Lookups that got this leaf: default, ecdsa, rsa (see lookups).")
    version: str | None = Field(default=None, description="TLS version of the first such lookup.")
    sent: int = Field(description="Certificates the server sent in this chain.")
    certificates: list[CertificateInfo] = Field(
        description="As sent, leaf first; at most the first 10 are examined.")
    unparsed: list[UnparsedCertificate] = Field(default_factory=list)
    order: ChainOrder
    validation: PathValidation
    hostname: str = Field(description="The name checked: the SNI, or the host when no SNI.")
    hostname_matches: bool = Field(
        description="RFC 6125 against subjectAltName only (the CN is not used).")


class CertificateLookup(Model):
    """One handshake made to find the server's certificates."""

    name: Literal["default", "ecdsa", "rsa"]
    signature_algorithms: str | None = Field(
        default=None, description="OpenSSL sigalgs list offered; null: OpenSSL's default.")
    leaf_sha256: str | None = None
    handshake: HandshakeReport


class CertificateFacet(Model):
    trusted: bool | None = Field(default=None, description="Every chain found validates.")
    hostname_matches: bool | None = Field(default=None, description="Every leaf matches.")
    days_left: int | None = Field(default=None, description="Fewest days left of any leaf.")
    chains: list[CertificateChain] = Field(default_factory=list)
    lookups: list[CertificateLookup] = Field(default_factory=list)
    client_certificate_presented: bool | None = presented_field()
