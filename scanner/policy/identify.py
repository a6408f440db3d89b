"""Which catalog policy does an endpoint run? A pure function of what a scan observed.

Protocols and accepted cipher suites are compared per version by code point. Only the suites
the endpoint's certificates allow are expected (an RSA-only listener never shows the
ECDHE-ECDSA suites of its policy). Ranking is lexicographic: protocols and suites first, since
they are what an operator chooses. Classical key-exchange groups never rank: they mostly
reflect the server software (nginx offers X25519 and X448 whatever cipher list it is given),
so they only decide whether a match is ``exact`` (groups agree too) or on ``suites``, and are
explained. Post-quantum groups do rank, right after the suites: offering ML-KEM or not is the
policy choice that separates look-alikes (the AWS ``*-PQ-2025-09`` policies and their 2021-06
twins). Every candidate explains each facet (protocols, suites, groups). Server software
defaults (nginx, Apache, ...) are a family of their own, identified next to the cloud
policies rather than competing with them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scanner.policy.catalog import Policy
from scanner.policy.suites import (
    KEY_TYPE_FOR_AU,
    POST_QUANTUM_GROUPS,
    VERSIONS,
    CipherSuite,
    normalize_group,
    normalize_version,
    suite_table,
)

KeyTypesSource = Literal["certificate", "accepted suites", "unknown"]
MatchKind = Literal["exact", "suites"]
GroupsCompared = Literal["compared", "not probed", "not documented"]
_CONFIDENCE_RANK = {"high": 0, "medium": 1, None: 2, "low": 3}
# (policy order, observed server order) of the suites both list
SuiteOrders = tuple[tuple[CipherSuite, ...], tuple[CipherSuite, ...]]


@dataclass(frozen=True)
class Observation:
    """What a scan saw, in the terms identification needs.

    ``versions`` maps each version that was tried to whether the server accepted it;
    versions not in it were not tried. ``suites`` holds the accepted suites per accepted
    version. ``server_order`` holds, for versions where the server imposes its own order, that
    order. ``tested_suites`` lists the suites offered per version when the enumeration could
    not offer every suite (None: all were offered). ``groups_accepted`` / ``groups_refused``
    are key-exchange groups the server accepted / refused when offered (None: not probed).
    ``key_types`` are the certificate key types (``rsa``, ``ecdsa``, ``dsa``) if known.
    """

    versions: Mapping[str, bool]
    suites: Mapping[str, Sequence[int]]
    server_order: Mapping[str, Sequence[int]] = field(default_factory=dict)
    tested_suites: Mapping[str, frozenset[int]] | None = None
    groups_accepted: frozenset[str] | None = None
    groups_refused: frozenset[str] = frozenset()
    key_types: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()  # caveats of the enumeration, repeated in the identification


@dataclass(frozen=True)
class Differences:
    """How an endpoint differs from one policy; empty means it matches."""

    versions_missing: tuple[str, ...] = ()
    versions_extra: tuple[str, ...] = ()
    suites_missing: Mapping[str, tuple[CipherSuite, ...]] = field(default_factory=dict)
    suites_extra: Mapping[str, tuple[CipherSuite, ...]] = field(default_factory=dict)
    groups_unexpected: tuple[str, ...] = ()
    groups_missing: tuple[str, ...] = ()
    # A version accepted or refused wrongly weighs as much as its suites (at least 1), so a
    # policy one suite away ranks before one a whole version away.
    version_weight: int = 0
    groups_compared: GroupsCompared = "compared"

    @property
    def protocol_and_suite_count(self) -> int:
        return (self.version_weight + sum(map(len, self.suites_missing.values()))
                + sum(map(len, self.suites_extra.values())))

    @property
    def group_count(self) -> int:
        return len(self.groups_unexpected) + len(self.groups_missing)

    @property
    def count(self) -> int:
        """Every difference counted once; 0 is an exact match (ranking uses :attr:`rank`)."""
        return self.protocol_and_suite_count + self.group_count

    @property
    def post_quantum_count(self) -> int:
        return sum(g in POST_QUANTUM_GROUPS for g in (*self.groups_unexpected,
                                                      *self.groups_missing))

    @property
    def rank(self) -> tuple[int, int]:
        """Protocols and suites first, then post-quantum groups; classical groups never."""
        return self.protocol_and_suite_count, self.post_quantum_count

    @property
    def match(self) -> MatchKind | None:
        if self.protocol_and_suite_count:
            return None
        return "suites" if self.group_count else "exact"

    def explain(self) -> dict[str, str]:
        """How the endpoint differs from the policy, one sentence per facet."""
        protocols = [*(f"refuses {v}" for v in self.versions_missing),
                     *(f"also accepts {v}" for v in self.versions_extra)]
        suites = [*(f"{v} lacks {', '.join(s.label for s in items)}"
                    for v, items in self.suites_missing.items()),
                  *(f"{v} also accepts {', '.join(s.label for s in items)}"
                    for v, items in self.suites_extra.items()
                    if v not in self.versions_extra)]
        return {"protocols": "; ".join(protocols) or "same",
                "cipher_suites": "; ".join(suites) or "same",
                "groups": self._explain_groups()}

    def _explain_groups(self) -> str:
        if self.groups_compared != "compared":
            return self.groups_compared
        parts = []
        if self.groups_unexpected:
            parts.append(f"accepts {', '.join(self.groups_unexpected)}")
        if self.groups_missing:
            parts.append(f"refuses {', '.join(self.groups_missing)}")
        return "; ".join(parts) or "same"

    def describe(self) -> str:
        """One line, e.g. ``TLSv1.2 also accepts TLS_ECDHE_RSA_WITH_...``."""
        parts = []
        if self.versions_missing:
            parts.append(f"refuses {', '.join(self.versions_missing)}")
        if self.versions_extra:
            parts.append(f"also accepts {', '.join(self.versions_extra)}")
        for version, suites in self.suites_missing.items():
            parts.append(f"{version} lacks {', '.join(s.label for s in suites)}")
        for version, suites in self.suites_extra.items():
            parts.append(f"{version} also accepts {', '.join(s.label for s in suites)}")
        if self.groups_unexpected:
            parts.append(f"accepts groups {', '.join(self.groups_unexpected)}")
        if self.groups_missing:
            parts.append(f"refuses groups {', '.join(self.groups_missing)}")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class Candidate:
    policy: Policy
    differences: Differences
    # version -> orders, for policies documenting a server order
    order_differences: Mapping[str, SuiteOrders] = field(default_factory=dict)

    @property
    def match(self) -> MatchKind | None:
        return self.differences.match


@dataclass(frozen=True)
class Identification:
    key_types: tuple[str, ...]
    key_types_source: KeyTypesSource
    matches: tuple[Candidate, ...]
    excluded_by_groups: tuple[Candidate, ...]
    nearest: tuple[Candidate, ...]
    notes: tuple[str, ...]
    # Server software defaults matching on protocols and suites, ranked as matches are.
    software_defaults: tuple[Candidate, ...] = ()

    @property
    def ambiguous(self) -> bool:
        """Several matches: nothing that identifies a policy separates them."""
        return len(self.matches) > 1


def identify(observation: Observation, catalog: Iterable[Policy], *,
             nearest: int = 3) -> Identification:
    """Matches (or, failing those, the ``nearest`` policies) for ``observation``.

    Every policy matching on protocols and suites is a match (``exact`` when the groups agree
    too, else ``suites``), unless its post-quantum groups contradict the observation while
    another's do not: those are ``excluded_by_groups``. Software defaults are ranked apart and
    reported in ``software_defaults``.
    """
    key_types, source = _key_types(observation)
    filter_types = key_types or None
    policies, defaults = _split_families(catalog)
    ordered = _described(observation, policies, filter_types, nearest)
    on_suites = [c for c in ordered if c.match is not None]
    best = on_suites[0].differences.rank if on_suites else None
    matches = tuple(c for c in on_suites if c.differences.rank == best)
    excluded = tuple(c for c in on_suites if c.differences.rank != best)
    software = tuple(c for c in _described(observation, defaults, filter_types, 0)
                     if c.match is not None)
    return Identification(key_types=tuple(sorted(key_types)), key_types_source=source,
                          matches=matches, excluded_by_groups=excluded,
                          nearest=() if matches else tuple(ordered[:nearest]),
                          notes=_notes(observation, matches, key_types),
                          software_defaults=software)


def _split_families(catalog: Iterable[Policy]) -> tuple[list[Policy], list[Policy]]:
    policies: list[Policy] = []
    defaults: list[Policy] = []
    for policy in catalog:
        (defaults if policy.kind == "software-default" else policies).append(policy)
    return policies, defaults


def _described(observation: Observation, policies: Iterable[Policy],
               key_types: frozenset[str] | None, nearest: int) -> list[Candidate]:
    reported = _worth_describing(observation, policies, key_types, nearest)
    candidates = {p.id: compare_policy(p, observation, key_types)
                  for p in dict.fromkeys(reported)}
    return sorted(candidates.values(), key=_rank)


def _worth_describing(observation: Observation, catalog: Iterable[Policy],
                      key_types: frozenset[str] | None, nearest: int) -> list[Policy]:
    """The policies identify reports: those whose protocols and suites match, and the
    ``nearest`` too when none does.

    Every policy is ranked by a cheap set-based distance; only these get compare_policy's
    full description."""
    observed = {v: frozenset(codes) for v, codes in observation.suites.items()}
    ranked = sorted(((_distance(p, observation, observed, key_types), p) for p in catalog),
                    key=_by_distance)
    reported = [p for (suites, _), p in ranked if suites == 0]
    if not reported:
        reported += [p for _, p in ranked[:nearest]]
    return reported


def _by_distance(ranked: tuple[tuple[int, int], Policy]) -> tuple[int, int, int, str]:
    (suites, _), policy = ranked
    return (suites, *_policy_rank(policy))


def _notes(observation: Observation, matches: Sequence[Candidate],
           key_types: frozenset[str]) -> tuple[str, ...]:
    notes = [*observation.notes, *_untested_notes(observation)]
    if matches and all(c.match == "suites" for c in matches):
        notes.append("no policy matches on key-exchange groups too: the groups usually come "
                     "from the server software's own defaults, not from the policy chosen")
    if len(matches) > 1:
        notes.append(_ambiguity_note(matches, key_types, observation))
    if not key_types and _accepts_suites_below_tls13(observation):
        notes.append("the certificate key type is unknown, so suites of every certificate type "
                     "were expected")
    return tuple(notes)


def _accepts_suites_below_tls13(observation: Observation) -> bool:
    """Whether any suite was seen whose choice depends on the certificate's key type."""
    return any(observation.suites.get(v) for v in VERSIONS if v != "TLSv1.3")


