"""Policy ranking as a table: a small made-up catalog and one observation in, the order of the
reported policies out.

``identify`` ranks on protocols and suites first, then on post-quantum groups (the policy
choice that separates the AWS PQ twins); classical groups never rank, they only say whether a
match is ``exact`` or on ``suites``. With no match, the nearest policies are reported; ties are
broken by documentation confidence, then current before retired, then id.
tests/test_policy_identify.py checks the shipped catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from scanner.policy.catalog import Policy
from scanner.policy.identify import Observation, identify
from scanner.policy.suites import CipherSuite, suite_table

_TABLE = suite_table()
TLS13 = tuple(_TABLE.resolve(n) for n in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"))
TLS12 = tuple(_TABLE.resolve(n) for n in ("ECDHE-RSA-AES128-GCM-SHA256",
                                          "ECDHE-RSA-AES256-GCM-SHA384"))
LEGACY = tuple(_TABLE.resolve(n) for n in ("ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA"))

#: An RSA endpoint with TLS 1.3 and 1.2, two suites each, TLS 1.1 and 1.0 refused.
OBSERVED = Observation(
    versions={"TLSv1.3": True, "TLSv1.2": True, "TLSv1.1": False, "TLSv1.0": False},
    suites={"TLSv1.3": tuple(s.code for s in TLS13), "TLSv1.2": tuple(s.code for s in TLS12)},
    key_types=frozenset({"rsa"}),
)
WITH_GROUPS = replace(OBSERVED, groups_accepted=frozenset({"x25519"}),
                      groups_refused=frozenset({"X25519MLKEM768"}))


def policy(policy_id: str, *, confidence: str | None = "high", status: str = "current",
           tls12: tuple[CipherSuite, ...] = TLS12, legacy: bool = False,
           groups: tuple[str, ...] | None = None) -> Policy:
    """The observed endpoint's policy, or one that differs as the arguments say."""
    protocols = ("TLSv1.3", "TLSv1.2", *(("TLSv1.1", "TLSv1.0") if legacy else ()))
    return Policy(id=policy_id, name=policy_id, provider="test", protocols=protocols,
                  tls13=TLS13, tls12=tls12 + (LEGACY if legacy else ()),
                  order="listed", origin="tests", status=status, confidence=confidence,
                  groups=groups)


ONE_SUITE_SHORT = TLS12[:1]  # the endpoint also accepts the second suite: one difference


@dataclass(frozen=True)
class Row:
    catalog: tuple[Policy, ...]
    matches: tuple[str, ...]
    nearest: tuple[str, ...] = ()
    excluded_by_groups: tuple[str, ...] = ()
    observation: Observation = OBSERVED
    kinds: tuple[str, ...] | None = None  # the matches' kinds, when the row says


