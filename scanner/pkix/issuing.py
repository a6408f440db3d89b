"""Throw-away certificate authorities and certificates, generated in memory.

The one certificate builder of the project: the enforcement probe presents certificates
nobody should trust (self-signed, from a fresh CA, from a CA that copies a trusted CA's name)
and expired ones issued by the user's own CA; the lab listeners serve certificates from it;
the tests build their PKI with it and write the files themselves (tests/support/pki.py).
Nothing here touches a file or the network: PEM comes back as bytes.

One profile for everything, close to what a private CA issues: CAs carry basic constraints,
key usage and both key identifiers; leaves add a key usage that fits the key (key
encipherment for RSA, for the RSA key exchange), an extended key usage, and SANs when given.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from scanner import wire

SigningKey = (ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
              | ed448.Ed448PrivateKey | dsa.DSAPrivateKey)
KeyType = Literal["ec", "rsa"]

_BACKDATE = datetime.timedelta(minutes=5)  # tolerate a peer whose clock is a little behind


@dataclass(frozen=True)
class Issued:
    """A certificate, its private key, and the CA that issued it (None: self-issued)."""

    certificate: x509.Certificate
    key: SigningKey = field(repr=False)
    issuer: Issued | None = field(default=None, repr=False)

    @property
    def subject(self) -> str:
        """The subject as RFC 4514 text, e.g. ``CN=...,O=...,C=US``."""
        return self.certificate.subject.rfc4514_string()

    @property
    def chain(self) -> list[x509.Certificate]:
        """This certificate, then its issuers up to but excluding the self-issued root."""
        out = [self.certificate]
        node = self.issuer
        while node is not None and node.issuer is not None:
            out.append(node.certificate)
            node = node.issuer
        return out


def name(common_name: str, organization: str | None = None, country: str | None = None, *,
         organizational_unit: str | None = None) -> x509.Name:
    """A subject name; most significant RDN first, so its RFC 4514 text starts with CN."""
    attributes = []
    if country:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if organizational_unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                                             organizational_unit))
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
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}")


def signature_hash(key: SigningKey) -> hashes.SHA256 | None:
    """The digest to sign with: EdDSA keys take none."""
    return None if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey) \
        else hashes.SHA256()


def cert_pem(*certificates: x509.Certificate) -> bytes:
    """PEM of one or more certificates, concatenated (a bundle, or a chain leaf first)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def key_pem(key: SigningKey) -> bytes:
    """Unencrypted PKCS#8 PEM of a private key."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def validity(days: int, not_before: datetime.datetime | None = None,
             not_after: datetime.datetime | None = None,
             ) -> tuple[datetime.datetime, datetime.datetime]:
    """From a few minutes ago (or ``not_before``) to ``days`` from now (or ``not_after``)."""
    now = datetime.datetime.now(datetime.UTC)
    start = not_before if not_before is not None else now - _BACKDATE
    end = not_after if not_after is not None else now + datetime.timedelta(days=days)
    return start, end


def certificate_builder(subject: x509.Name, key: SigningKey, issuer: Issued | None = None, *,
                        days: int = 30, not_before: datetime.datetime | None = None,
                        not_after: datetime.datetime | None = None,
                        authority_key_id: bool = True) -> x509.CertificateBuilder:
    """What every certificate here starts from: names, key, serial, validity and the key
    identifiers; self-issued when ``issuer`` is None. Callers add the rest and sign with
    ``issuer.key`` (or ``key``) and ``signature_hash`` of it."""
    start, end = validity(days, not_before, not_after)
    signer_public = (issuer.key if issuer is not None else key).public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    if authority_key_id:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), critical=False)
    return builder


def _sign(builder: x509.CertificateBuilder, key: SigningKey, issuer: Issued | None) -> Issued:
    signer = issuer.key if issuer is not None else key
    return Issued(builder.sign(signer, signature_hash(signer)), key, issuer)


def make_ca(subject: x509.Name, *, days: int = 30, key_type: KeyType = "ec",
            parent: Issued | None = None, not_before: datetime.datetime | None = None,
            not_after: datetime.datetime | None = None) -> Issued:
    """A root CA, or an intermediate CA issued by ``parent``."""
    key = generate_key(key_type)
    builder = (
        certificate_builder(subject, key, parent, days=days, not_before=not_before,
                            not_after=not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    )
    return _sign(builder, key, parent)


def leaf_key_usage(key: SigningKey) -> x509.KeyUsage:
    """Signatures; key encipherment too for RSA keys (the RSA key exchange needs it)."""
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey), data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
        decipher_only=False)


def subject_alt_names(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    """DNS names, and iPAddress entries for the hosts that are IP addresses."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def issue(ca: Issued | None, subject: x509.Name, *, hosts: tuple[str, ...] = (),
          client: bool = False, days: int = 30, key_type: KeyType = "ec",
          key: SigningKey | None = None, not_before: datetime.datetime | None = None,
          not_after: datetime.datetime | None = None, authority_key_id: bool = True,
          usage: x509.ObjectIdentifier | None = None, must_staple: bool = False,
          extra: tuple[x509.ExtensionType, ...] = ()) -> Issued:
    """A leaf certificate for a server (with SANs) or a client, signed by ``ca``.

    ``ca`` None makes it self-signed. ``key`` uses a given key (e.g. a weak one) instead of
    a fresh ``key_type`` key; ``usage`` replaces the serverAuth/clientAuth extended key
    usage; ``must_staple`` adds the RFC 7633 TLS feature status_request; ``extra`` holds
    further non-critical extensions.
    """
    key = key or generate_key(key_type)
    extended_usage = usage or (ExtendedKeyUsageOID.CLIENT_AUTH if client
                               else ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        certificate_builder(subject, key, ca, days=days, not_before=not_before,
                            not_after=not_after, authority_key_id=authority_key_id)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(key), critical=True)
        .add_extension(x509.ExtendedKeyUsage([extended_usage]), critical=False)
    )
    if hosts:
        builder = builder.add_extension(subject_alt_names(hosts), critical=False)
    if must_staple:
        builder = builder.add_extension(
            x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
    for extension in extra:
        builder = builder.add_extension(extension, critical=False)
    return _sign(builder, key, ca)


def self_signed_client(subject: x509.Name, *, days: int = 30, key_type: KeyType = "ec") -> Issued:
    """A self-signed clientAuth end-entity certificate (no CA flag), as a careless client
    would make with ``openssl req -x509``."""
    return issue(None, subject, client=True, days=days, key_type=key_type)
