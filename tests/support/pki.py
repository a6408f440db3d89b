"""Throw-away PKI for behaviour tests: the scanner's builder (``scanner.pkix.issuing``),
with test defaults and the files servers and clients read.

Keys are EC P-256 by default (fast to generate); RSA 2048 is available with
``key_type="rsa"``.  Certificates live 90 days unless told otherwise (beyond the scanner's
default 30-day expiry warning).  Nothing here touches the network.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from scanner.pkix import issuing
from scanner.pkix.issuing import KeyType, cert_pem, generate_key, key_pem, name

__all__ = [
    "CLIENT_CA_ONE_RFC4514", "CLIENT_CA_TWO_RFC4514", "SERVER_CA_CN", "Credential", "Issuer",
    "KeyType", "Leaf", "PemPaths", "PrivateKey", "TestPKI", "build_test_pki", "cert_pem",
    "generate_key", "issue_client_cert", "issue_server_cert", "key_pem", "make_ca", "name",
    "write_bundle", "write_served_chain",
]

PrivateKey = issuing.SigningKey

LIFETIME_DAYS = 90


@dataclass(frozen=True)
class PemPaths:
    """Files written by :meth:`Credential.write_pem`."""

    cert: Path
    key: Path
    chain: Path  # cert followed by its issuers, root excluded (a "fullchain")


def _write_key(path: Path, key: PrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem(key))


@dataclass(frozen=True)
class Credential(issuing.Issued):
    """An issued certificate that can write itself where servers and clients read it."""

    @property
    def cert(self) -> x509.Certificate:
        return self.certificate

    @property
    def rfc4514(self) -> str:
        """Subject as ``subject.rfc4514_string()``, e.g. ``CN=...,O=...,C=US``."""
        return self.subject

    def write_pem(self, directory: Path) -> PemPaths:
        """Write ``cert.pem``, ``key.pem`` (mode 0600) and ``chain.pem`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = PemPaths(directory / "cert.pem", directory / "key.pem", directory / "chain.pem")
        paths.cert.write_bytes(cert_pem(self.cert))
        _write_key(paths.key, self.key)
        paths.chain.write_bytes(cert_pem(*self.chain))
        return paths


@dataclass(frozen=True)
class Issuer(Credential):
    """A CA that can issue certificates."""


@dataclass(frozen=True)
class Leaf(Credential):
    """An end-entity (server or client) certificate."""


def write_bundle(path: Path, certs: Iterable[x509.Certificate | issuing.Issued]) -> Path:
    """Write a PEM bundle (e.g. a CA file) of ``certs`` to ``path``; return ``path``."""
    items = [c.certificate if isinstance(c, issuing.Issued) else c for c in certs]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert_pem(*items))
    return path


def write_served_chain(directory: Path, certs: Sequence[x509.Certificate],
                       key: PrivateKey) -> PemPaths:
    """Files that make a server send ``certs`` exactly in this order (leaf first).

    ``cert`` and ``chain`` are the same file: pass the result as ``server_files``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    chain = directory / "served-chain.pem"
    chain.write_bytes(cert_pem(*certs))
    key_path = directory / "served-key.pem"
    _write_key(key_path, key)
    return PemPaths(cert=chain, key=key_path, chain=chain)


def make_ca(common_name: str, *, key_type: KeyType = "ec", org: str | None = None,
            org_unit: str | None = None, country: str | None = None,
            parent: Issuer | None = None, not_before: dt.datetime | None = None,
            not_after: dt.datetime | None = None) -> Issuer:
    """A root CA, or an intermediate CA when ``parent`` is given."""
    ca = issuing.make_ca(name(common_name, org, country, organizational_unit=org_unit),
                         days=LIFETIME_DAYS, key_type=key_type, parent=parent,
                         not_before=not_before, not_after=not_after)
    return Issuer(ca.certificate, ca.key, parent)


def issue_server_cert(
    ca: Issuer, hostnames: Sequence[str] = ("localhost", "127.0.0.1", "::1"), *,
    key_type: KeyType = "ec", not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None, key: PrivateKey | None = None,
    must_staple: bool = False, eku: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> Leaf:
    """A serverAuth certificate; IP-looking ``hostnames`` become iPAddress SANs.

    The subject CN is the first hostname.  ``key`` uses a given key (e.g. a weak RSA
    1024 one) instead of a fresh ``key_type`` key; ``must_staple`` adds the RFC 7633
    TLS Feature extension (status_request); ``eku`` replaces serverAuth.
    """
    if not hostnames:
        raise ValueError("a server certificate needs at least one hostname")
    leaf = issuing.issue(ca, name(hostnames[0]), hosts=tuple(hostnames), days=LIFETIME_DAYS,
                         key_type=key_type, key=key, not_before=not_before,
                         not_after=not_after, usage=eku, must_staple=must_staple)
    return Leaf(leaf.certificate, leaf.key, ca)


def issue_client_cert(ca: Issuer, cn: str, *, org: str | None = None, key_type: KeyType = "ec",
                      not_before: dt.datetime | None = None,
                      not_after: dt.datetime | None = None) -> Leaf:
    """A clientAuth certificate with subject ``CN=cn[,O=org]`` and no SAN."""
    leaf = issuing.issue(ca, name(cn, org), client=True, days=LIFETIME_DAYS, key_type=key_type,
                         not_before=not_before, not_after=not_after)
    return Leaf(leaf.certificate, leaf.key, ca)


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
