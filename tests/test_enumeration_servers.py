"""Raw enumeration against real servers on 127.0.0.1: exact accepted sets and orders.

Each expected list comes from the server's configuration (nginx ``ssl_ciphers`` with
``ssl_prefer_server_ciphers``, a GnuTLS priority string, OpenSSL 4.0's defaults); suites
that no local TLS stack can serve any more (3DES, RC4, SSLv3, SSLv2) come from a scripted
stub. Every real server is also cross-checked by the ``engine_agreement`` probe: the raw
engine and full OpenSSL handshakes must agree on it.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
from rich.console import Console

from scanner import wire
from scanner.engine import raw
from scanner.engine.connect import Address, open_tcp
from scanner.lab.server import LabServer, ListenerConfig
from scanner.pkix.issuing import issue, make_ca, name
from scanner.probes.shared.candidates import candidates
from scanner.report.enumeration_table import enumeration_table
from scanner.results import Record
from tests.support.oracle import s_client
from tests.support.pki import PemPaths, TestPKI, issue_server_cert
from tests.support.servers import binary
from tests.support.stub import StubPolicy, stub_server

pytestmark = pytest.mark.servers

Scan = Callable[..., Record]
GROUP = {group_name: code for code, group_name in wire.NAMED_GROUPS.items()}


def codes(*openssl_names: str) -> list[str]:
    found = []
    for openssl_name in openssl_names:
        suite = wire.cipher_suite_by_openssl_name(openssl_name)
        assert suite is not None, openssl_name
        found.append(suite.hex)
    return found


def suites(record: Record, version: str) -> list[str]:
    assert record.cipher_suites is not None
    return [suite.code for suite in record.cipher_suites[version].suites]  # type: ignore[index]


def accepted(record: Record) -> dict[str, bool | None]:
    assert record.protocols is not None
    return {label: support.accepted for label, support in record.protocols.items()}


def refusals(record: Record) -> dict[str, str | None]:
    assert record.protocols is not None
    return {label: support.refusal for label, support in record.protocols.items()}


def groups(record: Record, version: str) -> list[tuple[str, str]]:
    assert record.groups is not None
    return [(g.name, g.via) for g in record.groups[version].groups]  # type: ignore[index]


def assert_engines_agree(record: Record, *, expect_facts: set[str]) -> None:
    agreement = record.engine_agreement
    assert agreement is not None
    bad = [check for check in agreement.checks if not check.agree]
    assert not bad, bad
    assert agreement.disagreements == 0
    assert not [f for f in record.findings if f.id == "engine_agreement.disagreement"]
    assert {check.fact for check in agreement.checks} == expect_facts


# What these tests look at: the raw-engine probes, plus client_auth and engine_agreement for
# the OpenSSL side (the whole default scan's budget is checked in test_connection_budget.py).
ENUMERATION_PROBES = ("client_auth", "protocols", "cipher_suites", "groups", "alpn_support",
                      "npn", "extensions", "engine_agreement")


def assert_counted(record: Record, *, at_most: int) -> None:
    stats = record.stats
    assert 0 < stats.raw_connections < stats.connections <= at_most, stats


@pytest.fixture(scope="session")
def rsa_server_files(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> PemPaths:
    leaf = issue_server_cert(pki.server_ca, key_type="rsa")
    return leaf.write_pem(tmp_path_factory.mktemp("rsa-server"))


@pytest.fixture(scope="session")
def dhparam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dh") / "ffdhe2048.pem"
    subprocess.run([binary("openssl"), "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt",
                    "group:ffdhe2048", "-out", str(path)], check=True, capture_output=True)
    return path


def nginx_tls(rsa: PemPaths, *, ciphers: str, prefer_server: bool = True,
              curves: str = "X25519:secp384r1", tls13: str | None = None,
              dhparam: Path | None = None) -> str:
    """Directives for an nginx with an RSA certificate next to the test PKI's EC one."""
    lines = [f"ssl_certificate {rsa.cert}; ssl_certificate_key {rsa.key};",
             f'ssl_ciphers "{ciphers}";',
             f"ssl_prefer_server_ciphers {'on' if prefer_server else 'off'};",
             f"ssl_ecdh_curve {curves};"]
    if dhparam is not None:
        lines.append(f"ssl_dhparam {dhparam};")
    if tls13 is not None:
        lines.append(f"ssl_conf_command Ciphersuites {tls13};")
    return "\n        ".join(lines)


