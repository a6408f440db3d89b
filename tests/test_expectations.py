"""Compliance expectations: parsing in the inventory, and the pure check of a record."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner.config.inventory_files import InventoryError
from scanner.config.inventory_stream import load_inventory
from scanner.policy.apply import annotate, identification_out
from scanner.policy.catalog import builtin_catalog
from scanner.policy.expectations import Expectations, evaluate, merge_expectations
from scanner.policy.identify import identify, observation_from_record
from scanner.probes import PROBES
from scanner.results import AlpnFacet, Record, RenegotiationFacet, ResumptionFacet
from tests.test_policy_identify import ISSUE5_RECORD

CATALOG = builtin_catalog()
ONE = "CN=Client Root CA One,O=Example Corp,C=US"
TWO = "CN=Client Root CA Two,OU=Platform,O=Example Corp,C=JP"


def check(record: dict[str, Any], **expect: Any) -> dict[str, tuple[str, str]]:
    outcomes = evaluate(record, Expectations.model_validate(expect), CATALOG,
                        known_probes=PROBES, now=datetime(2026, 11, 21, tzinfo=UTC))
    return {o.name: (o.status, o.detail) for o in outcomes}


def status(record: dict[str, Any], **expect: Any) -> str:
    (result,) = check(record, **expect).values()
    return result[0]


@pytest.fixture(scope="module")
def optional_record(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real record: openssl s_server asking for (not requiring) a client certificate."""
    from scanner.config.targets import Target
    from tests.conftest import scan_targets
    from tests.support.fixtures import servers
    from tests.support.pki import build_test_pki

    servers.require_binary("openssl")
    pki = build_test_pki(tmp_path_factory.mktemp("pki"))
    with servers.openssl_s_server(pki, tmp_path_factory.mktemp("srv"), verify="request") as srv:
        (record,) = scan_targets([Target(host="127.0.0.1", port=srv.port, sni="localhost")],
                                 probes=("client_auth", "alpn", "resumption", "renegotiation"))
    assert record.status == "ok"
    return record.model_dump(mode="json", by_alias=True)


@pytest.mark.servers
def test_client_auth_and_ca_names_against_a_real_record(optional_record: dict) -> None:
    record = optional_record
    assert check(record, client_auth="optional") == {
        "client_auth": ("met", "optional at TLSv1.3, TLSv1.2")}
    assert check(record, client_auth="required") == {"client_auth": (
        "failed", "expected required, observed optional at TLSv1.3, optional at TLSv1.2")}
    assert status(record, ca_names=[TWO, ONE]) == "met"
    assert status(record, ca_names=["cn=client root ca one, o=Example Corp, c=US", TWO]) == "met"
    assert check(record, ca_names=[ONE])["ca_names"] == (
        "failed", f"TLSv1.3 also sends {TWO}; TLSv1.2 also sends {TWO}")
    assert status(record, ca_names={"include": [ONE]}) == "met"
    assert check(record, ca_names={"include": ["CN=Other CA"]})["ca_names"][1].startswith(
        "TLSv1.3 lacks CN=Other CA")
    assert status(record, ca_names_sent=True) == "met"
    assert check(record, ca_names_sent=False)["ca_names_sent"] == (
        "failed", "the CertificateRequest sends CA names at TLSv1.3, TLSv1.2")


@pytest.mark.servers
def test_facts_without_a_probe_are_not_evaluated_never_passed(optional_record: dict) -> None:
    results = check(optional_record, policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                    min_version="TLSv1.2", ocsp_stapled=True, certificate={"min_days_left": 30})
    assert {name: s for name, (s, _) in results.items()} == dict.fromkeys(
        ["policy", "min_version", "ocsp_stapled", "certificate.min_days_left"], "not_evaluated")
    assert results["ocsp_stapled"][1].startswith("the record has no ocsp facet")
    assert results["policy"][1] == ("the record has no cipher_suites facet: the cipher_suites "
                                    "probe did not run")
    assert "protocols" in results["min_version"][1]
    without = {k: v for k, v in optional_record.items() if k != "alpn"}
    assert check(without, alpn=["h2"])["alpn"] == (
        "not_evaluated", "the record has no alpn facet: the alpn probe did not run")


