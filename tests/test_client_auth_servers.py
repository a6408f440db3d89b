"""The client-auth probe against real servers on 127.0.0.1, checked fact by fact.

The expected values come from each server's configuration; `tests.support.oracle` (openssl
s_client, decoding the CertificateRequest bytes itself) confirms them independently.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from scanner.results import ClientAuthAtVersion, Record
from tests.support.oracle import s_client

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]


@pytest.fixture
def scan(scan: Scan) -> Scan:
    """Only the probe under test: openssl s_server serves one connection at a time, so other
    probes' connections would change these timings (enforcement's HEAD waits for its deadline
    there, as s_server -www answers only GET)."""
    return functools.partial(scan, probes=("client_auth",))


def names(version: ClientAuthAtVersion | None) -> list[str]:
    assert version is not None and version.certificate_request is not None
    return [name.rfc4514 for name in version.certificate_request.ca_names]


def outcome(version: ClientAuthAtVersion | None) -> tuple[str, str | None, str]:
    assert version is not None and version.without_certificate is not None
    w = version.without_certificate
    return (w.outcome.value, w.alert, w.classification.value)


def finding_versions(record: Record, finding_id: str) -> list[str | None]:
    return sorted((f.version for f in record.findings if f.id == finding_id), key=str)


def test_openssl_requires_cert_and_lists_ca_names(openssl_server, pki, scan: Scan) -> None:
    server = openssl_server(verify="require")
    record = scan(server.port)
    auth = record.client_auth
    assert record.status == "ok" and auth is not None
    assert (auth.requested, auth.classification, auth.consistent_across_versions) == (
        True, "required", True)
    for version in (auth.tls1_3, auth.tls1_2):
        assert version is not None and version.supported
        assert names(version) == pki.client_ca_names
        assert version.certificate_request.ca_names_sent is True
    assert auth.tls1_3.certificate_request.certificate_authorities_extension is True
    assert outcome(auth.tls1_3) == ("rejected_after_handshake", "certificate_required", "required")
    assert auth.tls1_3.handshake.alert_received_after_handshake is True
    assert outcome(auth.tls1_2) == ("rejected_in_handshake", "handshake_failure", "required")
    # TLS 1.2 carries certificate types and signature algorithms; TLS 1.3 has no types.
    assert auth.tls1_2.certificate_request.certificate_types == [
        "rsa_sign", "dss_sign", "ecdsa_sign"]
    assert "ecdsa_secp256r1_sha256" in auth.tls1_2.certificate_request.signature_algorithms
    assert auth.tls1_3.certificate_request.certificate_types is None
    assert "rsa_pss_rsae_sha256" in auth.tls1_3.certificate_request.signature_algorithms
    assert record.findings == []
    oracle = s_client(server.port, tls_version="1.3")
    assert oracle.certificate_request is not None
    assert oracle.certificate_request.ca_names == names(auth.tls1_3)


def test_openssl_no_ca_names_is_an_empty_list_not_a_missing_request(
        openssl_server, scan: Scan) -> None:
    server = openssl_server(verify="require", no_ca_names=True)
    auth = scan(server.port).client_auth
    assert auth is not None and auth.requested is True
    for version in (auth.tls1_3, auth.tls1_2):
        assert version.certificate_request.sent is True
        assert version.certificate_request.ca_names_sent is False
        assert names(version) == []
    # OpenSSL 3.0 sends extension 47 with an empty list (RFC 8446 wants >= 1 name).
    assert auth.tls1_3.certificate_request.certificate_authorities_extension is True
    assert outcome(auth.tls1_3) == ("rejected_after_handshake", "certificate_required", "required")
    assert outcome(auth.tls1_2) == ("rejected_in_handshake", "handshake_failure", "required")
    record = scan(server.port)
    assert finding_versions(record, "client_auth.ca_names_missing") == ["TLSv1.2", "TLSv1.3"]


def test_openssl_request_only_is_optional(openssl_server, pki, scan: Scan) -> None:
    server = openssl_server(verify="request")
    auth = scan(server.port).client_auth
    assert auth.classification == "optional"
    for version in (auth.tls1_3, auth.tls1_2):
        assert names(version) == pki.client_ca_names
        assert outcome(version) == ("completed", None, "optional")


def test_openssl_tls12_only_server(openssl_server, scan: Scan) -> None:
    server = openssl_server(verify="require", tls_versions=("1.2",))
    auth = scan(server.port).client_auth
    assert auth.tls1_3.supported is False
    assert auth.tls1_3.certificate_request is None
    assert auth.tls1_3.handshake.alert_received == "protocol_version"
    assert auth.tls1_2.supported is True
    assert auth.classification == "required"


@pytest.mark.parametrize(
    ("mode", "expect_names", "tls13_extension"),
    [
        ("ca_names", True, True),      # ssl_verify_client on + ssl_client_certificate
        ("optional", True, True),      # ssl_verify_client optional
        ("trusted_only", False, False),  # CA only in ssl_trusted_certificate: no names at all
    ],
)
def test_nginx_modes(nginx_server, pki, scan: Scan, mode: str, expect_names: bool,
                     tls13_extension: bool) -> None:
    server = nginx_server(mode=mode)
    record = scan(server.port)
    auth = record.client_auth
    assert record.status == "ok"
    # nginx never fails the TLS handshake over a missing certificate (it answers HTTP 400),
    # so at the TLS layer every mode is "optional".
    assert auth.classification == "optional"
    for version in (auth.tls1_3, auth.tls1_2):
        assert version.certificate_request.sent is True
        assert version.certificate_request.ca_names_sent is expect_names
        assert names(version) == (pki.client_ca_names if expect_names else [])
        assert outcome(version) == ("completed", None, "optional")
    assert auth.tls1_3.certificate_request.certificate_authorities_extension is tls13_extension
    expected_findings = [] if expect_names else ["TLSv1.2", "TLSv1.3"]
    assert finding_versions(record, "client_auth.ca_names_missing") == expected_findings


def test_nginx_without_client_auth(nginx_server, scan: Scan) -> None:
    auth = scan(nginx_server(mode="none").port).client_auth
    assert (auth.requested, auth.classification) == (False, "none")
    for version in (auth.tls1_3, auth.tls1_2):
        assert version.certificate_request.sent is False
        assert version.certificate_request.ca_names_sent is None
        assert outcome(version) == ("completed", None, "none")


def test_gnutls_requires_cert(gnutls_server, pki, scan: Scan) -> None:
    server = gnutls_server(require_client_cert=True)
    auth = scan(server.port).client_auth
    for version in (auth.tls1_3, auth.tls1_2):
        assert names(version) == pki.client_ca_names
        assert version.certificate_request.ca_names_sent is True
    assert outcome(auth.tls1_3) == ("rejected_after_handshake", "certificate_required", "required")
    # gnutls-serv rejects an empty TLS 1.2 Certificate with decode_error.
    assert outcome(auth.tls1_2) == ("rejected_in_handshake", "decode_error", "required")
    oracle = s_client(server.port, tls_version="1.2")
    assert oracle.certificate_request.ca_names == names(auth.tls1_2)