def _rank(candidate: Candidate) -> tuple[int, int, int, int, str]:
    """Protocols and suites, post-quantum groups, then documentation (see _policy_rank)."""
    return (*candidate.differences.rank, *_policy_rank(candidate.policy))


def _policy_rank(policy: Policy) -> tuple[int, int, str]:
    """Among equally distant policies: better documented, current, then by id."""
    return (_CONFIDENCE_RANK.get(policy.confidence, 2), 0 if policy.status == "current" else 1,
            policy.id)


def _distance(policy: Policy, observation: Observation, observed: Mapping[str, frozenset[int]],
              key_types: frozenset[str] | None) -> tuple[int, int]:
    """(protocol and suite count, group count) of compare_policy's differences, by set
    arithmetic alone: the ranking pass over the whole catalog."""
    count = 0
    by_version = policy.codes_by_version(key_types)
    for version, accepted in observation.versions.items():
        expected = by_version.get(version)
        if not accepted:
            count += len(expected) if expected else 0
            continue
        seen = observed.get(version, _NONE)
        if expected is None:
            count += max(1, len(seen))
            continue
        if expected == seen:
            continue
        missing = expected - seen - policy.may_be_absent
        if missing and observation.tested_suites is not None:
            missing &= observation.tested_suites.get(version, _NONE)
        count += len(missing) + len(seen - expected)
    if observation.groups_accepted is None:
        return count, 0
    unexpected, refused = _group_differences(policy, observation)
    return count, len(unexpected) + len(refused)


