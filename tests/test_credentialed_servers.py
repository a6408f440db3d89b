"""Credentialed scans: on listeners that require a client certificate, the session facts are
measured with the user's certificate and match what ``openssl s_client -cert/-key`` sees on the
same server; without one, they say they could not be measured, and why.

One server of each kind for the module (nginx ``ssl_verify_client on``, haproxy ``verify
required``, gnutls-serv ``--require-client-cert``, caddy ``require_and_verify``), scanned once
with and once without the credential.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.config.targets import Target
from scanner.offers.credential import ClientCredential
from scanner.policy.catalog import builtin_catalog
from scanner.policy.expectations import Expectations, evaluate
from scanner.results import Record, RenegotiationOutcome
from tests.conftest import scan_targets
from tests.support import servers
from tests.support.oracle import parse_msg, s_client
from tests.support.pki import PemPaths, TestPKI
from tests.support.processes import LOOPBACK
from tests.support.servers import RunningServer, binary, require_binary

pytestmark = pytest.mark.servers

KINDS = ("nginx", "haproxy", "gnutls", "caddy")
PROBES = ("renegotiation", "resumption", "alpn")
#: nginx "on" completes the handshake without a certificate and answers 400 at HTTP: its
#: session facts are measurable either way. The others end the handshake.
REJECTS_IN_TLS = ("haproxy", "gnutls", "caddy")


@pytest.fixture(scope="module")
def listeners(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[dict[str, RunningServer]]:
    for name in ("nginx", "haproxy", "gnutls-serv", "caddy", "openssl"):
        require_binary(name)
    work = tmp_path_factory.mktemp("credentialed")
    with contextlib.ExitStack() as stack:
        yield {
            "nginx": stack.enter_context(servers.nginx(pki, work / "nginx", mode="ca_names")),
            "haproxy": stack.enter_context(servers.haproxy(pki, work / "haproxy")),
            "gnutls": stack.enter_context(servers.gnutls_serv(pki, work / "gnutls")),
            "caddy": stack.enter_context(servers.caddy(pki, work / "caddy")),
        }


@pytest.fixture(scope="module")
def records(listeners: dict[str, RunningServer], pki: TestPKI
            ) -> dict[tuple[str, bool], Record]:
    """Per (server, credential given): the record of one sweep over all four servers."""
    credential = ClientCredential(pki.client_one.cert, pki.client_one.key)
    found: dict[tuple[str, bool], Record] = {}
    for given in (False, True):
        targets = [Target(host=LOOPBACK, port=server.port, sni="localhost",
                          client_credential=credential if given else None)
                   for server in listeners.values()]
        for name, record in zip(listeners, scan_targets(targets, probes=PROBES), strict=True):
            assert record.status == "ok", record.model_dump_json(indent=1)
            found[name, given] = record
    return found


# --- the oracle: openssl s_client with -cert/-key --------------------------------------


def resumed(port: int, version: str, client: PemPaths, session_file: Path, *,
            tickets: bool = True) -> bool:
    """Whether s_client resumes the session it saved from a first connection."""
    extra = [] if tickets else ["-no_ticket"]
    first = s_client(port, tls_version=version, client=client,
                     extra_args=[*extra, "-sess_out", str(session_file)])
    assert first.handshake_completed, first.summary()
    second = s_client(port, tls_version=version, client=client,
                      extra_args=[*extra, "-sess_in", str(session_file)])
    return "\nReused, " in second.stdout


def renegotiation_answer(port: int, client: PemPaths | None) -> RenegotiationOutcome:
    """s_client's "R" command (TLS 1.2), then what the server sent back."""
    argv = [binary("openssl"), "s_client", "-connect", f"{LOOPBACK}:{port}", "-tls1_2",
            "-servername", "localhost", "-msg"]
    if client is not None:
        argv += ["-cert", str(client.cert), "-key", str(client.key)]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL) as process:
        assert process.stdin is not None
        time.sleep(0.3)  # the handshake
        process.stdin.write(b"R\n")
        process.stdin.flush()
        time.sleep(0.5)  # the server's answer to the renegotiation
        stdout, _ = process.communicate(timeout=10)  # EOF on stdin: s_client closes
    received = [m for m in parse_msg(stdout.decode(errors="replace")) if m.direction == "<<<"]
    if sum(m.detail == "ServerHello" for m in received) >= 2:
        return RenegotiationOutcome.accepted
    alerts = [m.detail for m in received if m.content_type == "Alert"]
    if "warning no_renegotiation" in alerts:
        return RenegotiationOutcome.refused_warning
    if any(a.startswith("fatal") for a in alerts):
        return RenegotiationOutcome.refused_fatal
    return RenegotiationOutcome.closed


