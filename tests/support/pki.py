"""Throw-away PKI for behaviour tests, generated at test time with ``cryptography``.

Keys are EC P-256 by default (fast to generate); RSA 2048 is available with
``key_type="rsa"``.  Certificates live 90 days unless told otherwise (beyond the scanner's
default 30-day expiry warning).  Nothing here touches the network.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_DEFAULT_LIFETIME = dt.timedelta(days=90)
_BACKDATE = dt.timedelta(minutes=5)


def generate_key(key_type: KeyType = "ec") -> PrivateKey:
    """A fresh private key: EC P-256 (``"ec"``) or RSA 2048 (``"rsa"``)."""
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key_type {key_type!r}")


def cert_pem(*certs: x509.Certificate) -> bytes:
    """PEM encoding of one or more certificates, concatenated."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM encoding of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_bundle(path: Path, certs: Iterable[x509.Certificate | Credential]) -> Path:
    """Write a PEM bundle (e.g. a CA file) of ``certs`` to ``path``; return ``path``."""
    items = [c.cert if isinstance(c, Credential) else c for c in certs]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert_pem(*items))
    return path


@dataclass(frozen=True)
class PemPaths:
    """Files written by :meth:`Credential.write_pem`."""

    cert: Path
    key: Path
    chain: Path  # cert followed by its issuers, root excluded (a "fullchain")


