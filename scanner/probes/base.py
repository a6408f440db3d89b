"""What a probe is: one question asked of an endpoint, answered as one facet of the record."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel

from scanner.engine.session import EndpointSession
from scanner.offers.credential import ClientCredential
from scanner.pkix.trust import TrustStore, trust_store_for
from scanner.probes.names import DEFAULT_CERT_EXPIRY_WARNING_DAYS, DEFAULT_OCSP_EXPIRY_WARNING_HOURS
from scanner.probes.shared.work import SharedWork
from scanner.results import Finding


@dataclass(frozen=True)
class ProbeOptions:
    """What the user asked of the probes for a whole sweep (a target may override ca_bundle)."""

    #: PEM bundle of trust anchors for certificate validation; None: the system store.
    ca_bundle: Path | None = None
    cert_expiry_warning_days: int = DEFAULT_CERT_EXPIRY_WARNING_DAYS
    ocsp_expiry_warning_hours: float = DEFAULT_OCSP_EXPIRY_WARNING_HOURS


@dataclass(frozen=True)
class HttpRequestTarget:
    """Where a probe sends its HTTP request once TLS is up (resolved per target)."""

    #: False: the target is not HTTP (``http: false``); probes judge the TLS layer only.
    enabled: bool = True
    path: str = "/"
    #: The Host header, already resolved (configured, else SNI or host, with a non-443 port).
    host: str = "localhost"
    #: Paths whose per-path client authentication is checked (inventory ``http_paths``).
    paths: tuple[str, ...] = ("/",)


@dataclass(frozen=True)
class ProbeContext:
    """What a probe knows about its target beyond the connection: resolved per target."""

    host: str
    #: The target's shared handshakes and raw enumeration (computed once, see SharedWork).
    shared: SharedWork
    options: ProbeOptions = field(default_factory=ProbeOptions)
    #: This target's trust anchors (its own ca_bundle, else the sweep's); None: the system's.
    ca_bundle: Path | None = None
    #: ALPN protocol IDs to test besides the well-known ones (target's own, else the sweep's).
    alpn_extra: tuple[str, ...] = ()
    http: HttpRequestTarget = field(default_factory=HttpRequestTarget)
    #: The user's client certificate and key (inventory ``client_cert``), in memory only.
    client_credential: ClientCredential | None = None
    #: The user's client CA and its key (inventory ``client_ca_cert``), to issue from.
    client_ca: ClientCredential | None = None
    #: The plaintext protocol the connection upgrades from ("tls": none), e.g. "postgres".
    protocol: str = "tls"
    #: Other server names on this address (sni_names and the inventory's neighbours).
    sni_names: tuple[str, ...] = ()
    #: The user listed names: the vhosts probe compares even a single one.
    sni_names_given: bool = False
    #: At most this many names per address (the vhosts probe's cap).
    max_sni_names: int = 16

    @property
    def trust(self) -> TrustStore:
        """Loaded on first use and cached per file, so probes that never validate pay nothing."""
        return trust_store_for(self.ca_bundle)


FacetT = TypeVar("FacetT", bound=BaseModel)


@dataclass
class ProbeOutput(Generic[FacetT]):
    facet: FacetT
    findings: list[Finding] = field(default_factory=list)


class Probe(ABC, Generic[FacetT]):
    """One question, answered as the record field ``name`` of type ``FacetT``.

    A probe declares its facet by subclassing ``Probe[ItsFacet]``; ``facet_type`` is that
    class at runtime (tests check it against the record's field).
    """

    #: The record field this probe fills; also its name on the command line.
    name: ClassVar[str]
    description: ClassVar[str]
    #: The facet model this probe returns (taken from ``Probe[FacetT]``).
    facet_type: ClassVar[type[BaseModel]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Probe:
                (cls.facet_type,) = get_args(base)

    @abstractmethod
    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[FacetT]: ...
