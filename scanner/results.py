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


class CertificateKind(StrEnum):
    """Which certificate an enforcement attempt presented."""

    none = "none"
    self_signed = "self_signed"
    untrusted_ca = "untrusted_ca"
    lookalike_ca = "lookalike_ca"
    user_certificate = "user_certificate"
    user_ca_issued = "user_ca_issued"
    expired = "expired"


class PresentedCertificate(Model):
    """The certificate an attempt offered; generated ones exist in memory only."""

    subject: str
    issuer: str
    sha256: str = Field(description="SHA-256 fingerprint of the DER certificate, hex.")
    not_before: datetime
    not_after: datetime
    generated: bool = Field(description="Made by the scanner for this probe (not the user's).")


class AttemptStage(StrEnum):
    """Where an attempt ended."""

    tls_handshake = "tls_handshake"
    after_handshake = "after_handshake"
    http = "http"
    tls_only = "tls_only"
    inconclusive = "inconclusive"


class AttemptResult(StrEnum):
    accepted = "accepted"
    rejected = "rejected"
    inconclusive = "inconclusive"


class HttpOutcomeKind(StrEnum):
    response = "response"
    closed = "closed"
    no_response = "no_response"
    not_http = "not_http"
    h2_only = "h2_only"


class HttpOutcome(Model):
    """What the HTTP/1.1 HEAD request got after the TLS layer accepted the connection."""

    request: str = Field(description="The request line and Host, e.g. 'HEAD / (Host: a.example)'.")
    outcome: HttpOutcomeKind = Field(
        description="response: a status line came back; closed: the server closed the "
        "connection without one; no_response: nothing before the deadline; not_http: the "
        "answer was not HTTP/1.x; h2_only: the server speaks only HTTP/2, no request was sent."
    )
    status: int | None = None
    reason: str | None = None
    received: str | None = Field(
        default=None, description="The first bytes of a non-HTTP answer (printable or hex)."
    )


class EnforcementAttempt(Model):
    """One handshake with one certificate (or none), and where it ended."""

    certificate: CertificateKind
    presented: PresentedCertificate | None = None
    certificate_sent: bool | None = Field(
        default=None, description="Whether our Certificate message carried the certificate "
        "(false when the server sent no CertificateRequest or the TLS library found the "
        "certificate unfit for the server's signature algorithms)."
    )
    result: AttemptResult
    ended: AttemptStage
    alert: str | None = Field(default=None, description="The TLS alert that rejected it.")
    http: HttpOutcome | None = None
    detail: str = Field(description="One line: what happened, in words.")
    handshake: HandshakeReport


class EnforcementVerdict(StrEnum):
    not_requested = "not_requested"
    optional_unverified = "optional_unverified"
    optional_verified = "optional_verified"
    required_at_tls = "required_at_tls"
    required_at_http = "required_at_http"
    accepts_untrusted = "accepts_untrusted"


class AwsAlbInference(Model):
    """The AWS ALB mutual-TLS listener settings that would behave like this endpoint."""

    fits: bool = Field(description="Whether the behaviour matches one of the ALB modes at all.")
    mode: Literal["off", "passthrough", "verify"] | None = None
    advertise_ca_names: Literal["on", "off"] | None = Field(
        default=None, description="AdvertiseTrustStoreCaNames; verify mode only."
    )
    ignore_client_certificate_expiry: Literal["on", "off"] | None = Field(
        default=None, description="IgnoreClientCertificateExpiry; null unless testable "
        "(verify mode, client_ca_cert and client_ca_key given, a trusted certificate accepted)."
    )
    evidence: list[str] = Field(default_factory=list,
                                description="The observations each conclusion rests on.")


class EnforcementResult(Model):
    """Does the server verify the client certificates it asks for, and where does it enforce?"""

    verdict: EnforcementVerdict | None = Field(
        default=None, description="null when the attempts could not decide (see reason)."
    )
    reason: str = Field(description="Why this verdict, citing the attempts.")
    version: str | None = Field(default=None, description="The TLS version negotiated.")
    ca_names_sent: bool | None = None
    http_baseline: int | None = Field(
        default=None, description="HTTP status a trusted certificate got (yours, or one issued "
        "by your CA); other statuses are judged against it."
    )
    attempts: list[EnforcementAttempt] = Field(default_factory=list)
    skipped: dict[str, str] = Field(
        default_factory=dict, description="Attempts not made, by certificate kind, and why."
    )
    aws_alb: AwsAlbInference | None = None


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
    enforcement: EnforcementResult | None = None
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
