"""Probes, one module per question; ``PROBES`` is the registry the CLI and inventory use."""

from __future__ import annotations

from scanner.probes.alpn import AlpnProbe
from scanner.probes.base import Probe, ProbeContext, ProbeOptions, ProbeOutput
from scanner.probes.certificate import CertificateProbe
from scanner.probes.client_auth import ClientAuthProbe
from scanner.probes.enforcement import EnforcementProbe
from scanner.probes.ocsp import OcspProbe
from scanner.probes.renegotiation import RenegotiationProbe
from scanner.probes.resumption import ResumptionProbe

PROBES: dict[str, Probe] = {
    probe.name: probe
    for probe in (
        ClientAuthProbe(), EnforcementProbe(), CertificateProbe(), OcspProbe(),
        RenegotiationProbe(), ResumptionProbe(), AlpnProbe(),
    )
}
DEFAULT_PROBES: tuple[str, ...] = tuple(PROBES)

__all__ = ["DEFAULT_PROBES", "PROBES", "Probe", "ProbeContext", "ProbeOptions", "ProbeOutput"]