# --- with the credential --------------------------------------------------------------


@pytest.mark.parametrize("name", KINDS)
def test_credentialed_session_facts_match_s_client(
        name: str, listeners: dict[str, RunningServer], records: dict[tuple[str, bool], Record],
        pki: TestPKI, tmp_path: Path) -> None:
    port = listeners[name].port
    client = pki.client_one_files
    record = records[name, True]
    renegotiation, resumption, alpn = record.renegotiation, record.resumption, record.alpn
    assert renegotiation is not None and resumption is not None and alpn is not None

    tls12 = s_client(port, tls_version="1.2", client=client)
    assert tls12.handshake_completed and tls12.fatal_alert is None, tls12.summary()
    assert renegotiation.status == "tested" and renegotiation.not_measured is None
    assert renegotiation.client_certificate_presented is True
    assert renegotiation.secure_renegotiation is tls12.secure_renegotiation is True
    assert renegotiation.client_initiated is not None
    assert renegotiation.client_initiated.outcome is renegotiation_answer(port, client)

    at12 = resumption.tls1_2
    assert (at12.client_certificate_presented, at12.not_measured) == (True, None)
    oracle_tickets = [(t.lifetime_s, t.ticket_length) for t in tls12.new_session_tickets]
    assert at12.ticket_issued is bool(oracle_tickets)
    assert at12.ticket is not None
    assert [(at12.ticket.lifetime_s, at12.ticket.ticket_length)] == oracle_tickets
    assert at12.resumed_with_ticket is resumed(port, "1.2", client, tmp_path / "t12")
    by_id = resumed(port, "1.2", client, tmp_path / "id12", tickets=False)
    assert at12.resumed_with_session_id is (by_id if at12.session_id_issued else None)

    at13 = resumption.tls1_3
    assert (at13.client_certificate_presented, at13.not_measured) == (True, None)
    tls13 = s_client(port, tls_version="1.3", client=client)
    assert at13.tickets_issued == len(tls13.new_session_tickets) > 0
    assert [t.lifetime_s for t in at13.tickets] == [
        t.lifetime_s for t in tls13.new_session_tickets]
    assert at13.resumed_with_psk is resumed(port, "1.3", client, tmp_path / "t13")

    for facet, version in ((alpn.tls1_3, "1.3"), (alpn.tls1_2, "1.2")):
        assert facet is not None and facet.client_certificate_presented is True
        for offer in ("h2,http/1.1", "h2", "http/1.1"):
            oracle = s_client(port, tls_version=version, client=client,
                              extra_args=["-alpn", offer])
            assert facet.selected_for[offer] == oracle.alpn_protocol, (version, offer)


# --- without it -------------------------------------------------------------------------