RANKING = {
    "an exact match is reported alone, the near policy is not": Row(
        (policy("b-near", tls12=ONE_SUITE_SHORT), policy("a-exact")), ("a-exact",)),
    "equal matches: high confidence before medium": Row(
        (policy("a-medium", confidence="medium"), policy("z-high")), ("z-high", "a-medium")),
    "equal matches: medium confidence before undocumented": Row(
        (policy("a-unrated", confidence=None), policy("z-medium", confidence="medium")),
        ("z-medium", "a-unrated")),
    "equal matches: undocumented confidence before low": Row(
        (policy("a-low", confidence="low"), policy("z-unrated", confidence=None)),
        ("z-unrated", "a-low")),
    "equal confidence: current before retired": Row(
        (policy("a-retired", status="deprecated"), policy("z-current")),
        ("z-current", "a-retired")),
    "equal in everything: by id": Row((policy("b"), policy("a")), ("a", "b")),
    "no match: one suite away before a whole version away": Row(
        (policy("a-legacy", legacy=True), policy("z-one-suite", tls12=ONE_SUITE_SHORT)),
        (), nearest=("z-one-suite", "a-legacy")),
    "no match: equally near policies follow the tie-breaks": Row(
        (policy("a-low", confidence="low", tls12=ONE_SUITE_SHORT),
         policy("z-high", tls12=ONE_SUITE_SHORT)), (), nearest=("z-high", "a-low")),
    "no match: only the three nearest are reported": Row(
        (policy("d", tls12=ONE_SUITE_SHORT), policy("c", legacy=True),
         policy("b", tls12=ONE_SUITE_SHORT), policy("a", tls12=())),
        (), nearest=("b", "d", "a")),
    "a match on suites alone is still a match, ahead of anything a suite away": Row(
        (policy("a-pq-only", groups=("X25519MLKEM768",)), policy("b-legacy", legacy=True)),
        ("a-pq-only",), observation=WITH_GROUPS, kinds=("suites",)),
    "groups never outweigh a suite: equal suites and two group differences beat one suite "
    "away with groups equal": Row(
        (policy("a-one-suite", tls12=ONE_SUITE_SHORT, groups=("x25519",)),
         policy("z-other-groups", groups=("secp384r1", "X25519MLKEM768"))),
        ("z-other-groups",), observation=WITH_GROUPS, kinds=("suites",)),
    "groups separate two suite matches": Row(
        (policy("a-pq-only", groups=("X25519MLKEM768",)), policy("b-classic", groups=("x25519",))),
        ("b-classic",), excluded_by_groups=("a-pq-only",), observation=WITH_GROUPS,
        kinds=("exact",)),
    "post-quantum groups separate suite matches, classical ones do not": Row(
        (policy("a-pq", groups=("secp384r1", "X25519MLKEM768")),
         policy("b-classical", groups=("secp384r1",)),
         policy("c-exact-but-a-suite-away", tls12=ONE_SUITE_SHORT, groups=("x25519",))),
        ("b-classical",), excluded_by_groups=("a-pq",), observation=WITH_GROUPS,
        kinds=("suites",)),
    "classical groups do not rank: equal suites tie, and documentation breaks the tie": Row(
        (policy("a-exact", confidence="medium", groups=("x25519",)),
         policy("z-suites", groups=("secp384r1",))),
        ("z-suites", "a-exact"), observation=WITH_GROUPS, kinds=("suites", "exact")),
    "groups not probed: every suite match is exact": Row(
        (policy("a-pq-only", groups=("X25519MLKEM768",)), policy("b-classic", groups=("x25519",))),
        ("a-pq-only", "b-classic"), kinds=("exact", "exact")),
}


@pytest.mark.parametrize("row", RANKING.values(), ids=RANKING.keys())
def test_ranking(row: Row) -> None:
    result = identify(row.observation, row.catalog)
    assert tuple(c.policy.id for c in result.matches) == row.matches
    assert tuple(c.policy.id for c in result.nearest) == row.nearest
    assert tuple(c.policy.id for c in result.excluded_by_groups) == row.excluded_by_groups
    if row.kinds is not None:
        assert tuple(c.match for c in result.matches) == row.kinds
    assert all(c.match is None for c in result.nearest)


EXPLAINED = Observation(
    versions={"TLSv1.3": True, "TLSv1.2": True, "TLSv1.1": True, "TLSv1.0": False},
    suites={"TLSv1.3": tuple(s.code for s in TLS13), "TLSv1.2": (TLS12[0].code,),
            "TLSv1.1": (LEGACY[0].code,)},
    key_types=frozenset({"rsa"}), groups_accepted=frozenset({"x25519", "x448"}),
    groups_refused=frozenset({"secp256r1"}))


@pytest.mark.parametrize(("groups", "observation", "expected_groups"), [
    (("x25519", "secp256r1"), EXPLAINED, "accepts x448; refuses secp256r1"),
    (None, EXPLAINED, "not documented"),
    (("x25519",), replace(EXPLAINED, groups_accepted=None), "not probed"),
])
def test_each_candidate_explains_each_facet(groups: tuple[str, ...] | None,
                                            observation: Observation,
                                            expected_groups: str) -> None:
    (candidate,) = identify(observation, (policy("p", groups=groups),)).nearest
    assert candidate.differences.explain() == {
        "protocols": "also accepts TLSv1.1",
        "cipher_suites": "TLSv1.2 lacks TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "groups": expected_groups,
    }


def test_an_identical_policy_is_the_same_in_every_facet() -> None:
    (match,) = identify(WITH_GROUPS, (policy("p", groups=("x25519",)),)).matches
    assert match.match == "exact"
    assert match.differences.explain() == {"protocols": "same", "cipher_suites": "same",
                                           "groups": "same"}
