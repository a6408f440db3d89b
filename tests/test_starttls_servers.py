"""STARTTLS and database protocols against real servers on 127.0.0.1: PostgreSQL, MariaDB,
OpenLDAP slapd (TLSVerifyClient demand and allow), Exim (SMTP), Dovecot (IMAP, POP3),
vsftpd (FTP) and Prosody (XMPP).

Each server is started once per module and scanned with the probes that prove the point
(client_auth and enforcement; the raw enumeration once). Every test checks the client-auth
facts (request, CA names per version, what happens without a certificate) and the
enforcement verdict against ``openssl s_client -starttls <proto>`` on the same server.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator

import pytest

from scanner.config.targets import Target
from scanner.offers.credential import ClientCredential
from scanner.probes import ProbeOptions
from scanner.results import ClientAuthAtVersion, EnforcementAttempt, ErrorKind, Record
from scanner.starttls import ldap, mysql, postgres
from scanner.starttls.xmpp import stream_header
from tests.conftest import scan_targets
from tests.support import starttls_servers as servers
from tests.support.oracle import SClientResult, s_client
from tests.support.pki import TestPKI
from tests.support.servers import RunningServer

pytestmark = pytest.mark.servers

Starter = Callable[..., contextlib.AbstractContextManager[RunningServer]]
_PROBES = ("client_auth", "enforcement")


def _serve(kind: str, starter: Starter, pki: TestPKI, factory: pytest.TempPathFactory,
           **options: object) -> Iterator[RunningServer]:
    servers.require_server(kind)
    with starter(pki, factory.mktemp(kind), **options) as server:
        yield server


@pytest.fixture(scope="module")
def postgres_server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[RunningServer]:
    yield from _serve("postgres", servers.postgres, pki, tmp_path_factory)


@pytest.fixture(scope="module")
def mariadb_server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[RunningServer]:
    yield from _serve("mariadb", servers.mariadb, pki, tmp_path_factory)


@pytest.fixture(scope="module")
def slapd_demand(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RunningServer]:
    yield from _serve("slapd", servers.slapd, pki, tmp_path_factory, verify="demand")


@pytest.fixture(scope="module")
def slapd_allow(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RunningServer]:
    yield from _serve("slapd", servers.slapd, pki, tmp_path_factory, verify="allow")


@pytest.fixture(scope="module")
def exim_server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RunningServer]:
    yield from _serve("exim", servers.exim, pki, tmp_path_factory)


@pytest.fixture(scope="module")
def dovecot_server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[RunningServer]:
    yield from _serve("dovecot", servers.dovecot, pki, tmp_path_factory)


def scan(pki: TestPKI, port: int, protocol: str, probes: tuple[str, ...] = _PROBES) -> Record:
    target = Target(host="127.0.0.1", port=port, sni="localhost", protocol=protocol)
    return scan_targets([target], probes=probes,
                        probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))[0]


def oracle(port: int, protocol: str, version: str, send: bytes, **options: object
           ) -> SClientResult:
    return s_client(port, tls_version=version, send=send,
                    extra_args=["-starttls", protocol], **options)  # type: ignore[arg-type]


def names(version: ClientAuthAtVersion | None) -> list[str]:
    assert version is not None and version.certificate_request is not None
    return [name.rfc4514 for name in version.certificate_request.ca_names]


def without_certificate(version: ClientAuthAtVersion | None) -> tuple[str, str | None]:
    assert version is not None and version.without_certificate is not None
    return version.without_certificate.outcome.value, version.without_certificate.alert


def assert_client_auth_matches(record: Record, by_version: dict[str, SClientResult]) -> None:
    """CertificateRequest and CA names per version, as s_client decoded them."""
    auth = record.client_auth
    assert record.status == "ok", record.error
    assert auth is not None
    for label, version in (("1.3", auth.tls1_3), ("1.2", auth.tls1_2)):
        seen = by_version[label]
        request = seen.certificate_request
        assert request is not None, seen.summary()
        assert version is not None and version.certificate_request is not None
        assert version.certificate_request.sent
        assert names(version) == request.ca_names, seen.summary()


def enforcement(record: Record) -> dict[str, tuple[str, str]]:
    facet = record.enforcement
    assert facet is not None
    return {a.certificate.value: (a.result.value, a.ended.value) for a in facet.attempts}


def test_postgres_clientcert_verify_full(postgres_server: RunningServer, pki: TestPKI) -> None:
    port = postgres_server.port
    startup = postgres.startup_message()
    seen = {v: oracle(port, "postgres", v, startup) for v in ("1.3", "1.2")}
    record = scan(pki, port, "postgres", (*_PROBES, "protocols"))
    assert record.target.protocol == "postgres"
    assert_client_auth_matches(record, seen)
    assert record.client_auth is not None and record.client_auth.classification == "optional"
    assert names(record.client_auth.tls1_3) == pki.client_ca_names
    # Both engines ran the SSLRequest first: the raw enumeration sees the versions too.
    protocols = record.protocols
    assert protocols is not None
    accepted = {label for label, entry in protocols.versions().items() if entry.accepted}
    assert accepted == {"TLSv1.2", "TLSv1.3"}
    old = oracle(port, "postgres", "1.1", startup)
    assert not old.handshake_completed, old.summary()
    # Without a certificate TLS completes and PostgreSQL refuses the StartupMessage.
    for result in seen.values():
        assert result.handshake_completed, result.summary()
        assert "connection requires a valid client certificate" in result.stdout
    facet = record.enforcement
    assert facet is not None and facet.verdict == "required_at_application", facet.reason
    attempts = {a.certificate.value: a for a in facet.attempts}
    none = attempts["none"]
    assert none.application is not None and none.application.outcome == "certificate_rejected"
    assert "connection requires a valid client certificate" in (none.application.received or "")
    # An untrusted certificate is refused by the TLS layer, as s_client sees it too.
    rogue = oracle(port, "postgres", "1.3", startup, client=pki.rogue_client_files)
    assert rogue.fatal_alert == "unknown_ca", rogue.summary()
    assert attempts["untrusted_ca"].alert == "unknown_ca"
    assert enforcement(record)["untrusted_ca"] == ("rejected", "after_handshake")


def test_mariadb_require_x509(mariadb_server: RunningServer, pki: TestPKI) -> None:
    port = mariadb_server.port
    # s_client's own SSLRequest differs from ours, so MariaDB answers our login packet with
    # "Bad handshake" and closes: the oracle is for the TLS layer here.
    login = mysql.login_packet()
    seen = {v: oracle(port, "mysql", v, login) for v in ("1.3", "1.2")}
    record = scan(pki, port, "mysql")
    assert_client_auth_matches(record, seen)
    assert record.client_auth is not None and record.client_auth.classification == "optional"
    for result in seen.values():
        assert result.handshake_completed and result.printed_ca_names is None, result.summary()
    facet = record.enforcement
    assert facet is not None and facet.verdict == "optional_verified", facet.reason
    attempts = {a.certificate.value: a for a in facet.attempts}
    answer = attempts["none"].application
    assert answer is not None and answer.outcome == "refused"
    assert "Access denied for user 'mtlsweep'" in (answer.received or "")
    assert "lookalike_ca" in facet.skipped  # MariaDB advertises no CA names to copy
    rogue = oracle(port, "mysql", "1.2", b"", client=pki.rogue_client_files)
    assert not rogue.handshake_completed and rogue.fatal_alert == "unknown_ca"
    assert enforcement(record)["untrusted_ca"][0] == "rejected"


_UNBIND = bytes.fromhex("30050201034200")


def test_slapd_tls_verify_client_demand(slapd_demand: RunningServer, pki: TestPKI) -> None:
    port = slapd_demand.port
    seen = {v: oracle(port, "ldap", v, ldap.ANONYMOUS_BIND + _UNBIND) for v in ("1.3", "1.2")}
    record = scan(pki, port, "ldap")
    assert_client_auth_matches(record, seen)
    auth = record.client_auth
    assert auth is not None and auth.classification == "required"
    assert names(auth.tls1_2) == pki.client_ca_names
    assert not seen["1.2"].handshake_completed, seen["1.2"].summary()
    assert without_certificate(auth.tls1_2)[0] == "rejected_in_handshake"
    assert without_certificate(auth.tls1_3)[0] == "rejected_after_handshake"
    facet = record.enforcement
    assert facet is not None and facet.verdict == "required_at_tls", facet.reason
    assert enforcement(record)["none"] == ("rejected", "after_handshake")


def test_slapd_tls_verify_client_allow(slapd_allow: RunningServer, pki: TestPKI) -> None:
    port = slapd_allow.port
    bind = ldap.ANONYMOUS_BIND + _UNBIND
    seen = {v: oracle(port, "ldap", v, bind) for v in ("1.3", "1.2")}
    record = scan(pki, port, "ldap")
    assert_client_auth_matches(record, seen)
    assert record.client_auth is not None and record.client_auth.classification == "optional"
    # "allow": a certificate nobody trusts is accepted too, and the anonymous bind answers.
    rogue = oracle(port, "ldap", "1.3", bind, client=pki.rogue_client_files)
    assert rogue.handshake_completed and rogue.fatal_alert is None, rogue.summary()
    facet = record.enforcement
    assert facet is not None and facet.verdict == "optional_unverified", facet.reason
    answer = {a.certificate.value: a for a in facet.attempts}["untrusted_ca"].application
    assert answer is not None and answer.outcome == "proceeds"


def test_exim_tls_verify_hosts(exim_server: RunningServer, pki: TestPKI) -> None:
    port = exim_server.port
    seen = {v: oracle(port, "smtp", v, b"EHLO x\r\nQUIT\r\n") for v in ("1.3", "1.2")}
    record = scan(pki, port, "smtp")
    assert_client_auth_matches(record, seen)
    auth = record.client_auth
    assert auth is not None and auth.classification == "required"
    assert seen["1.3"].fatal_alert_after_handshake, seen["1.3"].summary()
    assert without_certificate(auth.tls1_3) == ("rejected_after_handshake",
                                                seen["1.3"].fatal_alert)
    facet = record.enforcement
    assert facet is not None and facet.verdict == "required_at_tls", facet.reason
    trusted = oracle(port, "smtp", "1.3", b"EHLO x\r\nQUIT\r\n", client=pki.client_one_files)
    assert trusted.handshake_completed and "250" in trusted.stdout, trusted.summary()


def test_dovecot_imap_and_pop3(dovecot_server: RunningServer, pki: TestPKI) -> None:
    imap_port = dovecot_server.port
    pop3_port = int(str(dovecot_server.details["pop3_port"]))
    seen = {v: oracle(imap_port, "imap", v, b"A2 LOGOUT\r\n") for v in ("1.3", "1.2")}
    record = scan(pki, imap_port, "imap")
    assert_client_auth_matches(record, seen)
    assert record.client_auth is not None and record.client_auth.classification == "optional"
    # Dovecot verifies at login, not in TLS: a certificate nobody trusts completes TLS.
    rogue = oracle(imap_port, "imap", "1.3", b"A2 LOGOUT\r\n", client=pki.rogue_client_files)
    assert rogue.handshake_completed and rogue.fatal_alert is None, rogue.summary()
    # After TLS, CAPABILITY is answered (the certificate matters only at login) and lists
    # the same mechanisms s_client is shown.
    assert enforcement(record)["untrusted_ca"] == ("accepted", "application")
    listed = oracle(imap_port, "imap", "1.3", b"A2 CAPABILITY\r\nA3 LOGOUT\r\n")
    mechanisms = sasl_listed(listed.stdout, "* CAPABILITY ", "AUTH=")
    answer = attempt(record, "none").application
    assert answer is not None and answer.request == "IMAP A2 CAPABILITY"
    assert answer.outcome == "proceeds" and "A2 OK" in (answer.received or "")
    # auth_mechanisms = plain external: s_client sees AUTH=EXTERNAL, the record names it.
    assert "EXTERNAL" in mechanisms
    assert (answer.received or "").startswith(
        f"SASL {' '.join(mechanisms)}; certificate login (SASL EXTERNAL) offered"), answer.received
    pop3_seen = {v: oracle(pop3_port, "pop3", v, b"QUIT\r\n") for v in ("1.3", "1.2")}
    pop3_record = scan(pki, pop3_port, "pop3")
    assert_client_auth_matches(pop3_record, pop3_seen)
    capa = oracle(pop3_port, "pop3", "1.3", b"CAPA\r\nQUIT\r\n")
    pop3_answer = attempt(pop3_record, "none").application
    assert pop3_answer is not None and pop3_answer.outcome == "proceeds"
    pop3_mechanisms = " ".join(sasl_listed(capa.stdout, "SASL ", ""))
    assert pop3_answer.received == f"SASL {pop3_mechanisms}; certificate login (SASL " \
        "EXTERNAL) offered: '+OK'", pop3_answer.received


def attempt(record: Record, kind: str) -> EnforcementAttempt:
    facet = record.enforcement
    assert facet is not None
    return {a.certificate.value: a for a in facet.attempts}[kind]


def sasl_listed(stdout: str, line_prefix: str, word_prefix: str) -> list[str]:
    """The SASL mechanisms in the capability line s_client printed."""
    line = next(x for x in stdout.splitlines() if x.startswith(line_prefix))
    words = line[len(line_prefix):].split()
    return [w[len(word_prefix):] for w in words if w.upper().startswith(word_prefix)]


def test_preamble_failures_are_typed_and_quote_the_server(
        mariadb_server: RunningServer, dovecot_server: RunningServer,
        slapd_demand: RunningServer, pki: TestPKI) -> None:
    # Every default probe: a refused or foreign preamble stops the target after its first
    # contact (at most two trial connections run side by side); a close (which may be
    # transient) does not.
    cases = [
        # MariaDB speaks first: its handshake packet is no answer to an SSLRequest.
        (mariadb_server.port, "postgres", ErrorKind.starttls_unexpected, "not 'S' or 'N'", 2),
        # Dovecot's IMAP greeting is no SMTP greeting.
        (dovecot_server.port, "smtp", ErrorKind.starttls_unexpected, "* OK", 2),
        # slapd drops a connection whose first bytes are no LDAPMessage.
        (slapd_demand.port, "postgres", ErrorKind.connection_closed, "closed the connection",
         None),
    ]
    for port, protocol, kind, quoted, connections in cases:
        target = Target(host="127.0.0.1", port=port, sni="localhost", protocol=protocol)
        record = scan_targets([target])[0]
        assert record.status == "error" and record.error is not None, (protocol, port)
        assert record.error.kind == kind, record.error
        assert quoted in record.error.detail and len(record.error.detail) < 300
        if connections is not None:
            assert record.stats.connections <= connections, record.stats
        else:
            assert record.stats.connections > 2, record.stats


def test_smtp_without_starttls_is_refused(pki: TestPKI,
                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    for server in _serve("exim", servers.exim, pki, tmp_path_factory, advertise=False):
        record = scan(pki, server.port, "smtp", ("client_auth",))
        assert record.error is not None and record.error.kind == "starttls_refused"
        assert "does not offer STARTTLS" in record.error.detail
        assert record.stats.connections <= 2, record.stats  # the refusal stops the target
        plain = oracle(server.port, "smtp", "1.2", b"")
        assert not plain.handshake_completed, plain.summary()


@pytest.fixture(scope="module")
def vsftpd_server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[RunningServer]:
    yield from _serve("vsftpd", servers.vsftpd, pki, tmp_path_factory)


@pytest.fixture(scope="module")
def prosody_server(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[RunningServer]:
    yield from _serve("prosody", servers.prosody, pki, tmp_path_factory)


def test_vsftpd_require_cert(vsftpd_server: RunningServer, pki: TestPKI) -> None:
    port = vsftpd_server.port
    seen = {v: oracle(port, "ftp", v, b"QUIT\r\n") for v in ("1.3", "1.2")}
    record = scan(pki, port, "ftp")
    assert record.target.protocol == "ftp"
    assert_client_auth_matches(record, seen)
    auth = record.client_auth
    assert auth is not None and auth.classification == "required"
    assert names(auth.tls1_3) == pki.client_ca_names
    # require_cert: TLS 1.2 fails in the handshake, TLS 1.3 right after it, for both tools.
    assert not seen["1.2"].handshake_completed, seen["1.2"].summary()
    assert seen["1.3"].fatal_alert_after_handshake, seen["1.3"].summary()
    assert without_certificate(auth.tls1_2)[0] == "rejected_in_handshake"
    assert without_certificate(auth.tls1_3) == ("rejected_after_handshake",
                                                seen["1.3"].fatal_alert)
    facet = record.enforcement
    assert facet is not None and facet.verdict == "required_at_tls", facet.reason
    # validate_cert: an untrusted certificate is refused by both; a trusted one gets in.
    rogue = oracle(port, "ftp", "1.2", b"QUIT\r\n", client=pki.rogue_client_files)
    assert not rogue.handshake_completed and rogue.fatal_alert == "unknown_ca"
    assert enforcement(record)["untrusted_ca"][0] == "rejected"
    # With the user's trusted certificate TLS completes and FEAT lists what s_client sees.
    trusted = oracle(port, "ftp", "1.3", b"FEAT\r\nQUIT\r\n", client=pki.client_one_files)
    assert trusted.handshake_completed and trusted.fatal_alert is None, trusted.summary()
    listed = trusted.stdout.split("211-Features:")[1].split("211 End")[0]
    features = re.findall(r"^ (\S[^\r]*)\r?$", listed, re.MULTILINE)  # not -msg lines
    credentialed = scan_targets([Target(
        host="127.0.0.1", port=port, sni="localhost", protocol="ftp",
        client_credential=ClientCredential(pki.client_one.cert, pki.client_one.key))],
        probes=("enforcement",), probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))[0]
    answer = attempt(credentialed, "user_certificate").application
    assert answer is not None and answer.request == "FTP FEAT"
    assert answer.outcome == "proceeds" and answer.received == f"features {' '.join(features)}"


def test_prosody_c2s_starttls(prosody_server: RunningServer, pki: TestPKI) -> None:
    port = prosody_server.port
    host = ["-xmpphost", servers.XMPP_DOMAIN]
    close = b"</stream:stream>"
    seen = {v: s_client(port, tls_version=v, send=close, extra_args=["-starttls", "xmpp", *host])
            for v in ("1.3", "1.2")}
    record = scan(pki, port, "xmpp")
    assert record.target.protocol == "xmpp"
    assert_client_auth_matches(record, seen)
    auth = record.client_auth
    assert auth is not None and auth.classification == "optional"
    for result in seen.values():
        assert result.handshake_completed and result.fatal_alert is None, result.summary()
    rogue = s_client(port, tls_version="1.3", send=close, client=pki.rogue_client_files,
                     extra_args=["-starttls", "xmpp", *host])
    # lua-sec asks for a certificate but lets any through: s_client's untrusted one too.
    assert rogue.handshake_completed and rogue.fatal_alert is None, rogue.summary()
    request = seen["1.3"].certificate_request
    assert request is not None and names(auth.tls1_3) == [] == request.ca_names
    facet = record.enforcement
    assert facet is not None and facet.verdict == "optional_unverified", facet.reason
    # The stream restart after TLS offers SASL; s_client, restarting the stream by hand,
    # is shown the same mechanisms (Prosody offers no EXTERNAL without a plugin).
    assert enforcement(record)["untrusted_ca"] == ("accepted", "application")
    header = stream_header(servers.XMPP_DOMAIN)
    restarted = s_client(port, tls_version="1.3", send=header + close,
                         extra_args=["-starttls", "xmpp", *host])
    mechanisms = re.findall(r"<mechanism>([^<]+)</mechanism>", restarted.stdout)
    answer = attempt(record, "none").application
    assert answer is not None and answer.outcome == "proceeds"
    assert mechanisms and answer.received == f"SASL {' '.join(mechanisms)}", restarted.stdout

