"""Which extensions does the server echo in a TLS <= 1.2 ServerHello when offered them all:
secure renegotiation, extended master secret, encrypt-then-MAC, session tickets, OCSP
stapling? Extensions it sends without being asked are a protocol violation and a finding."""

from __future__ import annotations

from typing import ClassVar

from scanner import wire
from scanner.engine.raw import RawOffer
from scanner.engine.session import EndpointSession
from scanner.probes.base import ProbeContext, ProbeOutput
from scanner.probes.shared.enumeration import LABELS, enumerator
from scanner.results import ExtensionsFacet, Finding, Severity

EXT_STATUS_REQUEST = 5
EXT_EC_POINT_FORMATS = 11
EXT_ENCRYPT_THEN_MAC = 22
EXT_EXTENDED_MASTER_SECRET = 23
EXT_SESSION_TICKET = 35
EXT_RENEGOTIATION_INFO = 0xFF01

_POINT_FORMATS = {0: "uncompressed", 1: "ansiX962_compressed_prime",
                  2: "ansiX962_compressed_char2"}


def secure_renegotiation(hello: wire.ServerHello) -> bool:
    """RFC 5746: renegotiation_info echoed with an empty renegotiated_connection."""
    ext = wire.find_extension(hello.extensions, EXT_RENEGOTIATION_INFO)
    if ext is None:
        return False
    try:
        return wire.parse_renegotiation_info_extension(ext.data) == b""
    except wire.WireError:
        return False


def _point_formats(hello: wire.ServerHello) -> list[str] | None:
    ext = wire.find_extension(hello.extensions, EXT_EC_POINT_FORMATS)
    if ext is None:
        return None
    try:
        formats = wire.parse_ec_point_formats_extension(ext.data)
    except wire.WireError:
        return ["malformed"]
    return [_POINT_FORMATS.get(code, f"unknown_{code}") for code in formats]


class ExtensionsProbe:
    name: ClassVar[str] = "extensions"
    description: ClassVar[str] = (
        "extensions echoed in the TLS <= 1.2 ServerHello (reneg, EMS, ETM, tickets, OCSP)"
    )

    async def run(self, session: EndpointSession, context: ProbeContext) -> ProbeOutput:
        enum = enumerator(session)
        test = await enum.highest_legacy_version()
        hello = test.server_hello if test is not None else None
        if test is None or hello is None:
            return ProbeOutput(facet=ExtensionsFacet(version=None))
        cbc = await enum.cbc_reply(test.version)
        cbc_hello = cbc.server_hello if cbc is not None else None
        offered = RawOffer(test.version, test.offered, sni=session.sni).offered_extensions
        unsolicited = [ext.name for ext in hello.extensions if ext.type not in offered]
        facet = ExtensionsFacet(
            version=LABELS[test.version],
            secure_renegotiation=secure_renegotiation(hello),
            extended_master_secret=hello.has_extension(EXT_EXTENDED_MASTER_SECRET),
            encrypt_then_mac=(cbc_hello.has_extension(EXT_ENCRYPT_THEN_MAC)
                              if cbc_hello is not None else None),
            session_ticket=hello.has_extension(EXT_SESSION_TICKET),
            status_request=hello.has_extension(EXT_STATUS_REQUEST),
            ec_point_formats=_point_formats(hello),
            echoed=[ext.name for ext in hello.extensions],
            unsolicited=unsolicited,
        )
        findings = [Finding(
            id="extensions.unsolicited", severity=Severity.low, probe=self.name,
            version=facet.version,
            detail=f"The ServerHello carries extensions the client did not offer "
            f"({', '.join(unsolicited)}); RFC 5246 7.4.1.4 forbids that.",
        )] if unsolicited else []
        return ProbeOutput(facet=facet, findings=findings)
