"""The result model: one record per target, its JSON encoding and its JSON Schema.

The JSON Schema that ``mtlsweep schema`` prints is generated from these models, so the
published contract cannot drift from what the scanner writes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

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


class RenegotiationStatus(StrEnum):
    tested = "tested"
    not_applicable = "not_applicable"
    failed = "failed"


class RenegotiationOutcome(StrEnum):
    """What the server did with our client-initiated renegotiation."""

    accepted = "accepted"
    refused_warning = "refused_warning"
    refused_fatal = "refused_fatal"
    closed = "closed"
    no_response = "no_response"
    error = "error"


class ClientRenegotiation(Model):
    outcome: RenegotiationOutcome = Field(
        description="accepted: a second handshake completed; refused_warning: a warning "
        "no_renegotiation alert; refused_fatal: a fatal alert (see alert); closed: the "
        "connection was closed or reset; no_response: nothing before the deadline; error: "
        "anything else (see detail)."
    )
    alert: str | None = Field(default=None, description="The alert the server answered with.")
    certificate_requested: bool = Field(
        default=False,
        description="The server sent a CertificateRequest in the second handshake (servers "
        "that ask for a client certificate per resource do it this way).",
    )
    detail: str


class RenegotiationResult(Model):
    """Renegotiation in TLS 1.2 and below (TLS 1.3 has none)."""

    status: RenegotiationStatus = Field(
        description="tested; not_applicable: the server refused TLS 1.2 and below; failed: "
        "the TLS 1.2-or-below handshake did not complete (see detail)."
    )
    detail: str | None = None
    version: str | None = Field(default=None, description="Version negotiated for the test.")
    secure_renegotiation: bool | None = Field(
        default=None,
        description="The ServerHello carried renegotiation_info (RFC 5746 secure renegotiation).",
    )
    client_initiated: ClientRenegotiation | None = None
    handshake: HandshakeReport | None = Field(
        default=None, description="The connection, both handshakes included in the transcript."
    )


class TicketOut(Model):
    lifetime_s: int = Field(description="TLS 1.2 ticket_lifetime_hint / TLS 1.3 ticket_lifetime.")
    ticket_length: int
    max_early_data: int | None = Field(
        default=None, description="TLS 1.3 early_data extension: max_early_data_size in bytes."
    )


class Tls12Resumption(Model):
    version: Literal["TLSv1.2"] = "TLSv1.2"
    supported: bool = Field(description="Whether the server negotiated TLS 1.2 at all.")
    ticket_issued: bool | None = Field(
        default=None, description="A NewSessionTicket with a non-empty ticket was received."
    )
    ticket: TicketOut | None = None
    resumed_with_ticket: bool | None = Field(
        default=None, description="Resumption offering the ticket worked; null if not tried."
    )
    session_id_issued: bool | None = Field(
        default=None, description="With tickets disabled on our side, the ServerHello carried "
        "a session ID."
    )
    resumed_with_session_id: bool | None = Field(
        default=None, description="Resumption by session ID (tickets disabled) worked; null if "
        "not tried."
    )
    errors: list[ErrorInfo] = Field(
        default_factory=list, description="Connections that failed, making a fact unknown."
    )
    handshake: HandshakeReport | None = Field(
        default=None, description="The full handshake that received the ticket."
    )


class Tls13Resumption(Model):
    version: Literal["TLSv1.3"] = "TLSv1.3"
    supported: bool = Field(description="Whether the server negotiated TLS 1.3 at all.")
    tickets_issued: int | None = Field(
        default=None, description="NewSessionTicket messages received within the wait."
    )
    wait_ms: int | None = Field(
        default=None, description="How long we read after the handshake to collect tickets."
    )
    tickets: list[TicketOut] = Field(default_factory=list)
    resumed_with_psk: bool | None = Field(
        default=None, description="PSK resumption with the last ticket worked; null if not tried."
    )
    errors: list[ErrorInfo] = Field(default_factory=list)
    handshake: HandshakeReport | None = None


class ResumptionResult(Model):
    tls1_2: Tls12Resumption
    tls1_3: Tls13Resumption


class AlpnOutcome(StrEnum):
    selected = "selected"
    no_protocol = "no_protocol"
    selected_unoffered = "selected_unoffered"
    rejected = "rejected"
    closed = "closed"
    error = "error"


class AlpnAttempt(Model):
    offer: list[str] = Field(description="Protocols offered, in order; empty: no ALPN extension.")
    outcome: AlpnOutcome = Field(
        description="selected; no_protocol: the server answered without ALPN; "
        "selected_unoffered: the server picked a protocol we did not offer; rejected: an alert "
        "before the ServerHello; closed: closed before the ServerHello; error: see detail."
    )
    selected: str | None = None
    alert: str | None = None
    detail: str | None = None


class AlpnNoOverlapBehaviour(StrEnum):
    ignored = "ignored"
    rejected = "rejected"
    closed = "closed"
    selected_unoffered = "selected_unoffered"


class AlpnNoOverlap(Model):
    behaviour: AlpnNoOverlapBehaviour = Field(
        description="ignored: the handshake goes on without ALPN; rejected: an alert (RFC 7301 "
        "wants a fatal no_application_protocol); closed: the connection is dropped."
    )
    alert: str | None = None
    offer: list[str] = Field(description="The offer that showed it.")


class AlpnVersion(Model):
    version: str
    supported: bool = Field(description="Whether the server negotiated this version at all.")
    selected_for: dict[str, str | None] = Field(
        default_factory=dict,
        description="Protocol selected per standard offer ('h2,http/1.1', 'h2', 'http/1.1', "
        "'no_alpn'); null when none was.",
    )
    supported_protocols: list[str] = Field(
        default_factory=list, description="Protocols the server selected when offered."
    )
    unsupported_protocols: list[str] = Field(
        default_factory=list, description="Protocols offered and never selected."
    )
    complete: bool = Field(
        default=False, description="Every protocol of the list was tested (no failed attempt)."
    )
    no_overlap: AlpnNoOverlap | None = None
    attempts: list[AlpnAttempt] = Field(default_factory=list)


class AlpnResult(Model):
    supported: list[str] | None = Field(
        default=None, description="At the highest version the server supports."
    )
    selected_for: dict[str, str | None] | None = Field(
        default=None, description="At the highest version the server supports."
    )
    no_overlap: AlpnNoOverlap | None = Field(
        default=None, description="At the highest version the server supports."
    )
    consistent_across_versions: bool | None = None
    tls1_3: AlpnVersion
    tls1_2: AlpnVersion


class SuiteOut(Model):
    code: str = Field(description="Code point, e.g. 0xC02B.")
    iana: str | None = None
    openssl: str | None = None


class PolicyDifferencesOut(Model):
    """How the endpoint differs from one catalog policy (empty lists: it matches)."""

    versions_missing: list[str] = Field(
        default_factory=list, description="In the policy, refused by the endpoint.")
    versions_extra: list[str] = Field(
        default_factory=list, description="Accepted by the endpoint, not in the policy.")
    suites_missing: dict[str, list[SuiteOut]] = Field(
        default_factory=dict, description="Per version: in the policy (for the endpoint's "
        "certificate type), not accepted.")
    suites_extra: dict[str, list[SuiteOut]] = Field(
        default_factory=dict, description="Per version: accepted, not in the policy.")
    groups_unexpected: list[str] = Field(
        default_factory=list, description="Key-exchange groups accepted that the policy lacks.")
    groups_missing: list[str] = Field(
        default_factory=list, description="Groups of the policy that the endpoint refused.")


class OrderDifferenceOut(Model):
    policy: list[str] = Field(description="Shared suites in the policy's documented order.")
    observed: list[str] = Field(description="The same suites in the server's order.")


class PolicyCandidateOut(Model):
    id: str
    name: str
    provider: str
    confidence: str | None = None
    distance: int = Field(description="Differing (version, suite) pairs plus differing groups; "
                          "0 is an exact match.")
    differences: PolicyDifferencesOut
    order_differences: dict[str, OrderDifferenceOut] = Field(
        default_factory=dict,
        description="Versions where the server's order differs from the documented one.")


class PolicyIdentificationOut(Model):
    """Which catalog policies the enumerated protocols and suites match."""

    key_types: list[str] = Field(description="Certificate key types suites were filtered by.")
    key_types_source: Literal["certificate", "accepted suites", "unknown"]
    matches: list[PolicyCandidateOut] = Field(
        description="Exact matches; several means look-alikes nothing observed separates.")
    ambiguous: bool
    excluded_by_groups: list[PolicyCandidateOut] = Field(
        default_factory=list,
        description="Same protocols and suites, but the observed key-exchange groups "
        "contradict the policy (e.g. a PQ variant).")
    nearest: list[PolicyCandidateOut] = Field(
        default_factory=list, description="With no exact match: the closest policies.")
    notes: list[str] = Field(default_factory=list)


class ExpectationStatus(StrEnum):
    met = "met"
    failed = "failed"
    not_evaluated = "not_evaluated"


class ExpectationResult(Model):
    """One inventory expectation checked against this record."""

    name: str = Field(description="e.g. client_auth, ca_names, certificate.min_days_left.")
    status: ExpectationStatus
    severity: Severity = Field(description="Severity of the finding when it failed.")
    expected: JsonValue
    observed: JsonValue = None
    detail: str = Field(description="What was seen, or why it could not be evaluated.")


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
    renegotiation: RenegotiationResult | None = None
    resumption: ResumptionResult | None = None
    alpn: AlpnResult | None = None
    policy: PolicyIdentificationOut | None = Field(
        default=None, description="Named-policy identification; present when the record has "
        "enumerated protocol versions and cipher suites.")
    expectations: list[ExpectationResult] = Field(
        default_factory=list, description="The inventory's expectations for this target.")
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
