"""The ALPN probe against real servers, checked fact by fact; openssl s_client -alpn confirms
the selections independently."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scanner.probes.alpn import NO_OVERLAP_PROBE, findings_for, summarise
from scanner.results import AlpnAtVersion, AlpnFacet, AlpnNoOverlap, Record
from tests.support.oracle import s_client

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]

HTTP2_SELECTIONS = {"h2,http/1.1": "h2", "h2": "h2", "http/1.1": "http/1.1", "no_alpn": None}
HTTP1_SELECTIONS = {"h2,http/1.1": "http/1.1", "h2": None, "http/1.1": "http/1.1",
                    "no_alpn": None}


def alpn(record: Record) -> AlpnFacet:
    assert record.status == "ok", record.model_dump_json(indent=1)
    assert record.alpn is not None
    return record.alpn


def overlap(version: AlpnAtVersion | AlpnFacet) -> tuple[str, str | None, list[str]] | None:
    o = version.no_overlap
    return None if o is None else (o.behaviour.value, o.alert, o.offer)


def offers(version: AlpnAtVersion) -> list[tuple[list[str], str, str | None]]:
    return [(a.offer, a.outcome.value, a.selected or a.alert) for a in version.attempts]


def both_versions(facet: AlpnFacet) -> list[AlpnAtVersion]:
    assert facet.consistent_across_versions is True
    return [facet.tls1_3, facet.tls1_2]


def test_nginx_with_http2(nginx_server, scan: Scan) -> None:
    server = nginx_server(mode="none", http2=True)
    record = scan(server.port, probes=("alpn",))
    facet = alpn(record)
    assert facet.supported == ["h2", "http/1.1", "http/1.0", "http/0.9"]
    assert facet.selected_for == HTTP2_SELECTIONS
    rejected = ("rejected", "no_application_protocol", ["spdy/3.1", "grpc-exp", "acme-tls/1"])
    assert overlap(facet) == rejected
    for version in both_versions(facet):
        assert version.supported and version.complete
        assert version.selected_for == HTTP2_SELECTIONS
        assert version.unsupported_protocols == ["spdy/3.1", "grpc-exp", "acme-tls/1"]
        assert overlap(version) == rejected
        # Elimination: each supported protocol is left out of the next offer.
        assert offers(version)[4:] == [
            (["http/1.0", "http/0.9", "spdy/3.1", "grpc-exp", "acme-tls/1"], "selected",
             "http/1.0"),
            (["http/0.9", "spdy/3.1", "grpc-exp", "acme-tls/1"], "selected", "http/0.9"),
            (["spdy/3.1", "grpc-exp", "acme-tls/1"], "rejected", "no_application_protocol"),
        ]
    assert record.findings == []
    # per version: 4 standard offers + 3 eliminations, and the version test (a raw hello)
    # whose suites the eliminations' raw hellos offer
    assert record.stats.connections == 16
    for tls_version in ("1.3", "1.2"):
        oracle = s_client(server.port, tls_version=tls_version, extra_args=["-alpn", "h2,http/1.1"])
        assert oracle.alpn_protocol == "h2"


def test_nginx_without_http2_rejects_h2_alone(nginx_server, scan: Scan) -> None:
    server = nginx_server(mode="none")
    facet = alpn(scan(server.port, probes=("alpn",)))
    assert facet.supported == ["http/1.1", "http/1.0", "http/0.9"]
    assert facet.selected_for == HTTP1_SELECTIONS
    assert overlap(facet) == ("rejected", "no_application_protocol", ["h2"])
    for version in both_versions(facet):
        assert version.unsupported_protocols == ["h2", "spdy/3.1", "grpc-exp", "acme-tls/1"]
        assert offers(version)[:4] == [
            (["h2", "http/1.1"], "selected", "http/1.1"),
            (["h2"], "rejected", "no_application_protocol"),
            (["http/1.1"], "selected", "http/1.1"),
            ([], "no_protocol", None),
        ]
    oracle = s_client(server.port, tls_version="1.3", extra_args=["-alpn", "h2,http/1.1"])
    assert oracle.alpn_protocol == "http/1.1"


@pytest.mark.parametrize(("fatal", "behaviour", "alert"), [
    (True, "rejected", "no_application_protocol"),
    (False, "ignored", None),
])
def test_gnutls_no_overlap_fatal_or_ignored(gnutls_server, scan: Scan, fatal: bool,
                                             behaviour: str, alert: str | None) -> None:
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False,
                           extra_args=["--alpn", "h2", "--alpn", "http/1.1",
                                       *(["--alpn-fatal"] if fatal else [])])
    record = scan(server.port, probes=("alpn",))
    facet = alpn(record)
    assert facet.supported == ["h2", "http/1.1"]
    assert facet.selected_for == HTTP2_SELECTIONS
    rest = ["http/1.0", "http/0.9", "spdy/3.1", "grpc-exp", "acme-tls/1"]
    for version in both_versions(facet):
        assert overlap(version) == (behaviour, alert, rest)
        assert version.unsupported_protocols == rest
    # per version: 4 standard offers + 1 elimination + the version test
    assert record.stats.connections == 12


def test_gnutls_without_alpn_ignores_every_offer(gnutls_server, scan: Scan) -> None:
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False)
    facet = alpn(scan(server.port, probes=("alpn",)))
    assert facet.supported == []
    assert facet.selected_for == {label: None for label in HTTP2_SELECTIONS}
    assert overlap(facet) == ("ignored", None, ["h2", "http/1.1"])
    for version in both_versions(facet):
        assert {a.outcome.value for a in version.attempts} == {"no_protocol"}


def test_server_supporting_every_known_protocol_and_an_extra_one(openssl_server,
                                                                 scan: Scan) -> None:
    every = "h2,http/1.1,http/1.0,http/0.9,spdy/3.1,grpc-exp,acme-tls/1,imap"
    server = openssl_server(verify=None, extra_args=["-alpn", every])
    record = scan(server.port, probes=("alpn",), alpn_extra=("imap", "pop3"))
    facet = alpn(record)
    assert facet.supported == every.split(",")
    for version in both_versions(facet):
        assert version.unsupported_protocols == ["pop3"]
        assert overlap(version) == ("rejected", "no_application_protocol", ["pop3"])
        assert NO_OVERLAP_PROBE not in [p for a in version.attempts for p in a.offer]


def test_no_overlap_probe_when_every_offered_protocol_is_selected(openssl_server,
                                                                  scan: Scan) -> None:
    every = "h2,http/1.1,http/1.0,http/0.9,spdy/3.1,grpc-exp,acme-tls/1"
    server = openssl_server(verify=None, extra_args=["-alpn", every])
    record = scan(server.port, probes=("alpn",))
    facet = alpn(record)
    assert facet.supported == every.split(",")
    for version in both_versions(facet):
        assert version.unsupported_protocols == []
        assert overlap(version) == ("rejected", "no_application_protocol", [NO_OVERLAP_PROBE])
    # Per version: 4 standard offers, 5 eliminations, 1 offer that cannot overlap, the
    # version test.
    assert record.stats.connections == 22


def test_tls12_only_server_and_client_certificate_required(openssl_server, scan: Scan) -> None:
    # ALPN is decided before the ServerHello, so a TLS 1.2 handshake that then fails for want
    # of a client certificate still answers the question.
    server = openssl_server(verify="require", tls_versions=("1.2",),
                            extra_args=["-alpn", "http/1.1"])
    record = scan(server.port, probes=("alpn",))
    facet = alpn(record)
    assert facet.tls1_3.supported is False
    assert offers(facet.tls1_3) == [
        (["h2", "http/1.1"], "rejected", "protocol_version"),
        ([], "rejected", "protocol_version"),
    ]
    assert facet.consistent_across_versions is None
    assert facet.supported == ["http/1.1"]
    assert facet.selected_for == HTTP1_SELECTIONS
    assert overlap(facet) == ("rejected", "no_application_protocol", ["h2"])


def test_differences_between_versions_are_a_finding() -> None:
    # No installed server answers ALPN differently per version; the rule is checked on models.
    def version(name: str, protocols: list[str]) -> AlpnAtVersion:
        return AlpnAtVersion(
            version=name, supported=True, supported_protocols=protocols, complete=True,
            selected_for={"h2,http/1.1": protocols[0]},
            no_overlap=AlpnNoOverlap(behaviour="ignored", offer=["spdy/3.1"]))

    facet = summarise(version("TLSv1.3", ["h2", "http/1.1"]), version("TLSv1.2", ["http/1.1"]))
    assert facet.consistent_across_versions is False
    assert facet.supported == ["h2", "http/1.1"]  # the highest version's answer
    (finding,) = findings_for(facet)
    assert (finding.id, finding.severity.value) == ("alpn.differs_by_version", "info")
    assert finding.detail == (
        "ALPN answers differ between protocol versions (TLSv1.3: supports h2, http/1.1, no "
        "overlap ignored; TLSv1.2: supports http/1.1, no overlap ignored).")
