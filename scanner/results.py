"""The result model: one record per target, its JSON encoding and its JSON Schema.

The JSON Schema that ``mtlsweep schema`` prints is generated from these models, so the
published contract cannot drift from what the scanner writes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Final = "mtlsweep/1"


class Model(BaseModel):
    """Strict base: unknown fields are an error, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class ErrorKind(StrEnum):
    """Why a target (or one handshake) could not be scanned."""

    invalid_target = "invalid_target"
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
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Finding(Model):
    id: str = Field(description="Stable identifier, e.g. client_auth.ca_names_missing.")
    severity: Severity
    probe: str
    detail: str
    version: str | None = Field(
        default=None, description="Protocol version the finding is about, when it is about one."
    )


class TargetInfo(Model):
    host: str
    port: int
    sni: str | None
    name: str | None = None
    address: str | None = Field(default=None, description="The IP address actually connected to.")
    tags: dict[str, str] = Field(default_factory=dict)


class Offer(Model):
    """What the client offered in one handshake, recorded so every result is reproducible."""

    min_version: str
    max_version: str
    cipher_list: str
    tls13_ciphersuites: str | None = None
    alpn: list[str] = Field(default_factory=list)
    sni: str | None = None
    client_certificate: str | None = Field(
        default=None, description="Subject of the certificate presented, if any."
    )


class TranscriptEntry(Model):
    direction: Literal["sent", "received"]
    type: str = Field(description="Handshake message or alert name, e.g. certificate_request.")
    length: int
    after_handshake: bool = False
    parse_error: str | None = None


class HandshakeReport(Model):
    """One TLS handshake as it happened on the wire."""

    offer: Offer
    completed: bool
    version: str | None = None
    cipher: str | None = None
    group: str | None = None
    alpn: str | None = None
    alert_received: str | None = None
    alert_received_after_handshake: bool = False
    alert_sent: str | None = None
    error: ErrorInfo | None = None
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    transcript_truncated: bool = Field(
        default=False, description="The server sent more than the capture keeps (1 MiB or "
        "256 messages per connection); later messages are missing from the transcript.")
    duration_ms: int


class DistinguishedNameOut(Model):
    rfc4514: str
    der_b64: str


class OidFilterOut(Model):
    oid: str
    values_b64: str


class CertificateRequestOut(Model):
    """The server's CertificateRequest as parsed from the handshake."""

    sent: bool
    ca_names_sent: bool | None = Field(
        default=None,
        description="True when the request lists at least one CA name. In TLS 1.3 false both "
        "when certificate_authorities is absent and when it is empty.",
    )
    certificate_authorities_extension: bool | None = Field(
        default=None, description="TLS 1.3 only: whether extension 47 was present at all."
    )
    ca_names: list[DistinguishedNameOut] = Field(default_factory=list)
    signature_algorithms: list[str] | None = None
    signature_algorithms_cert: list[str] | None = None
    certificate_types: list[str] | None = None
    oid_filters: list[OidFilterOut] | None = None
    parse_error: str | None = Field(
        default=None, description="Why the CertificateRequest could not be decoded, if so."
    )


class ClientAuthClass(StrEnum):
    none = "none"
    optional = "optional"
    required = "required"


class WithoutCertificateOutcome(StrEnum):
    completed = "completed"
    rejected_in_handshake = "rejected_in_handshake"
    rejected_after_handshake = "rejected_after_handshake"


class WithoutCertificate(Model):
    outcome: WithoutCertificateOutcome
    alert: str | None = None
    classification: ClientAuthClass


class ClientAuthVersion(Model):
    """Client-auth facts for one protocol version."""

    version: str
    supported: bool = Field(description="Whether the server negotiated this version at all.")
    certificate_request: CertificateRequestOut | None = None
    without_certificate: WithoutCertificate | None = None
    handshake: HandshakeReport


class ClientAuthResult(Model):
    requested: bool | None = Field(
        default=None, description="A CertificateRequest was seen at any version."
    )
    classification: ClientAuthClass | None = Field(
        default=None, description="At the highest version the server supports."
    )
    consistent_across_versions: bool | None = None
    tls1_3: ClientAuthVersion | None = None
    tls1_2: ClientAuthVersion | None = None


class Stats(Model):
    connections: int = 0
    handshakes_completed: int = 0


class Record(Model):
    """Everything learned about one target."""

    schema_: Literal["mtlsweep/1"] = Field(default=SCHEMA_VERSION, alias="schema")
    target: TargetInfo
    status: Literal["ok", "partial", "error"] = Field(
        description="ok: every probe ran; partial: some probe failed (see probe_errors); "
        "error: the target could not be scanned at all (see error)."
    )
    error: ErrorInfo | None = None
    probe_errors: dict[str, ErrorInfo] = Field(default_factory=dict)
    started_at: datetime
    duration_ms: int
    probes: list[str]
    client_auth: ClientAuthResult | None = None
    findings: list[Finding] = Field(default_factory=list)
    stats: Stats = Field(default_factory=Stats)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def record_json_schema() -> dict[str, object]:
    """The JSON Schema of one record, as published by ``mtlsweep schema``."""
    schema = Record.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/mtlsweep/mtlsweep/schema/record-1.json"
    return schema
