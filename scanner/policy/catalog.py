"""The policy catalog: the shipped provider policies plus the user's own, looked up by name.

Adding a policy is adding data: every ``data/policies/*.yaml`` file is loaded and validated
with the models in ``schema.py``, and so are ``--policy-file`` files and an inventory's
``policies:`` section. A broken file is reported as one line with its file, line and key.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from scanner.policy.loading import load_once
from scanner.policy.schema import OrderKind, PolicyEntry, PolicyFile, PolicyKind, SourceEntry
from scanner.policy.suites import CipherSuite, suite_table
from scanner.yamlsource import (
    Positions,
    SourceFileError,
    first_validation_error,
    load_yaml,
    read_bounded,
)

MAX_POLICY_FILE_BYTES = 4 * 1024 * 1024
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PolicyFileError(SourceFileError):
    """A policy file (or inventory policies: section) cannot be used; one line, with position."""


class PolicyLookupError(LookupError):
    """A policy name that is unknown or names several policies where one is needed."""


@dataclass(frozen=True)
class Source:
    id: str
    url: str | None
    date: str | None
    used_for: str | None
    repo_path: str | None = None
    commit: str | None = None


@dataclass(frozen=True, eq=False)
class Policy:
    """One catalog entry, with its suites resolved to code points.

    Compared and hashed by identity (ids are unique within a catalog), which keeps the
    per-version suite cache cheap.
    """

    id: str
    name: str
    provider: str
    protocols: tuple[str, ...]
    tls13: tuple[CipherSuite, ...]
    tls12: tuple[CipherSuite, ...]
    order: OrderKind
    origin: str
    aliases: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    may_be_absent: frozenset[int] = frozenset()
    order_note: str | None = None
    fips: bool | None = None
    pq_key_exchange: bool | None = None
    groups: tuple[str, ...] | None = None
    status: str = "current"
    confidence: str | None = None
    default_for: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    notes: tuple[str, ...] = ()
    builtin: bool = False
    kind: PolicyKind = "policy"

    @property
    def signature(self) -> tuple[frozenset[str], frozenset[int], frozenset[int]]:
        """What protocols and suites alone can see: equal signatures cannot be told apart."""
        return (frozenset(self.protocols), frozenset(s.code for s in self.tls13),
                frozenset(s.code for s in self.tls12))

    def suites_at(self, version: str, key_types: Iterable[str] | None = None
                  ) -> tuple[CipherSuite, ...]:
        """The suites a listener on this policy negotiates at ``version``, in policy order.

        With ``key_types`` (e.g. ``{"rsa"}``) only the suites its certificates allow: an
        RSA-only listener never negotiates an ECDHE-ECDSA suite of its policy.
        """
        types = None if key_types is None else frozenset(key_types)
        return _suites_at(self, version, types)[0]

    def codes_at(self, version: str, key_types: frozenset[str] | None) -> frozenset[int]:
        """Code points of :meth:`suites_at` (cached)."""
        return _suites_at(self, version, key_types)[1]

    def codes_by_version(self, key_types: frozenset[str] | None) -> dict[str, frozenset[int]]:
        """:meth:`codes_at` for every version of the policy (cached; do not modify)."""
        return _codes_by_version(self, key_types)

    def summary(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "provider": self.provider}


@functools.lru_cache(maxsize=8192)
def _suites_at(policy: Policy, version: str, key_types: frozenset[str] | None
               ) -> tuple[tuple[CipherSuite, ...], frozenset[int]]:
    if version not in policy.protocols:
        return (), frozenset()
    pool = policy.tls13 if version == "TLSv1.3" else policy.tls12
    suites = tuple(suite for suite in pool if suite.runs_on(version)
                   and (key_types is None or suite.usable_with(key_types)))
    return suites, frozenset(suite.code for suite in suites)


@functools.lru_cache(maxsize=2048)
def _codes_by_version(policy: Policy, key_types: frozenset[str] | None
                      ) -> dict[str, frozenset[int]]:
    return {version: _suites_at(policy, version, key_types)[1] for version in policy.protocols}


class Catalog:
    """Policies by id, findable by id, alias or name."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self._by_id: dict[str, Policy] = {}
        for policy in policies:
            self._add(policy)

    def _add(self, policy: Policy) -> None:
        for key in (policy.id, *policy.aliases):
            clash = self._find_key(key)
            if clash is not None:
                raise PolicyFileError(
                    f"{policy.origin}: policy id or alias {key!r} is already used by "
                    f"{clash.id} ({clash.origin}); give this policy another id"
                )
        self._by_id[policy.id] = policy

    def _find_key(self, key: str) -> Policy | None:
        if key in self._by_id:
            return self._by_id[key]
        return next((p for p in self._by_id.values() if key in p.aliases), None)

    def __iter__(self) -> Iterator[Policy]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def extended(self, policies: Iterable[Policy]) -> Catalog:
        """A new catalog with ``policies`` added (ids must stay unique)."""
        catalog = Catalog(self)
        for policy in policies:
            catalog._add(policy)
        return catalog

    def find(self, text: str) -> list[Policy]:
        """Policies ``text`` names: an id or alias (one), else every policy with that name."""
        exact = self._find_key(text)
        if exact is not None:
            return [exact]
        named = [p for p in self if p.name == text]
        if named:
            return named
        folded = text.casefold()
        return [p for p in self if folded in (p.id.casefold(), p.name.casefold(),
                                             *(a.casefold() for a in p.aliases))]

    def one(self, text: str) -> Policy:
        """The single policy ``text`` names, or PolicyLookupError saying why not."""
        found = self.find(text)
        if len(found) == 1:
            return found[0]
        if found:
            raise PolicyLookupError(
                f"{text!r} names {len(found)} policies: {', '.join(p.id for p in found)}; "
                "use one of these ids"
            )
        raise PolicyLookupError(self.unknown_message(text))

    def unknown_message(self, text: str) -> str:
        keys = [p.id for p in self] + [p.name for p in self] + [a for p in self for a in p.aliases]
        close = difflib.get_close_matches(text, keys, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(dict.fromkeys(close))}?" if close else \
            "; `mtlsweep policies list` shows the catalog"
        return f"unknown policy {text!r}{hint}"

    def providers(self) -> list[str]:
        return sorted({p.provider for p in self})

    def lookalikes(self, policy: Policy) -> list[Policy]:
        """Other policies with the same protocols and suite sets (order aside)."""
        return [p for p in self if p.id != policy.id and p.signature == policy.signature]