_NONE: frozenset[int] = frozenset()


def _key_types(observation: Observation) -> tuple[frozenset[str], KeyTypesSource]:
    if observation.key_types:
        return frozenset(observation.key_types), "certificate"
    table = suite_table()
    inferred = {KEY_TYPE_FOR_AU[suite.au]
                for version, codes in observation.suites.items() if version != "TLSv1.3"
                for suite in map(table.by_code_point, codes)
                if suite.au is not None and suite.au in KEY_TYPE_FOR_AU}
    if inferred:
        return frozenset(inferred), "accepted suites"
    return frozenset(), "unknown"


def compare_policy(policy: Policy, observation: Observation,
                   key_types: frozenset[str] | None) -> Candidate:
    """How ``observation`` differs from ``policy`` (suites filtered by ``key_types``)."""
    return _Comparison(policy, observation, key_types).candidate()


@dataclass
class _Comparison:
    """compare_policy's working state: the differences found so far, version by version."""

    policy: Policy
    observation: Observation
    key_types: frozenset[str] | None
    versions_missing: list[str] = field(default_factory=list)
    versions_extra: list[str] = field(default_factory=list)
    suites_missing: dict[str, tuple[CipherSuite, ...]] = field(default_factory=dict)
    suites_extra: dict[str, tuple[CipherSuite, ...]] = field(default_factory=dict)
    order: dict[str, SuiteOrders] = field(default_factory=dict)
    version_weight: int = 0

    def candidate(self) -> Candidate:
        for version in VERSIONS:
            if version in self.observation.versions:
                self._compare_version(version)
        unexpected, refused = _group_differences(self.policy, self.observation)
        return Candidate(self.policy, Differences(
            versions_missing=tuple(self.versions_missing),
            versions_extra=tuple(self.versions_extra), suites_missing=self.suites_missing,
            suites_extra=self.suites_extra, groups_unexpected=unexpected,
            groups_missing=refused, version_weight=self.version_weight,
            groups_compared=_groups_compared(self.policy, self.observation),
        ), self.order)

    def _compare_version(self, version: str) -> None:
        if not self.observation.versions[version]:
            self._refused(version)
            return
        observed = tuple(dict.fromkeys(self.observation.suites.get(version, ())))
        if version in self.policy.protocols:
            self._compare_suites(version, observed)
        else:
            self.versions_extra.append(version)
            self.version_weight += max(1, len(observed))

    def _refused(self, version: str) -> None:
        """A refused version is a difference only when the policy has suites for it."""
        expected = self.policy.suites_at(version, self.key_types)
        if expected:
            self.versions_missing.append(version)
            self.version_weight += len(expected)

    def _compare_suites(self, version: str, observed: tuple[int, ...]) -> None:
        expected_codes = self.policy.codes_at(version, self.key_types)
        if not self._orders_compared(version) and _same_codes(expected_codes, observed):
            return  # the common case while ranking: identical sets, nothing to report
        expected = self.policy.suites_at(version, self.key_types)
        absent = self._absent(version, expected, observed)
        if absent:
            self.suites_missing[version] = absent
        surplus = tuple(map(suite_table().by_code_point,
                            (code for code in observed if code not in expected_codes)))
        if surplus:
            self.suites_extra[version] = surplus
        orders = self._order_difference(version, expected, observed, expected_codes)
        if orders is not None:
            self.order[version] = orders

    def _orders_compared(self, version: str) -> bool:
        return version in self.observation.server_order and self.policy.order == "server"

    def _absent(self, version: str, expected: Sequence[CipherSuite],
                observed: tuple[int, ...]) -> tuple[CipherSuite, ...]:
        """Expected suites not seen, apart from documented exceptions and suites never
        offered."""
        tested = _tested_at(self.observation, version)
        return tuple(s for s in expected if s.code not in observed
                     and s.code not in self.policy.may_be_absent
                     and (tested is None or s.code in tested))

    def _order_difference(self, version: str, expected: Sequence[CipherSuite],
                          observed: tuple[int, ...], expected_codes: frozenset[int]
                          ) -> SuiteOrders | None:
        """(policy order, server order) of the suites both list, when the provider documents
        a server order and the server's differs."""
        server_order = self.observation.server_order.get(version)
        if not server_order or self.policy.order != "server":
            return None
        common = tuple(s for s in expected if s.code in observed)
        seen = tuple(map(suite_table().by_code_point,
                         (code for code in server_order if code in expected_codes)))
        if [s.code for s in common] == [s.code for s in seen]:
            return None
        return common, seen


