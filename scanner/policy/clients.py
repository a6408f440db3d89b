"""Who can connect: client profiles, and what each would negotiate with a server.

A client profile is what one client offers by default (versions, cipher suites in its order,
key-exchange groups, signature algorithms), as data in ``data/clients.yaml`` with its sources;
profiles of clients installed here are checked against the ClientHello they really send.

``negotiate`` plays a handshake on paper, the way TLS servers decide: the highest version both
support, then (within that version only: servers do not fall back) a suite, by the server's
order when it imposes one, else the client's, among those the certificate allows and, for
(EC)DHE and TLS 1.3, with a group both have; TLS 1.3 also needs a signature algorithm the
client accepts for the server's key. The server side comes from a catalog policy
(``ServerTerms.of_policy``: ``policies diff --clients``) or from a scanned record
(``ServerTerms.of_observation``: the record's ``clients`` view).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from scanner.policy.catalog import Policy, Source
from scanner.policy.identify import Observation
from scanner.policy.loading import load_once
from scanner.policy.schema import GroupName, ProtocolName, SourceEntry, SuiteName
from scanner.policy.suites import VERSIONS, CipherSuite, suite_table

FailureReason = Literal["no common version", "no common cipher suite", "no common group",
                        "no common signature algorithm"]
# Signature schemes by the certificate key type they can sign with (TLS 1.3 needs PSS for RSA).
_SIGNATURES_TLS13 = {"rsa": ("rsa_pss_rsae_", "rsa_pss_pss_"), "ecdsa": ("ecdsa_", "ed25519",
                                                                         "ed448")}
_FINITE_FIELD = ("ffdhe",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClientProfileEntry(_Strict):
    """One client's defaults as ``data/clients.yaml`` writes them."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    versions: list[ProtocolName] = Field(min_length=1, description="Newest first.")
    tls13: list[SuiteName] = Field(default_factory=list, description="In the client's order.")
    tls12: list[SuiteName] = Field(default_factory=list,
                                   description="TLS 1.2 and below, in the client's order.")
    groups: list[GroupName] = Field(min_length=1, description="In the client's order.")
    signature_algorithms: list[str] = Field(default_factory=list)
    captured_by: str | None = Field(
        default=None, description="The test that captures this client's real ClientHello.")
    sources: list[str] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)


class ClientProfileFile(_Strict):
    format: Literal[1] = 1
    sources: list[SourceEntry] = Field(min_length=1)
    clients: list[ClientProfileEntry] = Field(min_length=1)


@dataclass(frozen=True)
class ClientProfile:
    id: str
    name: str
    versions: tuple[str, ...]
    tls13: tuple[CipherSuite, ...]
    tls12: tuple[CipherSuite, ...]
    groups: tuple[str, ...]
    signature_algorithms: tuple[str, ...]
    sources: tuple[Source, ...]
    captured_by: str | None = None
    notes: tuple[str, ...] = ()

    def offers_at(self, version: str) -> tuple[CipherSuite, ...]:
        """The suites this client offers that can be negotiated at ``version``."""
        pool = self.tls13 if version == "TLSv1.3" else self.tls12
        return tuple(s for s in pool if s.runs_on(version))


