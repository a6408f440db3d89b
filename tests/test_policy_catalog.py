"""The policy catalog: shipped data, lookups, user policy files, and `mtlsweep policies`."""

from __future__ import annotations

import io
import json
from importlib import resources
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from scanner.cli.app import app
from scanner.policy.catalog import (
    PolicyFileError,
    PolicyLookupError,
    builtin_catalog,
    load_catalog,
    load_policy_file,
)
from scanner.policy.compare import diff_as_json, diff_policies
from scanner.policy.suites import suite_table
from scanner.report.policies import policy_diff_view

DATA = resources.files("scanner.policy").joinpath("data", "policies")


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def codes(suites: list[dict]) -> list[str]:
    return [s["code"] for s in suites]


# --- the shipped catalog -------------------------------------------------------------------


def test_catalog_covers_the_providers_and_every_policy_cites_its_sources() -> None:
    catalog = builtin_catalog()
    by_provider: dict[str, int] = {}
    for policy in catalog:
        by_provider[policy.provider] = by_provider.get(policy.provider, 0) + 1
        assert policy.sources, f"{policy.id} cites no source"
        assert all(s.url or s.repo_path for s in policy.sources), policy.id
        assert policy.tls13 or policy.tls12
    assert set(by_provider) == {"aws", "azure", "cloudflare", "gcp", "mozilla", "software"}
    ids = {p.id for p in catalog}
    for expected in (
        "aws-elb:ELBSecurityPolicy-TLS13-1-2-2021-06",  # ALB/NLB TLS 1.3
        "aws-elb:ELBSecurityPolicy-FS-1-2-Res-2020-10",  # forward secrecy
        "aws-elb:ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",  # FIPS
        "aws-elb:ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",  # post-quantum
        "aws-elb-classic:ELBSecurityPolicy-2016-08",  # Classic
        "aws-cloudfront:TLSv1.2_2021", "aws-apigw:edge:TLS_1_2",
        "azure-appgw:AppGwSslPolicy20220101", "cloudflare:Modern",
        "mozilla:6.0:intermediate", "mozilla:5.8:old", "mozilla:5.7:intermediate",
        "azure-frontdoor:TLSv1.2_2023", "azure-frontdoor:TLSv1.2_2022",
        "cloudflare:Legacy/min-TLS1.2", "cloudflare:min-TLS1.3",
        "gcp:FIPS_202205/TLS_1_2", "software:nginx", "software:envoy",
    ):
        assert expected in ids
    # GCP: every pre-configured profile with every minimum version it allows
    gcp = {p.id for p in catalog if p.provider == "gcp"}
    assert {f"gcp:{profile}/TLS_1_{minimum}" for profile in ("COMPATIBLE", "MODERN", "RESTRICTED")
            for minimum in (0, 1, 2)} | {"gcp:FIPS_202205/TLS_1_2"} <= gcp
    # Cloudflare: every cipher level with every minimum TLS version (1.2/1.0 as aliases)
    for level in ("Modern", "Compatible", "Legacy"):
        for minimum in ("1.0", "1.1", "1.2"):
            assert catalog.one(f"cloudflare:{level}/min-TLS{minimum}").provider == "cloudflare"


def test_every_entry_names_a_dated_source() -> None:
    for policy in builtin_catalog():
        assert any(source.date for source in policy.sources), f"{policy.id}: no dated source"


def test_every_cipher_name_in_the_shipped_files_resolves_to_a_registered_suite() -> None:
    """Each name a data file spells (OpenSSL, IANA or a provider's spelling) must resolve to a
    suite of the registry with both names known, never to a bare code point."""
    table = suite_table()
    checked = 0
    for resource in DATA.iterdir():
        if not resource.name.endswith(".yaml"):
            continue
        data = yaml.load(resource.read_text("utf-8"), Loader=yaml.CSafeLoader)
        for entry in data["policies"]:
            for key in ("tls13", "tls12", "may_be_absent"):
                for name in entry.get(key) or ():
                    suite = table.resolve(name)
                    assert suite.iana and suite.openssl, f"{resource.name}: {entry['id']}: {name}"
                    assert suite.is_tls13 == (key == "tls13") or key == "may_be_absent", name
                    checked += 1
    assert checked > 1000


def test_every_data_file_names_its_sources_in_its_header() -> None:
    files = [r for r in DATA.iterdir() if r.name.endswith(".yaml")]
    assert len(files) == 10
    for resource in files:
        text = resource.read_text("utf-8")
        header = text.split("\nformat:")[0]
        assert "# Sources:" in header and "https://" in header, resource.name
        data = yaml.load(text, Loader=yaml.CSafeLoader)
        defined = {s["id"] for s in data["sources"]}
        cited = {s for p in data["policies"] for s in p["sources"]}
        assert cited == defined, f"{resource.name}: unused or undefined sources"
        for source in data["sources"]:
            assert source["id"] in header and source["date"], resource.name