@dataclass(frozen=True)
class Credential:
    """A certificate, its private key and (unless self-signed) its issuer."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)
    issuer: Issuer | None = None

    @property
    def subject(self) -> x509.Name:
        return self.cert.subject

    @property
    def rfc4514(self) -> str:
        """Subject as ``subject.rfc4514_string()``, e.g. ``CN=...,O=...,C=US``."""
        return self.cert.subject.rfc4514_string()

    @property
    def chain(self) -> list[x509.Certificate]:
        """This certificate, then its issuers up to but excluding the self-signed root."""
        out = [self.cert]
        node = self.issuer
        while node is not None and node.issuer is not None:
            out.append(node.cert)
            node = node.issuer
        return out

    def write_pem(self, directory: Path) -> PemPaths:
        """Write ``cert.pem``, ``key.pem`` (mode 0600) and ``chain.pem`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = PemPaths(directory / "cert.pem", directory / "key.pem", directory / "chain.pem")
        paths.cert.write_bytes(cert_pem(self.cert))
        fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem(self.key))
        paths.chain.write_bytes(cert_pem(*self.chain))
        return paths


def write_served_chain(directory: Path, certs: Sequence[x509.Certificate],
                       key: PrivateKey) -> PemPaths:
    """Files that make a server send ``certs`` exactly in this order (leaf first).

    ``cert`` and ``chain`` are the same file: pass the result as ``server_files``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    chain = directory / "served-chain.pem"
    chain.write_bytes(cert_pem(*certs))
    key_path = directory / "served-key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem(key))
    return PemPaths(cert=chain, key=key_path, chain=chain)


@dataclass(frozen=True)
class Issuer(Credential):
    """A CA that can issue certificates."""


@dataclass(frozen=True)
class Leaf(Credential):
    """An end-entity (server or client) certificate."""


def _name(
    common_name: str,
    org: str | None = None,
    org_unit: str | None = None,
    country: str | None = None,
) -> x509.Name:
    # Most significant RDN first, so rfc4514_string() reads "CN=...,OU=...,O=...,C=..".
    attrs: list[x509.NameAttribute] = []
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if org_unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org_unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _validity(
    not_before: dt.datetime | None, not_after: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    start = not_before if not_before is not None else now - _BACKDATE
    end = not_after if not_after is not None else now + _DEFAULT_LIFETIME
    return start, end


def _builder(
    subject: x509.Name,
    key: PrivateKey,
    issuer: Issuer | None,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
) -> x509.CertificateBuilder:
    start, end = _validity(not_before, not_after)
    issuer_name = issuer.cert.subject if issuer else subject
    issuer_key = issuer.key if issuer else key
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    return b


def make_ca(
    common_name: str,
    *,
    key_type: KeyType = "ec",
    org: str | None = None,
    org_unit: str | None = None,
    country: str | None = None,
    parent: Issuer | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issuer:
    """A root CA, or an intermediate CA when ``parent`` is given."""
    key = generate_key(key_type)
    subject = _name(common_name, org, org_unit, country)
    cert = (
        _builder(subject, key, parent, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(parent.key if parent else key, hashes.SHA256())
    )
    return Issuer(cert=cert, key=key, issuer=parent)


def _leaf_key_usage(key: PrivateKey) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _san(hostnames: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for h in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


def _issue_leaf(
    ca: Issuer,
    common_name: str,
    eku: x509.ObjectIdentifier,
    hostnames: Sequence[str],
    key_type: KeyType,
    not_before: dt.datetime | None,
    not_after: dt.datetime | None,
    org: str | None = None,
    *,
    key: PrivateKey | None = None,
    must_staple: bool = False,
) -> Leaf:
    key = key or generate_key(key_type)
    b = (
        _builder(_name(common_name, org), key, ca, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(key), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    )
    if hostnames:
        b = b.add_extension(_san(hostnames), critical=False)
    if must_staple:
        b = b.add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), False)
    return Leaf(cert=b.sign(ca.key, hashes.SHA256()), key=key, issuer=ca)


def issue_server_cert(
    ca: Issuer,
    hostnames: Sequence[str] = ("localhost", "127.0.0.1", "::1"),
    *,
    key_type: KeyType = "ec",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: PrivateKey | None = None,
    must_staple: bool = False,
    eku: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> Leaf:
    """A serverAuth certificate; IP-looking ``hostnames`` become iPAddress SANs.

    The subject CN is the first hostname.  ``key`` uses a given key (e.g. a weak RSA
    1024 one) instead of a fresh ``key_type`` key; ``must_staple`` adds the RFC 7633
    TLS Feature extension (status_request); ``eku`` replaces serverAuth.
    """
    if not hostnames:
        raise ValueError("a server certificate needs at least one hostname")
    return _issue_leaf(
        ca, hostnames[0], eku, hostnames, key_type,
        not_before, not_after, key=key, must_staple=must_staple,
    )


def issue_client_cert(
    ca: Issuer,
    cn: str,
    *,
    org: str | None = None,
    key_type: KeyType = "ec",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Leaf:
    """A clientAuth certificate with subject ``CN=cn[,O=org]`` and no SAN."""
    return _issue_leaf(
        ca, cn, ExtendedKeyUsageOID.CLIENT_AUTH, (), key_type, not_before, not_after, org
    )


@dataclass(frozen=True)
class TestPKI:
    """The session PKI used by the server fixtures (see ``tests.support.fixtures.pki``)."""

    __test__ = False  # not a pytest test class

    directory: Path
    server_ca: Issuer
    server: Leaf
    server_files: PemPaths
    server_ca_file: Path  # trust anchor for clients verifying the servers
    client_ca_one: Issuer
    client_ca_two: Issuer
    client_ca_bundle: Path  # both client CAs, one then two
    client_ca_one_file: Path
    client_ca_two_file: Path
    client_one: Leaf  # issued by client_ca_one
    client_one_files: PemPaths
    client_two: Leaf  # issued by client_ca_two
    client_two_files: PemPaths
    rogue_ca: Issuer  # trusted by no server
    rogue_client: Leaf
    rogue_client_files: PemPaths

    @property
    def client_ca_names(self) -> list[str]:
        """RFC 4514 subjects of the bundle's CAs, in bundle order."""
        return [self.client_ca_one.rfc4514, self.client_ca_two.rfc4514]


SERVER_CA_CN = "mtlsweep Test Server CA"
CLIENT_CA_ONE_RFC4514 = "CN=Client Root CA One,O=Example Corp,C=US"
CLIENT_CA_TWO_RFC4514 = "CN=Client Root CA Two,OU=Platform,O=Example Corp,C=JP"


def build_test_pki(directory: Path, *, key_type: KeyType = "ec") -> TestPKI:
    """Generate the standard test PKI and write every file under ``directory``."""
    server_ca = make_ca(SERVER_CA_CN, key_type=key_type, org="mtlsweep tests")
    server = issue_server_cert(server_ca, key_type=key_type)
    one = make_ca("Client Root CA One", key_type=key_type, org="Example Corp", country="US")
    two = make_ca(
        "Client Root CA Two", key_type=key_type, org="Example Corp", org_unit="Platform",
        country="JP",
    )
    assert one.rfc4514 == CLIENT_CA_ONE_RFC4514, one.rfc4514
    assert two.rfc4514 == CLIENT_CA_TWO_RFC4514, two.rfc4514
    rogue_ca = make_ca("Rogue Root CA", key_type=key_type, org="Nobody Trusts Me")
    client_one = issue_client_cert(one, "client-one", org="Example Corp", key_type=key_type)
    client_two = issue_client_cert(two, "client-two", org="Example Corp", key_type=key_type)
    rogue = issue_client_cert(rogue_ca, "rogue-client", key_type=key_type)
    d = directory
    return TestPKI(
        directory=d,
        server_ca=server_ca,
        server=server,
        server_files=server.write_pem(d / "server"),
        server_ca_file=write_bundle(d / "server-ca.pem", [server_ca]),
        client_ca_one=one,
        client_ca_two=two,
        client_ca_bundle=write_bundle(d / "client-ca-bundle.pem", [one, two]),
        client_ca_one_file=write_bundle(d / "client-ca-one.pem", [one]),
        client_ca_two_file=write_bundle(d / "client-ca-two.pem", [two]),
        client_one=client_one,
        client_one_files=client_one.write_pem(d / "client-one"),
        client_two=client_two,
        client_two_files=client_two.write_pem(d / "client-two"),
        rogue_ca=rogue_ca,
        rogue_client=rogue,
        rogue_client_files=rogue.write_pem(d / "rogue-client"),
    )
