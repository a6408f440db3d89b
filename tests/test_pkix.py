"""X.509 and OCSP judgement (scanner.pkix) on certificates and responses built in memory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from scanner.pkix import validation
from scanner.pkix.certinfo import chain_order, describe, must_staple, weak_key_reason
from scanner.pkix.hostname import dns_name_matches, hostname_matches
from scanner.pkix.issuing import certificate_builder, name
from scanner.pkix.ocsp import analyse_response, find_issuer
from scanner.pkix.trust import TrustStore, TrustStoreError, load_ca_bundle
from scanner.pkix.validation import validate_chain
from scanner.results import ValidationErrorKind
from tests.support.ocsp import OcspTimes, ocsp_responder, ocsp_response, response_wrapping
from tests.support.pki import (
    generate_key,
    issue_server_cert,
    make_ca,
    write_bundle,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def pki() -> dict:
    # Valid from a day before NOW: NOW is taken when the module is collected, and on a
    # loaded machine this fixture may run more than the default 5-minute back-dating later.
    since = NOW - dt.timedelta(days=1)
    root = make_ca("Root CA", org="Example", not_before=since)
    inter = make_ca("Issuing CA", parent=root, org="Example", not_before=since)
    leaf = issue_server_cert(inter, ["api.example.com", "*.svc.example.com", "192.0.2.7"],
                             not_before=since)
    return {"root": root, "inter": inter, "leaf": leaf,
            "trust": TrustStore(description="test roots", anchors=(root.cert,))}


# --- host names ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("api.example.com", True),
    ("API.Example.COM.", True),
    ("a.svc.example.com", True),
    ("svc.example.com", False),        # a wildcard needs a label of its own
    ("a.b.svc.example.com", False),    # ...and covers exactly one
    ("example.com", False),
    ("192.0.2.7", True),
    ("192.0.2.8", False),
    ("::1", False),
])
def test_hostname_matches_san_only(pki: dict, name: str, expected: bool) -> None:
    assert hostname_matches(pki["leaf"].cert, name) is expected


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*.com", "example.com", False),
    ("f*.example.com", "foo.example.com", False),
    ("*.*.example.com", "a.b.example.com", False),
    ("*.example.com", "a.example.com", True),
    ("xn--bcher-kva.example", "xn--bcher-kva.example", True),
])
def test_dns_name_wildcard_rules(pattern: str, name: str, expected: bool) -> None:
    assert dns_name_matches(pattern, name) is expected


def test_cn_is_never_used_for_names(pki: dict) -> None:
    key = generate_key()
    cert = certificate_builder(name("api.example.com"), key, pki["inter"]).sign(
        pki["inter"].key, hashes.SHA256())
    assert hostname_matches(cert, "api.example.com") is False


# --- certificate facts -----------------------------------------------------------------

def test_describe_leaf(pki: dict) -> None:
    leaf = pki["leaf"].cert
    out = describe(leaf, NOW)
    assert out.subject == "CN=api.example.com"
    assert out.issuer == "CN=Issuing CA,O=Example"
    assert out.serial == format(leaf.serial_number, "x")
    assert out.subject_alt_names == ["DNS:api.example.com", "DNS:*.svc.example.com",
                                     "IP:192.0.2.7"]
    assert (out.key_type, out.key_size, out.curve) == ("EC", 256, "secp256r1")
    assert out.signature_algorithm == "ecdsa-with-SHA256"
    assert out.sha256 == leaf.fingerprint(hashes.SHA256()).hex()
    assert out.days_left == 90  # made 90 days before not_after, a moment after NOW
    assert (out.must_staple, out.is_ca, out.self_signed) == (False, False, False)
    root = describe(pki["root"].cert, NOW)
    assert (root.is_ca, root.self_signed) == (True, True)


def test_must_staple_and_weak_keys(pki: dict) -> None:
    stapled = issue_server_cert(pki["inter"], ["a.example"], must_staple=True)
    assert must_staple(stapled.cert) and describe(stapled.cert, NOW).must_staple
    weak = issue_server_cert(pki["inter"], ["a.example"],
                             key=rsa.generate_private_key(65537, 1024))
    assert weak_key_reason(describe(weak.cert, NOW)) == "RSA key of 1024 bits (under 2048)"
    assert weak_key_reason(describe(pki["leaf"].cert, NOW)) is None


def test_chain_order(pki: dict) -> None:
    leaf, inter, root = pki["leaf"].cert, pki["inter"].cert, pki["root"].cert
    assert chain_order([leaf, inter]).model_dump() == {
        "correct": True, "issues": [], "includes_root": False}
    assert chain_order([leaf, inter, root]).includes_root is True
    swapped = chain_order([leaf, root, inter])
    assert swapped.correct is False
    assert swapped.issues == [
        "certificate 0 (CN=api.example.com) is issued by certificate 2, not by the next one (1)",
        "certificate 1 (CN=Root CA,O=Example) is a self-signed root, yet certificates follow it",
    ]
    unrelated = make_ca("Stranger")
    assert chain_order([leaf, unrelated.cert]).issues == [
        "certificate 1 (CN=Stranger) did not issue certificate 0 (CN=api.example.com)"]


def test_chain_facts_examine_at_most_ten_certificates(pki: dict) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding

    from scanner.probes.certificate import chain_facts

    ders = [pki["leaf"].cert.public_bytes(Encoding.DER)] + [
        pki["inter"].cert.public_bytes(Encoding.DER)] * 11 + [b"\x30\x00"]
    out = chain_facts(ders, hostname="api.example.com", trust=pki["trust"], now=NOW,
                      found_by="default", version="TLSv1.3")
    assert (out.sent, len(out.certificates), out.unparsed) == (13, 10, [])
    assert out.validation.trusted is True  # the duplicates do not stop path building
    assert out.order.issues == [f"certificate {i} is sent twice (same as certificate 1)"
                                for i in range(2, 10)]
    broken = chain_facts([b"\x30\x00", ders[1]], hostname="api.example.com",
                         trust=pki["trust"], now=NOW, found_by="rsa", version=None)
    assert [u.index for u in broken.unparsed] == [0]
    assert (broken.validation.error_kind, broken.hostname_matches) == ("invalid", False)


# --- path validation -------------------------------------------------------------------

def test_trusted_path(pki: dict) -> None:
    out = validate_chain([pki["leaf"].cert, pki["inter"].cert], pki["trust"], NOW)
    assert out.model_dump() == {
        "trusted": True, "trust_store": "test roots", "error_kind": None, "error": None,
        "path": ["CN=api.example.com", "CN=Issuing CA,O=Example", "CN=Root CA,O=Example"]}


def test_missing_intermediate_is_unknown_issuer(pki: dict) -> None:
    out = validate_chain([pki["leaf"].cert], pki["trust"], NOW)
    assert (out.trusted, out.error_kind) == (False, ValidationErrorKind.unknown_issuer)
    assert out.error == (
        "the issuer CN=Issuing CA,O=Example of CN=api.example.com was not sent by the server "
        "and is not in the trust store (missing intermediate, or an untrusted CA)")


def test_root_sent_but_not_trusted(pki: dict) -> None:
    other = TrustStore(description="other", anchors=(make_ca("Other").cert,))
    chain = [pki["leaf"].cert, pki["inter"].cert, pki["root"].cert]
    out = validate_chain(chain, other, NOW)
    assert (out.error_kind, out.error) == (
        ValidationErrorKind.untrusted_root,
        "the chain ends at root CN=Root CA,O=Example, which is not in the trust store")


def test_self_signed(pki: dict) -> None:
    key = generate_key()
    cert = (certificate_builder(name("self"), key)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("self")]), False)
            .sign(key, hashes.SHA256()))
    out = validate_chain([cert], pki["trust"], NOW)
    assert (out.error_kind, out.error) == (
        ValidationErrorKind.self_signed,
        "the certificate (CN=self) is self-signed and not in the trust store")


def test_expired_leaf_otherwise_trusted(pki: dict) -> None:
    past = NOW - dt.timedelta(days=10)
    leaf = issue_server_cert(pki["inter"], ["a.example"], not_before=past - dt.timedelta(days=1),
                             not_after=past)
    out = validate_chain([leaf.cert, pki["inter"].cert], pki["trust"], NOW)
    assert (out.trusted, out.error_kind) == (False, ValidationErrorKind.expired)
    assert out.error == f"the leaf (CN=a.example) expired at {past:%Y-%m-%dT%H:%M:%SZ}"


def test_expired_and_unknown_issuer_reports_the_issuer(pki: dict) -> None:
    past = NOW - dt.timedelta(days=10)
    leaf = issue_server_cert(pki["inter"], ["a.example"], not_before=past - dt.timedelta(days=1),
                             not_after=past)
    out = validate_chain([leaf.cert], pki["trust"], NOW)
    assert out.error_kind is ValidationErrorKind.unknown_issuer


def test_not_yet_valid(pki: dict) -> None:
    future = NOW + dt.timedelta(days=2)
    leaf = issue_server_cert(pki["inter"], ["a.example"], not_before=future,
                             not_after=future + dt.timedelta(days=30))
    out = validate_chain([leaf.cert, pki["inter"].cert], pki["trust"], NOW)
    assert (out.error_kind, out.error) == (
        ValidationErrorKind.not_yet_valid,
        f"the leaf (CN=a.example) is not valid before {future:%Y-%m-%dT%H:%M:%SZ}")


def test_client_only_certificate_is_invalid_for_a_server(pki: dict) -> None:
    leaf = issue_server_cert(pki["inter"], ["a.example"], eku=ExtendedKeyUsageOID.CLIENT_AUTH)
    out = validate_chain([leaf.cert, pki["inter"].cert], pki["trust"], NOW)
    assert (out.error_kind, out.error) == (
        ValidationErrorKind.invalid,
        "its extended key usage does not include TLS server authentication")


def _counting_verifier(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    calls: list[dt.datetime] = []
    verify = validation._verify

    def counted(leaf: x509.Certificate, intermediates: list[x509.Certificate],
                trust: TrustStore, at: dt.datetime) -> tuple[list[x509.Certificate] | None, str]:
        calls.append(at)
        return verify(leaf, intermediates, trust, at)

    monkeypatch.setattr(validation, "_verify", counted)
    return calls


def test_a_chain_seen_again_is_answered_from_memory(pki: dict,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_verifier(monkeypatch)
    trust = TrustStore(description="fresh roots", anchors=(pki["root"].cert,))
    chain = [pki["leaf"].cert, pki["inter"].cert]
    first = validate_chain(chain, trust, NOW)
    first.path.clear()  # a caller's change to its copy reaches no other caller
    again = validate_chain(list(chain), trust, NOW + dt.timedelta(minutes=5))
    assert len(calls) == 1
    other = validate_chain(chain, TrustStore("other store", (pki["root"].cert,)), NOW)
    assert len(calls) == 2  # another store: validated again
    assert again.trusted and len(again.path) == 3
    assert again.model_dump(exclude={"trust_store"}) == other.model_dump(exclude={"trust_store"})
    assert (again.trust_store, other.trust_store) == ("fresh roots", "other store")


def test_a_remembered_answer_is_not_used_across_an_expiry(
        pki: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_verifier(monkeypatch)
    ends = NOW + dt.timedelta(days=3)
    leaf = issue_server_cert(pki["inter"], ["a.example"], not_before=NOW - dt.timedelta(days=1),
                             not_after=ends)
    short_root = make_ca("Short Root", not_before=NOW - dt.timedelta(days=1), not_after=ends)
    short_inter = make_ca("Short Issuing", parent=short_root,
                          not_before=NOW - dt.timedelta(days=1))
    short_leaf = issue_server_cert(short_inter, ["b.example"],
                                   not_before=NOW - dt.timedelta(days=1))
    later = ends + dt.timedelta(hours=1)
    # The leaf's own end lies between the two moments.
    assert validate_chain([leaf.cert, pki["inter"].cert], pki["trust"], NOW).trusted
    expired = validate_chain([leaf.cert, pki["inter"].cert], pki["trust"], later)
    assert (expired.trusted, expired.error_kind) == (False, ValidationErrorKind.expired)
    # A trust anchor's end lies between them; the chain sent is valid at both.
    store = TrustStore(description="short-lived root", anchors=(short_root.cert,))
    assert validate_chain([short_leaf.cert, short_inter.cert], store, NOW).trusted
    assert not validate_chain([short_leaf.cert, short_inter.cert], store, later).trusted
    assert len(calls) >= 4


def test_no_anchors(pki: dict) -> None:
    out = validate_chain([pki["leaf"].cert], TrustStore(description="empty", anchors=()), NOW)
    assert out.error_kind is ValidationErrorKind.no_trust_anchors


def test_ca_bundle_errors(tmp_path: Path, pki: dict) -> None:
    with pytest.raises(TrustStoreError, match="no such file"):
        load_ca_bundle(tmp_path / "missing.pem")
    (tmp_path / "empty.pem").write_text("hello\n")
    with pytest.raises(TrustStoreError, match="no PEM certificate"):
        load_ca_bundle(tmp_path / "empty.pem")
    (tmp_path / "bad.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustStoreError, match="not a valid PEM certificate bundle"):
        load_ca_bundle(tmp_path / "bad.pem")
    bundle = load_ca_bundle(write_bundle(tmp_path / "ok.pem", [pki["root"], pki["inter"]]))
    assert [c.subject.rfc4514_string() for c in bundle.anchors] == [
        "CN=Root CA,O=Example", "CN=Issuing CA,O=Example"]
    assert bundle.description == str((tmp_path / "ok.pem").resolve())


# --- OCSP ------------------------------------------------------------------------------

def analyse(der: bytes, pki: dict, *, leaf: x509.Certificate | None = None,
            issuer_known: bool = True) -> dict:
    leaf = leaf or pki["leaf"].cert
    issuer, source = find_issuer(leaf, [leaf, pki["inter"].cert] if issuer_known else [leaf],
                                 pki["trust"])
    return analyse_response(der, leaf=leaf, issuer=issuer, issuer_source=source,
                            now=NOW).model_dump()


def test_ocsp_good_signed_by_issuer(pki: dict) -> None:
    der = ocsp_response(pki["leaf"].cert, pki["inter"], times=OcspTimes(NOW))
    out = analyse(der, pki)
    leaf = pki["leaf"].cert
    key_hash = x509.SubjectKeyIdentifier.from_public_key(pki["inter"].cert.public_key()).digest
    produced = out.pop("produced_at")
    assert NOW - dt.timedelta(minutes=1) <= produced <= dt.datetime.now(dt.UTC)
    assert out == {
        "size": len(der), "parse_error": None, "response_status": "successful",
        "certificate_status": "good", "revocation_time": None, "revocation_reason": None,
        "this_update": NOW - dt.timedelta(hours=1),
        "next_update": NOW + dt.timedelta(days=3, minutes=30), "hours_left": 72,
        "responder_name": None, "responder_key_hash": key_hash.hex(), "hash_algorithm": "sha1",
        "serial": format(leaf.serial_number, "x"), "serial_matches_leaf": True,
        "issuer_matches_leaf": True,
        "signature": {"valid": True, "signer": "issuer", "responder_certificate": None,
                      "issuer_source": "chain", "error": None},
    }


def test_ocsp_revoked_by_delegated_responder_with_sha256_certid(pki: dict) -> None:
    # valid since before NOW (taken at collection), like the module's pki: a loaded suite
    # may reach this test more than the default back-dating later
    responder = ocsp_responder(pki["inter"], not_before=NOW - dt.timedelta(days=1))
    revoked_at = NOW - dt.timedelta(days=2)
    der = ocsp_response(pki["leaf"].cert, pki["inter"], times=OcspTimes(NOW), status="revoked",
                        revoked_at=revoked_at, reason=x509.ReasonFlags.key_compromise,
                        responder=responder, responder_id="name", algorithm=hashes.SHA256())
    out = analyse(der, pki)
    assert (out["certificate_status"], out["revocation_time"], out["revocation_reason"]) == (
        "revoked", revoked_at, "key_compromise")
    assert (out["hash_algorithm"], out["issuer_matches_leaf"]) == ("sha256", True)
    assert out["responder_name"] == "CN=OCSP Responder,O=mtlsweep tests"
    assert out["signature"] == {
        "valid": True, "signer": "delegated_responder",
        "responder_certificate": "CN=OCSP Responder,O=mtlsweep tests",
        "issuer_source": "chain", "error": None}


def test_ocsp_responder_without_ocsp_signing_is_refused(pki: dict) -> None:
    impostor = issue_server_cert(pki["inter"], ["responder.example"])
    der = ocsp_response(pki["leaf"].cert, pki["inter"], times=OcspTimes(NOW),
                        responder=impostor)
    signature = analyse(der, pki)["signature"]
    assert (signature["valid"], signature["signer"], signature["error"]) == (
        False, "delegated_responder",
        "the responder certificate lacks the OCSPSigning extended key usage")


def test_ocsp_signed_by_a_stranger(pki: dict) -> None:
    stranger = make_ca("Stranger CA")
    responder = ocsp_responder(stranger, "Stranger Responder",
                               not_before=NOW - dt.timedelta(days=1))
    der = ocsp_response(pki["leaf"].cert, pki["inter"], times=OcspTimes(NOW),
                        responder=responder)
    signature = analyse(der, pki)["signature"]
    assert (signature["valid"], signature["error"]) == (
        False, "the responder certificate is not issued by the leaf's issuer")


def test_ocsp_for_another_certificate_and_unknown_issuer(pki: dict) -> None:
    other = issue_server_cert(pki["inter"], ["other.example"])
    der = ocsp_response(other.cert, pki["inter"], times=OcspTimes(NOW))
    out = analyse(der, pki)
    assert (out["serial"], out["serial_matches_leaf"], out["issuer_matches_leaf"]) == (
        format(other.cert.serial_number, "x"), False, True)
    unknown = analyse(der, pki, issuer_known=False)
    assert unknown["issuer_matches_leaf"] is None  # name hash matches; key hash not checkable
    assert unknown["signature"] == {
        "valid": None, "signer": None, "responder_certificate": None, "issuer_source": None,
        "error": "the leaf's issuer certificate was neither sent by the server nor found in "
                 "the trust store, so the signer cannot be checked"}
    foreign = make_ca("Foreign CA")
    foreign_leaf = issue_server_cert(foreign, ["api.example.com"])
    der = ocsp_response(foreign_leaf.cert, foreign, times=OcspTimes(NOW))
    assert analyse(der, pki)["issuer_matches_leaf"] is False


def test_ocsp_stale_and_without_next_update(pki: dict) -> None:
    stale = ocsp_response(pki["leaf"].cert, pki["inter"], times=OcspTimes(
        NOW, this_update=-dt.timedelta(days=8), next_update=-dt.timedelta(hours=5, minutes=30)))
    assert analyse(stale, pki)["hours_left"] == -6
    open_ended = ocsp_response(pki["leaf"].cert, pki["inter"],
                               times=OcspTimes(NOW, next_update=None))
    out = analyse(open_ended, pki)
    assert (out["next_update"], out["hours_left"]) == (None, None)


@pytest.mark.parametrize("der", [b"", b"\x30\x03\x0a\x01", b"not DER at all" * 10,
                                 response_wrapping(b"\x30\x03\x02\x01\x05"),
                                 response_wrapping(b"garbage")])
def test_malformed_ocsp_is_a_parse_error(pki: dict, der: bytes) -> None:
    out = analyse(der, pki)
    assert out["parse_error"] is not None and out["size"] == len(der)
    assert out["certificate_status"] is None and out["signature"] is None


def test_unsuccessful_ocsp_status(pki: dict) -> None:
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(serialization.Encoding.DER)
    out = analyse(der, pki)
    assert (out["response_status"], out["parse_error"], out["certificate_status"]) == (
        "try_later", None, None)


def test_issued_by_tells_apart_two_issuers_of_the_same_name() -> None:
    """Signature checks are remembered per pair of certificates (by their DER): a CA with the
    same name and another key is not taken for the one that signed, in either order."""
    from scanner.pkix.certinfo import issued_by
    from tests.support.pki import issue_server_cert, make_ca

    real, impostor = (make_ca("Same Name CA", key_type=kind) for kind in ("ec", "rsa"))
    assert real.cert.subject == impostor.cert.subject
    leaf = issue_server_cert(real).cert
    for _ in range(2):
        assert issued_by(leaf, real.cert)
        assert not issued_by(leaf, impostor.cert)
    other = issue_server_cert(impostor).cert
    assert not issued_by(other, real.cert) and issued_by(other, impostor.cert)