@pytest.mark.servers
def test_facts_of_the_session_probes_on_a_real_record(optional_record: dict) -> None:
    """openssl s_server -www: no ALPN, 7200 s tickets, refuses client renegotiation."""
    assert check(optional_record, alpn=["h2"], session_tickets=False, max_ticket_lifetime=7200,
                 client_renegotiation="refused") == {
        "alpn": ("failed", "h2 not supported at TLSv1.3; h2 not supported at TLSv1.2"),
        "session_tickets": ("failed", "tickets issued at TLSv1.3, tickets issued at TLSv1.2"),
        "max_ticket_lifetime": ("met", "longest ticket lifetime 7200s"),
        "client_renegotiation": ("met", "client-initiated renegotiation: refused_warning "
                                 "(no_renegotiation)"),
    }


def facets_record() -> dict[str, Any]:
    """A record with the renegotiation, resumption and alpn facets (models of this version)
    and ocsp/certificate facets as the certificate and ocsp probes write them."""
    alpn = {"version": "TLSv1.3", "supported": True, "supported_protocols": ["h2", "http/1.1"],
            "unsupported_protocols": ["spdy/3.1"], "complete": True}
    facets = {
        "renegotiation": RenegotiationFacet.model_validate({
            "status": "tested", "version": "TLSv1.2", "secure_renegotiation": True,
            "client_initiated": {"outcome": "refused_warning", "alert": "no_renegotiation",
                                 "detail": "warning alert"}}),
        "resumption": ResumptionFacet.model_validate({
            "tls1_2": {"supported": True, "ticket_issued": True,
                       "ticket": {"lifetime_s": 7200, "ticket_length": 160}},
            "tls1_3": {"supported": True, "tickets_issued": 2,
                       "tickets": [{"lifetime_s": 300, "ticket_length": 200},
                                   {"lifetime_s": 86400, "ticket_length": 200}]}}),
        "alpn": AlpnFacet.model_validate({
            "supported": ["h2", "http/1.1"], "tls1_3": alpn,
            "tls1_2": {**alpn, "version": "TLSv1.2", "supported_protocols": ["http/1.1"],
                       "unsupported_protocols": ["h2", "spdy/3.1"]}}),
    }
    record = {name: facet.model_dump(mode="json") for name, facet in facets.items()}
    record.update({
        "status": "ok", "probes": [*facets, "ocsp", "certificate"],
        "ocsp": {"stapled": True, "tls1_3": {"version": "TLSv1.3", "supported": True,
                                             "stapled": True},
                 "tls1_2": {"version": "TLSv1.2", "supported": True, "stapled": False}},
        "certificate": {"days_left": 10, "chains": [{"certificates": [
            {"key_type": "EC", "days_left": 10}]}]},
    })
    return record