@pytest.mark.parametrize("name", REJECTS_IN_TLS)
def test_without_a_credential_session_facts_say_why_they_are_missing(
        name: str, listeners: dict[str, RunningServer], records: dict[tuple[str, bool], Record],
        ) -> None:
    port = listeners[name].port
    record = records[name, False]
    renegotiation, resumption, alpn = record.renegotiation, record.resumption, record.alpn
    assert renegotiation is not None and resumption is not None and alpn is not None
    for version in ("1.2", "1.3"):
        oracle = s_client(port, tls_version=version)
        assert oracle.certificate_request is not None and oracle.fatal_alert is not None, (
            oracle.summary())
    assert (renegotiation.status, renegotiation.not_measured) == (
        "not_measured", "client_certificate_required")
    assert renegotiation.client_certificate_presented is False
    assert renegotiation.client_initiated is None
    for facts in (resumption.tls1_2, resumption.tls1_3):
        assert (facts.not_measured, facts.client_certificate_presented) == (
            "client_certificate_required", False)
    assert resumption.tls1_2.ticket is None and resumption.tls1_3.tickets_issued is None
    # ALPN is read from the ServerHello / EncryptedExtensions, before the rejection.
    oracle = s_client(port, tls_version="1.3", extra_args=["-alpn", "h2,http/1.1"])
    assert alpn.tls1_3 is not None
    assert alpn.tls1_3.selected_for["h2,http/1.1"] == oracle.alpn_protocol
    assert alpn.tls1_3.client_certificate_presented is False


def test_nginx_verify_on_is_measured_without_a_credential_too(
        listeners: dict[str, RunningServer], records: dict[tuple[str, bool], Record]) -> None:
    """nginx completes the handshake without a certificate (it rejects at HTTP): the facts
    are measured, from the uncredentialed view, and say so."""
    port = listeners["nginx"].port
    record = records["nginx", False]
    assert record.renegotiation is not None and record.resumption is not None
    assert record.renegotiation.not_measured is None
    assert record.renegotiation.client_certificate_presented is False
    oracle = s_client(port, tls_version="1.2")
    assert oracle.handshake_completed and oracle.http_status == 400, oracle.summary()
    assert record.renegotiation.secure_renegotiation is oracle.secure_renegotiation
    ticket = record.resumption.tls1_2.ticket
    assert ticket is not None
    assert [(ticket.lifetime_s, ticket.ticket_length)] == [
        (t.lifetime_s, t.ticket_length) for t in oracle.new_session_tickets]


def test_a_credentialed_scan_costs_a_few_more_connections(
        records: dict[tuple[str, bool], Record]) -> None:
    for name in KINDS:
        without, given = records[name, False].stats, records[name, True].stats
        # The credentialed baselines (one per version where the server asks) and the
        # resumption attempts that only a completed handshake makes possible.
        assert without.connections <= given.connections <= without.connections + 8, name


def test_expectations_on_unmeasured_facts_name_the_missing_certificate(
        records: dict[tuple[str, bool], Record]) -> None:
    expect = Expectations.model_validate({"client_renegotiation": "refused",
                                          "session_tickets": True})
    without = evaluate(records["haproxy", False].model_dump(mode="json"), expect,
                       builtin_catalog())
    assert [(o.name, o.status) for o in without] == [
        ("session_tickets", "not_evaluated"), ("client_renegotiation", "not_evaluated")]
    assert all("requires a client certificate and none was given" in o.detail
               for o in without)
    given = evaluate(records["haproxy", True].model_dump(mode="json"), expect,
                     builtin_catalog())
    assert [(o.name, o.status) for o in given] == [
        ("session_tickets", "met"), ("client_renegotiation", "met")]


def test_command_line_credential_reaches_the_probes(
        listeners: dict[str, RunningServer], pki: TestPKI, tmp_path: Path) -> None:
    """``--client-cert/--client-key`` and ``--sni`` for an endpoint named on the command line."""
    key = tmp_path / "client.key"
    key.write_bytes(pki.client_one_files.key.read_bytes())
    key.chmod(0o600)
    endpoint = f"{LOOPBACK}:{listeners['gnutls'].port}"
    common = ["scan", endpoint, "--sni", "localhost", "--probes", "renegotiation", "-q"]
    given = CliRunner().invoke(app, [*common, "--client-cert", str(pki.client_one_files.cert),
                                     "--client-key", str(key)])
    assert given.exit_code == 0, given.stderr
    record = json.loads(given.stdout)
    assert record["target"]["sni"] == "localhost"
    assert record["renegotiation"]["client_initiated"]["outcome"] == "accepted"
    assert record["renegotiation"]["client_certificate_presented"] is True
    without = json.loads(CliRunner().invoke(app, common).stdout)
    assert without["renegotiation"]["not_measured"] == "client_certificate_required"
