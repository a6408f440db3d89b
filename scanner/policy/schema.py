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

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from scanner.policy.suites import (
    VERSIONS,
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
        table = suite_table()
        tls13 = [table.resolve(name) for name in self.tls13]
        tls12 = [table.resolve(name) for name in self.tls12]
        if any(not suite.is_tls13 for suite in tls13):
            bad = next(name for name, s in zip(self.tls13, tls13, strict=True) if not s.is_tls13)
            raise ValueError(f"{bad} is not a TLS 1.3 suite; list it under tls12")
        if any(suite.is_tls13 for suite in tls12):
            bad = next(name for name, s in zip(self.tls12, tls12, strict=True) if s.is_tls13)
            raise ValueError(f"{bad} is a TLS 1.3 suite; list it under tls13")
        for label, suites in (("tls13", tls13), ("tls12", tls12)):
            seen: set[int] = set()
            for suite in suites:
                if suite.code in seen:
                    raise ValueError(f"{label} lists {suite.label} twice")
                seen.add(suite.code)
        if len(set(self.protocols)) != len(self.protocols):
            raise ValueError("protocols lists a version twice")
        has13 = "TLSv1.3" in self.protocols
        older = [v for v in self.protocols if v != "TLSv1.3"]
        if has13 != bool(tls13):
            raise ValueError("TLSv1.3 in protocols needs tls13 suites, and tls13 suites need "
                             "TLSv1.3 in protocols")
        if bool(older) != bool(tls12):
            raise ValueError(f"{', '.join(older) or 'TLS 1.2 and below'} in protocols needs tls12 "
                             "suites, and tls12 suites need a version below TLSv1.3 in protocols")
        listed = {s.code for s in tls13} | {s.code for s in tls12}
        for name in self.may_be_absent:
            if table.resolve(name).code not in listed:
                raise ValueError(f"may_be_absent names {name}, which the policy does not list")
        self.protocols.sort(key=VERSIONS.index)
        return self


class PolicyFile(_Strict):
    """A file of policies: ``--policy-file`` and the shipped ``data/policies/*.yaml``."""

    format: Literal[1] = 1
    provider: str = Field(default="custom", min_length=1)
    sources: list[SourceEntry] = Field(default_factory=list)
    policies: list[PolicyEntry] = Field(min_length=1)
