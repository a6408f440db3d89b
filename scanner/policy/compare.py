"""Two policies side by side: protocols and suites only in one, in both, and order changes.

Suites are compared by code point within the two lists providers publish (TLS 1.3, and TLS 1.2
and below). Order is compared only where both providers document their list as the server's
preference order; otherwise the diff says why it was not compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from scanner.policy.catalog import Policy
from scanner.policy.suites import CipherSuite

T = TypeVar("T")

SECTIONS = (("tls1_3", "TLS 1.3"), ("tls1_2_and_below", "TLS 1.2 and below"))


@dataclass(frozen=True)
class SetDiff(Generic[T]):
    only_a: tuple[T, ...]
    only_b: tuple[T, ...]
    both: tuple[T, ...]

    @property
    def same(self) -> bool:
        return not self.only_a and not self.only_b


@dataclass(frozen=True)
class OrderComparison:
    section: str
    compared: bool
    differs: bool
    reason: str | None
    a: tuple[CipherSuite, ...]  # the shared suites in A's order
    b: tuple[CipherSuite, ...]  # the shared suites in B's order


@dataclass(frozen=True)
class PolicyDiff:
    a: Policy
    b: Policy
    protocols: SetDiff[str]
    suites: dict[str, SetDiff[CipherSuite]]
    order: tuple[OrderComparison, ...]
    groups: SetDiff[str] | None  # None unless both policies document their groups

    @property
    def same_protocols_and_suites(self) -> bool:
        return self.protocols.same and all(d.same for d in self.suites.values())

    @property
    def differs(self) -> bool:
        """Anything the diff shows: protocols, suites, a compared order, or groups."""
        return (not self.same_protocols_and_suites or any(o.differs for o in self.order)
                or (self.groups is not None and not self.groups.same))


def _set_diff(a: Sequence[T], b: Sequence[T]) -> SetDiff[T]:
    keys_a = [_key(x) for x in a]
    keys_b = [_key(x) for x in b]
    return SetDiff(
        only_a=tuple(x for x, k in zip(a, keys_a, strict=True) if k not in keys_b),
        only_b=tuple(x for x, k in zip(b, keys_b, strict=True) if k not in keys_a),
        both=tuple(x for x, k in zip(a, keys_a, strict=True) if k in keys_b),
    )


def _key(item: object) -> object:
    return item.code if isinstance(item, CipherSuite) else item


def diff_policies(a: Policy, b: Policy) -> PolicyDiff:
    suites = {
        "tls1_3": _set_diff(a.tls13, b.tls13),
        "tls1_2_and_below": _set_diff(a.tls12, b.tls12),
    }
    order = tuple(_compare_order(section, a, b, suites[section].both) for section, _ in SECTIONS)
    groups = None
    if a.groups is not None and b.groups is not None:
        groups = _set_diff(a.groups, b.groups)
    return PolicyDiff(a=a, b=b, protocols=_set_diff(a.protocols, b.protocols), suites=suites,
                      order=order, groups=groups)


def _compare_order(section: str, a: Policy, b: Policy,
                   shared: tuple[CipherSuite, ...]) -> OrderComparison:
    codes = {s.code for s in shared}
    pool_a, pool_b = (a.tls13, b.tls13) if section == "tls1_3" else (a.tls12, b.tls12)
    in_a = tuple(s for s in pool_a if s.code in codes)
    in_b = tuple(s for s in pool_b if s.code in codes)
    if len(shared) < 2:
        return OrderComparison(section, False, False, "fewer than two shared suites", in_a, in_b)
    undocumented = [p for p in (a, b) if p.order != "server"]
    if undocumented:
        why = "; ".join(
            f"{p.id}: {'the client chooses' if p.order == 'client' else 'listing order only'}"
            for p in undocumented)
        return OrderComparison(section, False, False,
                               f"no documented server order ({why})", in_a, in_b)
    differs = [s.code for s in in_a] != [s.code for s in in_b]
    return OrderComparison(section, True, differs, None, in_a, in_b)


def diff_as_json(diff: PolicyDiff) -> dict[str, object]:
    """The diff as plain JSON data (``policies diff --format json``)."""

    def suites(items: Sequence[CipherSuite]) -> list[dict[str, str | None]]:
        return [s.as_json() for s in items]

    return {
        "a": diff.a.summary(),
        "b": diff.b.summary(),
        "same_protocols_and_suites": diff.same_protocols_and_suites,
        "protocols": {"only_in_a": list(diff.protocols.only_a),
                      "only_in_b": list(diff.protocols.only_b),
                      "in_both": list(diff.protocols.both)},
        "cipher_suites": {
            section: {"only_in_a": suites(d.only_a), "only_in_b": suites(d.only_b),
                      "in_both": suites(d.both)}
            for section, d in diff.suites.items()
        },
        "order": {
            o.section: {"compared": o.compared, "differs": o.differs, "reason": o.reason,
                        "a": [s.label for s in o.a] if o.differs else None,
                        "b": [s.label for s in o.b] if o.differs else None}
            for o in diff.order
        },
        "key_exchange": {
            "pq_key_exchange": {"a": diff.a.pq_key_exchange, "b": diff.b.pq_key_exchange},
            "fips": {"a": diff.a.fips, "b": diff.b.fips},
            "groups": None if diff.groups is None else {
                "only_in_a": list(diff.groups.only_a), "only_in_b": list(diff.groups.only_b),
                "in_both": list(diff.groups.both)},
        },
    }
