"""The OCSP stapling probe against real servers on 127.0.0.1, checked fact by fact.

Responses are made at test time with cryptography's OCSPResponseBuilder and served by nginx
(``ssl_stapling_file``: loaded at start-up and stapled from the first connection, in TLS 1.2
and TLS 1.3, whatever it says) and gnutls-serv (``--ocsp-response``: refuses responses that
are stale or for another certificate at start-up, so it gets the well-formed cases).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from scanner.probes import ProbeOptions
from scanner.report.table import server_facts
from scanner.results import OcspAtVersion, Record
from tests.support.ocsp import (
    OcspTimes,
    ocsp_responder,
    ocsp_response,
    response_wrapping,
    write_der,
)
from tests.support.pki import (
    PemPaths,
    TestPKI,
    issue_server_cert,
    make_ca,
    write_bundle,
    write_served_chain,
)

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]


def now_s() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def stapling_nginx(nginx_server, workdir: Path, der: bytes | None, *,
                   server_files: PemPaths | None = None):
    directives = ""
    if der is not None:
        staple = write_der(workdir / "staple.der", der)
        directives = f"ssl_stapling on;\n        ssl_stapling_file {staple};"
    return nginx_server(mode="none", server_files=server_files, extra_directives=directives)


def key_hash(cert: x509.Certificate) -> str:
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest.hex()


def versions(record: Record) -> list[OcspAtVersion]:
    assert record.ocsp is not None and record.ocsp.tls1_3 and record.ocsp.tls1_2
    return [record.ocsp.tls1_3, record.ocsp.tls1_2]


def findings(record: Record) -> list[tuple[str, str, str | None]]:
    return [(f.id, f.severity.value, f.version) for f in record.findings]


def response_facts(version: OcspAtVersion, started: dt.datetime) -> dict:
    """The response as a dict, with produced_at (set when the test signed it) checked apart."""
    assert version.response is not None
    facts = version.response.model_dump()
    produced = facts.pop("produced_at")
    assert started <= produced <= dt.datetime.now(dt.UTC)
    return facts


def test_nginx_staples_a_good_response_in_both_versions(
        nginx_server, pki: TestPKI, scan: Scan, tmp_path: Path) -> None:
    now = now_s()
    der = ocsp_response(pki.server.cert, pki.server_ca, times=OcspTimes(now))
    server = stapling_nginx(nginx_server, tmp_path, der)
    record = scan(server.port, probes=("ocsp",))
    facet = record.ocsp
    assert record.status == "ok" and facet is not None
    assert (facet.stapled, facet.must_staple, facet.certificate_status) == (True, False, "good")
    serial = format(pki.server.cert.serial_number, "x")
    for version in versions(record):
        assert (version.supported, version.stapled, version.leaf_subject, version.leaf_serial,
                version.must_staple) == (True, True, "CN=localhost", serial, False)
        assert response_facts(version, now) == {
            "size": len(der),
            "parse_error": None, "response_status": "successful",
            "certificate_status": "good", "revocation_time": None, "revocation_reason": None,
            "this_update": now - dt.timedelta(hours=1),
            "next_update": now + dt.timedelta(days=3, minutes=30), "hours_left": 72,
            "responder_name": None, "responder_key_hash": key_hash(pki.server_ca.cert),
            "hash_algorithm": "sha1", "serial": serial, "serial_matches_leaf": True,
            "issuer_matches_leaf": True,
            # nginx sends the leaf alone: its issuer comes from the trust store (--ca-bundle).
            "signature": {"valid": True, "signer": "issuer", "responder_certificate": None,
                          "issuer_source": "trust_store", "error": None},
        }
    assert [m.type for m in facet.tls1_2.handshake.transcript if m.direction == "received"][:3] \
        == ["server_hello", "certificate", "certificate_status"]
    assert record.findings == []
    assert server_facts(record).plain == "ocsp stapled good, 72h left (1.3, 1.2)"

    # The same staple, judged with a wider expiry window (72 h left < 100 h).
    wide = scan(server.port, probes=("ocsp",), probe_options=ProbeOptions(
        ca_bundle=pki.server_ca_file, ocsp_expiry_warning_hours=100))
    assert findings(wide) == [("ocsp.expiring", "low", "TLSv1.3"),
                              ("ocsp.expiring", "low", "TLSv1.2")]
    next_update = now + dt.timedelta(days=3, minutes=30)
    assert wide.findings[0].detail == (
        f"The stapled OCSP response expires at {next_update:%Y-%m-%dT%H:%M:%SZ}, within 100 h "
        "(--ocsp-expiry-warning-hours).")


def test_nginx_staples_a_revoked_response_from_a_delegated_responder(
        nginx_server, scan: Scan, tmp_path: Path) -> None:
    root = make_ca("OCSP Test Root", org="mtlsweep tests")
    issuing = make_ca("OCSP Test Issuing CA", parent=root, org="mtlsweep tests")
    leaf = issue_server_cert(issuing)
    responder = ocsp_responder(issuing)
    now = now_s()
    revoked_at = now - dt.timedelta(days=2)
    server = stapling_nginx(nginx_server, tmp_path, ocsp_response(
        leaf.cert, issuing, times=OcspTimes(now), status="revoked", revoked_at=revoked_at,
        reason=x509.ReasonFlags.key_compromise, responder=responder, responder_id="name"),
        server_files=write_served_chain(tmp_path / "leaf", leaf.chain, leaf.key))
    record = scan(server.port, probes=("ocsp",),
                  ca_bundle=write_bundle(tmp_path / "root.pem", [root]))
    assert record.ocsp is not None and record.ocsp.certificate_status == "revoked"
    serial = format(leaf.cert.serial_number, "x")
    for version in versions(record):
        facts = response_facts(version, now)
        assert {k: facts[k] for k in ("certificate_status", "revocation_time",
                                      "revocation_reason", "responder_name",
                                      "responder_key_hash", "serial", "serial_matches_leaf",
                                      "issuer_matches_leaf", "signature")} == {
            "certificate_status": "revoked", "revocation_time": revoked_at,
            "revocation_reason": "key_compromise",
            "responder_name": "CN=OCSP Responder,O=mtlsweep tests", "responder_key_hash": None,
            "serial": serial, "serial_matches_leaf": True, "issuer_matches_leaf": True,
            "signature": {"valid": True, "signer": "delegated_responder",
                          "responder_certificate": "CN=OCSP Responder,O=mtlsweep tests",
                          "issuer_source": "chain", "error": None},
        }
    assert findings(record) == [("ocsp.revoked", "critical", "TLSv1.3"),
                                ("ocsp.revoked", "critical", "TLSv1.2")]
    assert record.findings[0].detail == (
        f"The stapled OCSP response says serial {serial} was revoked at "
        f"{revoked_at:%Y-%m-%dT%H:%M:%SZ} (key_compromise).")


def test_gnutls_staples_a_response_with_a_sha256_certid(
        gnutls_server, pki: TestPKI, scan: Scan, tmp_path: Path) -> None:
    now = now_s()
    staple = write_der(tmp_path / "staple.der", ocsp_response(
        pki.server.cert, pki.server_ca, times=OcspTimes(now), responder_id="name",
        algorithm=hashes.SHA256()))
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False, extra_args=["--ocsp-response", str(staple)])
    record = scan(server.port, probes=("ocsp",))
    assert record.ocsp is not None
    assert (record.ocsp.stapled, record.ocsp.certificate_status) == (True, "good")
    for version in versions(record):
        facts = response_facts(version, now)
        assert (facts["hash_algorithm"], facts["responder_name"], facts["responder_key_hash"],
                facts["serial_matches_leaf"], facts["issuer_matches_leaf"],
                facts["signature"]["valid"], facts["signature"]["signer"],
                facts["hours_left"]) == (
            "sha256", "CN=mtlsweep Test Server CA,O=mtlsweep tests", None, True, True, True,
            "issuer", 72)
    assert record.findings == []


def test_must_staple_certificate_without_a_staple(
        nginx_server, pki: TestPKI, scan: Scan, tmp_path: Path) -> None:
    leaf = issue_server_cert(pki.server_ca, must_staple=True)
    server = stapling_nginx(nginx_server, tmp_path, None,
                            server_files=leaf.write_pem(tmp_path / "leaf"))
    record = scan(server.port, probes=("ocsp", "certificate"))
    assert record.ocsp is not None and record.certificate is not None
    assert (record.ocsp.stapled, record.ocsp.must_staple, record.ocsp.certificate_status) == (
        False, True, None)
    for version in versions(record):
        assert (version.stapled, version.must_staple, version.response) == (False, True, None)
    assert record.certificate.chains[0].certificates[0].must_staple is True
    assert server_facts(record).plain == (
        "cert EC-256 CN=localhost 89d left · trusted · name ok\n"
        "ocsp not stapled (must-staple)")
    assert findings(record) == [("ocsp.must_staple_missing", "high", "TLSv1.3"),
                                ("ocsp.must_staple_missing", "high", "TLSv1.2")]


def test_stale_staple(nginx_server, pki: TestPKI, scan: Scan, tmp_path: Path) -> None:
    now = now_s()
    times = OcspTimes(now, this_update=-dt.timedelta(days=8),
                      next_update=-dt.timedelta(hours=5, minutes=30))
    server = stapling_nginx(nginx_server, tmp_path, ocsp_response(
        pki.server.cert, pki.server_ca, times=times))
    record = scan(server.port, probes=("ocsp",))
    for version in versions(record):
        assert version.response is not None
        assert (version.response.certificate_status, version.response.next_update,
                version.response.hours_left) == (
            "good", now - dt.timedelta(hours=5, minutes=30), -6)
    assert findings(record) == [("ocsp.stale", "medium", "TLSv1.3"),
                                ("ocsp.stale", "medium", "TLSv1.2")]


def test_staple_for_another_certificate(
        nginx_server, pki: TestPKI, scan: Scan, tmp_path: Path) -> None:
    other = issue_server_cert(pki.server_ca, ["other.example"])
    server = stapling_nginx(nginx_server, tmp_path, ocsp_response(
        other.cert, pki.server_ca, times=OcspTimes(now_s())))
    record = scan(server.port, probes=("ocsp",))
    other_serial = format(other.cert.serial_number, "x")
    leaf_serial = format(pki.server.cert.serial_number, "x")
    for version in versions(record):
        assert version.response is not None
        assert (version.response.serial, version.response.serial_matches_leaf,
                version.response.issuer_matches_leaf, version.leaf_serial) == (
            other_serial, False, True, leaf_serial)
    assert findings(record) == [("ocsp.wrong_certificate", "high", "TLSv1.3"),
                                ("ocsp.wrong_certificate", "high", "TLSv1.2")]
    assert record.findings[0].detail == (
        "The stapled OCSP response is for a different certificate: serial "
        f"{other_serial} instead of the leaf's {leaf_serial}.")


def test_malformed_staple_is_a_parse_error(nginx_server, scan: Scan, tmp_path: Path) -> None:
    der = response_wrapping(b"\x30\x05garbage")
    server = stapling_nginx(nginx_server, tmp_path, der)
    record = scan(server.port, probes=("ocsp",))
    assert record.status == "ok" and record.ocsp is not None
    assert record.ocsp.stapled is True and record.ocsp.certificate_status is None
    for version in versions(record):
        assert version.response is not None
        response = version.response.model_dump(exclude_none=True)
        assert set(response) == {"size", "parse_error"} and response["size"] == len(der)
        # cryptography's own words follow; they name where in the ASN.1 it broke.
        assert response["parse_error"].startswith(
            "not a valid OCSPResponse: error parsing asn1 value")
        assert "BasicOCSPResponse" in response["parse_error"]
    assert findings(record) == [("ocsp.response_unusable", "medium", "TLSv1.3"),
                                ("ocsp.response_unusable", "medium", "TLSv1.2")]