def _same_codes(expected: frozenset[int], observed: tuple[int, ...]) -> bool:
    """Whether the (duplicate-free) ``observed`` codes are exactly ``expected``."""
    return expected.issuperset(observed) and len(expected) == len(observed)


def _tested_at(observation: Observation, version: str) -> frozenset[int] | None:
    """The suites offered at ``version``, or None when every suite was offered."""
    if observation.tested_suites is None:
        return None
    return observation.tested_suites.get(version, frozenset())


def _group_differences(policy: Policy, observation: Observation
                       ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Groups the endpoint accepted that the policy lacks, and policy groups it refused."""
    accepted = observation.groups_accepted
    if accepted is None:
        return (), ()
    unexpected: list[str] = []
    for group in sorted(accepted):
        if policy.groups is not None:
            if group not in policy.groups:
                unexpected.append(group)
        elif policy.pq_key_exchange is False and group in POST_QUANTUM_GROUPS:
            unexpected.append(group)
    refused: list[str] = []
    if policy.groups is not None:
        refused = [g for g in policy.groups if g in observation.groups_refused]
    elif policy.pq_key_exchange and not accepted & POST_QUANTUM_GROUPS:
        # The policy offers post-quantum key exchange but does not say with which groups:
        # every post-quantum group that was offered and refused is evidence against it.
        refused = sorted(observation.groups_refused & POST_QUANTUM_GROUPS)
    return tuple(unexpected), tuple(refused)


def _groups_compared(policy: Policy, observation: Observation) -> GroupsCompared:
    if observation.groups_accepted is None:
        return "not probed"
    if policy.groups is None and policy.pq_key_exchange is None:
        return "not documented"
    return "compared"


def _untested_notes(observation: Observation) -> Iterable[str]:
    untried = [v for v in VERSIONS if v not in observation.versions and v != "SSLv2"]
    if untried:
        yield (f"not tested: {', '.join(untried)}; policies were compared on the tested "
               "versions only")
    if observation.groups_accepted is None:
        yield "key-exchange groups were not probed"


def _ambiguity_note(matches: Sequence[Candidate], key_types: frozenset[str],
                    observation: Observation) -> str:
    certificate = f" for a {'/'.join(sorted(key_types)).upper()} certificate" if key_types else ""
    if observation.groups_accepted is None:
        why = "nothing else observed separates them"
    else:
        accepted = ", ".join(sorted(observation.groups_accepted)) or "none"
        why = (f"the observed groups (accepted: {accepted}) do not separate them: classical "
               "groups are the server software's choice")
    return (f"{len(matches)} policies have these protocols and cipher suites{certificate}; "
            f"{why}")


# --- adapter from a record ------------------------------------------------------------------


def observation_from_record(record: Mapping[str, Any]) -> Observation | None:
    """The Observation inside a record (JSON data), or None when it has no enumeration.

    Reads the enumeration facets: ``protocols`` ({"TLSv1.2": {"accepted": true|false|null}},
    null meaning not tested), ``cipher_suites`` ({"TLSv1.2": {"suites": [{"code": "0xC02B"}],
    "order": "server"|"client"|"indeterminate", "complete": bool}}), ``groups``
    ({"TLSv1.3": {"groups": [{"name": "x25519"}], "complete": bool}}), and the leaf key types
    from ``certificate.chains[].certificates[0].key_type``.
    """
    protocols = record.get("protocols")
    suites_facet = record.get("cipher_suites")
    if not isinstance(protocols, Mapping) or not isinstance(suites_facet, Mapping):
        return None
    versions: dict[str, bool] = {}
    for name, facts in protocols.items():
        version = _version_or_none(name)
        if version is not None and isinstance(facts, Mapping) and isinstance(
                facts.get("accepted"), bool):
            versions[version] = facts["accepted"]
    suites: dict[str, tuple[int, ...]] = {}
    server_order: dict[str, tuple[int, ...]] = {}
    tested: dict[str, frozenset[int]] = {}
    notes: list[str] = []
    for name, facts in suites_facet.items():
        version = _version_or_none(name)
        if version is None or not isinstance(facts, Mapping):
            continue
        codes = tuple(_code(entry) for entry in facts.get("suites") or ())
        suites[version] = codes
        if facts.get("order") == "server":
            server_order[version] = codes
        if facts.get("complete") is False:
            # Suites the enumeration did not get to are unknown, not missing.
            tested[version] = frozenset(codes)
            notes.append(f"the {version} suite enumeration is incomplete: suites it did not "
                         "find are not counted as missing")
    if tested:
        for version in suites:
            tested.setdefault(version, _all_codes())
    accepted, refused = _groups_from(record.get("groups"))
    return Observation(
        versions=versions, suites=suites, server_order=server_order,
        tested_suites=tested or None, groups_accepted=accepted, groups_refused=refused,
        key_types=_key_types_from(record.get("certificate")), notes=tuple(notes),
    )


@functools.cache
def _all_codes() -> frozenset[int]:
    """Every suite code: built when first needed (an incomplete enumeration), not at import."""
    return frozenset(range(0x10000))

# Groups the enumeration probe always offers (see scanner.engine.raw: TLS13_GROUPS and
# TLS12_CURVES): when a version's group enumeration is complete, those it did not find were
# refused.
_ALWAYS_OFFERED = frozenset({"x25519", "secp256r1", "secp384r1", "secp521r1", "x448"})
_ALWAYS_OFFERED_TLS13 = _ALWAYS_OFFERED | POST_QUANTUM_GROUPS


def _version_or_none(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    if name.strip().lower() in ("sslv2", "ssl2"):
        return "SSLv2"
    try:
        return normalize_version(name)
    except ValueError:
        return None


def _code(entry: object) -> int:
    if isinstance(entry, Mapping):
        entry = entry.get("code")
    if isinstance(entry, int) and not isinstance(entry, bool):
        return entry
    if isinstance(entry, str):
        return int(entry, 16) if entry.lower().startswith("0x") else suite_table().resolve(
            entry).code
    raise ValueError(f"cannot read a cipher suite code point from {entry!r}")


def _group_names(value: object) -> set[str]:
    names: set[str] = set()
    for item in value if isinstance(value, list) else ():
        name = item.get("name") if isinstance(item, Mapping) else item
        if isinstance(name, str):
            try:
                names.add(normalize_group(name))
            except ValueError:
                names.add(name)
    return names


def _groups_from(facet: object) -> tuple[frozenset[str] | None, frozenset[str]]:
    """Accepted and refused groups from a ``groups`` facet (per version)."""
    if not isinstance(facet, Mapping):
        return None, frozenset()
    accepted: set[str] = set()
    refused: set[str] = set()
    for name, section in facet.items():
        if not isinstance(section, Mapping):
            continue
        found = _group_names(section.get("groups"))
        accepted |= found
        if section.get("complete") is True:
            offered = _ALWAYS_OFFERED_TLS13 if _version_or_none(name) == "TLSv1.3" else (
                _ALWAYS_OFFERED)
            refused |= offered - found
    return frozenset(accepted), frozenset(refused - accepted)


def _key_types_from(certificate: object) -> frozenset[str]:
    """Key types of the leaf certificate of each chain the ``certificate`` facet lists."""
    if not isinstance(certificate, Mapping):
        return frozenset()
    found = set()
    for chain in certificate.get("chains") or ():
        leaf = _first(chain.get("certificates")) if isinstance(chain, Mapping) else None
        key_type = leaf.get("key_type") if isinstance(leaf, Mapping) else None
        if isinstance(key_type, str):
            normalized = _KEY_TYPES.get(key_type.strip().lower())
            if normalized:
                found.add(normalized)
    return frozenset(found)


# Certificate key types as the suites' authentication needs them: EdDSA certificates use the
# ECDHE_ECDSA suites in TLS 1.2 (RFC 8422 section 5.5).
_KEY_TYPES = {"ec": "ecdsa", "ecdsa": "ecdsa", "ed25519": "ecdsa", "ed448": "ecdsa",
              "rsa": "rsa", "rsa-pss": "rsa", "dsa": "dsa"}


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) and value else None