# --- nginx, TLS 1.0-1.3 with a legacy list -------------------------------------------

LEGACY_LIST = ("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA:"
               "ECDHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:AES128-SHA:CAMELLIA256-SHA:NULL-SHA:"
               "@SECLEVEL=0")


def test_nginx_tls10_to_13_legacy_list(nginx_server, rsa_server_files, dhparam,
                                       scan: Scan) -> None:
    server = nginx_server(mode="none", tls_versions=("1.0", "1.1", "1.2", "1.3"),
                          extra_directives=nginx_tls(
                              rsa_server_files, ciphers=LEGACY_LIST, dhparam=dhparam,
                              tls13="TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"))
    record = scan(server.port, probes=ENUMERATION_PROBES)
    assert record.status == "ok", record.probe_errors
    assert accepted(record) == {"SSLv2": False, "SSLv3": False, "TLSv1.0": True,
                                "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": True}
    # OpenSSL 3.0 (nginx's) answers an SSLv2 hello and an SSLv3 hello with these alerts.
    assert refusals(record)["SSLv2"] == "protocol_version"
    assert refusals(record)["SSLv3"] == "handshake_failure"
    # TLS 1.2: the configured order, both certificates' suites, NULL-SHA included.
    assert suites(record, "TLSv1.2") == codes(*LEGACY_LIST.split(":")[:-1])
    # TLS 1.0/1.1: the same minus the TLS 1.2-only GCM suites.
    older = codes("ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "DHE-RSA-AES128-SHA",
                  "AES128-SHA", "CAMELLIA256-SHA", "NULL-SHA")
    assert suites(record, "TLSv1.1") == suites(record, "TLSv1.0") == older
    assert suites(record, "TLSv1.3") == ["0x1303", "0x1302"]
    assert record.cipher_suites is not None
    assert {v.order for _, v in record.cipher_suites.items()} == {"server"}
    assert all(v.complete and not v.hello_split for _, v in record.cipher_suites.items())
    assert record.cipher_suites["TLSv1.2"].suites[0].iana == (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
    assert groups(record, "TLSv1.3") == [("x25519", "server_hello"),
                                         ("secp384r1", "hello_retry_request")]
    assert groups(record, "TLSv1.2") == [("x25519", "server_key_exchange"),
                                         ("secp384r1", "server_key_exchange")]
    alpn = record.alpn_support
    assert alpn is not None and alpn.engine == "raw" and alpn.version == "TLSv1.2"
    # nginx without HTTP/2 selects from "http/1.1, http/1.0, http/0.9" and alerts otherwise
    assert (alpn.supported, alpn.without_match) == (
        ["http/1.1", "http/1.0", "http/0.9"], "no_application_protocol")
    ext = record.extensions
    assert ext is not None and ext.version == "TLSv1.2"
    assert (ext.secure_renegotiation, ext.extended_master_secret, ext.encrypt_then_mac,
            ext.session_ticket, ext.status_request) == (True, True, True, True, False)
    assert ext.unsolicited == []
    assert record.npn is not None and record.npn.advertised is False
    assert_engines_agree(record, expect_facts={"version", "cipher_suite", "alpn",
                                               "secure_renegotiation", "session_ticket"})
    assert_counted(record, at_most=50)


# --- nginx, TLS 1.2 only, ELBSecurityPolicy-TLS-1-2-Ext-2018-06 -----------------------

# From shared/reference/tls-policies/aws-elb.yaml (AWS "Ciphers by policy" table order).
EXT_2018_06 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256", "AES128-SHA256", "AES128-SHA", "AES256-GCM-SHA384", "AES256-SHA256",
    "AES256-SHA",
)


