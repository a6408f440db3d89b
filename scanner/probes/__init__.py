"""Probes, one module per question; ``PROBES`` is the registry the CLI and inventory use."""

from __future__ import annotations

from scanner.probes.base import Probe, ProbeOutput
from scanner.probes.client_auth import ClientAuthProbe
from scanner.probes.enforcement import EnforcementProbe

PROBES: dict[str, Probe] = {
    probe.name: probe for probe in (ClientAuthProbe(), EnforcementProbe())
}
DEFAULT_PROBES: tuple[str, ...] = tuple(PROBES)

__all__ = ["DEFAULT_PROBES", "PROBES", "Probe", "ProbeOutput"]
