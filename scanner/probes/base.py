"""What a probe is: one question asked of an endpoint, answered as one facet of the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from pydantic import BaseModel

from scanner.engine.session import EndpointSession
from scanner.results import Finding


@dataclass(frozen=True)
class ProbeSettings:
    """Per-target options that change what a probe asks (from the CLI or the inventory)."""

    #: ALPN protocol IDs to test besides the well-known ones.
    alpn_extra: tuple[str, ...] = ()


@dataclass
class ProbeOutput:
    facet: BaseModel
    findings: list[Finding] = field(default_factory=list)


class Probe(Protocol):
    #: The record field this probe fills; also its name on the command line.
    name: ClassVar[str]
    description: ClassVar[str]

    async def run(self, session: EndpointSession, settings: ProbeSettings) -> ProbeOutput: ...