@pytest.mark.parametrize("prefer_server", [True, False], ids=["server-order", "client-order"])
def test_nginx_tls12_only_ext_2018_06(nginx_server, rsa_server_files, scan: Scan,
                                      prefer_server: bool) -> None:
    server = nginx_server(mode="none", tls_versions=("1.2",), extra_directives=nginx_tls(
        rsa_server_files, ciphers=":".join(EXT_2018_06), prefer_server=prefer_server,
        curves="X25519:prime256v1:secp384r1"))
    record = scan(server.port, probes=ENUMERATION_PROBES)
    assert record.status == "ok", record.probe_errors
    assert accepted(record) == {"SSLv2": False, "SSLv3": False, "TLSv1.0": False,
                                "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": False}
    assert refusals(record)["TLSv1.1"] == refusals(record)["TLSv1.0"] == "protocol_version"
    assert record.cipher_suites is not None and list(record.cipher_suites) == ["TLSv1.2"]
    tls12 = record.cipher_suites["TLSv1.2"]
    if prefer_server:
        assert tls12.order == "server"
        assert suites(record, "TLSv1.2") == codes(*EXT_2018_06)
    else:
        assert tls12.order == "client"
        assert suites(record, "TLSv1.2") == sorted(codes(*EXT_2018_06))
    assert [name for name, _ in groups(record, "TLSv1.2")] == ["x25519", "secp256r1",
                                                              "secp384r1"]
    assert record.groups is not None and "TLSv1.3" not in record.groups
    assert_engines_agree(record, expect_facts={"version", "cipher_suite", "alpn",
                                               "secure_renegotiation", "session_ticket"})
    # an ALB-like listener: the enumeration stays well under the whole scan's budget of 60
    assert_counted(record, at_most=45)


# --- GnuTLS: client order ------------------------------------------------------------

GNUTLS_PRIORITY = ("NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+AES-128-GCM:+AES-256-CBC:"
                   "+CHACHA20-POLY1305:+AEAD:+SHA1:+SIGN-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
                   "+COMP-NULL")


