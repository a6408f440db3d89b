"""Which message layout a negotiated protocol version uses.

Certificate, CertificateRequest and NewSessionTicket changed shape in TLS 1.3; their
parsers ask here, so a version none of the layouts fits is refused the same way.
"""

from __future__ import annotations

from .errors import WireError
from .registry import TLSVersion

__all__ = ["uses_tls13_layout"]


def uses_tls13_layout(version: int, what: str) -> bool:
    """Map a negotiated version to the message layout; reject versions we cannot parse."""
    if version == TLSVersion.TLSv1_3:
        return True
    if TLSVersion.SSLv3 <= version <= TLSVersion.TLSv1_2:
        return False
    raise WireError(f"{what}: cannot parse for protocol version 0x{version:04x}")
