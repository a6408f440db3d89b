"""Throw-away certificate authorities and certificates, generated in memory.

Used by the lab listeners and by the enforcement probe, which presents certificates nobody
should trust (self-signed, from a fresh CA, from a CA that copies a trusted CA's name) and
expired ones issued by the user's own CA. Nothing here is ever written to disk.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scanner import wire

SigningKey = (ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
              | ed448.Ed448PrivateKey | dsa.DSAPrivateKey)
KeyType = Literal["ec", "rsa"]

_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: SigningKey = field(repr=False)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()


def name(common_name: str, organization: str | None = None,
         country: str | None = None) -> x509.Name:
    attributes = []
    if country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def name_from_der(der: bytes) -> x509.Name:
    """An ``x509.Name`` that encodes to ``der`` when its attributes allow (same OIDs, values
    and string types); raises ValueError (WireError) when the name cannot be rebuilt.

    Servers compare issuer names by their DER (GnuTLS, Go) or a canonical form (OpenSSL), so
    a look-alike CA must reproduce the string types too, not just the text.
    """
    rdns = []
    for rdn in wire.name_attributes(der):
        attributes = []
        for attribute in rdn:
            text = attribute.text
            if text is None or attribute.tag not in _STRING_TYPES:
                raise ValueError(f"attribute {attribute.oid} has a value that cannot be copied")
            attributes.append(x509.NameAttribute(
                x509.ObjectIdentifier(attribute.oid), text, _STRING_TYPES[attribute.tag],
                _validate=False))
        rdns.append(x509.RelativeDistinguishedName(attributes))
    return x509.Name(rdns)


_STRING_TYPES = {member.value: member for member in (
    _ASN1Type.UTF8String, _ASN1Type.NumericString, _ASN1Type.PrintableString,
    _ASN1Type.T61String, _ASN1Type.IA5String, _ASN1Type.VisibleString,
    _ASN1Type.UniversalString, _ASN1Type.BMPString)}


def generate_key(key_type: KeyType = "ec") -> SigningKey:
    """EC P-256 (fast, the default) or RSA 2048 for servers that accept no ECDSA."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def signature_hash(key: SigningKey) -> hashes.SHA256 | None:
    """The digest to sign with: EdDSA keys take none."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) \
        else hashes.SHA256()


def _validity(days: int, not_before: datetime.datetime | None,
              not_after: datetime.datetime | None) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    start = not_before or now - _BACKDATE
    return start, not_after or now + datetime.timedelta(days=days)


def _self_issued(subject: x509.Name, key: SigningKey, days: int) -> x509.CertificateBuilder:
    """A builder with subject = issuer and the usual validity, for CAs and self-signed leaves."""
    start, end = _validity(days, None, None)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )


def make_ca(subject: x509.Name, *, days: int = 30, key_type: KeyType = "ec") -> Issued:
    key = generate_key(key_type)
    certificate = (
        _self_issued(subject, key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, signature_hash(key))
    )
    return Issued(certificate, key)


def issue(ca: Issued, subject: x509.Name, *, hosts: tuple[str, ...] = (), client: bool = False,
          days: int = 30, key_type: KeyType = "ec", not_before: datetime.datetime | None = None,
          not_after: datetime.datetime | None = None, authority_key_id: bool = True) -> Issued:
    """A leaf certificate for a server (with SANs) or a client, signed by ``ca``."""
    key = generate_key(key_type)
    start, end = _validity(days, not_before, not_after)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False)
    )
    if authority_key_id:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca.key.public_key()), critical=False)
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(ca.key, signature_hash(ca.key)), key)


def self_signed_client(subject: x509.Name, *, days: int = 30, key_type: KeyType = "ec") -> Issued:
    """A self-signed clientAuth end-entity certificate (no CA flag), as a careless client
    would make with ``openssl req -x509``."""
    key = generate_key(key_type)
    certificate = (
        _self_issued(subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, signature_hash(key))
    )
    return Issued(certificate, key)
