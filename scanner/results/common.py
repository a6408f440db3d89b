"""What every record shares: the strict base model, errors, findings, the target, stats."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    """Strict base: unknown fields are an error, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ErrorKind(StrEnum):
    """Why a target (or one handshake) could not be scanned."""

    dns_failure = "dns_failure"
    connection_refused = "connection_refused"
    connection_reset = "connection_reset"
    network_unreachable = "network_unreachable"
    connect_timeout = "connect_timeout"
    timeout = "timeout"
    not_tls = "not_tls"
    handshake_failure = "handshake_failure"
    connection_closed = "connection_closed"
    #: A TLS record longer than any protocol version allows (RFC 8446 5.1, RFC 5246 6.2.3).
    record_overflow = "record_overflow"
    #: A handshake message from the server whose lengths or values do not decode.
    malformed_handshake = "malformed_handshake"
    #: A handshake message larger than the client accepts (e.g. a 200 KB Certificate).
    message_too_large = "message_too_large"
    #: A message the protocol does not allow at that point (wrong order, unsolicited).
    unexpected_message = "unexpected_message"
    #: Endless messages: HelloRequests, tickets, renegotiations, warning alerts.
    message_flood = "message_flood"
    #: The ServerHello selected a protocol version outside the offer.
    wrong_version = "wrong_version"
    protocol_error = "protocol_error"
    internal_error = "internal_error"


class ErrorInfo(Model):
    kind: ErrorKind
    detail: str
    alert: str | None = Field(
        default=None, description="TLS alert received from the server, when one ended it."
    )


class Severity(StrEnum):
    """How bad a finding is, from info (lowest) to critical."""

    # Ordered by ``rank``, not alphabetically: comparisons between severities (or with their
    # names) follow the rank, so ``max(severities)`` is the worst one.
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: str) -> bool:
        return self.rank < Severity(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Severity(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Severity(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Severity(other).rank


_SEVERITY_RANK: dict[Severity, int] = {severity: rank for rank, severity in enumerate(Severity)}


class Finding(Model):
    id: str = Field(description="Stable identifier, e.g. client_auth.ca_names_missing.")
    severity: Severity
    probe: str
    detail: str
    version: str | None = Field(
        default=None, description="Protocol version the finding is about, when it is about one."
    )
    references: list[str] = Field(
        default_factory=list, description="CVE, CWE and RFC identifiers behind the finding.")
    policy: str | None = Field(
        default=None, description="The policy that rules it out, when that is the reason "
        "(e.g. 'NIST SP 800-52r2 3.1', 'Mozilla intermediate').")
    evidence: list[str] = Field(
        default_factory=list, description="What was observed: the versions, suites, groups or "
        "answers the finding rests on.")


class TargetInfo(Model):
    host: str
    port: int
    sni: str | None
    name: str | None = None
    address: str | None = Field(default=None, description="The IP address actually connected to.")
    tags: dict[str, str] = Field(default_factory=dict)


class Stats(Model):
    connections: int = Field(default=0, description="TCP connections made to the target.")
    handshakes_completed: int = 0
    raw_connections: int = Field(
        default=0, description="Of connections: raw ClientHello exchanges (no key exchange).")
