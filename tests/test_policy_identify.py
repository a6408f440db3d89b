"""Policy identification as a pure function: observations in, matches and differences out."""

from __future__ import annotations

import pytest

from scanner.policy.apply import identification_out
from scanner.policy.catalog import Policy, builtin_catalog
from scanner.policy.identify import Observation, identify, observation_from_record

CATALOG = builtin_catalog()
TLS13_2021 = CATALOG.one("ELBSecurityPolicy-TLS13-1-2-2021-06")
PQ_TWIN = CATALOG.one("ELBSecurityPolicy-TLS13-1-2-PQ-2025-09")
EXT_2018 = CATALOG.one("ELBSecurityPolicy-TLS-1-2-Ext-2018-06")
ALL_VERSIONS = ("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3")


def observed_as(policy: Policy, key_type: str, **changes: object) -> Observation:
    """What a perfect enumeration of an endpoint running ``policy`` would see."""
    fields: dict[str, object] = {
        "versions": {v: bool(policy.suites_at(v, {key_type})) for v in ALL_VERSIONS},
        "suites": {v: tuple(s.code for s in policy.suites_at(v, {key_type}))
                   for v in policy.protocols},
        "key_types": frozenset({key_type}),
    }
    fields.update(changes)
    return Observation(**fields)  # type: ignore[arg-type]


def ids(candidates: object) -> set[str]:
    return {c.policy.id for c in candidates}  # type: ignore[attr-defined]


def test_an_rsa_endpoint_never_shows_the_ecdsa_suites_of_its_policy() -> None:
    result = identify(observed_as(TLS13_2021, "rsa"), CATALOG)
    assert ids(result.matches) == {TLS13_2021.id, PQ_TWIN.id}
    assert result.ambiguous and result.key_types == ("rsa",)
    # Without filtering by certificate type, the 4 ECDSA suites would count as missing:
    unfiltered = identify(observed_as(TLS13_2021, "rsa", key_types=frozenset()), CATALOG)
    assert unfiltered.key_types_source == "accepted suites" and unfiltered.key_types == ("rsa",)
    assert ids(unfiltered.matches) == {TLS13_2021.id, PQ_TWIN.id}


def test_groups_separate_the_pq_twin_from_its_2021_policy() -> None:
    pq = identify(observed_as(TLS13_2021, "rsa", groups_accepted=frozenset(
        {"X25519MLKEM768", "x25519"})), CATALOG)
    assert ids(pq.matches) == {PQ_TWIN.id} and not pq.ambiguous
    (excluded,) = pq.excluded_by_groups
    assert excluded.policy.id == TLS13_2021.id
    assert excluded.differences.groups_unexpected == ("X25519MLKEM768",)

    classic = identify(observed_as(TLS13_2021, "rsa", groups_accepted=frozenset({"x25519"}),
                                   groups_refused=frozenset({"X25519MLKEM768"})), CATALOG)
    assert ids(classic.matches) == {TLS13_2021.id}
    assert ids(classic.excluded_by_groups) == {PQ_TWIN.id}
    assert classic.excluded_by_groups[0].differences.groups_missing == ("X25519MLKEM768",)


def test_groups_the_policy_does_not_document_only_demote_a_match_to_suites() -> None:
    """nginx offers X25519 whatever cipher list it runs: ELBSecurityPolicy-TLS-1-2-Ext-2018-06
    (documented groups: P-256, P-384) still ranks first, as a match on suites."""
    result = identify(observed_as(EXT_2018, "rsa", groups_accepted=frozenset({"x25519"})),
                      CATALOG)
    assert result.matches[0].policy.id == EXT_2018.id
    assert result.matches[0].match == "suites"
    assert result.matches[0].differences.describe() == "accepts groups x25519"
    assert result.matches[0].differences.explain()["groups"] == "accepts x25519"
    assert result.excluded_by_groups == () and result.nearest == ()
    assert any("server software's own defaults" in note for note in result.notes)


def test_nearest_policies_carry_precise_differences() -> None:
    versions = {"TLSv1.3": False, "TLSv1.2": True, "TLSv1.1": False, "TLSv1.0": True}
    suites = {"TLSv1.2": tuple(s.code for s in EXT_2018.suites_at("TLSv1.2", {"rsa"})
                               if s.openssl != "AES256-SHA"),
              "TLSv1.0": (0xC013,)}
    result = identify(Observation(versions=versions, suites=suites), CATALOG, nearest=2)
    best = result.nearest[0]
    assert best.policy.id == EXT_2018.id
    assert best.differences.versions_extra == ("TLSv1.0",)
    assert [s.openssl for s in best.differences.suites_missing["TLSv1.2"]] == ["AES256-SHA"]
    assert best.differences.count == 2
    assert best.differences.describe() == (
        "also accepts TLSv1.0, TLSv1.2 lacks TLS_RSA_WITH_AES_256_CBC_SHA")
    assert len(result.nearest) == 2 and result.nearest[1].differences.count >= 2
    assert any("not tested: SSLv3" in note for note in result.notes)