# --- loading ----------------------------------------------------------------------------


def load_policy_file(path: Path) -> list[Policy]:
    """Validate one ``--policy-file`` and return its policies, or raise PolicyFileError."""
    text = read_bounded(path, max_bytes=MAX_POLICY_FILE_BYTES, what="a policy file",
                        error=PolicyFileError)
    return _policies_from_text(path, text, builtin=False)


def policies_from_entries(entries: Sequence[PolicyEntry], *, provider: str,
                          sources: Sequence[SourceEntry], positions: Positions,
                          prefix: tuple[str | int, ...], builtin: bool = False,
                          kind: PolicyKind = "policy") -> list[Policy]:
    """Catalog entries from validated models; ``positions``/``prefix`` place any error."""
    by_id = {source.id: source for source in sources}
    table = suite_table()
    policies = []
    for index, entry in enumerate(entries):
        where = (*prefix, index)
        for number, source in enumerate(entry.sources):
            if source not in by_id:
                raise PolicyFileError(
                    f"{positions.at((*where, 'sources', number))}: source {source!r} is not "
                    f"defined in this file's sources: list "
                    f"({', '.join(sorted(by_id)) or 'which is empty'})"
                )
        policies.append(Policy(
            id=entry.id or f"{provider}:{entry.name}",
            name=entry.name,
            provider=provider,
            protocols=tuple(entry.protocols),
            tls13=tuple(table.resolve(name) for name in entry.tls13),
            tls12=tuple(table.resolve(name) for name in entry.tls12),
            order=entry.order,
            origin=positions.at(where),
            aliases=tuple(entry.aliases),
            services=tuple(entry.services),
            may_be_absent=frozenset(table.resolve(name).code for name in entry.may_be_absent),
            order_note=entry.order_note,
            fips=entry.fips,
            pq_key_exchange=entry.pq_key_exchange,
            groups=tuple(entry.groups) if entry.groups is not None else None,
            status=entry.status,
            confidence=entry.confidence,
            default_for=tuple(entry.default_for),
            sources=tuple(Source(s.id, s.url, s.date, s.used_for, s.repo_path, s.commit)
                          for s in (by_id[name] for name in entry.sources)),
            notes=tuple(entry.notes),
            builtin=builtin,
            kind=kind,
        ))
    return policies


def _policies_from_text(path: Path, text: str, *, builtin: bool) -> list[Policy]:
    if builtin:  # shipped files are valid (tests check it): skip recording positions
        try:
            parsed = PolicyFile.model_validate(yaml.load(text, Loader=_FAST_LOADER))
            return policies_from_entries(parsed.policies, provider=parsed.provider,
                                         sources=parsed.sources, positions=Positions(path, {}),
                                         prefix=("policies",), builtin=True,
                                         kind=parsed.kind)
        except (ValidationError, PolicyFileError, yaml.YAMLError):
            pass  # load again below, with positions, to say where the problem is
    data, positions = load_yaml(path, text, empty_hint="a policy file needs a 'policies:' list",
                                error=PolicyFileError)
    if not isinstance(data, dict):
        raise PolicyFileError(f"{path}:1: a policy file must be a mapping with a 'policies:' "
                              f"list (got {type(data).__name__})")
    try:
        parsed = PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise PolicyFileError(first_validation_error(exc, positions, PolicyFile)) from None
    return policies_from_entries(parsed.policies, provider=parsed.provider,
                                 sources=parsed.sources, positions=positions,
                                 prefix=("policies",), builtin=builtin, kind=parsed.kind)


@load_once
def builtin_catalog() -> Catalog:
    """The shipped catalog (every ``data/policies/*.yaml``), loaded once per process."""
    folder = resources.files("scanner.policy").joinpath("data", "policies")
    policies: list[Policy] = []
    for resource in sorted(folder.iterdir(), key=lambda r: r.name):
        if resource.name.endswith(".yaml"):
            path = Path("scanner/policy/data/policies") / resource.name
            policies.extend(_policies_from_text(path, resource.read_text("utf-8"), builtin=True))
    return Catalog(policies)


def load_catalog(policy_files: Sequence[Path] = ()) -> Catalog:
    """The shipped catalog plus ``policy_files``; PolicyFileError names the first problem."""
    catalog = builtin_catalog()
    for path in policy_files:
        catalog = catalog.extended(load_policy_file(path))
    return catalog