def test_facets_of_the_other_probes_are_read() -> None:
    record = facets_record()
    assert check(record, ocsp_stapled=True)["ocsp_stapled"] == (
        "failed", "nothing stapled at TLSv1.2")
    assert check(record, alpn=["http/1.1"])["alpn"] == (
        "met", "http/1.1 supported at TLSv1.3, TLSv1.2")
    assert check(record, alpn=["h2"])["alpn"] == ("failed", "h2 not supported at TLSv1.2")
    assert check(record, alpn=["imap"])["alpn"] == ("not_evaluated", (
        "not tested: imap at TLSv1.3, imap at TLSv1.2 (add the protocol to alpn_extra / "
        "--alpn-extra)"))
    assert check(record, session_tickets=True)["session_tickets"] == (
        "met", "tickets issued at TLSv1.3, TLSv1.2")
    assert check(record, session_tickets=False)["session_tickets"][0] == "failed"
    assert check(record, max_ticket_lifetime=43200)["max_ticket_lifetime"] == (
        "failed", "ticket lifetime 86400s at TLSv1.3 exceeds 43200s")
    assert status(record, max_ticket_lifetime=86400) == "met"
    assert check(record, client_renegotiation="refused")["client_renegotiation"] == (
        "met", "client-initiated renegotiation: refused_warning (no_renegotiation)")
    assert check(record, certificate={"min_days_left": 30})["certificate.min_days_left"] == (
        "failed", "the certificate expires in 10 day(s), fewer than 30")
    assert status(record, certificate={"min_days_left": 7}) == "met"

    record["renegotiation"]["client_initiated"]["outcome"] = "accepted"
    assert status(record, client_renegotiation="refused") == "failed"
    record["renegotiation"] = {"status": "not_applicable", "detail": "TLS 1.3 only"}
    assert status(record, client_renegotiation="refused") == "met"
    record["resumption"]["tls1_2"] = {"supported": True, "ticket_issued": False}
    record["resumption"]["tls1_3"] = {"supported": False, "tickets_issued": None}
    assert check(record, max_ticket_lifetime=60)["max_ticket_lifetime"] == (
        "met", "no tickets issued")
    record["probe_errors"] = {"alpn": {"kind": "internal_error", "detail": "boom"}}
    del record["alpn"]
    assert check(record, alpn=["h2"])["alpn"] == ("not_evaluated",
                                                  "the alpn probe failed: boom")


def with_identification(record: dict[str, Any]) -> dict[str, Any]:
    record = {"status": "ok", **copy.deepcopy(record)}
    observation = observation_from_record(record)
    assert observation is not None
    record["policy"] = identification_out(identify(observation, CATALOG)).model_dump(
        mode="json")
    return record


def test_policy_and_min_version_from_an_enumeration_record() -> None:
    record = with_identification(ISSUE5_RECORD)
    assert check(record, policy="ELBSecurityPolicy-TLS13-1-2-2021-06")["policy"] == (
        "met", "matches aws-elb:ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert status(record, policy=["mozilla:intermediate", "ELBSecurityPolicy-TLS13-1-2-2021-06"]
                  ) == "met"
    failed, detail = check(record, policy="ELBSecurityPolicy-TLS-1-2-Ext-2018-06")["policy"]
    assert failed == "failed"
    assert detail == (
        "expected ELBSecurityPolicy-TLS-1-2-Ext-2018-06; the endpoint matches "
        "aws-elb:ELBSecurityPolicy-TLS13-1-2-2021-06; differences from "
        "aws-elb:ELBSecurityPolicy-TLS-1-2-Ext-2018-06: also accepts TLSv1.3, TLSv1.2 lacks "
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "
        "TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA256, "
        "TLS_RSA_WITH_AES_128_CBC_SHA, TLS_RSA_WITH_AES_256_GCM_SHA384, "
        "TLS_RSA_WITH_AES_256_CBC_SHA256, TLS_RSA_WITH_AES_256_CBC_SHA, accepts groups x25519")
    assert check(record, min_version="TLSv1.2")["min_version"] == (
        "met", "refuses TLSv1.0, SSLv3, SSLv2")
    record["protocols"]["TLSv1.0"]["accepted"] = True
    assert check(record, min_version="1.2")["min_version"] == (
        "failed", "accepts TLSv1.0, below TLSv1.2")


def test_a_software_default_can_be_expected_by_name() -> None:
    record = with_identification(ISSUE5_RECORD)
    assert status(record, policy="software:nginx") == "failed"
    record["policy"]["software_defaults"] = [{"id": "software:nginx"}]
    assert check(record, policy="software:nginx")["policy"][0] == "met"


def test_an_unscanned_target_has_nothing_evaluated() -> None:
    record = {"status": "error", "error": {"kind": "connection_refused", "detail": "..."}}
    assert check(record, client_auth="required") == {"client_auth": (
        "not_evaluated", "the target could not be scanned (connection_refused)")}