def test_untested_suites_are_not_missing_and_documented_exceptions_may_be_absent() -> None:
    azure = CATALOG.one("azure-appgw:AppGwSslPolicy20150501")
    without_dhe = observed_as(azure, "rsa")
    dhe = {s.code for s in azure.tls12 if s.kx == "DHE"}
    no_dhe = {v: tuple(c for c in codes if c not in dhe) for v, codes in without_dhe.suites.items()}
    result = identify(observed_as(azure, "rsa", suites=no_dhe), CATALOG)
    assert azure.id in ids(result.matches), "Azure v2 gateways do not negotiate these DHE suites"

    triple_des = 0x000A  # in ELBSecurityPolicy-TLS-1-0-2015-04; the test OpenSSL cannot offer it
    legacy = CATALOG.one("aws-elb:ELBSecurityPolicy-TLS-1-0-2015-04")
    seen = observed_as(legacy, "rsa")
    without = {v: tuple(c for c in codes if c != triple_des) for v, codes in seen.suites.items()}
    untested = identify(observed_as(legacy, "rsa", suites=without, tested_suites={
        v: frozenset(without[v]) for v in without}), CATALOG)
    assert legacy.id in ids(untested.matches)
    # Had 3DES been offered and refused, the endpoint would be ELBSecurityPolicy-2016-08:
    offered = identify(observed_as(legacy, "rsa", suites=without), CATALOG)
    assert legacy.id not in ids(offered.matches)
    assert "aws-elb:ELBSecurityPolicy-2016-08" in ids(offered.matches)


def test_server_order_is_compared_where_the_provider_documents_it() -> None:
    reversed_order = {"TLSv1.2": tuple(reversed(observed_as(EXT_2018, "rsa").suites["TLSv1.2"]))}
    result = identify(observed_as(EXT_2018, "rsa", server_order=reversed_order), CATALOG)
    match = next(m for m in result.matches if m.policy.id == EXT_2018.id)
    expected, seen = match.order_differences["TLSv1.2"]
    assert [s.code for s in seen] == list(reversed_order["TLSv1.2"])
    assert [s.code for s in expected] == list(reversed(reversed_order["TLSv1.2"]))
    mozilla = CATALOG.one("mozilla:intermediate")
    backwards = {v: tuple(reversed(c)) for v, c in observed_as(mozilla, "ecdsa").suites.items()}
    moz = identify(observed_as(mozilla, "ecdsa", server_order=backwards), CATALOG)
    assert all(m.order_differences == {} for m in moz.matches if m.policy.provider == "mozilla")


def _suites(*codes: str) -> list[dict[str, str]]:
    return [{"code": code, "iana": None, "openssl": None} for code in codes]


# The enumeration facets as the issue-5 probes write them (protocols, cipher_suites, groups)
# and the certificate facet of the certificate probe.
ISSUE5_RECORD = {
    "protocols": {"SSLv2": {"accepted": False, "refusal": "closed"},
                  "SSLv3": {"accepted": False, "refusal": "protocol_version"},
                  "TLSv1.0": {"accepted": False}, "TLSv1.1": {"accepted": None,
                                                              "error": "timeout"},
                  "TLSv1.2": {"accepted": True}, "TLSv1.3": {"accepted": True}},
    "cipher_suites": {
        "TLSv1.3": {"suites": _suites("0x1301", "0x1302", "0x1303"), "order": "client",
                    "complete": True, "offered": 5, "connections": 4},
        "TLSv1.2": {"suites": _suites("0xC02F", "0xC027", "0xC030", "0xC028"),
                    "order": "server", "complete": True, "offered": 150, "connections": 6},
    },
    "groups": {"TLSv1.3": {"groups": [
        {"code": "0x001D", "name": "x25519", "via": "server_hello"},
        {"code": "0x0017", "name": "secp256r1", "via": "hello_retry_request"},
        {"code": "0x0018", "name": "secp384r1", "via": "hello_retry_request"}],
        "complete": True, "offered": 29, "connections": 3}},
    "certificate": {"days_left": 40, "chains": [{"certificates": [
        {"key_type": "RSA", "days_left": 40}, {"key_type": "EC", "days_left": 900}]}]},
}


def test_adapter_reads_the_enumeration_record_shape() -> None:
    observation = observation_from_record(ISSUE5_RECORD)
    assert observation is not None
    assert observation.versions == {"SSLv2": False, "SSLv3": False, "TLSv1.0": False,
                                    "TLSv1.2": True, "TLSv1.3": True}, "null: not tested"
    assert observation.suites["TLSv1.2"] == (0xC02F, 0xC027, 0xC030, 0xC028)
    assert observation.server_order == {"TLSv1.2": (0xC02F, 0xC027, 0xC030, 0xC028)}
    assert observation.tested_suites is None
    assert observation.groups_accepted == {"x25519", "secp256r1", "secp384r1"}
    assert {"X25519MLKEM768", "secp521r1", "x448"} <= observation.groups_refused
    assert observation.key_types == {"rsa"}, "only the leaf's key type matters"
    result = identify(observation, CATALOG)
    assert ids(result.matches) == {TLS13_2021.id}
    assert ids(result.excluded_by_groups) == {PQ_TWIN.id}
    assert any("not tested: TLSv1.1" in note for note in result.notes)
    out = identification_out(result)
    assert out.matches[0].id == TLS13_2021.id and out.key_types_source == "certificate"
    assert "X25519MLKEM768" in out.excluded_by_groups[0].differences.groups_missing
    assert observation_from_record({"client_auth": {}}) is None


