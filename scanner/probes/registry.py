"""The probe registry: one instance of every probe, in the order a scan runs them."""

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
from scanner.probes.names import PROBE_NAMES
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
if tuple(PROBES) != PROBE_NAMES:  # the light name list the command line's help is built from
    raise RuntimeError(f"scanner.probes.names.PROBE_NAMES is out of date: {tuple(PROBES)}")

__all__ = ["PROBES", "Probe", "ProbeContext", "ProbeOptions", "ProbeOutput"]