def test_lookup_by_id_alias_and_name() -> None:
    catalog = builtin_catalog()
    assert catalog.one("mozilla:intermediate").id == "mozilla:6.0:intermediate"
    assert catalog.one("elbsecuritypolicy-tls13-1-2-2021-06").id == (
        "aws-elb:ELBSecurityPolicy-TLS13-1-2-2021-06")
    assert {p.id for p in catalog.find("ELBSecurityPolicy-2016-08")} == {
        "aws-elb:ELBSecurityPolicy-2016-08", "aws-elb-classic:ELBSecurityPolicy-2016-08"}
    with pytest.raises(PolicyLookupError, match="names 2 policies"):
        catalog.one("ELBSecurityPolicy-2016-08")
    with pytest.raises(PolicyLookupError, match=r"did you mean .*TLS13-1-2-2021-06"):
        catalog.one("ELBSecurityPolicy-TLS13-1-2-2021-07")


def test_suites_of_a_version_follow_certificate_type_and_version() -> None:
    policy = builtin_catalog().one("aws-elb:ELBSecurityPolicy-2016-08")
    rsa = [s.openssl for s in policy.suites_at("TLSv1.0", {"rsa"})]
    assert rsa == ["ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "AES128-SHA", "AES256-SHA"]
    assert len(policy.suites_at("TLSv1.2", {"ecdsa"})) == 6
    assert policy.suites_at("TLSv1.3") == ()


def test_lookalikes_include_the_pq_twins() -> None:
    catalog = builtin_catalog()
    twins = {p.id for p in catalog.lookalikes(catalog.one("ELBSecurityPolicy-TLS13-1-2-2021-06"))}
    assert twins == {"aws-elb:ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"}


# --- policies diff ---------------------------------------------------------------------------


def test_diff_of_the_two_aws_policies_is_exactly_as_documented() -> None:
    code, out, err = cli("policies", "diff", "ELBSecurityPolicy-TLS13-1-2-2021-06",
                         "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "--format", "json")
    assert code == 0, err
    diff = json.loads(out)
    assert diff["protocols"] == {"only_in_a": ["TLSv1.3"], "only_in_b": [],
                                 "in_both": ["TLSv1.2"]}
    tls13, tls12 = diff["cipher_suites"]["tls1_3"], diff["cipher_suites"]["tls1_2_and_below"]
    assert codes(tls13["only_in_a"]) == ["0x1301", "0x1302", "0x1303"]
    assert tls13["only_in_b"] == tls13["in_both"] == []
    assert tls12["only_in_a"] == []
    # The 4 ECDHE SHA-1 CBC suites and the 6 RSA key-exchange suites only in B.
    assert sorted(codes(tls12["only_in_b"])) == sorted([
        "0xC009", "0xC013", "0xC00A", "0xC014",
        "0x009C", "0x003C", "0x002F", "0x009D", "0x003D", "0x0035"])
    only_b = {s["openssl"] for s in tls12["only_in_b"]}
    assert {n for n in only_b if n.startswith("ECDHE")} == {
        "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-RSA-AES256-SHA"}
    assert {s["iana"] for s in tls12["only_in_b"] if not s["openssl"].startswith("ECDHE")} == {
        "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_RSA_WITH_AES_256_CBC_SHA256", "TLS_RSA_WITH_AES_256_CBC_SHA"}
    # 8 ECDHE suites shared.
    assert codes(tls12["in_both"]) == ["0xC02B", "0xC02F", "0xC023", "0xC027", "0xC02C",
                                       "0xC030", "0xC024", "0xC028"]
    assert all(s["openssl"].startswith("ECDHE-") for s in tls12["in_both"])
    assert diff["order"]["tls1_2_and_below"] == {"compared": True, "differs": False,
                                                  "reason": None, "a": None, "b": None}

    code, table, _ = cli("policies", "diff", "ELBSecurityPolicy-TLS13-1-2-2021-06",
                         "ELBSecurityPolicy-TLS-1-2-Ext-2018-06")
    assert code == 0
    assert "TLS 1.3 cipher suites: 3 only in A, 0 only in B, 0 in both" in table
    assert "TLS 1.2 and below cipher suites: 0 only in A, 10 only in B, 8 in both" in table
    assert "TLS_RSA_WITH_AES_128_CBC_SHA " in table and "AES128-SHA " in table


def test_diff_reports_order_only_where_documented_and_pq_twins() -> None:
    catalog = builtin_catalog()
    diff = diff_policies(catalog.one("aws-cloudfront:TLSv1.2_2019"),
                         catalog.one("ELBSecurityPolicy-TLS13-1-2-2021-06"))
    order = {o.section: o for o in diff.order}["tls1_2_and_below"]
    assert order.compared and order.differs
    assert [s.openssl for s in order.a][:2] == ["ECDHE-ECDSA-AES128-GCM-SHA256",
                                                "ECDHE-ECDSA-AES128-SHA256"]
    assert [s.openssl for s in order.b][:2] == ["ECDHE-ECDSA-AES128-GCM-SHA256",
                                                "ECDHE-RSA-AES128-GCM-SHA256"]
    mozilla = diff_policies(catalog.one("mozilla:intermediate"), catalog.one("cloudflare:Modern"))
    reason = {o.section: o for o in mozilla.order}["tls1_2_and_below"].reason
    assert reason is not None and "mozilla:6.0:intermediate: the client chooses" in reason
    twins = diff_as_json(diff_policies(catalog.one("ELBSecurityPolicy-TLS13-1-2-2021-06"),
                                       catalog.one("ELBSecurityPolicy-TLS13-1-2-PQ-2025-09")))
    assert twins["same_protocols_and_suites"] is True
    assert twins["key_exchange"]["pq_key_exchange"] == {"a": False, "b": True}
    code, out, _ = cli("policies", "diff", "ELBSecurityPolicy-TLS13-1-2-2021-06",
                       "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09")
    assert code == 0 and "PQ key exchange: A no, B yes" in out
    assert "same protocols and cipher suites" in out


# The notes under the diff tables, in order: (A, B, the note lines).
DIFF_NOTES = {
    "order compared: differs in one section, same in the other": (
        "aws-cloudfront:TLSv1.2_2019", "ELBSecurityPolicy-TLS13-1-2-2021-06",
        ["TLS 1.3 order: the shared suites are in the same server order",
         "TLS 1.2 and below order of the shared suites differs:",
         "key exchange: PQ key exchange: A not stated, B no"]),
    "FIPS differs": (
        "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        ["TLS 1.3 order: the shared suites are in the same server order",
         "TLS 1.2 and below order: the shared suites are in the same server order",
         "key exchange: FIPS: A no, B yes"]),
    "the same documented groups are not a difference; no TLS 1.3 in A": (
        "ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        ["TLS 1.2 and below order: the shared suites are in the same server order",
         "key exchange: FIPS: A no, B yes"]),
    "order not compared; groups differ": (
        "mozilla:6.0:intermediate", "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        ["TLS 1.3 order not compared: no documented server order (mozilla:6.0:intermediate: "
         "the client chooses)",
         "TLS 1.2 and below order not compared: no documented server order "
         "(mozilla:6.0:intermediate: the client chooses)",
         "key exchange: groups only in A: -; only in B: secp521r1, SecP256r1MLKEM768, "
         "SecP384r1MLKEM1024"]),
    "no TLS 1.2 suites in either; nothing shared to order": (
        "mozilla:6.0:modern", "mozilla:5.7:modern",
        ["TLS 1.2 and below cipher suites: none in either policy",
         "TLS 1.3 order not compared: no documented server order (mozilla:6.0:modern: the "
         "client chooses; mozilla:5.7:modern: the client chooses)",
         "key exchange: PQ key exchange: A yes, B no; groups only in A: X25519MLKEM768; "
         "only in B: -",
         "A and B have the same protocols and cipher suites: a scan can tell them apart only "
         "by key-exchange groups, if at all."]),
}
NOTE_STARTS = ("TLS 1.2 and below cipher suites: none", "TLS 1.3 cipher suites: none",
               "TLS 1.3 order", "TLS 1.2 and below order", "key exchange:", "A and B have")


