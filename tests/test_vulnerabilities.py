"""The active checks: scripted peers for the vulnerable answers (and their correct twins),
real servers for the negative ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scanner import wire
from scanner.engine.raw import FollowUp, RawOutcome, RawReply
from scanner.probes.vulns import heartbleed
from scanner.results import Record, VulnerabilitiesFacet
from tests.support.oracle import s_client
from tests.support.pki import PemPaths, TestPKI, issue_server_cert
from tests.support.processes import Handler, child_tcp_server
from tests.support.stub import StubPolicy, stub_server
from tests.support.vuln_peers import (
    early_ccs_peer,
    heartbeat_peer,
    rsa_oracle_peer,
    ticketbleed_proxy,
)

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]
PROBES = ("vulnerabilities",)


def checks(record: Record) -> VulnerabilitiesFacet:
    assert record.status == "ok", (record.error, record.probe_errors)
    assert record.vulnerabilities is not None
    return record.vulnerabilities


def results(record: Record) -> dict[str, str]:
    return {name: check.result for name, check in checks(record)}  # type: ignore[misc]


def scan_peer(scan: Scan, handler: Handler, probes: tuple[str, ...] = PROBES) -> Record:
    with child_tcp_server(handler, name="vuln-peer") as server:
        return scan(server.port, probes=probes)


@pytest.mark.parametrize("leaks", [True, False], ids=["leaks", "drops"])
def test_heartbleed_both_ways(scan: Scan, leaks: bool) -> None:
    record = scan_peer(scan, heartbeat_peer(leaks=leaks))
    heartbleed = checks(record).heartbleed
    assert heartbleed is not None
    if leaks:
        assert heartbleed.result == "vulnerable"
        assert heartbleed.detail == ("a heartbeat claiming 16384 bytes and carrying none got "
                                     "16403 bytes of heartbeat back")
        finding = next(f for f in record.findings if f.id == "vulnerabilities.heartbleed")
        assert finding.severity == "critical" and "CVE-2014-0160" in finding.references
    else:
        assert heartbleed.result == "not_vulnerable"
        assert heartbleed.detail == ("the server dropped the overlong heartbeat and answered "
                                     "the well-formed one after it (RFC 6520 4)")
        assert not [f for f in record.findings if f.id.startswith("vulnerabilities.")]


def test_heartbleed_sends_nothing_when_the_extension_is_not_acknowledged(scan: Scan) -> None:
    """Vulnerable OpenSSL 1.0.1 builds acknowledged the heartbeat extension; a server that
    does not is answered at once, without a heartbeat (so without waiting for its silence)."""
    peer_handler = heartbeat_peer(leaks=False, acknowledges=False)
    with child_tcp_server(peer_handler, name="vuln-peer") as peer:
        record = scan(peer.port, probes=PROBES)
        log = peer.log()
    heartbleed = checks(record).heartbleed
    assert heartbleed is not None and heartbleed.result == "not_vulnerable"
    assert heartbleed.detail.startswith("the server does not acknowledge the heartbeat")
    assert "heartbeat received" not in log


@pytest.mark.parametrize("accepts", [True, False], ids=["accepts", "refuses"])
def test_ccs_injection_both_ways(scan: Scan, accepts: bool) -> None:
    record = scan_peer(scan, early_ccs_peer(accepts=accepts))
    ccs = checks(record).ccs_injection
    assert ccs is not None
    if accepts:
        assert (ccs.result, ccs.detail) == ("vulnerable", "the early ChangeCipherSpec was "
                                            "taken: the record after it got bad_record_mac")
    else:
        assert (ccs.result, ccs.detail) == ("not_vulnerable", "the early ChangeCipherSpec got "
                                            "unexpected_message")


def test_ccs_injection_reads_silence_as_not_taken(scan: Scan) -> None:
    """A server that took the early CCS fails the next record's MAC at once; one that stays
    silent is read as not vulnerable after the short window, not held to the deadline."""
    record = scan_peer(scan, early_ccs_peer(accepts=False, silent=True))
    ccs = checks(record).ccs_injection
    assert ccs is not None and ccs.result == "not_vulnerable"
    assert ccs.detail.startswith("no answer within 1 s to an early ChangeCipherSpec")


@pytest.mark.parametrize("deflate", [True, False], ids=["deflate", "null"])
def test_compression_and_fallback_on_a_stub(scan: Scan, deflate: bool) -> None:
    """The stub selects DEFLATE when told, and ignores TLS_FALLBACK_SCSV (as pre-2014
    servers did): its TLS 1.0 retry is accepted though it has TLS 1.2."""
    policy = StubPolicy(suites={0x0301: (0x002F,), 0x0303: (0xC02F, 0x002F)}, deflate=deflate)
    with stub_server(policy) as server:
        record = scan(server.port, probes=PROBES)
    found = results(record)
    assert found["compression"] == ("vulnerable" if deflate else "not_vulnerable")
    assert found["fallback_scsv"] == "vulnerable"
    fallback = checks(record).fallback_scsv
    assert fallback is not None and fallback.version == "TLSv1.0"
    ids = {f.id for f in record.findings}
    assert ("vulnerabilities.compression" in ids) is deflate
    assert "vulnerabilities.fallback_scsv" in ids


# --- real servers: none vulnerable ------------------------------------------------------

CLEAN = {"heartbleed": "not_vulnerable", "ccs_injection": "not_vulnerable",
         "fallback_scsv": "not_vulnerable", "compression": "not_vulnerable",
         "ticketbleed": "not_vulnerable", "zero_rtt": "not_vulnerable"}


@pytest.fixture(scope="module")
def rsa_files(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> PemPaths:
    return issue_server_cert(pki.server_ca, key_type="rsa").write_pem(
        tmp_path_factory.mktemp("rsa-vulns"))


def test_nginx_haproxy_and_caddy_are_not_vulnerable(nginx_server, haproxy_server, caddy_server,
                                                    scan: Scan) -> None:
    assert results(scan(caddy_server(client_auth=None).port, probes=PROBES)) == CLEAN
    nginx = nginx_server(mode="none")
    haproxy = haproxy_server(verify="none", tls_versions=("1.2", "1.3"))
    record = scan(nginx.port, probes=PROBES)
    assert results(record) == CLEAN
    # OpenSSL 3 has no heartbeat support: s_client -tlsextdebug shows no heartbeat extension
    heartbleed = checks(record).heartbleed
    assert heartbleed is not None and "does not acknowledge" in heartbleed.detail
    oracle = s_client(nginx.port, tls_version="1.2", extra_args=("-tlsextdebug",))
    assert "TLS server extension" in oracle.stdout, oracle.summary()
    assert "heartbeat" not in oracle.stdout.lower(), oracle.summary()
    record = scan(haproxy.port, probes=PROBES)
    assert results(record) == CLEAN
    # four raw checks (Heartbleed and compression share one hello), the four version tests
    # they read, and the two baseline handshakes (TLS 1.2: the ticket to present; TLS 1.3:
    # tickets allowing no early data, so 0-RTT makes no connection of its own)
    assert record.stats.connections == 4 + 4 + 2, record.stats


def test_gnutls_legacy_and_s_server_comp_are_not_vulnerable(gnutls_server, openssl_server,
                                                           rsa_files: PemPaths,
                                                           scan: Scan) -> None:
    gnutls = gnutls_server(priority="NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.0:+ARCFOUR-128:"
                           "+3DES-CBC:+RSA", server_files=rsa_files, require_client_cert=False,
                           request_client_cert=False, verify_client_cert=False)
    assert results(scan(gnutls.port, probes=PROBES)) == {**CLEAN, "zero_rtt": "not_applicable"}
    # -comp asks OpenSSL for zlib compression; Debian's OpenSSL 3 is built without zlib
    # ("openssl list -disabled" lists ZLIB), so it still selects null.
    server = openssl_server(verify=None, tls_versions=("1.2", "1.3"), extra_args=("-comp",))
    assert results(scan(server.port, probes=PROBES)) == CLEAN
    oracle = s_client(server.port, tls_version="1.2", extra_args=("-comp",))
    assert "Compression: NONE" in oracle.stdout, oracle.summary()


def test_zero_rtt_accepted_by_s_server_early_data(openssl_server, scan: Scan) -> None:
    """s_server -early_data takes 0-RTT data (it prints our early GET); the same server
    without it issues tickets allowing none, which costs the check no connection."""
    server = openssl_server(verify=None, tls_versions=("1.3",), www=False,
                            extra_args=("-early_data", "-quiet"))  # -quiet: ignore stdin EOF
    record = scan(server.port, probes=PROBES)
    zero_rtt = checks(record).zero_rtt
    assert zero_rtt is not None and zero_rtt.result == "vulnerable", zero_rtt
    assert zero_rtt.connections == 2
    assert "GET / HTTP/1.1" in server.log()
    assert [f.id for f in record.findings] == ["vulnerabilities.zero_rtt"]
    # TLS 1.3 only: the other checks do not apply
    assert results(record) == {"heartbleed": "not_applicable", "ccs_injection": "not_applicable",
                               "fallback_scsv": "not_applicable",
                               "compression": "not_applicable", "ticketbleed": "not_applicable",
                               "zero_rtt": "vulnerable"}
    plain = openssl_server(verify=None, tls_versions=("1.3",))
    zero_rtt = checks(scan(plain.port, probes=PROBES)).zero_rtt
    assert zero_rtt is not None and (zero_rtt.result, zero_rtt.connections) == (
        "not_vulnerable", 0)


@pytest.mark.parametrize("leaks", [True, False], ids=["echoes-32", "echoes-exactly"])
def test_ticketbleed_both_ways(openssl_server, scan: Scan, leaks: bool) -> None:
    """An s_server issuing TLS 1.2 tickets behind a front end that pads the echoed session ID
    to 32 bytes (leaks) or passes everything through (the real server resumes and echoes
    our 16 bytes exactly)."""
    upstream = openssl_server(verify=None, tls_versions=("1.2",))
    proxy = ticketbleed_proxy(upstream.address, leaks=leaks)
    with child_tcp_server(proxy, name="ticketbleed") as peer:
        record = scan(peer.port, probes=PROBES)
    ticketbleed = checks(record).ticketbleed
    assert ticketbleed is not None
    if leaks:
        assert (ticketbleed.result, ticketbleed.detail) == (
            "vulnerable", "a 16-byte session ID sent with a ticket came back as 32 bytes: 16 "
            "bytes of server memory")
        assert "vulnerabilities.ticketbleed" in {f.id for f in record.findings}
    else:
        assert (ticketbleed.result, ticketbleed.detail) == (
            "not_vulnerable", "the server resumed from the ticket and echoed our 16-byte "
            "session ID exactly")


@pytest.mark.parametrize("oracle", [True, False], ids=["oracle", "uniform"])
def test_robot_both_ways(scan: Scan, oracle: bool) -> None:
    record = scan_peer(scan, rsa_oracle_peer(oracle=oracle), probes=("robot",))
    robot = record.robot
    assert robot is not None
    if oracle:
        assert robot.result == "vulnerable" and robot.connections == 10, robot
        assert robot.detail.endswith(
            "correct: alert bad_record_mac; wrong_first_bytes: alert handshake_failure; "
            "wrong_zero_position: alert bad_record_mac; no_zero: alert handshake_failure; "
            "wrong_version: alert bad_record_mac")
        assert "robot.oracle" in {f.id for f in record.findings}
    else:
        assert (robot.result, robot.connections) == ("not_vulnerable", 5), robot
        assert robot.detail == ("all five premaster secrets got the same answer at TLSv1.2: "
                                "alert bad_record_mac")


def test_robot_on_real_servers(nginx_server, gnutls_server, rsa_files: PemPaths,
                               scan: Scan) -> None:
    """OpenSSL (nginx) and GnuTLS answer every vector alike; an ECDSA-only nginx has no
    static-RSA suite to test."""
    rsa_nginx = nginx_server(mode="none", tls_versions=("1.2",), extra_directives=(
        f"ssl_certificate {rsa_files.cert}; ssl_certificate_key {rsa_files.key};\n"
        '        ssl_ciphers "AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256";'))
    gnutls = gnutls_server(priority="NORMAL:+RSA", server_files=rsa_files,
                           require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False)
    for server in (rsa_nginx, gnutls):
        robot = scan(server.port, probes=("robot",)).robot
        assert robot is not None and robot.result == "not_vulnerable", (server.kind, robot)
    ecdsa_only = nginx_server(mode="none")
    robot = scan(ecdsa_only.port, probes=("robot",)).robot
    assert robot is not None and robot.result == "not_applicable"


@pytest.mark.parametrize(("chunks", "result", "said"), [
    # the leak (split at the 16384-byte record limit), then the well-formed request's answer,
    # read in one piece or stopped once the whole leak was in
    ([(16384, 19, 35)], "vulnerable", "got 16403 bytes"),
    ([(16384, 19)], "vulnerable", "got 16403 bytes"),
    ([(35,)], "not_vulnerable", "answered the well-formed one"),
    ([], "not_vulnerable", "with nothing"),
])
def test_heartbleed_judge(chunks: list[tuple[int, ...]], result: str, said: str) -> None:
    records = wire.FollowUpRecords()
    for lengths in chunks:
        records.feed(b"".join(bytes([24, 3, 3]) + n.to_bytes(2, "big") + bytes(n)
                              for n in lengths))
    reply = RawReply(RawOutcome.server_hello, followup=FollowUp(b"", records))
    check = heartbleed.judge(reply, 0x0303)
    assert check.result == result and said in check.detail, check
