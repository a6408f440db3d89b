"""Probe names and option defaults, without the probes: what the command line's help shows
(``mtlsweep --help`` must not import OpenSSL, trio and the record models). The registry
(``scanner.probes.registry``) refuses to load if this list disagrees with it."""

from __future__ import annotations

# In the order a scan runs them.
PROBE_NAMES: tuple[str, ...] = (
    "client_auth", "enforcement", "protocols", "cipher_suites", "groups", "certificate", "ocsp",
    "renegotiation", "resumption", "alpn", "alpn_support", "npn", "extensions",
    "engine_agreement", "dh_parameters", "vulnerabilities", "robot", "vhosts",
)

# Every probe but alpn_support: the alpn probe already finds the supported set (per version,
# with the selection per offer and the no-overlap behaviour), and engine_agreement still
# checks the raw engine's ALPN selection against OpenSSL's. Dropping the duplicate keeps a
# default scan of an ALB-like listener under 60 connections.
# robot is opt-in too: its 5 connections (10 when confirming an oracle) would take that scan
# over the budget. vhosts joins a target's probes by itself when its address serves more than
# one name to compare (config/options.py): one SNI map costs ~3 connections per name.
DEFAULT_PROBES: tuple[str, ...] = tuple(name for name in PROBE_NAMES
                                        if name not in ("alpn_support", "robot", "vhosts"))

DEFAULT_CERT_EXPIRY_WARNING_DAYS = 30
DEFAULT_OCSP_EXPIRY_WARNING_HOURS = 24.0