@load_once
def client_profiles() -> tuple[ClientProfile, ...]:
    """The shipped client profiles (``data/clients.yaml``), loaded once."""
    text = resources.files("scanner.policy").joinpath("data/clients.yaml").read_text("utf-8")
    parsed = ClientProfileFile.model_validate(
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    sources = {s.id: Source(s.id, s.url, s.date, s.used_for, s.repo_path, s.commit)
               for s in parsed.sources}
    table = suite_table()
    profiles = []
    for entry in parsed.clients:
        unknown = [s for s in entry.sources if s not in sources]
        if unknown:
            raise ValueError(f"clients.yaml: {entry.id} cites undefined source {unknown[0]}")
        profiles.append(ClientProfile(
            id=entry.id, name=entry.name, versions=tuple(entry.versions),
            tls13=tuple(map(table.resolve, entry.tls13)),
            tls12=tuple(map(table.resolve, entry.tls12)), groups=tuple(entry.groups),
            signature_algorithms=tuple(entry.signature_algorithms),
            sources=tuple(sources[s] for s in entry.sources), captured_by=entry.captured_by,
            notes=tuple(entry.notes)))
    return tuple(profiles)


# --- the server side ---------------------------------------------------------------------


@dataclass(frozen=True)
class ServerTerms:
    """What a server accepts, as negotiation needs it.

    ``suites`` maps each accepted version to its suites, in the server's order for the
    versions in ``server_order``; ``groups`` are the key-exchange groups it accepts (None:
    unknown, so any group a client offers is assumed to do); ``key_types`` its certificates'.
    """

    suites: Mapping[str, tuple[CipherSuite, ...]]
    server_order: frozenset[str] = frozenset()
    groups: frozenset[str] | None = None
    key_types: frozenset[str] = frozenset({"rsa", "ecdsa"})

    @classmethod
    def of_policy(cls, policy: Policy, key_types: Iterable[str]) -> ServerTerms:
        """A listener running ``policy`` with certificates of ``key_types``."""
        types = frozenset(key_types)
        suites = {v: policy.suites_at(v, types) for v in policy.protocols}
        return cls(suites={v: s for v, s in suites.items() if s},
                   server_order=frozenset(suites) if policy.order == "server" else frozenset(),
                   groups=frozenset(policy.groups) if policy.groups is not None else None,
                   key_types=types)

    @classmethod
    def of_observation(cls, observation: Observation) -> ServerTerms:
        """A scanned endpoint: accepted versions and suites, server order, accepted groups."""
        table = suite_table()
        suites = {v: tuple(map(table.by_code_point, observation.server_order.get(v, codes)))
                  for v, codes in observation.suites.items()
                  if observation.versions.get(v) and codes}
        return cls(suites=suites,
                   server_order=frozenset(observation.server_order) & frozenset(suites),
                   groups=observation.groups_accepted or None,
                   key_types=observation.key_types or frozenset({"rsa", "ecdsa"}))


@dataclass(frozen=True)
class Negotiated:
    """One client against one server: what they agree on, or why they cannot."""

    client: ClientProfile
    version: str | None = None
    suite: CipherSuite | None = None
    group: str | None = None
    reason: FailureReason | None = None
    detail: str = ""

    @property
    def connects(self) -> bool:
        return self.reason is None


def negotiate(client: ClientProfile, server: ServerTerms) -> Negotiated:
    """What ``client`` and ``server`` would agree on (see the module docstring)."""
    common = [v for v in VERSIONS if v in client.versions and v in server.suites]
    if not common:
        return Negotiated(client, reason="no common version", detail=(
            f"client {_versions(client.versions)}, server {_versions(server.suites)}"))
    version = common[0]
    offered = client.offers_at(version)
    offered_codes = {s.code for s in offered}
    shared_suites = [s for s in _in_choosing_order(version, offered, server)
                     if s.code in offered_codes]
    if not shared_suites:
        return Negotiated(client, version=version, reason="no common cipher suite",
                          detail=f"at {version}")
    group = _common_group(client, server)
    usable = [s for s in shared_suites if not _needs_group(s, version) or group is not None]
    if not usable:
        return Negotiated(client, version=version, reason="no common group", detail=(
            f"client {', '.join(client.groups)}; server "
            f"{', '.join(sorted(server.groups or ()))}"))
    if version == "TLSv1.3" and not _can_verify(client, server.key_types):
        return Negotiated(client, version=version, reason="no common signature algorithm",
                          detail=f"for a {'/'.join(sorted(server.key_types)).upper()} key")
    suite = usable[0]
    return Negotiated(client, version=version, suite=suite,
                      group=group if _needs_group(suite, version) else None)


def negotiate_all(server: ServerTerms,
                  clients: Sequence[ClientProfile] | None = None) -> list[Negotiated]:
    return [negotiate(c, server) for c in (client_profiles() if clients is None else clients)]


def _in_choosing_order(version: str, offered: Sequence[CipherSuite],
                       server: ServerTerms) -> Sequence[CipherSuite]:
    if version in server.server_order:
        return server.suites[version]
    accepted = {s.code for s in server.suites[version]}
    return [s for s in offered if s.code in accepted]


def _needs_group(suite: CipherSuite, version: str) -> bool:
    return version == "TLSv1.3" or (suite.kx or "").startswith("ECDH")


def _common_group(client: ClientProfile, server: ServerTerms) -> str | None:
    """The first elliptic-curve (or hybrid) group of the client's the server accepts."""
    candidates = [g for g in client.groups if not g.startswith(_FINITE_FIELD)]
    if server.groups is None:
        return candidates[0] if candidates else None
    return next((g for g in candidates if g in server.groups), None)


def _can_verify(client: ClientProfile, key_types: frozenset[str]) -> bool:
    if not client.signature_algorithms:
        return True  # not documented: assume the usual schemes
    return any(scheme.startswith(_SIGNATURES_TLS13.get(key_type, ()))
               for key_type in key_types for scheme in client.signature_algorithms)


def _versions(versions: Iterable[str]) -> str:
    present = [v.removeprefix("TLSv") for v in VERSIONS if v in set(versions)]
    return "TLS " + "/".join(present) if present else "none"


# --- diff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientChange:
    """A client that negotiates with A but not with B (or the reverse)."""

    client: ClientProfile
    before: Negotiated
    after: Negotiated


@dataclass(frozen=True)
class ClientsDiff:
    key_types: frozenset[str]
    lost: tuple[ClientChange, ...]  # connect to A, not to B
    gained: tuple[ClientChange, ...]  # connect to B, not to A
    both: tuple[ClientChange, ...] = field(default=())
    neither: tuple[ClientChange, ...] = field(default=())


def diff_clients(a: Policy, b: Policy, key_types: Iterable[str]) -> ClientsDiff:
    """Which profiled clients ``a`` serves and ``b`` does not, and the reverse."""
    types = frozenset(key_types)
    server_a, server_b = ServerTerms.of_policy(a, types), ServerTerms.of_policy(b, types)
    changes = [ClientChange(c, negotiate(c, server_a), negotiate(c, server_b))
               for c in client_profiles()]
    return ClientsDiff(
        key_types=types,
        lost=tuple(c for c in changes if c.before.connects and not c.after.connects),
        gained=tuple(c for c in changes if c.after.connects and not c.before.connects),
        both=tuple(c for c in changes if c.before.connects and c.after.connects),
        neither=tuple(c for c in changes if not c.before.connects and not c.after.connects))


def negotiated_as_json(result: Negotiated) -> dict[str, object]:
    return {"connects": result.connects, "version": result.version,
            "suite": result.suite.label if result.suite else None, "group": result.group,
            "reason": result.reason, "detail": result.detail or None}


def clients_diff_as_json(diff: ClientsDiff) -> dict[str, object]:
    def rows(changes: Sequence[ClientChange]) -> list[dict[str, object]]:
        return [{"id": c.client.id, "name": c.client.name, "a": negotiated_as_json(c.before),
                 "b": negotiated_as_json(c.after)} for c in changes]

    return {"key_types": sorted(diff.key_types), "lost": rows(diff.lost),
            "gained": rows(diff.gained), "unchanged_connect": [c.client.id for c in diff.both],
            "connect_to_neither": [c.client.id for c in diff.neither]}
