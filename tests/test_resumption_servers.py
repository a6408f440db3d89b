"""The resumption probe against real servers, checked fact by fact.

Lifetimes follow each server's configuration (nginx ``ssl_session_timeout``, OpenSSL's 7200 s
default, GnuTLS's 6 h); `tests.support.oracle` (openssl s_client, decoding NewSessionTicket bytes
itself) confirms the tickets independently.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scanner.results import Record, ResumptionFacet, Ticket
from tests.support.oracle import s_client

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]


def resumption(record: Record) -> ResumptionFacet:
    assert record.status == "ok", record.model_dump_json(indent=1)
    assert record.resumption is not None
    return record.resumption


def findings(record: Record) -> list[tuple[str, str | None]]:
    return sorted((f.id, f.version) for f in record.findings)


def tls12_facts(facet: ResumptionFacet) -> tuple[object, ...]:
    t = facet.tls1_2
    return (t.supported, t.ticket_issued, t.ticket.lifetime_s if t.ticket else None,
            t.resumed_with_ticket, t.session_id_issued, t.resumed_with_session_id)


def tls13_facts(facet: ResumptionFacet) -> tuple[object, ...]:
    t = facet.tls1_3
    return (t.supported, t.tickets_issued, [(k.lifetime_s, k.max_early_data) for k in t.tickets],
            t.resumed_with_psk)


def test_nginx_defaults(nginx_server, scan: Scan) -> None:
    # ssl_session_tickets on, ssl_session_timeout 5m, ssl_session_cache none: nginx hands
    # out session IDs it never stores.
    server = nginx_server(mode="none")
    record = scan(server.port, probes=("resumption",))
    facet = resumption(record)
    assert tls12_facts(facet) == (True, True, 300, True, True, False)
    assert tls13_facts(facet) == (True, 2, [(300, None), (300, None)], True)
    assert facet.tls1_2.errors == [] and facet.tls1_3.errors == []
    assert facet.tls1_3.wait_ms is not None and facet.tls1_3.wait_ms >= 250
    assert findings(record) == [("resumption.session_id_not_honoured", "TLSv1.2")]
    # Three pairs of connections: tickets, session ID, TLS 1.3.
    assert record.stats.connections == 6
    oracle12 = s_client(server.port, tls_version="1.2").new_session_tickets
    assert [(t.lifetime_s, t.ticket_length) for t in oracle12] == [
        (facet.tls1_2.ticket.lifetime_s, facet.tls1_2.ticket.ticket_length)]
    oracle13 = s_client(server.port, tls_version="1.3").new_session_tickets
    assert [Ticket(lifetime_s=t.lifetime_s, ticket_length=t.ticket_length,
                      max_early_data=t.max_early_data) for t in oracle13] == facet.tls1_3.tickets


def test_nginx_tickets_off_stateful_tls13_tickets_not_honoured(nginx_server,
                                                               scan: Scan) -> None:
    # With tickets off, OpenSSL still sends TLS 1.3 tickets: 32-byte IDs into a session
    # cache that nginx does not keep, so they cannot resume.
    server = nginx_server(mode="none",
                          extra_directives="ssl_session_tickets off; ssl_session_timeout 4h;")
    record = scan(server.port, probes=("resumption",))
    facet = resumption(record)
    assert tls12_facts(facet) == (True, False, None, None, True, False)
    assert facet.tls1_2.ticket is None
    assert tls13_facts(facet) == (True, 2, [(14400, None), (14400, None)], False)
    assert [t.ticket_length for t in facet.tls1_3.tickets] == [32, 32]
    assert findings(record) == [("resumption.session_id_not_honoured", "TLSv1.2"),
                                ("resumption.ticket_not_honoured", "TLSv1.3")]
    assert record.stats.connections == 5  # no ticket at TLS 1.2: nothing to resume there


def test_nginx_cache_long_timeout_and_early_data(nginx_server, scan: Scan) -> None:
    server = nginx_server(mode="none", extra_directives=(
        "ssl_session_cache shared:TEST:1m; ssl_session_timeout 25h; ssl_early_data on;"))
    record = scan(server.port, probes=("resumption",))
    facet = resumption(record)
    assert tls12_facts(facet) == (True, True, 90000, True, True, True)
    assert tls13_facts(facet) == (True, 2, [(90000, 16384), (90000, 16384)], True)
    assert findings(record) == [("resumption.ticket_lifetime_long", "TLSv1.2"),
                                ("resumption.ticket_lifetime_long", "TLSv1.3")]
    long_13 = next(f for f in record.findings if f.version == "TLSv1.3")
    assert long_13.detail.startswith("Session tickets live 90000 s (25 h), over 24 h")


def test_openssl_resumes_by_session_id_after_close_notify(openssl_server, scan: Scan) -> None:
    # s_server drops a session from its cache when the client just drops the connection;
    # the probe ends its connections with close_notify, so session IDs resume.
    facet = resumption(scan(openssl_server(verify=None).port, probes=("resumption",)))
    assert tls12_facts(facet) == (True, True, 7200, True, True, True)
    assert tls13_facts(facet) == (True, 2, [(7200, None), (7200, None)], True)


def test_gnutls_without_tickets(gnutls_server, scan: Scan) -> None:
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False, extra_args=["--noticket"])
    record = scan(server.port, probes=("resumption",))
    facet = resumption(record)
    assert tls12_facts(facet) == (True, False, None, None, True, True)
    assert tls13_facts(facet) == (True, 0, [], None)
    assert record.findings == []


def test_gnutls_early_data(gnutls_server, scan: Scan) -> None:
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False, extra_args=["--earlydata"])
    facet = resumption(scan(server.port, probes=("resumption",)))
    assert tls12_facts(facet) == (True, True, 21600, True, True, True)
    assert tls13_facts(facet) == (True, 2, [(21600, 16384), (21600, 16384)], True)


def test_tls12_only_server(openssl_server, scan: Scan) -> None:
    facet = resumption(scan(openssl_server(verify=None, tls_versions=("1.2",)).port,
                            probes=("resumption",)))
    assert tls12_facts(facet) == (True, True, 7200, True, True, True)
    assert tls13_facts(facet) == (False, None, [], None)
    assert facet.tls1_3.handshake.alert_received == "protocol_version"