@pytest.mark.parametrize(("a", "b", "notes"), DIFF_NOTES.values(), ids=DIFF_NOTES)
def test_diff_view_notes_what_the_tables_do_not_show(a: str, b: str, notes: list[str]) -> None:
    catalog = builtin_catalog()
    rendered = io.StringIO()
    Console(file=rendered, width=1000).print(
        policy_diff_view(diff_policies(catalog.one(a), catalog.one(b))))
    lines = [line.strip() for line in rendered.getvalue().splitlines()]
    assert [line for line in lines if line.startswith(NOTE_STARTS)] == notes


def test_diff_needs_one_policy_per_name() -> None:
    code, out, err = cli("policies", "diff", "ELBSecurityPolicy-2016-08", "mozilla:old")
    assert code == 2 and out == ""
    assert "names 2 policies: aws-elb-classic:ELBSecurityPolicy-2016-08, " in err


# --- policies list / show -------------------------------------------------------------------


def test_list_filters_by_provider_and_show_gives_both_names() -> None:
    code, out, _ = cli("policies", "list", "--provider", "aws", "--format", "json")
    assert code == 0
    listed = json.loads(out)
    assert listed and {p["provider"] for p in listed} == {"aws"}
    assert {p["kind"] for p in listed} == {"policy"}
    code, out, _ = cli("policies", "show", "software:caddy", "--format", "json")
    assert code == 0 and json.loads(out)[0]["kind"] == "software-default"
    assert len(listed) == len([p for p in builtin_catalog() if p.provider == "aws"])
    code, out, _ = cli("policies", "list", "--provider", "azure")
    assert code == 0 and "azure-appgw:AppGwSslPolicy20170401S" in out and "aws-elb" not in out
    code, _, err = cli("policies", "list", "--provider", "oracle-cloud")
    assert code == 2 and "no policies from provider 'oracle-cloud'" in err

    code, out, _ = cli("policies", "show", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06")
    assert code == 0
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA " in out and "ECDHE-ECDSA-AES128-SHA " in out
    assert "0xC009" in out and "s2n-tls-main" in out
    code, out, _ = cli("policies", "show", "ELBSecurityPolicy-2016-08", "--format", "json")
    shown = json.loads(out)
    assert [p["id"] for p in shown] == ["aws-elb-classic:ELBSecurityPolicy-2016-08",
                                        "aws-elb:ELBSecurityPolicy-2016-08"]
    assert shown[0]["cipher_suites"]["tls1_2_and_below"][0] == {
        "code": "0xC02B", "iana": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "openssl": "ECDHE-ECDSA-AES128-GCM-SHA256"}
    code, _, err = cli("policies", "show", "ELBSecurityPolicy-TLS13-1-2-2021-07")
    assert code == 2 and "unknown policy" in err


# --- user policy files ---------------------------------------------------------------------

USER_POLICY = """\
provider: acme
sources:
  - {id: wiki, url: https://wiki.example/tls, date: "2026-01"}
policies:
  - name: edge-2026
    protocols: [TLSv1.3, "1.2"]
    tls13: [TLS_AES_256_GCM_SHA384, TLS-AES-128-GCM-SHA256]
    tls12: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, ECDHE-RSA-AES128-GCM-SHA256, "0xCCA8"]
    order: server
    sources: [wiki]
"""


def test_a_user_policy_file_adds_policies(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(USER_POLICY)
    (policy,) = load_policy_file(path)
    assert policy.id == "acme:edge-2026" and policy.protocols == ("TLSv1.3", "TLSv1.2")
    assert [s.hex for s in policy.tls12] == ["0xC030", "0xC02F", "0xCCA8"]
    assert policy.origin == f"{path}:5:5"
    catalog = load_catalog([path])
    assert catalog.one("edge-2026") is not None and len(catalog) == len(builtin_catalog()) + 1
    code, out, err = cli("policies", "diff", "edge-2026", "mozilla:intermediate",
                         "--policy-file", str(path), "--format", "json")
    assert code == 0, err
    assert codes(json.loads(out)["cipher_suites"]["tls1_3"]["only_in_b"]) == ["0x1303"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA999"),
         ":8:52: policies[0].tls12[1]: unknown cipher suite 'ECDHE-RSA-AES128-GCM-SHA999'"),
        (('"1.2"', '"1.9"'), ":6:26: policies[0].protocols[1]: unknown protocol version '1.9'"),
        (("order: server", "order: fastest"),
         ":9:5: policies[0].order: Input should be 'server', 'listed' or 'client' (got 'fastest')"),
        (("order: server", "colour: blue"), ":9:5: unknown key 'policies[0].colour'; allowed "
         "here: aliases, confidence, default_for"),
        (("sources: [wiki]", "sources: [blog]"), ":10:15: source 'blog' is not defined"),
        (("tls13: [TLS_AES_256_GCM_SHA384,", "tls13: [AES128-SHA,"),
         ":5:5: policies[0]: AES128-SHA is not a TLS 1.3 suite; list it under tls12"),
        (("name: edge-2026", "name: edge-2026\n    id: mozilla:6.0:modern"),
         "policy id or alias 'mozilla:6.0:modern' is already used by mozilla:6.0:modern"),
        (("policies:", "policy:"), ":1:1: policies: required key is missing (and 1 more"),
    ],
)
def test_a_broken_policy_file_is_one_line_with_file_and_line(
        tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(USER_POLICY.replace(*change))
    with pytest.raises(PolicyFileError) as caught:
        load_catalog([path])
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert expected in message
    code, out, err = cli("policies", "list", "--policy-file", str(path))
    assert code == 2 and out == ""
    assert err.strip() == f"mtlsweep: error: {message}"


def test_missing_policy_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = cli("policies", "list", "--policy-file", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml: no such file" in err