def test_gnutls_follows_client_order(gnutls_server, scan: Scan) -> None:
    server = gnutls_server(require_client_cert=False, request_client_cert=False,
                           verify_client_cert=False, priority=GNUTLS_PRIORITY,
                           extra_args=["--alpn=h2", "--alpn=http/1.1"])
    record = scan(server.port, probes=ENUMERATION_PROBES)
    assert record.status == "ok", record.probe_errors
    assert accepted(record) == {"SSLv2": False, "SSLv3": False, "TLSv1.0": False,
                                "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    assert record.cipher_suites is not None
    # GnuTLS honours the client's order unless the priority says %SERVER_PRECEDENCE
    assert record.cipher_suites["TLSv1.2"].order == "client"
    assert suites(record, "TLSv1.2") == codes(
        "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305")
    assert record.cipher_suites["TLSv1.3"].order == "client"
    assert suites(record, "TLSv1.3") == ["0x1301", "0x1303"]
    # once x25519 is found, the next hello carries a secp256r1 share, which GnuTLS takes
    assert groups(record, "TLSv1.3") == [("x25519", "server_hello"),
                                         ("secp256r1", "server_hello")]
    assert record.alpn_support is not None
    assert sorted(record.alpn_support.supported) == ["h2", "http/1.1"]
    assert record.alpn_support.without_match == "ignored"
    assert_engines_agree(record, expect_facts={"version", "cipher_suite", "alpn",
                                               "secure_renegotiation", "session_ticket"})
    console = Console(file=io.StringIO(), width=200)
    console.print(enumeration_table([record]))
    rendered = console.file.getvalue()  # type: ignore[attr-defined]
    assert "3 suites, client order" in rendered and "ECDHE-ECDSA-CHACHA20-POLY1305" in rendered
    assert "TLSv1.1 (protocol_version)" in rendered


# --- openssl s_server: NPN, ALPN, no tickets; TLS 1.3-only ALPN -----------------------


def test_openssl_npn_alpn_and_no_tickets(openssl_server, scan: Scan) -> None:
    server = openssl_server(verify=None, extra_args=[
        "-serverpref", "-nextprotoneg", "spdy/3,http/1.1", "-alpn", "h2,http/1.1",
        "-no_ticket"])
    record = scan(server.port, probes=ENUMERATION_PROBES)
    assert record.status == "ok", record.probe_errors
    assert record.npn is not None
    assert (record.npn.advertised, record.npn.protocols) == (True, ["spdy/3", "http/1.1"])
    assert record.alpn_support is not None
    # s_server selects in its own order and alerts when nothing matches
    assert (record.alpn_support.supported, record.alpn_support.without_match) == (
        ["h2", "http/1.1"], "no_application_protocol")
    assert record.extensions is not None and record.extensions.session_ticket is False
    assert record.cipher_suites is not None
    assert record.cipher_suites["TLSv1.2"].order == "server"
    assert_engines_agree(record, expect_facts={"version", "cipher_suite", "alpn",
                                               "secure_renegotiation", "session_ticket"})


def test_tls13_only_server_alpn_through_openssl(openssl_server, scan: Scan) -> None:
    server = openssl_server(verify=None, tls_versions=("1.3",),
                            extra_args=["-alpn", "h2,http/1.1"])
    record = scan(server.port, probes=ENUMERATION_PROBES)
    assert accepted(record)["TLSv1.3"] is True and accepted(record)["TLSv1.2"] is False
    alpn = record.alpn_support
    assert alpn is not None and (alpn.engine, alpn.version) == ("openssl", "TLSv1.3")
    assert alpn.supported == ["h2", "http/1.1"]
    assert record.extensions is not None and record.extensions.version is None
    assert record.npn is not None and record.npn.advertised is None
    assert_engines_agree(record, expect_facts={"version", "cipher_suite"})


# --- OpenSSL 4.0 (the lab server): hybrid post-quantum groups --------------------------


def test_hybrid_pq_groups_on_openssl_4(scan: Scan) -> None:
    ca = make_ca(name("pq test CA"))
    leaf = issue(ca, name("localhost"), hosts=("localhost",))
    with LabServer(ListenerConfig(certificate=leaf)) as server:
        record = scan(server.port, probes=ENUMERATION_PROBES)

        async def hello_with_hybrid_share() -> raw.RawReply:
            offer = raw.RawOffer(wire.TLSVersion.TLSv1_3, (0x1301,), sni="localhost",
                                 key_share_groups=(GROUP["X25519MLKEM768"],))
            stream = await open_tcp(Address(2, "127.0.0.1", server.port), timeout=5)
            async with stream:
                return await raw.exchange(stream, offer.encode(),
                                          deadline=trio.current_time() + 5)

        reply = trio.run(hello_with_hybrid_share)
    # OpenSSL 4.0's default groups, in its order: hybrids first (asked for by HRR even
    # though we offered an x25519 share), then the classical ones.
    assert groups(record, "TLSv1.3")[:3] == [
        ("X25519MLKEM768", "hello_retry_request"), ("SecP256r1MLKEM768", "hello_retry_request"),
        ("x25519", "server_hello")]
    names = [group for group, _ in groups(record, "TLSv1.3")]
    assert {"secp256r1", "secp384r1", "ffdhe2048"} <= set(names)
    assert record.groups is not None and record.groups["TLSv1.3"].complete
    # our ML-KEM share is a valid encapsulation key: a ServerHello, not an HRR or an alert
    assert reply.outcome is raw.RawOutcome.server_hello
    assert reply.key_exchange_group() == GROUP["X25519MLKEM768"]
    assert_engines_agree(record, expect_facts={"version", "cipher_suite", "alpn",
                                               "secure_renegotiation", "session_ticket"})


# --- the scripted stub: 3DES, RC4, SSLv3, SSLv2 ------------------------------------------

DES_CBC3_SHA, RC4_SHA, RC4_MD5 = 0x000A, 0x0005, 0x0004
SSL2_DES_192_EDE3, SSL2_RC4_128 = 0x0700C0, 0x010080


@pytest.mark.parametrize("server_order", [True, False], ids=["server-order", "client-order"])
def test_stub_legacy_listener(scan: Scan, server_order: bool) -> None:
    policy = StubPolicy(
        suites={0x0300: (DES_CBC3_SHA, RC4_SHA, RC4_MD5), 0x0301: (DES_CBC3_SHA, RC4_SHA)},
        sslv2_kinds=(SSL2_DES_192_EDE3, SSL2_RC4_128), server_order=server_order)
    with stub_server(policy) as server:
        record = scan(server.port, probes=ENUMERATION_PROBES)
    assert record.status == "ok", (record.error, record.probe_errors)
    assert accepted(record) == {"SSLv2": True, "SSLv3": True, "TLSv1.0": True,
                                "TLSv1.1": False, "TLSv1.2": False, "TLSv1.3": False}
    assert refusals(record)["TLSv1.2"] == "downgraded to TLSv1.0"
    # a TLS 1.3 hello offers only TLS 1.3 suites: nothing in common with a TLS 1.0 server
    assert refusals(record)["TLSv1.3"] == "handshake_failure"
    assert record.cipher_suites is not None
    assert list(record.cipher_suites) == ["SSLv2", "SSLv3", "TLSv1.0"]
    sslv2 = record.cipher_suites["SSLv2"].suites
    assert [(s.code, s.openssl) for s in sslv2] == [("0x0700C0", "DES-CBC3-MD5"),
                                                    ("0x010080", "RC4-MD5")]
    if server_order:
        assert suites(record, "SSLv3") == ["0x000A", "0x0005", "0x0004"]
        assert suites(record, "TLSv1.0") == ["0x000A", "0x0005"]
        assert record.cipher_suites["TLSv1.0"].order == "server"
    else:
        assert suites(record, "SSLv3") == ["0x0004", "0x0005", "0x000A"]
        assert record.cipher_suites["SSLv3"].order == "client"
    assert record.cipher_suites["TLSv1.0"].suites[0].openssl in ("DES-CBC3-SHA", "RC4-SHA")
    # no ECDHE suite: no curves, said so
    assert record.groups is not None and record.groups["TLSv1.0"].groups == []
    assert record.groups["TLSv1.0"].notes == ["no ECDHE suite accepted"]
    # OpenSSL cannot offer 3DES or RC4: its refusal at TLS 1.0 is expected, not a conflict
    agreement = record.engine_agreement
    assert agreement is not None and agreement.disagreements == 0
    tls10 = next(c for c in agreement.checks if c.fact == "version" and c.version == "TLSv1.0")
    assert tls10.raw == "accepted, with none of the suites OpenSSL offers"
    assert tls10.openssl == "refused: handshake_failure"


def test_single_suite_order_is_indeterminate(scan: Scan) -> None:
    policy = StubPolicy(suites={0x0303: (0xC02F,)}, extra_extensions=((0x0017, b""),))
    with stub_server(policy) as server:
        record = scan(server.port, probes=ENUMERATION_PROBES)
    assert accepted(record)["TLSv1.2"] is True
    assert suites(record, "TLSv1.2") == ["0xC02F"]
    assert record.cipher_suites is not None
    assert record.cipher_suites["TLSv1.2"].order == "indeterminate"
    # EMS was offered, so echoing it is fine; nothing unsolicited
    assert record.extensions is not None and record.extensions.extended_master_secret is True
    assert record.extensions.unsolicited == []


def test_unsolicited_extension_is_a_finding(scan: Scan) -> None:
    policy = StubPolicy(suites={0x0303: (0xC02F, 0x009C)},
                        extra_extensions=((0x0010, b"\x00\x03\x02h2"),))  # ALPN, not offered
    with stub_server(policy) as server:
        record = scan(server.port, probes=("extensions",))
    assert record.extensions is not None
    assert record.extensions.unsolicited == ["application_layer_protocol_negotiation"]
    # the stub echoes no extended_master_secret either: a baseline finding
    assert [f.id for f in record.findings] == ["extensions.unsolicited",
                                              "extensions.no_extended_master_secret"]


def test_server_selecting_an_unoffered_suite_is_reported_not_looped_on(scan: Scan) -> None:
    policy = StubPolicy(suites={0x0303: (0xC02F,)}, always_pick=0xC02F)
    with stub_server(policy) as server:
        record = scan(server.port, probes=("cipher_suites",))
    assert record.cipher_suites is not None
    tls12 = record.cipher_suites["TLSv1.2"]
    assert [s.code for s in tls12.suites] == ["0xC02F"]
    assert tls12.complete is False
    assert tls12.notes == ["the server selected 0xC02F, which was not offered"]


def test_size_intolerant_server_is_enumerated_in_chunks(scan: Scan) -> None:
    """A server that hangs up on big hellos: the version test retries with the common
    suites, then every chunk is enumerated and the suites found in several chunks are
    ranked against each other in one more series."""
    preference = (0x00A8, 0x0041, 0xC02F)  # PSK-AES128-GCM-SHA256 (a rare suite) first
    policy = StubPolicy(suites={0x0303: preference}, max_suites=100)
    with stub_server(policy) as server:
        record = scan(server.port, probes=("protocols", "cipher_suites"))
    assert record.protocols is not None and record.cipher_suites is not None
    tls12 = record.protocols["TLSv1.2"]
    assert tls12.accepted is True
    assert tls12.notes == [f"a ClientHello with {len(candidates(0x0303))} suites was refused "
                           "(closed); one with 64 was accepted"]
    suites12 = record.cipher_suites["TLSv1.2"]
    assert suites12.hello_split and suites12.complete
    assert (suites12.order, suites(record, "TLSv1.2")) == ("server", ["0x00A8", "0x0041",
                                                                      "0xC02F"])
    # the smaller hello's answer is the one reported
    assert record.protocols["TLSv1.0"].refusal == "protocol_version"
    assert record.protocols["TLSv1.0"].notes[0].endswith("refused too (protocol_version)")


def test_a_silent_server_gets_few_hellos(tarpit_server, scan: Scan) -> None:
    """Once the first two hellos got no byte back, the rest are not sent (the session's first
    contact gives the target up): a tarpit must not cost one deadline per question."""
    record = scan(tarpit_server.port, probes=("protocols", "cipher_suites", "groups"),
                  timeout=0.5, per_address=1)
    assert record.status == "error" and record.error is not None
    assert record.error.kind == "timeout" and "sent nothing" in record.error.detail
    assert record.stats.raw_connections == 2


def test_an_sslv2_answer_to_tls_hellos_accepts_only_sslv2(scan: Scan) -> None:
    """A peer answering every hello with an SSLv2 SERVER-HELLO speaks SSLv2 only: its answer
    to a TLS hello is a refusal of that version, not an acceptance."""
    policy = StubPolicy(suites={}, sslv2_kinds=(SSL2_DES_192_EDE3,), sslv2_to_everything=True)
    with stub_server(policy) as server:
        record = scan(server.port, probes=("protocols",))
    assert accepted(record) == {"SSLv2": True, "SSLv3": False, "TLSv1.0": False,
                                "TLSv1.1": False, "TLSv1.2": False, "TLSv1.3": False}
    assert refusals(record)["TLSv1.2"] == "answered with an SSLv2 SERVER-HELLO"


def test_ecdsa_only_server_curves_are_all_found(nginx_server, scan: Scan) -> None:
    """An ECDSA-only nginx (the test PKI's P-256 certificate, the default ssl_ecdh_curve)
    refuses a TLS 1.2 offer without P-256, whatever else it offers: the enumeration must
    not stop at that refusal."""
    server = nginx_server(mode="none", tls_versions=("1.2",))
    record = scan(server.port, probes=("groups",))
    assert record.groups is not None
    tls12 = record.groups["TLSv1.2"]
    found = [name for name, _ in groups(record, "TLSv1.2")]
    # OpenSSL 3.0's default list (X25519:P-256:X448:P-521:P-384)
    assert set(found) == {"x25519", "secp256r1", "x448", "secp521r1", "secp384r1"}, tls12
    assert tls12.complete, tls12.notes
    # the oracle: OpenSSL's client, offering P-384 first and the certificate's curve after it
    answer = s_client(server.port, tls_version="1.2", extra_args=("-groups", "P-384:P-256"))
    assert "Server Temp Key: ECDH, secp384r1" in answer.stdout, answer.summary()
    alone = s_client(server.port, tls_version="1.2", extra_args=("-groups", "P-384"))
    assert not alone.handshake_completed, alone.summary()