def test_an_endpoint_accepting_sslv2_matches_no_policy() -> None:
    record = {**ISSUE5_RECORD, "protocols": {**ISSUE5_RECORD["protocols"],
                                             "SSLv2": {"accepted": True}}}
    observation = observation_from_record(record)
    assert observation is not None
    result = identify(observation, CATALOG)
    assert result.matches == ()
    assert result.nearest[0].policy.id == TLS13_2021.id
    assert result.nearest[0].differences.versions_extra == ("SSLv2",)


def test_an_incomplete_suite_enumeration_counts_nothing_missing() -> None:
    record = {**ISSUE5_RECORD, "cipher_suites": {
        **ISSUE5_RECORD["cipher_suites"],
        "TLSv1.2": {"suites": _suites("0xC02F"), "order": "indeterminate", "complete": False,
                    "offered": 150, "connections": 2}}}
    observation = observation_from_record(record)
    assert observation is not None
    result = identify(observation, CATALOG)
    assert TLS13_2021.id in ids(result.matches)
    assert any("TLSv1.2 suite enumeration is incomplete" in note for note in result.notes)


def test_the_ranking_distance_equals_the_reported_differences() -> None:
    from scanner.policy.identify import _distance, compare_policy

    observations = [
        observed_as(TLS13_2021, "rsa", groups_accepted=frozenset({"x25519"})),
        observed_as(EXT_2018, "ecdsa", versions={"TLSv1.3": True, "TLSv1.2": True,
                                                 "TLSv1.0": True},
                    suites={"TLSv1.3": (0x1301,), "TLSv1.2": (0xC02B, 0xCCA9),
                            "TLSv1.0": (0xC009,)}),
        observed_as(CATALOG.one("azure-appgw:AppGwSslPolicy20150501"), "rsa",
                    tested_suites={"TLSv1.2": frozenset({0xC030})},
                    groups_accepted=frozenset({"X25519MLKEM768"}),
                    groups_refused=frozenset({"secp521r1"})),
    ]
    for observation in observations:
        observed = {v: frozenset(c) for v, c in observation.suites.items()}
        for policy in CATALOG:
            full = compare_policy(policy, observation, observation.key_types).differences
            suites, groups = _distance(policy, observation, observed, observation.key_types)
            assert (suites, groups) == (full.protocol_and_suite_count,
                                        full.count - full.protocol_and_suite_count), policy.id


KEY_TYPE_SOURCES = {
    # observation -> (key types, where they came from, whether the "unknown" note is given)
    "from the certificate": (
        Observation(versions={"TLSv1.2": True}, suites={"TLSv1.2": (0x0034,)},
                    key_types=frozenset({"dsa"})),
        ("dsa",), "certificate", False),
    "inferred from an RSA suite": (
        Observation(versions={"TLSv1.2": True}, suites={"TLSv1.2": (0x0034, 0x002F)}),
        ("rsa",), "accepted suites", False),
    "anonymous suites tell nothing": (
        Observation(versions={"TLSv1.2": True}, suites={"TLSv1.2": (0x0034, 0x008C)}),
        (), "unknown", True),
    "TLS 1.3 suites tell nothing, and need no certificate type": (
        Observation(versions={"TLSv1.3": True, "TLSv1.2": False}, suites={"TLSv1.3": (0x1301,)}),
        (), "unknown", False),
}


@pytest.mark.parametrize(("observation", "key_types", "source", "note"),
                         KEY_TYPE_SOURCES.values(), ids=KEY_TYPE_SOURCES.keys())
def test_key_types_come_from_the_certificate_else_the_suites(
        observation: Observation, key_types: tuple[str, ...], source: str, note: bool) -> None:
    result = identify(observation, CATALOG)
    assert (result.key_types, result.key_types_source) == (key_types, source)
    unknown = ("the certificate key type is unknown, so suites of every certificate type were "
               "expected")
    assert (unknown in result.notes) is note
    if note:
        assert result.notes[-1] == unknown, "the last note"


def test_annotation_views_are_computed_once_per_observation_but_never_shared() -> None:
    """A sweep identifies each distinct observation once (apply._views); every record still
    gets its own models, equal to a fresh identification."""
    from scanner.policy.apply import _views, clients_view

    catalog = builtin_catalog()
    observation = observed_as(EXT_2018, "rsa")
    first, first_clients = _views(observation, catalog)
    second, second_clients = _views(observed_as(EXT_2018, "rsa"), catalog)
    assert first == second == identification_out(identify(observation, catalog))
    assert first_clients == second_clients == clients_view(observation)
    assert first is not second and first.matches is not second.matches
    other, _ = _views(observed_as(EXT_2018, "ecdsa"), catalog)
    assert other == identification_out(identify(observed_as(EXT_2018, "ecdsa"), catalog))
