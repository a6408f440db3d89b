"""The certificate probe against real servers on 127.0.0.1, checked fact by fact.

Certificates are made at test time; the expected facts are read from the certificate
objects the servers were given, and every finding is asserted by id, severity and text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from scanner.probes import ProbeOptions
from scanner.probes.certificate import SIGNATURE_ALGORITHMS
from scanner.results import CertificateFacet, Record
from tests.support.ocsp import sha1_signed_server_cert
from tests.support.pki import (
    TestPKI,
    issue_server_cert,
    make_ca,
    write_bundle,
    write_served_chain,
)

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]
ORG = "mtlsweep tests"


def expected(cert: x509.Certificate, *, key: tuple[str, int, str | None], signature: str,
             sans: list[str], is_ca: bool = False) -> dict:
    """The facts the probe must report for ``cert`` (days_left checked apart)."""
    return {
        "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"), "subject_alt_names": sans,
        "not_before": cert.not_valid_before_utc, "not_after": cert.not_valid_after_utc,
        "key_type": key[0], "key_size": key[1], "curve": key[2],
        "signature_algorithm": signature, "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "must_staple": False, "is_ca": is_ca, "self_signed": False,
    }


def days_left(cert: x509.Certificate) -> int:
    """Whole days left, as the probe counts them a moment ago (the test ran since)."""
    left = (cert.not_valid_after_utc - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    return math.floor(left)


def certificate_facet(record: Record) -> CertificateFacet:
    assert record.status == "ok", record.probe_errors
    assert record.certificate is not None
    return record.certificate


def findings(record: Record) -> list[tuple[str, str]]:
    return [(f.id, f.severity.value) for f in record.findings]


@pytest.fixture(scope="module")
def dual_pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = make_ca("Cert Test Root", org=ORG)
    issuing = make_ca("Cert Test Issuing CA", parent=root, org=ORG)
    directory = tmp_path_factory.mktemp("dual")
    return {
        "root": root, "issuing": issuing,
        "ec": issue_server_cert(issuing, ["localhost", "127.0.0.1"]),
        "rsa": issue_server_cert(issuing, ["localhost", "127.0.0.1"], key_type="rsa"),
        "bundle": write_bundle(directory / "root.pem", [root]),
        "directory": directory,
    }


def test_server_with_ecdsa_and_rsa_certificates(nginx_server, dual_pki: dict,
                                                scan: Scan) -> None:
    ec, rsa_leaf, issuing = dual_pki["ec"], dual_pki["rsa"], dual_pki["issuing"]
    rsa_files = write_served_chain(dual_pki["directory"] / "rsa", rsa_leaf.chain, rsa_leaf.key)
    server = nginx_server(
        mode="none",
        server_files=write_served_chain(dual_pki["directory"] / "ec", ec.chain, ec.key),
        extra_directives=f"ssl_certificate {rsa_files.cert};\n"
                         f"        ssl_certificate_key {rsa_files.key};")
    record = scan(server.port, probes=("certificate",), ca_bundle=dual_pki["bundle"])
    facet = certificate_facet(record)
    assert (facet.trusted, facet.hostname_matches, facet.days_left) == (
        True, True, days_left(ec.cert))
    ec_chain, rsa_chain = facet.chains
    sans = ["DNS:localhost", "IP:127.0.0.1"]
    intermediate = expected(issuing.cert, key=("EC", 256, "secp256r1"),
                            signature="ecdsa-with-SHA256", sans=[], is_ca=True)
    for chain, leaf, key in ((ec_chain, ec, ("EC", 256, "secp256r1")),
                             (rsa_chain, rsa_leaf, ("RSA", 2048, None))):
        got = [c.model_dump() for c in chain.certificates]
        assert [c.pop("days_left") for c in got] == [days_left(leaf.cert),
                                                     days_left(issuing.cert)]
        assert got == [expected(leaf.cert, key=key, signature="ecdsa-with-SHA256", sans=sans),
                       intermediate]
        assert (chain.version, chain.sent, chain.unparsed, chain.hostname,
                chain.hostname_matches) == ("TLSv1.3", 2, [], "localhost", True)
        assert chain.order.model_dump() == {"correct": True, "issues": [],
                                            "includes_root": False}
        assert chain.validation.model_dump() == {
            "trusted": True, "trust_store": str(dual_pki["bundle"].resolve()),
            "error_kind": None, "error": None,
            "path": ["CN=localhost", f"CN=Cert Test Issuing CA,O={ORG}",
                     f"CN=Cert Test Root,O={ORG}"]}
    assert (ec_chain.found_by, rsa_chain.found_by) == (["default"], ["rsa"])
    assert [(lookup.name, lookup.signature_algorithms, lookup.leaf_sha256,
             lookup.handshake.completed) for lookup in facet.lookups] == [
        ("default", None, ec.cert.fingerprint(hashes.SHA256()).hex(), True),
        ("rsa", SIGNATURE_ALGORITHMS["rsa"], rsa_leaf.cert.fingerprint(hashes.SHA256()).hex(),
         True),
    ]
    assert record.findings == []

    # Without SNI the name checked is the address; without --ca-bundle, the system store,
    # which does not know the test root; and a 100-day window catches the 90-day certs.
    bare = scan(server.port, sni=None, probes=("certificate",), probe_options=ProbeOptions(
        cert_expiry_warning_days=100))
    facet = certificate_facet(bare)
    assert (facet.trusted, facet.hostname_matches) == (False, True)
    for chain in facet.chains:
        assert (chain.hostname, chain.validation.error_kind) == ("127.0.0.1", "unknown_issuer")
        assert chain.validation.trust_store.startswith("system (")
        assert chain.validation.error == (
            f"the issuer CN=Cert Test Root,O={ORG} of CN=Cert Test Issuing CA,O={ORG} was not "
            "sent by the server and is not in the trust store (missing intermediate, or an "
            "untrusted CA)")
    assert findings(bare) == [("certificate.expiring", "medium")] * 2 + [
        ("certificate.untrusted", "high")] + [("certificate.expiring", "medium")] * 2 + [
        ("certificate.untrusted", "high")]
    assert bare.findings[0].detail == (
        f"The leaf certificate (EC chain) expires at "
        f"{ec.cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, in {days_left(ec.cert)} days "
        "(within 100 days, --cert-expiry-warning-days).")
    assert bare.findings[1].detail.startswith(
        f"Chain certificate CN=Cert Test Issuing CA,O={ORG} (EC chain) expires at ")
    assert bare.findings[2].detail.startswith(
        "The certificate chain (EC chain) does not validate against system (")


def test_expired_rsa_only_server(openssl_server, pki: TestPKI, scan: Scan,
                                 tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    not_after = now - dt.timedelta(days=10, hours=1)
    leaf = issue_server_cert(pki.server_ca, key_type="rsa", not_after=not_after,
                             not_before=now - dt.timedelta(days=40))
    server = openssl_server(verify=None, server_files=leaf.write_pem(tmp_path / "leaf"))
    record = scan(server.port, probes=("certificate",))
    facet = certificate_facet(record)
    (chain,) = facet.chains
    assert (facet.trusted, facet.hostname_matches, facet.days_left) == (False, True, -11)
    assert chain.certificates[0].days_left == -11
    assert chain.validation.model_dump() == {
        "trusted": False, "trust_store": str(pki.server_ca_file.resolve()),
        "error_kind": "expired", "path": [],
        "error": f"the leaf (CN=localhost) expired at {not_after:%Y-%m-%dT%H:%M:%SZ}"}
    # An RSA-only server refuses an offer of ECDSA signature algorithms.
    assert [(lookup.name, lookup.leaf_sha256 is None, lookup.handshake.alert_received)
            for lookup in facet.lookups] == [("default", False, None),
                                             ("ecdsa", True, "handshake_failure")]
    assert findings(record) == [("certificate.expired", "high")]
    assert record.findings[0].detail == (
        f"The leaf certificate expired at {not_after:%Y-%m-%dT%H:%M:%SZ} (10 days ago).")


def test_wrong_host_certificate_expiring_soon(nginx_server, pki: TestPKI, scan: Scan,
                                              tmp_path: Path) -> None:
    not_after = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=10, hours=1)
    leaf = issue_server_cert(pki.server_ca, ["wrong.example", "*.wrong.example"],
                             not_after=not_after)
    server = nginx_server(mode="none", server_files=leaf.write_pem(tmp_path / "leaf"))
    record = scan(server.port, probes=("certificate",))
    facet = certificate_facet(record)
    assert (facet.trusted, facet.hostname_matches, facet.days_left) == (True, False, 10)
    assert (facet.chains[0].hostname, facet.chains[0].hostname_matches) == ("localhost", False)
    assert findings(record) == [("certificate.expiring", "medium"),
                                ("certificate.hostname_mismatch", "high")]
    assert [f.detail for f in record.findings] == [
        f"The leaf certificate expires at {not_after:%Y-%m-%dT%H:%M:%SZ}, in 10 days (within "
        "30 days, --cert-expiry-warning-days).",
        "The certificate does not cover localhost (DNS:wrong.example, DNS:*.wrong.example).",
    ]


def test_weak_sha1_misordered_chain(nginx_server, tmp_path: Path, scan: Scan) -> None:
    root = make_ca("Legacy Root", org=ORG)
    issuing = make_ca("Legacy Issuing CA", parent=root, org=ORG)
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    leaf = sha1_signed_server_cert(issuing, tmp_path / "sha1", key=weak_key)
    # Sent as leaf, root, intermediate; OpenSSL needs security level 0 to serve any of it.
    files = write_served_chain(tmp_path / "served", [leaf.cert, root.cert, issuing.cert],
                               weak_key)
    server = nginx_server(mode="none", server_files=files,
                          extra_directives="ssl_ciphers DEFAULT:@SECLEVEL=0;")
    record = scan(server.port, probes=("certificate",),
                  ca_bundle=write_bundle(tmp_path / "root.pem", [root]))
    facet = certificate_facet(record)
    (chain,) = facet.chains
    sent = chain.certificates
    assert chain.sent == 3
    assert [(c.subject, c.key_type, c.key_size, c.signature_algorithm, c.self_signed)
            for c in sent] == [
        ("CN=localhost", "RSA", 1024, "ecdsa-with-SHA1", False),
        (f"CN=Legacy Root,O={ORG}", "EC", 256, "ecdsa-with-SHA256", True),
        (f"CN=Legacy Issuing CA,O={ORG}", "EC", 256, "ecdsa-with-SHA256", False),
    ]
    assert sent[0].serial == "5a1"
    assert chain.order.model_dump() == {
        "correct": False, "includes_root": False,
        "issues": [
            "certificate 0 (CN=localhost) is issued by certificate 2, not by the next one (1)",
            f"certificate 1 (CN=Legacy Root,O={ORG}) is a self-signed root, yet certificates "
            "follow it",
        ]}
    assert (chain.validation.trusted, chain.validation.error_kind) == (False, "invalid")
    assert chain.validation.error == (
        f"the path to the trust anchor CN=Legacy Root,O={ORG} is rejected: certificate 0 "
        "(CN=localhost) is signed with ecdsa-with-SHA1; certificate 0 (CN=localhost) has a "
        "1024-bit RSA key")
    assert findings(record) == [("certificate.weak_key", "high"),
                                ("certificate.sha1_signature", "medium"),
                                ("certificate.untrusted", "high"),
                                ("certificate.chain_order", "low")]
    assert [f.detail for f in record.findings[:2]] == [
        "The leaf certificate has a RSA key of 1024 bits (under 2048).",
        "The leaf certificate is signed with SHA-1 (ecdsa-with-SHA1), which clients reject.",
    ]
    assert record.findings[2].detail == (
        f"The certificate chain does not validate against {(tmp_path / 'root.pem').resolve()}: "
        f"{chain.validation.error}.")
