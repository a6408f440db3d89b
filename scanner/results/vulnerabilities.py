"""The DH parameters a DHE server uses, and the active vulnerability checks' verdicts."""

from typing import Literal

from pydantic import Field

from scanner.results.common import Model
from scanner.results.versions import KeyedByVersion


class DhGroupInfo(Model):
    suite: str = Field(description="The DHE suite offered alone (IANA code point, 0x0033).")
    name: str = Field(description="Its IANA name.")
    prime_bits: int | None = Field(description="Size of the server's DH prime (dh_p); null "
                                   "when no ServerKeyExchange could be read (see error).")
    generator: int | None = None
    well_known: str | None = Field(
        default=None, description="The named group with this prime: ffdhe2048..8192 (RFC "
        "7919), rfc3526_1536..8192, rfc2409_768/1024 (Oakley groups 1 and 2), "
        "rfc5114_1024_160/2048_224/2048_256; null for a custom prime.")
    error: str | None = None


class DhParametersAtVersion(Model):
    groups: list[DhGroupInfo] = Field(default_factory=list)
    connections: int = 0


class DhParametersFacet(KeyedByVersion[DhParametersAtVersion]):
    """For every accepted TLS <= 1.2 DHE suite, the DH group the server sends with it."""


VulnerabilityResult = Literal["vulnerable", "not_vulnerable", "not_applicable", "error"]


class VulnerabilityCheck(Model):
    result: VulnerabilityResult
    detail: str = Field(description="What was sent and what came back, in one line.")
    version: str | None = Field(default=None, description="Protocol version tested.")
    connections: int = Field(default=0, description="Connections this check used.")


class VulnerabilitiesFacet(Model):
    """Active checks, each one a question the server answers by how it reacts to a
    malformed, downgraded or out-of-order message."""

    heartbleed: VulnerabilityCheck | None = Field(
        default=None, description="CVE-2014-0160: a heartbeat request claiming more payload "
        "than it carries gets answered with memory.")
    ccs_injection: VulnerabilityCheck | None = Field(
        default=None, description="CVE-2014-0224: a ChangeCipherSpec before the key exchange "
        "is accepted instead of refused.")
    fallback_scsv: VulnerabilityCheck | None = Field(
        default=None, description="RFC 7507: a hello below the server's highest version, "
        "carrying TLS_FALLBACK_SCSV, must be refused with inappropriate_fallback.")
    compression: VulnerabilityCheck | None = Field(
        default=None, description="CRIME (CVE-2012-4929): the server accepts TLS-level "
        "DEFLATE compression.")
    ticketbleed: VulnerabilityCheck | None = Field(
        default=None, description="CVE-2016-9244: a ticket offered with a short session ID "
        "is answered with a 32-byte one (the rest is server memory).")
    zero_rtt: VulnerabilityCheck | None = Field(
        default=None, description="RFC 8446 8: the server accepts TLS 1.3 early data (a GET "
        "sent as 0-RTT on a resumed session), which an attacker can replay.")
