"""Probes, one module per question; ``PROBES`` is the registry the CLI and inventory use."""

from __future__ import annotations

from scanner.probes.alpn_support import AlpnSupportProbe
from scanner.probes.base import Probe, ProbeOutput
from scanner.probes.cipher_suites import CipherSuitesProbe
from scanner.probes.client_auth import ClientAuthProbe
from scanner.probes.engine_agreement import EngineAgreementProbe
from scanner.probes.extensions import ExtensionsProbe
from scanner.probes.groups import GroupsProbe
from scanner.probes.npn import NpnProbe
from scanner.probes.protocols import ProtocolsProbe

PROBES: dict[str, Probe] = {probe.name: probe for probe in (
    ClientAuthProbe(),
    ProtocolsProbe(),
    CipherSuitesProbe(),
    GroupsProbe(),
    AlpnSupportProbe(),
    NpnProbe(),
    ExtensionsProbe(),
    EngineAgreementProbe(),
)}
DEFAULT_PROBES: tuple[str, ...] = tuple(PROBES)

__all__ = ["DEFAULT_PROBES", "PROBES", "Probe", "ProbeOutput"]
