"""What a probe is: one question asked of an endpoint, answered as one facet of the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from pydantic import BaseModel

from scanner.engine.session import EndpointSession
from scanner.pkix.trust import TrustStore, trust_store_for
from scanner.results import Finding

DEFAULT_CERT_EXPIRY_WARNING_DAYS = 30
DEFAULT_OCSP_EXPIRY_WARNING_HOURS = 24.0


@dataclass(frozen=True)
class ProbeOptions:
    """What the user asked of the probes for a whole sweep (a target may override ca_bundle)."""

    #: PEM bundle of trust anchors for certificate validation; None: the system store.
    ca_bundle: Path | None = None
    cert_expiry_warning_days: int = DEFAULT_CERT_EXPIRY_WARNING_DAYS
    ocsp_expiry_warning_hours: float = DEFAULT_OCSP_EXPIRY_WARNING_HOURS


@dataclass(frozen=True)
class ProbeContext:
    """What a probe knows about its target beyond the connection: resolved per target."""

    host: str
    options: ProbeOptions = field(default_factory=ProbeOptions)
    #: This target's trust anchors (its own ca_bundle, else the sweep's); None: the system's.
    ca_bundle: Path | None = None
    #: ALPN protocol IDs to test besides the well-known ones (target's own, else the sweep's).
    alpn_extra: tuple[str, ...] = ()

    @property
    def trust(self) -> TrustStore:
        """Loaded on first use and cached per file, so probes that never validate pay nothing."""
        return trust_store_for(self.ca_bundle)


@dataclass
class ProbeOutput:
    facet: BaseModel
    findings: list[Finding] = field(default_factory=list)


class Probe(Protocol):
    #: The record field this probe fills; also its name on the command line.
    name: ClassVar[str]
    description: ClassVar[str]

    async def run(self, session: EndpointSession, context: ProbeContext) -> ProbeOutput: ...
