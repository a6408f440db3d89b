"""Probes, one module per question; ``PROBES`` is the registry the CLI and inventory use."""

from __future__ import annotations

from scanner.probes.alpn import AlpnProbe
from scanner.probes.base import Probe, ProbeOutput, ProbeSettings
from scanner.probes.client_auth import ClientAuthProbe
from scanner.probes.renegotiation import RenegotiationProbe
from scanner.probes.resumption import ResumptionProbe

PROBES: dict[str, Probe] = {
    probe.name: probe
    for probe in (ClientAuthProbe(), RenegotiationProbe(), ResumptionProbe(), AlpnProbe())
}
DEFAULT_PROBES: tuple[str, ...] = tuple(PROBES)

__all__ = ["DEFAULT_PROBES", "PROBES", "Probe", "ProbeOutput", "ProbeSettings"]
