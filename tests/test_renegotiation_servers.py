"""The renegotiation probe against real servers (and in-process peers for the answers no
installed server gives), checked fact by fact."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scanner.results import (
    ClientRenegotiation,
    Finding,
    Record,
    RenegotiationFacet,
    RenegotiationOutcome,
    RenegotiationStatus,
)
from tests.support.oracle import s_client

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]


def renegotiation(record: Record) -> RenegotiationFacet:
    assert record.status == "ok", record.model_dump_json(indent=1)
    assert record.renegotiation is not None
    return record.renegotiation


def attempt(facet: RenegotiationFacet) -> tuple[str, str | None, bool]:
    initiated = facet.client_initiated
    assert initiated is not None, facet
    return initiated.outcome.value, initiated.alert, initiated.certificate_requested


def finding_ids(record: Record) -> list[str]:
    return sorted(f.id for f in record.findings)


def test_openssl_with_client_renegotiation_accepts_it_at_tls12_despite_tls13(
        openssl_server, scan: Scan) -> None:
    server = openssl_server(verify=None, extra_args=["-client_renegotiation"])
    record = scan(server.port, probes=("renegotiation",))
    facet = renegotiation(record)
    assert (facet.status, facet.version, facet.secure_renegotiation) == (
        RenegotiationStatus.tested, "TLSv1.2", True)
    assert attempt(facet) == ("accepted", None, False)
    # Both handshakes are in the transcript: two ServerHellos, the second after the first.
    hellos = [e for e in facet.handshake.transcript if e.type == "server_hello"]
    assert [h.after_handshake for h in hellos] == [False, True]
    assert finding_ids(record) == ["renegotiation.client_initiated_accepted"]
    assert record.stats.connections == 1
    assert s_client(server.port, tls_version="1.2").secure_renegotiation is True


def test_openssl_default_refuses_with_a_warning(openssl_server, scan: Scan) -> None:
    # OpenSSL 3 servers refuse client-initiated renegotiation unless told otherwise.
    facet = renegotiation(scan(openssl_server(verify=None).port, probes=("renegotiation",)))
    assert facet.secure_renegotiation is True
    assert attempt(facet) == ("refused_warning", "no_renegotiation", False)
    received = [(e.type, e.after_handshake) for e in facet.handshake.transcript
                if e.direction == "received" and e.type.startswith("alert:")]
    assert received == [("alert:no_renegotiation", True)]


def test_nginx_refuses_with_a_warning(nginx_server, scan: Scan) -> None:
    record = scan(nginx_server(mode="none").port, probes=("renegotiation",))
    facet = renegotiation(record)
    assert (facet.status, facet.version, facet.secure_renegotiation) == (
        "tested", "TLSv1.2", True)
    assert attempt(facet) == ("refused_warning", "no_renegotiation", False)
    assert record.findings == []


def test_gnutls_accepts(gnutls_server, scan: Scan) -> None:
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False)
    facet = renegotiation(scan(server.port, probes=("renegotiation",)))
    assert attempt(facet) == ("accepted", None, False)


def test_tls13_only_server_is_not_applicable(openssl_server, scan: Scan) -> None:
    server = openssl_server(verify=None, tls_versions=("1.3",))
    record = scan(server.port, probes=("renegotiation",))
    facet = renegotiation(record)
    assert facet.status is RenegotiationStatus.not_applicable
    assert facet.detail == ("the server refused TLS 1.2 and below (a protocol_version alert) "
                            "and negotiated TLS 1.3, which has no renegotiation")
    assert (facet.version, facet.secure_renegotiation, facet.client_initiated) == (
        None, None, None)
    assert facet.handshake.offer.max_version == "TLSv1.2"
    assert record.findings == []
    assert record.stats.connections == 2  # the refused TLS 1.2 offer, the TLS 1.3 check


def test_tls12_handshake_needing_a_client_certificate_is_not_measured_without_one(
        openssl_server, scan: Scan) -> None:
    facet = renegotiation(scan(openssl_server(verify="require").port,
                               probes=("client_auth", "renegotiation")))
    assert facet.status is RenegotiationStatus.not_measured
    assert facet.not_measured == "client_certificate_required"
    assert facet.client_certificate_presented is False
    assert facet.secure_renegotiation is True  # read from the ServerHello all the same
    assert facet.client_initiated is None
    assert facet.detail is not None and "requires a client certificate" in facet.detail


def test_peer_closing_on_renegotiation(renegotiation_peer, scan: Scan) -> None:
    facet = renegotiation(scan(renegotiation_peer("close").port, probes=("renegotiation",)))
    outcome, alert, requested = attempt(facet)
    assert (outcome, alert, requested) == ("closed", None, False)


def test_peer_requiring_a_certificate_in_the_renegotiation(renegotiation_peer,
                                                           scan: Scan) -> None:
    record = scan(renegotiation_peer("require_certificate").port, probes=("renegotiation",))
    facet = renegotiation(record)
    assert attempt(facet) == ("refused_fatal", "handshake_failure", True)
    assert facet.client_initiated.detail == (
        "the server answered with a fatal handshake_failure alert")
    assert record.findings == []


def test_peer_ignoring_the_renegotiation(renegotiation_peer, scan: Scan) -> None:
    record = scan(renegotiation_peer("ignore").port, probes=("renegotiation",), timeout=1.0)
    facet = renegotiation(record)
    assert attempt(facet) == ("no_response", None, False)
    assert facet.client_initiated.detail == (
        "no answer to the renegotiation before the connection deadline")


def test_findings_for_insecure_renegotiation() -> None:
    # No installed server omits renegotiation_info; the rule is checked on the model.
    from scanner.probes.renegotiation import findings_for

    facet = RenegotiationFacet(
        status=RenegotiationStatus.tested, version="TLSv1.2", secure_renegotiation=False,
        client_initiated=ClientRenegotiation(outcome=RenegotiationOutcome.accepted,
                                             detail="a second handshake completed"))
    found: list[Finding] = findings_for(facet)
    assert [(f.id, f.severity.value, f.version) for f in found] == [
        ("renegotiation.insecure", "medium", "TLSv1.2"),
        ("renegotiation.client_initiated_accepted", "low", "TLSv1.2"),
    ]
