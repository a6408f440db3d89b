"""Policy ranking as a table: a small made-up catalog and one observation in, the order of the
reported policies out.

``identify`` reports exact matches, policies ruled out only by key-exchange groups, and (when
nothing matches) the nearest policies; ties are broken by documentation confidence, then
current before retired, then id. tests/test_policy_identify.py checks the shipped catalog.
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
    "groups rule out a suite match, which then leads the nearest": Row(
        (policy("a-pq-only", groups=("X25519MLKEM768",)), policy("b-legacy", legacy=True)),
        (), nearest=("a-pq-only", "b-legacy"), excluded_by_groups=("a-pq-only",),
        observation=WITH_GROUPS),
    "groups separate two suite matches": Row(
        (policy("a-pq-only", groups=("X25519MLKEM768",)), policy("b-classic", groups=("x25519",))),
        ("b-classic",), excluded_by_groups=("a-pq-only",), observation=WITH_GROUPS),
}


@pytest.mark.parametrize("row", RANKING.values(), ids=RANKING.keys())
def test_ranking(row: Row) -> None:
    result = identify(row.observation, row.catalog)
    assert tuple(c.policy.id for c in result.matches) == row.matches
    assert tuple(c.policy.id for c in result.nearest) == row.nearest
    assert tuple(c.policy.id for c in result.excluded_by_groups) == row.excluded_by_groups
