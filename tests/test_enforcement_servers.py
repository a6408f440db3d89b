"""The enforcement probe against real servers on 127.0.0.1, one verdict per configuration.

Each server is set up to show one way of handling client certificates; the expected
verdicts, attempt endings and AWS ALB readings follow from its configuration (see the
findings in ``tests.support.servers`` docstrings).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes

from scanner.config.targets import HttpCheck, Target
from scanner.lab.server import ClientAuth, LabServer, ListenerConfig, Verification
from scanner.offers.credential import ClientCredential
from scanner.pkix.issuing import Issued, issue, make_ca, name
from scanner.results import EnforcementFacet, Record
from tests.conftest import scan_targets
from tests.support.pki import Credential, TestPKI
from tests.support.processes import LOOPBACK

pytestmark = pytest.mark.servers

Ending = tuple[str, str, str | None, int | None]  # result, ended, alert, HTTP status


def credential(item: Credential) -> ClientCredential:
    return ClientCredential(item.cert, item.key)


def enforce(port: int, *, client: Credential | None = None, ca: Credential | None = None,
            http: HttpCheck | None = None) -> tuple[EnforcementFacet, Record]:
    target = Target(host=LOOPBACK, port=port, sni="localhost",
                    client_credential=credential(client) if client else None,
                    client_ca=credential(ca) if ca else None, http=http or HttpCheck())
    (record,) = scan_targets([target], probes=("enforcement",))
    assert record.status == "ok", record.error
    assert record.enforcement is not None
    return record.enforcement, record


def endings(result: EnforcementFacet) -> dict[str, Ending]:
    return {a.certificate.value: (a.result.value, a.ended.value, a.alert,
                                  a.http.status if a.http else None)
            for a in result.attempts}


def finding_ids(record: Record) -> list[str]:
    return sorted(f"{f.severity.value}:{f.id}" for f in record.findings)


def alb(result: EnforcementFacet) -> tuple[object, ...]:
    inference = result.aws_alb
    assert inference is not None
    return (inference.fits, inference.mode, inference.advertise_ca_names,
            inference.ignore_client_certificate_expiry)


# --- nginx ---------------------------------------------------------------------------


def test_nginx_optional_no_ca_accepts_anything(nginx_server) -> None:
    server = nginx_server(mode="optional_no_ca")
    result, record = enforce(server.port)
    assert result.verdict == "optional_unverified"
    assert result.ca_names_sent is False
    assert endings(result) == {
        "none": ("accepted", "http", None, 200),
        "self_signed": ("accepted", "http", None, 200),
        "untrusted_ca": ("accepted", "http", None, 200),
    }
    assert result.skipped["lookalike_ca"] == "the server advertises no CA names to copy"
    assert alb(result) == (True, "passthrough", None, None)
    assert finding_ids(record) == ["medium:enforcement.unverified"]


def test_nginx_on_rejects_at_http(nginx_server, pki: TestPKI) -> None:
    server = nginx_server(mode="ca_names")
    result, record = enforce(server.port)
    assert result.verdict == "required_at_http"
    assert result.http_baseline is None
    assert endings(result) == {
        "none": ("rejected", "http", None, 400),
        "self_signed": ("rejected", "http", None, 400),
        "untrusted_ca": ("rejected", "http", None, 400),
        "lookalike_ca": ("rejected", "http", None, 400),
    }
    assert "no trusted certificate was given" in result.reason
    lookalike = next(a for a in result.attempts if a.certificate == "lookalike_ca")
    assert lookalike.presented is not None
    assert lookalike.presented.issuer == pki.client_ca_one.rfc4514  # copies the first name
    assert alb(result) == (False, None, None, None)
    assert finding_ids(record) == []

    # With the user's certificate, a trusted request shows what "accepted" looks like.
    result, record = enforce(server.port, client=pki.client_one, ca=pki.client_ca_one)
    assert result.verdict == "required_at_http"
    assert result.http_baseline == 200
    assert endings(result) == {
        "none": ("rejected", "http", None, 400),
        "self_signed": ("rejected", "http", None, 400),
        "untrusted_ca": ("rejected", "http", None, 400),
        "lookalike_ca": ("rejected", "http", None, 400),
        "user_certificate": ("accepted", "http", None, 200),
        "expired": ("rejected", "http", None, 400),
    }
    assert "no trusted certificate" not in result.reason
    user = next(a for a in result.attempts if a.certificate == "user_certificate")
    assert user.presented is not None and user.presented.generated is False
    assert user.presented.subject == pki.client_one.rfc4514
    assert user.presented.sha256 == pki.client_one.cert.fingerprint(hashes.SHA256()).hex()
    assert user.handshake.offer.client_certificate == pki.client_one.rfc4514
    assert finding_ids(record) == []


def test_nginx_trusted_only_with_just_the_user_ca(nginx_server, pki: TestPKI) -> None:
    # optional_no_ca + ssl_trusted_certificate + "403 unless SUCCESS": no CA names, and the
    # HTTP layer decides. Given only the CA and its key, the probe issues its own control.
    result, record = enforce(nginx_server(mode="trusted_only").port, ca=pki.client_ca_two)
    assert result.verdict == "required_at_http"
    assert result.http_baseline == 200
    assert endings(result) == {
        "none": ("rejected", "http", None, 403),
        "self_signed": ("rejected", "http", None, 403),
        "untrusted_ca": ("rejected", "http", None, 403),
        "user_ca_issued": ("accepted", "http", None, 200),
        "expired": ("rejected", "http", None, 400),
    }
    control = next(a for a in result.attempts if a.certificate == "user_ca_issued")
    assert control.presented is not None and control.presented.generated is True
    assert control.presented.issuer == pki.client_ca_two.rfc4514
    expired = next(a for a in result.attempts if a.certificate == "expired")
    assert expired.presented is not None
    assert expired.presented.not_after < control.presented.not_before
    assert "a trusted certificate gets 200" in expired.detail
    assert finding_ids(record) == []


def test_nginx_optional_verifies_what_it_gets(nginx_server) -> None:
    result, _ = enforce(nginx_server(mode="optional").port)
    assert result.verdict == "optional_verified"
    assert endings(result) == {
        "none": ("accepted", "http", None, 200),
        "self_signed": ("rejected", "http", None, 400),
        "untrusted_ca": ("rejected", "http", None, 400),
        "lookalike_ca": ("rejected", "http", None, 400),
    }


def test_nginx_without_client_auth_is_not_requested(nginx_server) -> None:
    result, record = enforce(nginx_server(mode="none").port)
    assert result.verdict == "not_requested"
    assert endings(result) == {"none": ("accepted", "http", None, 200)}
    assert set(result.skipped) == {"self_signed", "untrusted_ca", "lookalike_ca"}
    assert alb(result) == (True, "off", None, None)
    assert finding_ids(record) == []


# --- haproxy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("versions", "none_ending", "untrusted_ending"),
    [
        (("1.2", "1.3"), ("rejected", "after_handshake", "certificate_required", None),
         ("rejected", "after_handshake", "unknown_ca", None)),
        (("1.2",), ("rejected", "tls_handshake", "handshake_failure", None),
         ("rejected", "tls_handshake", "unknown_ca", None)),
    ],
)
def test_haproxy_verify_required_rejects_at_tls(haproxy_server, pki: TestPKI, versions,
                                                none_ending: Ending,
                                                untrusted_ending: Ending) -> None:
    server = haproxy_server(verify="required", tls_versions=versions)
    result, record = enforce(server.port, client=pki.client_two)
    assert result.verdict == "required_at_tls"
    assert result.version == ("TLSv1.3" if "1.3" in versions else "TLSv1.2")
    assert result.ca_names_sent is False
    assert endings(result) == {
        "none": none_ending,
        "self_signed": untrusted_ending,
        "untrusted_ca": untrusted_ending,
        "user_certificate": ("accepted", "http", None, 200),
    }
    assert alb(result) == (True, "verify", "off", None)
    assert finding_ids(record) == []


def test_haproxy_ignoring_expiry_reads_as_alb_ignore_expiry(haproxy_server,
                                                             pki: TestPKI) -> None:
    server = haproxy_server(verify="required", advertise_ca_names=True, ignore_errors=(10,))
    result, record = enforce(server.port, client=pki.client_one, ca=pki.client_ca_one)
    assert result.verdict == "required_at_tls"
    assert endings(result) == {
        "none": ("rejected", "after_handshake", "certificate_required", None),
        "self_signed": ("rejected", "after_handshake", "unknown_ca", None),
        "untrusted_ca": ("rejected", "after_handshake", "unknown_ca", None),
        "lookalike_ca": ("rejected", "after_handshake", "decrypt_error", None),
        "user_certificate": ("accepted", "http", None, 200),
        "expired": ("accepted", "http", None, 200),
    }
    assert alb(result) == (True, "verify", "on", "on")
    assert finding_ids(record) == ["low:enforcement.expired_accepted"]


# --- openssl s_server / gnutls-serv --------------------------------------------------


def test_openssl_rejects_expired_certificate_non_http_service(openssl_server,
                                                               pki: TestPKI) -> None:
    server = openssl_server(verify="require")
    result, record = enforce(server.port, client=pki.client_one, ca=pki.client_ca_one,
                             http=HttpCheck(enabled=False))
    assert result.verdict == "required_at_tls"
    assert endings(result) == {
        "none": ("rejected", "after_handshake", "certificate_required", None),
        "self_signed": ("rejected", "after_handshake", "unknown_ca", None),
        "untrusted_ca": ("rejected", "after_handshake", "unknown_ca", None),
        "lookalike_ca": ("rejected", "after_handshake", "decrypt_error", None),
        "user_certificate": ("accepted", "tls_only", None, None),
        "expired": ("rejected", "after_handshake", "certificate_expired", None),
    }
    assert alb(result) == (True, "verify", "on", "off")
    assert finding_ids(record) == []


def test_gnutls_requires_and_verifies(gnutls_server, pki: TestPKI) -> None:
    server = gnutls_server(require_client_cert=True, verify_client_cert=True)
    result, record = enforce(server.port, client=pki.client_one)
    assert result.verdict == "required_at_tls"
    assert endings(result) == {
        "none": ("rejected", "after_handshake", "certificate_required", None),
        "self_signed": ("rejected", "after_handshake", "access_denied", None),
        "untrusted_ca": ("rejected", "after_handshake", "access_denied", None),
        "lookalike_ca": ("rejected", "after_handshake", "access_denied", None),
        "user_certificate": ("accepted", "http", None, 200),  # GET: gnutls-serv's 200
    }
    # gnutls-serv --http answers HEAD with a bare HTML page (no status line), GET with 200.
    user = next(a for a in result.attempts if a.certificate == "user_certificate")
    assert user.http is not None and user.http.outcome == "response"
    assert user.http.request.startswith("GET / ")
    assert alb(result) == (True, "verify", "on", None)
    assert finding_ids(record) == []


# --- in-process servers for behaviours no real server is configured to show ----------


@contextlib.contextmanager
def lab(pki: TestPKI, **config: object) -> Iterator[LabServer]:
    server_ca = make_ca(name("lab server CA"))
    leaf = issue(server_ca, name("localhost"), hosts=("localhost", "127.0.0.1"))
    trusted = pki.client_ca_one
    listener = ListenerConfig(certificate=leaf, trusted_cas=(Issued(trusted.cert, trusted.key),),
                              **config)  # type: ignore[arg-type]
    with LabServer(listener) as server:
        yield server


def test_issuer_name_only_check_accepts_the_lookalike(pki: TestPKI) -> None:
    with lab(pki, client_auth=ClientAuth.require,
             verification=Verification.issuer_name_only) as server:
        result, record = enforce(server.port, client=pki.client_one)
    assert result.verdict == "accepts_untrusted"
    assert endings(result) == {
        "none": ("rejected", "after_handshake", "certificate_required", None),
        "self_signed": ("rejected", "after_handshake", "unknown_ca", None),
        "untrusted_ca": ("rejected", "after_handshake", "unknown_ca", None),
        "lookalike_ca": ("accepted", "http", None, 200),
        "user_certificate": ("accepted", "http", None, 200),
    }
    assert "checks the issuer's name, not the signature" in result.reason
    assert finding_ids(record) == ["high:enforcement.accepts_untrusted"]
    assert alb(result)[0] is False


def test_h2_only_server_is_named_not_misread(pki: TestPKI) -> None:
    with lab(pki, client_auth=ClientAuth.require, alpn=("h2",)) as server:
        result, record = enforce(server.port, client=pki.client_one)
    assert result.verdict == "required_at_tls"
    assert endings(result)["none"] == ("rejected", "after_handshake", "certificate_required",
                                       None)
    user = next(a for a in result.attempts if a.certificate == "user_certificate")
    assert user.http is not None
    assert (user.result, user.ended, user.http.outcome, user.http.status, user.http.protocol) == (
        "accepted", "http", "response", 200, "HTTP/2")
    assert user.handshake.alpn == "h2"
    assert finding_ids(record) == ["info:enforcement.h2_only"]


def test_rsa_only_certificate_request_gets_rsa_certificates(openssl_server) -> None:
    server = openssl_server(verify="require",
                            extra_args=["-client_sigalgs", "RSA-PSS+SHA256:RSA+SHA256"])
    result, _ = enforce(server.port, http=HttpCheck(enabled=False))
    assert result.verdict == "required_at_tls"
    for attempt in result.attempts[1:]:
        assert attempt.certificate_sent is True, attempt.detail
        assert attempt.alert == "unknown_ca"


def test_required_but_unverified_accepts_untrusted(pki: TestPKI) -> None:
    with lab(pki, client_auth=ClientAuth.require, verification=Verification.accept_any,
             advertise_ca_names=False) as server:
        result, record = enforce(server.port)
    assert result.verdict == "accepts_untrusted"
    assert endings(result) == {
        "none": ("rejected", "after_handshake", "certificate_required", None),
        "self_signed": ("accepted", "http", None, 200),
        "untrusted_ca": ("accepted", "http", None, 200),
    }
    assert "does not check that certificates chain to a CA it trusts" in result.reason
    assert finding_ids(record) == ["high:enforcement.accepts_untrusted"]