def test_annotate_adds_results_and_findings_with_severities() -> None:
    record = Record.model_validate({
        "target": {"host": "a.example", "port": 443, "sni": "a.example"}, "status": "error",
        "error": {"kind": "dns_failure", "detail": "no such name"},
        "started_at": "2026-11-21T00:00:00Z", "duration_ms": 1, "probes": ["client_auth"],
    })
    annotated = annotate(record, Expectations(client_auth="required"), catalog=CATALOG)
    assert [(e.name, e.status.value) for e in annotated.expectations] == [
        ("client_auth", "not_evaluated")]
    assert annotated.findings == []
    assert annotate(record, None, catalog=CATALOG) is record


def test_merging_defaults_and_target_expectations() -> None:
    defaults = Expectations.model_validate({"client_auth": "required", "ca_names_sent": True,
                                            "severity": {"client_auth": "critical"}})
    own = Expectations.model_validate({"ca_names_sent": None, "alpn": ["h2"],
                                       "severity": {"alpn": "info"}})
    merged = merge_expectations(defaults, own)
    assert merged is not None
    assert merged.stated() == ["client_auth", "alpn"]
    assert merged.severity == {"client_auth": "critical", "alpn": "info"}
    assert merge_expectations(None, None) is None
    only_null = Expectations.model_validate({"client_auth": None})
    assert merge_expectations(Expectations(client_auth="required"), only_null) is None


INVENTORY = """\
defaults:
  expect:
    client_auth: required
policies:
  - name: house-rules
    protocols: [TLSv1.3]
    tls13: [TLS_AES_256_GCM_SHA384]
targets:
  - host: a.example
    expect:
      policy: house-rules
      ca_names: {include: ["CN=Example CA,O=Example"]}
  - host: b.example
    expect:
      client_auth: null
"""


def test_inventory_expectations_and_policies(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(INVENTORY)
    inventory = load_inventory(path, known_probes=PROBES)
    first, second = inventory.targets
    assert first.expect is not None and second.expect is None
    assert first.expect.stated() == ["policy", "client_auth", "ca_names"]
    assert [p.id for p in inventory.policies] == ["custom:house-rules"]
    assert inventory.catalog is not None and inventory.catalog.one("house-rules")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("policy: house-rules", "policy: house-rulez"),
         ":11:7: unknown policy 'house-rulez'; did you mean house-rules"),
        (("policy: house-rules", "policy: [house-rules, ELBSecurityPolicy-1999]"),
         ":11:29: unknown policy 'ELBSecurityPolicy-1999'"),
        (("client_auth: required", "client_auth: mandatory"),
         ":3:5: defaults.expect.client_auth: Input should be 'none', 'optional' or 'required'"),
        (("client_auth: null", "client_cert: null"),
         ":15:7: unknown key 'targets[1].expect.client_cert'; allowed here: alpn, ca_names, "),
        (('"CN=Example CA,O=Example"', '"CN=Example CA,Q=Example"'),
         ":12:18: targets[0].expect.ca_names.include: 'CN=Example CA,Q=Example' is not an RFC "
         "4514 distinguished name: unknown attribute type 'Q'"),
        (("tls13: [TLS_AES_256_GCM_SHA384]", "tls13: [TLS_AES_256_GCM_SHA385]"),
         ":7:13: policies[0].tls13[0]: unknown cipher suite 'TLS_AES_256_GCM_SHA385'"),
        (("name: house-rules", "name: house-rules\n    id: mozilla:modern"),
         ":5:5: policy id or alias 'mozilla:modern' is already used by mozilla:6.0:modern"),
    ],
)
def test_inventory_expectation_errors_name_file_and_line(
        tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(INVENTORY.replace(*change))
    with pytest.raises(InventoryError) as caught:
        load_inventory(path, known_probes=PROBES)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert expected in message
