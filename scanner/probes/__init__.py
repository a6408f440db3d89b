"""Probes, one module per question; ``PROBES`` is the registry the CLI and inventory use."""

from __future__ import annotations

from typing import Any

from scanner.probes.alpn import AlpnProbe
from scanner.probes.alpn_support import AlpnSupportProbe
from scanner.probes.base import Probe, ProbeContext, ProbeOptions, ProbeOutput
from scanner.probes.certificate import CertificateProbe
from scanner.probes.cipher_suites import CipherSuitesProbe
from scanner.probes.client_auth import ClientAuthProbe
from scanner.probes.dh_parameters import DhParametersProbe
from scanner.probes.enforcement import EnforcementProbe
from scanner.probes.engine_agreement import EngineAgreementProbe
from scanner.probes.extensions import ExtensionsProbe
from scanner.probes.groups import GroupsProbe
from scanner.probes.npn import NpnProbe
from scanner.probes.ocsp import OcspProbe
from scanner.probes.protocols import ProtocolsProbe
from scanner.probes.renegotiation import RenegotiationProbe
from scanner.probes.resumption import ResumptionProbe
from scanner.probes.vhosts import VhostsProbe
from scanner.probes.vulns import VulnerabilitiesProbe
from scanner.probes.vulns.robot import RobotProbe

PROBES: dict[str, Probe[Any]] = {
    probe.name: probe
    for probe in (
        ClientAuthProbe(), EnforcementProbe(), ProtocolsProbe(), CipherSuitesProbe(),
        GroupsProbe(), CertificateProbe(), OcspProbe(), RenegotiationProbe(),
        ResumptionProbe(), AlpnProbe(), AlpnSupportProbe(), NpnProbe(), ExtensionsProbe(),
        EngineAgreementProbe(), DhParametersProbe(), VulnerabilitiesProbe(), RobotProbe(),
        VhostsProbe(),
    )
}
# Every probe but alpn_support: the alpn probe already finds the supported set (per version,
# with the selection per offer and the no-overlap behaviour), and engine_agreement still
# checks the raw engine's ALPN selection against OpenSSL's. Dropping the duplicate keeps a
# default scan of an ALB-like listener under 60 connections.
# robot is opt-in too: its 5 connections (10 when confirming an oracle) would take that scan
# over the budget. vhosts joins a target's probes by itself when its address serves more than
# one name to compare (config/options.py): one SNI map costs ~3 connections per name.
DEFAULT_PROBES: tuple[str, ...] = tuple(name for name in PROBES
                                        if name not in ("alpn_support", "robot", "vhosts"))

__all__ = ["DEFAULT_PROBES", "PROBES", "Probe", "ProbeContext", "ProbeOptions", "ProbeOutput"]
