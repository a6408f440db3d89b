"""What a policy file may say: the pydantic models every catalog entry is validated with.

The shipped data files, ``--policy-file`` files and an inventory's ``policies:`` section all use
these models, so a user's policy is exactly as expressive as a provider's.

A policy file::

    format: 1                       # optional
    provider: acme                  # optional; default "custom"
    sources:                        # optional; where the facts come from
      - {id: wiki, url: https://wiki.example/tls, date: "2026-01"}
    policies:
      - name: acme-edge-2026        # id defaults to "<provider>:<name>"
        protocols: [TLSv1.3, TLSv1.2]
        tls13: [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]
        tls12: [ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA256]
        order: server               # server | listed | client
        sources: [wiki]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from scanner.policy.suites import (
    VERSIONS,
    CipherSuite,
    UnknownSuiteError,
    normalize_group,
    normalize_version,
    suite_table,
)


def _version(value: Any) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = f"{value:.1f}"
    if isinstance(value, str):
        return normalize_version(value)
    return value


def _suite(value: str) -> str:
    try:
        suite_table().resolve(value)
    except UnknownSuiteError as exc:
        raise ValueError(str(exc)) from None
    return value


def _group(value: str) -> str:
    return normalize_group(value)


ProtocolName = Annotated[
    Literal["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0", "SSLv3"], BeforeValidator(_version)
]
SuiteName = Annotated[str, AfterValidator(_suite)]
GroupName = Annotated[str, AfterValidator(_group)]
OrderKind = Literal["server", "listed", "client"]
# "software-default": what a server program accepts with only a certificate configured;
# identified next to the provider policies, never instead of them.
PolicyKind = Literal["policy", "software-default"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SourceEntry(_Strict):
    id: str = Field(min_length=1)
    url: str | None = None
    repo_path: str | None = None
    commit: str | None = None
    date: str | None = None
    used_for: str | None = None


class PolicyEntry(_Strict):
    """One named policy: the protocol versions and cipher suites a listener using it accepts."""

    id: str | None = Field(
        default=None, min_length=1, description="Unique key; defaults to <provider>:<name>."
    )
    name: str = Field(min_length=1, description="The provider's own name for the policy.")
    aliases: list[str] = Field(default_factory=list, description="Other names that find it.")
    services: list[str] = Field(default_factory=list, description="Where the name applies.")
    protocols: list[ProtocolName] = Field(min_length=1)
    tls13: list[SuiteName] = Field(
        default_factory=list, description="TLS 1.3 suites, in the provider's order."
    )
    tls12: list[SuiteName] = Field(
        default_factory=list,
        description="Suites for TLS 1.2 and below, in the provider's order (each runs on the "
        "versions it supports: SHA-256/AEAD suites on TLS 1.2 only).",
    )
    may_be_absent: list[SuiteName] = Field(
        default_factory=list,
        description="Listed suites a conforming endpoint may still not negotiate (documented "
        "exceptions); they count neither as missing nor as extra.",
    )
    order: OrderKind = Field(
        default="listed",
        description="server: the provider documents the list as the server's preference order; "
        "listed: a listing order only; client: the client's preference decides.",
    )
    order_note: str | None = None
    fips: bool | None = None
    pq_key_exchange: bool | None = Field(
        default=None, description="Whether hybrid post-quantum key exchange is offered (None: "
        "not stated)."
    )
    groups: list[GroupName] | None = Field(
        default=None, description="Documented key-exchange groups (None: not documented)."
    )
    status: str = "current"
    confidence: Literal["high", "medium", "low"] | None = None
    default_for: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> PolicyEntry:
        resolved = _resolved(self)
        for rule in _CONSISTENCY_RULES:
            problem = rule(resolved)
            if problem is not None:
                raise ValueError(problem)
        self.protocols.sort(key=VERSIONS.index)
        return self


# --- consistency rules: each returns what is wrong, or None; the first failing rule is reported


class _ResolvedEntry(NamedTuple):
    """An entry with its suite names resolved once, for every rule to read."""

    entry: PolicyEntry
    tls13: tuple[CipherSuite, ...]
    tls12: tuple[CipherSuite, ...]


def _resolved(entry: PolicyEntry) -> _ResolvedEntry:
    table = suite_table()
    return _ResolvedEntry(entry, tuple(map(table.resolve, entry.tls13)),
                          tuple(map(table.resolve, entry.tls12)))


def _tls13_lists_only_tls13_suites(resolved: _ResolvedEntry) -> str | None:
    bad = _first_name(resolved.entry.tls13, resolved.tls13, tls13=False)
    return None if bad is None else f"{bad} is not a TLS 1.3 suite; list it under tls12"


def _tls12_lists_no_tls13_suite(resolved: _ResolvedEntry) -> str | None:
    bad = _first_name(resolved.entry.tls12, resolved.tls12, tls13=True)
    return None if bad is None else f"{bad} is a TLS 1.3 suite; list it under tls13"


def _first_name(names: list[str], suites: tuple[CipherSuite, ...], *, tls13: bool) -> str | None:
    """The first of ``names`` whose suite is (``tls13``) or is not a TLS 1.3 suite."""
    for name, suite in zip(names, suites, strict=True):
        if suite.is_tls13 == tls13:
            return name
    return None


def _no_suite_listed_twice(resolved: _ResolvedEntry) -> str | None:
    for label, suites in (("tls13", resolved.tls13), ("tls12", resolved.tls12)):
        repeated = _first_repeat(suites)
        if repeated is not None:
            return f"{label} lists {repeated.label} twice"
    return None


def _first_repeat(suites: tuple[CipherSuite, ...]) -> CipherSuite | None:
    seen: set[int] = set()
    for suite in suites:
        if suite.code in seen:
            return suite
        seen.add(suite.code)
    return None


def _no_version_listed_twice(resolved: _ResolvedEntry) -> str | None:
    protocols = resolved.entry.protocols
    return "protocols lists a version twice" if len(set(protocols)) != len(protocols) else None


def _tls13_and_its_suites_go_together(resolved: _ResolvedEntry) -> str | None:
    if ("TLSv1.3" in resolved.entry.protocols) == bool(resolved.tls13):
        return None
    return "TLSv1.3 in protocols needs tls13 suites, and tls13 suites need TLSv1.3 in protocols"


def _older_versions_and_tls12_suites_go_together(resolved: _ResolvedEntry) -> str | None:
    older = [v for v in resolved.entry.protocols if v != "TLSv1.3"]
    if bool(older) == bool(resolved.tls12):
        return None
    return (f"{', '.join(older) or 'TLS 1.2 and below'} in protocols needs tls12 suites, and "
            "tls12 suites need a version below TLSv1.3 in protocols")


def _may_be_absent_names_listed_suites(resolved: _ResolvedEntry) -> str | None:
    listed = {suite.code for suite in (*resolved.tls13, *resolved.tls12)}
    table = suite_table()
    unlisted = [name for name in resolved.entry.may_be_absent
                if table.resolve(name).code not in listed]
    if not unlisted:
        return None
    return f"may_be_absent names {unlisted[0]}, which the policy does not list"


_CONSISTENCY_RULES: tuple[Callable[[_ResolvedEntry], str | None], ...] = (
    _tls13_lists_only_tls13_suites,
    _tls12_lists_no_tls13_suite,
    _no_suite_listed_twice,
    _no_version_listed_twice,
    _tls13_and_its_suites_go_together,
    _older_versions_and_tls12_suites_go_together,
    _may_be_absent_names_listed_suites,
)


class PolicyFile(_Strict):
    """A file of policies: ``--policy-file`` and the shipped ``data/policies/*.yaml``."""

    format: Literal[1] = 1
    provider: str = Field(default="custom", min_length=1)
    kind: PolicyKind = "policy"
    sources: list[SourceEntry] = Field(default_factory=list)
    policies: list[PolicyEntry] = Field(min_length=1)
