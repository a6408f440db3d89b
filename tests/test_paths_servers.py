"""Per-path client authentication against Apache httpd on 127.0.0.1.

``SSLVerifyClient require`` inside ``<Location /secure>``: the handshake asks for nothing, and
a request for /secure makes Apache ask by renegotiation (TLS 1.2) or with a post-handshake
CertificateRequest (TLS 1.3, to clients that offered post_handshake_auth). The scanner's
reading of each is checked against ``openssl s_client`` on the same server.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest
import trio

from scanner.config.targets import HttpCheck, Target
from scanner.engine.connect import Address
from scanner.engine.contexts import ContextFactory
from scanner.engine.http import HttpAnswer, ask_http
from scanner.engine.session import ConnectionLimits, EndpointSession
from scanner.offers.credential import ClientCredential
from scanner.results import (
    AttemptResult,
    CertificateAsked,
    CertificateKind,
    ClientAuthClass,
    EnforcementVerdict,
    HttpOutcomeKind,
    Record,
)
from scanner.run.sweep import SweepOptions, sweep
from scanner.wire import HttpRequest, TLSVersion
from tests.support import servers
from tests.support.oracle import s_client
from tests.support.pki import TestPKI
from tests.support.processes import LOOPBACK
from tests.support.servers import RunningServer, require_binary
from tests.support.sinks import RecordList

pytestmark = pytest.mark.servers

SECURE_GET = b"GET /secure HTTP/1.0\r\nHost: localhost\r\n\r\n"


@pytest.fixture(scope="module")
def apache_servers(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[dict[str, RunningServer]]:
    require_binary("apache2")
    with contextlib.ExitStack() as stack:
        yield {
            "both": stack.enter_context(servers.apache(
                pki, tmp_path_factory.mktemp("apache-both"))),
            "tls12": stack.enter_context(servers.apache(
                pki, tmp_path_factory.mktemp("apache-12"), tls_versions=("1.2",))),
        }


@pytest.fixture(scope="module")
def records(apache_servers: dict[str, RunningServer], pki: TestPKI) -> dict[str, Record]:
    user = ClientCredential(pki.client_one.cert, pki.client_one.key)
    targets = [Target(host=LOOPBACK, port=server.port, sni="localhost",
                      http=HttpCheck(paths=("/", "/secure")), client_credential=user)
               for server in apache_servers.values()]
    sink = RecordList()
    trio.run(sweep, targets, SweepOptions(probes=("client_auth", "enforcement"), timeout=5.0),
             sink)
    by_port = {server.port: kind for kind, server in apache_servers.items()}
    out = {by_port[r.target.port]: r for r in sink.records}
    for record in out.values():
        assert record.status == "ok", (record.error, record.probe_errors)
    return out


def test_path_scoped_mtls_is_never_summarised_as_none(records, apache_servers, pki) -> None:
    record = records["both"]
    facet = record.client_auth
    assert facet is not None and facet.paths is not None
    assert facet.requested is False  # the handshake asks nothing...
    assert facet.classification is ClientAuthClass.per_path  # ...but /secure does
    root, secure = facet.paths
    assert (root.path, root.classification) == ("/", ClientAuthClass.none)
    assert secure.path == "/secure" and secure.classification is ClientAuthClass.required
    tls13, tls12 = secure.tls1_3, secure.tls1_2
    assert tls13 is not None and tls12 is not None
    assert tls13.asked is CertificateAsked.post_handshake_auth
    assert tls12.asked is CertificateAsked.renegotiation
    assert tls13.without_certificate and tls13.without_certificate.alert == "certificate_required"
    assert tls12.without_certificate and tls12.without_certificate.alert == "handshake_failure"
    assert {f.id for f in record.findings} >= {"client_auth.per_path"}

    port = apache_servers["both"].port
    pha = s_client(port, tls_version="1.3", send=SECURE_GET, extra_args=["-enable_pha"])
    renegotiated = s_client(port, tls_version="1.2", send=SECURE_GET)
    for version, oracle in ((tls13, pha), (tls12, renegotiated)):
        assert oracle.certificate_request is not None, oracle.summary()
        assert version.certificate_request is not None
        assert [n.rfc4514 for n in version.certificate_request.ca_names] == \
            oracle.certificate_request.ca_names == pki.client_ca_names
        assert oracle.fatal_alert == version.without_certificate.alert  # type: ignore[union-attr]
    # Without post_handshake_auth, TLS 1.3 clients only see a 403: why we offer it.
    assert s_client(port, tls_version="1.3", send=SECURE_GET).http_status == 403


def test_path_enforcement_by_post_handshake_auth_and_renegotiation(records) -> None:
    expected = {"both": ("TLSv1.3", CertificateAsked.post_handshake_auth, "unknown_ca"),
                "tls12": ("TLSv1.2", CertificateAsked.renegotiation, "unknown_ca")}
    for kind, (version, asked, untrusted_alert) in expected.items():
        enforcement = records[kind].enforcement
        assert enforcement is not None and enforcement.paths is not None
        root, secure = enforcement.paths
        assert root.verdict is EnforcementVerdict.not_requested
        assert (secure.version, secure.asked, secure.verdict) == (
            version, asked, EnforcementVerdict.required_at_tls), secure.reason
        attempts = {a.certificate: a for a in secure.attempts}
        assert attempts[CertificateKind.none].result is AttemptResult.rejected
        assert attempts[CertificateKind.untrusted_ca].alert == untrusted_alert
        user = attempts[CertificateKind.user_certificate]
        assert (user.result, user.status, user.certificate_sent) == (
            AttemptResult.accepted, 200, True)


def test_tls12_only_listener(records) -> None:
    facet = records["tls12"].client_auth
    assert facet is not None and facet.paths is not None
    secure = facet.paths[1]
    assert secure.tls1_3 is not None and secure.tls1_3.supported is False
    assert secure.classification is ClientAuthClass.required


@pytest.mark.parametrize(("version", "alert"), [
    (TLSVersion.TLSv1_3, "certificate_required"), (TLSVersion.TLSv1_2, "handshake_failure")])
def test_an_alert_after_the_request_ends_the_http_exchange(
        apache_servers, version: TLSVersion, alert: str) -> None:
    """GET /secure without a certificate: Apache asks (post-handshake auth, renegotiation),
    gets an empty Certificate and sends an alert instead of a status line. The HTTP layer
    reports a close with that alert, and the session counts an answer (an alert is one)."""
    port = apache_servers["both"].port

    async def main() -> tuple[HttpAnswer, bool, int]:
        session = EndpointSession(Address(socket.AF_INET, LOOPBACK, port), "localhost",
                                  contexts=ContextFactory(), limits=ConnectionLimits(8, 4),
                                  timeout=10.0)
        offer = session.offer(version, post_handshake_auth=True, alpn=("http/1.1",))
        async with session.connect(offer) as tls:
            assert (await tls.handshake()).completed
            answer = await ask_http(tls, HttpRequest(path="/secure", host="localhost"))
        return answer, tls.result.answered, session.stats.answered

    answer, answered, counted = trio.run(main)
    assert answer.outcome is HttpOutcomeKind.closed and answer.response is None, answer
    assert answer.alert == alert
    assert answered and counted == 1
    # The oracle: s_client, asked the same, reads the same alert and no status line.
    oracle = s_client(port, tls_version=version.label.removeprefix("TLSv"), send=SECURE_GET,
                      extra_args=["-enable_pha"] if version is TLSVersion.TLSv1_3 else [])
    assert oracle.fatal_alert == alert and oracle.http_status is None, oracle.summary()
