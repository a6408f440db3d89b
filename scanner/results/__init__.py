"""The result model: one record per target, its JSON encoding and its JSON Schema.

The JSON Schema that ``mtlsweep schema`` prints is generated from these models, so the
published contract cannot drift from what the scanner writes.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator
from datetime import datetime
from enum import StrEnum
from typing import Final, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel

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
class CertificateOut(Model):
    """One X.509 certificate as the server sent it."""

    subject: str = Field(description="RFC 4514 string.")
    issuer: str = Field(description="RFC 4514 string.")
    serial: str = Field(description="Serial number in lowercase hex (no 0x, no colons).")
    subject_alt_names: list[str] = Field(
        default_factory=list,
        description="Typed entries: DNS:name, IP:address, URI:uri, email:address, DirName:dn.")
    not_before: datetime
    not_after: datetime
    days_left: int = Field(
        description="Whole days from the scan until not_after (negative once expired).")
    key_type: str = Field(description="RSA, EC, Ed25519, Ed448 or DSA.")
    key_size: int = Field(description="Bits: RSA/DSA modulus, EC curve size.")
    curve: str | None = Field(default=None, description="EC curve name, e.g. secp256r1.")
    signature_algorithm: str = Field(description="E.g. ecdsa-with-SHA256, sha256WithRSAEncryption.")
    sha256: str = Field(description="SHA-256 fingerprint of the DER, lowercase hex.")
    must_staple: bool = Field(
        description="Carries the TLS Feature extension with status_request (RFC 7633).")
    is_ca: bool
    self_signed: bool


class UnparsedCertificate(Model):
    index: int = Field(description="Position in the chain as sent (0 = leaf).")
    sha256: str
    error: str


class ChainOrder(Model):
    correct: bool = Field(description="Each certificate is issued by the next one sent.")
    issues: list[str] = Field(default_factory=list)
    includes_root: bool = Field(description="The last certificate sent is self-signed.")


class ValidationErrorKind(StrEnum):
    expired = "expired"
    not_yet_valid = "not_yet_valid"
    self_signed = "self_signed"
    untrusted_root = "untrusted_root"
    unknown_issuer = "unknown_issuer"
    invalid = "invalid"
    no_trust_anchors = "no_trust_anchors"


class ValidationOut(Model):
    """Path validation (RFC 5280 / CA/Browser Forum rules, as cryptography implements them)."""

    trusted: bool
    trust_store: str = Field(description="system (<file>) or the --ca-bundle / ca_bundle path.")
    error_kind: ValidationErrorKind | None = None
    error: str | None = None
    path: list[str] = Field(
        default_factory=list, description="Subjects from the leaf to the trust anchor, if trusted.")


class CertificateChainOut(Model):
    """One certificate chain the server sends; one entry per distinct leaf."""

    found_by: list[str] = Field(
        description="Lookups that got this leaf: default, ecdsa, rsa (see lookups).")
    version: str | None = Field(default=None, description="TLS version of the first such lookup.")
    sent: int = Field(description="Certificates the server sent in this chain.")
    certificates: list[CertificateOut] = Field(
        description="As sent, leaf first; at most the first 10 are examined.")
    unparsed: list[UnparsedCertificate] = Field(default_factory=list)
    order: ChainOrder
    validation: ValidationOut
    hostname: str = Field(description="The name checked: the SNI, or the host when no SNI.")
    hostname_matches: bool = Field(
        description="RFC 6125 against subjectAltName only (the CN is not used).")


class CertificateLookup(Model):
    """One handshake made to find the server's certificates."""

    name: Literal["default", "ecdsa", "rsa"]
    signature_algorithms: str | None = Field(
        default=None, description="OpenSSL sigalgs list offered; null: OpenSSL's default.")
    leaf_sha256: str | None = None
    handshake: HandshakeReport


class CertificateResult(Model):
    trusted: bool | None = Field(default=None, description="Every chain found validates.")
    hostname_matches: bool | None = Field(default=None, description="Every leaf matches.")
    days_left: int | None = Field(default=None, description="Fewest days left of any leaf.")
    chains: list[CertificateChainOut] = Field(default_factory=list)
    lookups: list[CertificateLookup] = Field(default_factory=list)


class OcspCertStatus(StrEnum):
    good = "good"
    revoked = "revoked"
    unknown = "unknown"


class OcspSignatureOut(Model):
    valid: bool | None = Field(
        description="true: signed by the issuer or an authorised delegate; null: not checkable "
        "(issuer certificate unavailable or algorithm unsupported).")
    signer: Literal["issuer", "delegated_responder"] | None = None
    responder_certificate: str | None = Field(
        default=None, description="Subject of the delegated responder certificate used.")
    issuer_source: Literal["chain", "trust_store"] | None = Field(
        default=None, description="Where the leaf's issuer certificate was found.")
    error: str | None = None


class OcspResponseOut(Model):
    """A stapled OCSP response (RFC 6960), parsed with cryptography."""

    size: int = Field(description="Bytes of the DER OCSPResponse.")
    parse_error: str | None = Field(
        default=None, description="Why the response could not be decoded; other fields are null.")
    response_status: str | None = Field(
        default=None, description="successful, malformed_request, internal_error, try_later, "
        "sig_required or unauthorized.")
    certificate_status: OcspCertStatus | None = None
    revocation_time: datetime | None = None
    revocation_reason: str | None = Field(
        default=None, description="CRL reason, e.g. key_compromise; null when not given.")
    produced_at: datetime | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    hours_left: int | None = Field(
        default=None, description="Whole hours from the scan until next_update (negative: stale).")
    responder_name: str | None = None
    responder_key_hash: str | None = Field(default=None, description="SHA-1, lowercase hex.")
    hash_algorithm: str | None = Field(default=None, description="Of the CertID, e.g. sha1.")
    serial: str | None = Field(default=None, description="Serial the response covers (hex).")
    serial_matches_leaf: bool | None = None
    issuer_matches_leaf: bool | None = Field(
        default=None, description="issuerNameHash and issuerKeyHash match the leaf's issuer; "
        "null when only the name hash could be checked (issuer certificate unavailable).")
    signature: OcspSignatureOut | None = None


class OcspVersion(Model):
    """The staple requested (status_request) at one protocol version."""

    version: str
    supported: bool = Field(description="Whether the server negotiated this version at all.")
    stapled: bool | None = Field(
        default=None, description="A CertificateStatus (TLS 1.2) or a status_request in the "
        "leaf's CertificateEntry (TLS 1.3) was sent.")
    leaf_subject: str | None = None
    leaf_serial: str | None = None
    must_staple: bool | None = None
    response: OcspResponseOut | None = None
    handshake: HandshakeReport


class OcspResult(Model):
    stapled: bool | None = Field(
        default=None, description="A response was stapled at some version.")
    must_staple: bool | None = Field(
        default=None, description="The leaf carries the TLS Feature status_request extension.")
    certificate_status: OcspCertStatus | None = Field(
        default=None, description="From the staple at the highest version that has one.")
    tls1_3: OcspVersion | None = None
    tls1_2: OcspVersion | None = None
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


# --- enumeration facets (raw ClientHello engine) -------------------------------------

ProtocolLabel = Literal["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
PROTOCOL_LABELS: tuple[ProtocolLabel, ...] = (
    "SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")

_V = TypeVar("_V", bound=BaseModel)


class ByProtocol(RootModel[dict[ProtocolLabel, _V]], Generic[_V]):
    """A JSON object keyed by protocol version ("SSLv2" ... "TLSv1.3")."""

    def __getitem__(self, label: ProtocolLabel) -> _V:
        return self.root[label]

    def __contains__(self, label: object) -> bool:
        return label in self.root

    def __iter__(self) -> Iterator[ProtocolLabel]:  # type: ignore[override]
        return iter(self.root)

    def get(self, label: ProtocolLabel) -> _V | None:
        return self.root.get(label)

    def items(self) -> ItemsView[ProtocolLabel, _V]:
        return self.root.items()


class ProtocolSupport(Model):
    accepted: bool | None = Field(
        description="The server negotiated this version when offered only it; null when no "
        "answer could be had (see error)."
    )
    refusal: str | None = Field(
        default=None,
        description="How the server refused: an alert name (protocol_version, "
        "handshake_failure...), 'closed', 'reset', 'timeout', 'downgraded to TLSv1.0' (it "
        "answered with a lower version), 'malformed: ...'.",
    )
    error: str | None = Field(default=None, description="Why the version could not be tested.")
    notes: list[str] = Field(default_factory=list)


class ProtocolsResult(ByProtocol[ProtocolSupport]):
    """Every version SSLv2 ... TLS 1.3, each tested with a hello offering only that version."""


class CipherSuiteOut(Model):
    code: str = Field(description="IANA code point, e.g. 0xC02B (SSLv2: 3-byte 0x0700C0).")
    iana: str | None = Field(description="IANA registry name (SSLv2: the SSL 2.0 CIPHER-KIND "
                             "name).")
    openssl: str | None = Field(description="OpenSSL's name, when OpenSSL ever had one.")


SuiteOrder = Literal["server", "client", "indeterminate"]


class VersionCipherSuites(Model):
    suites: list[CipherSuiteOut] = Field(
        description="Accepted suites. With order=server: the server's preference order; "
        "otherwise by code point."
    )
    order: SuiteOrder = Field(
        description="server: the server picks by its own preference; client: it honours the "
        "client's order; indeterminate: one suite, or the evidence was contradictory."
    )
    complete: bool = Field(description="False when the enumeration stopped early (see notes).")
    offered: int = Field(description="How many candidate suites were offered for this version.")
    hello_split: bool = Field(
        default=False,
        description="The server refused one large ClientHello, so candidates were offered in "
        "chunks of 64.",
    )
    connections: int = Field(description="Connections this enumeration used.")
    notes: list[str] = Field(default_factory=list)


class CipherSuitesResult(ByProtocol[VersionCipherSuites]):
    """Accepted cipher suites per accepted protocol version."""


class GroupOut(Model):
    code: str = Field(description="IANA NamedGroup code point, e.g. 0x11EC.")
    name: str
    via: Literal["server_hello", "hello_retry_request", "server_key_exchange"] = Field(
        description="Proof of support: a ServerHello key_share, a HelloRetryRequest asking "
        "for it, or the curve named in a TLS 1.2 ServerKeyExchange."
    )


class VersionGroups(Model):
    groups: list[GroupOut] = Field(
        description="Supported groups in the order the server selected them (TLS 1.3: each "
        "hello carries one key share, x25519 while it is left, as browsers do)."
    )
    complete: bool
    offered: int
    connections: int
    notes: list[str] = Field(default_factory=list)


class GroupsResult(ByProtocol[VersionGroups]):
    """Key-exchange groups for TLS 1.3 and for the highest version below it the server
    accepts (ECDHE curves, from ServerKeyExchange)."""


class AlpnSupportResult(Model):
    version: str | None = Field(description="Protocol version the probe ran at.")
    engine: Literal["raw", "openssl"] | None = Field(
        default=None, description="raw ClientHellos (ALPN is in the TLS <= 1.2 ServerHello); "
        "openssl full handshakes for TLS 1.3-only servers (ALPN is encrypted there).")
    supported: list[str] = Field(
        default_factory=list, description="Protocols the server selected, in selection order.")
    offered: list[str] = Field(default_factory=list)
    without_match: str | None = Field(
        default=None, description="What the server did once no offered protocol was left: "
        "'ignored' (no ALPN in its hello) or an alert name (no_application_protocol).")
    complete: bool = True
    connections: int = 0
    notes: list[str] = Field(default_factory=list)


class NpnResult(Model):
    version: str | None = Field(description="Protocol version of the ServerHello read.")
    advertised: bool | None = Field(
        description="The server answered the NPN extension (null: no TLS <= 1.2 version).")
    protocols: list[str] = Field(default_factory=list)


class ExtensionsResult(Model):
    """Which extensions a TLS <= 1.2 ServerHello echoes when the client offers them all."""

    version: str | None = Field(description="Protocol version of the ServerHello read.")
    secure_renegotiation: bool | None = Field(
        default=None, description="renegotiation_info echoed (RFC 5746).")
    extended_master_secret: bool | None = Field(default=None, description="RFC 7627.")
    encrypt_then_mac: bool | None = Field(
        default=None, description="RFC 7366; only meaningful with a CBC suite (null when the "
        "server accepts none).")
    session_ticket: bool | None = Field(
        default=None, description="session_ticket echoed: the server will issue a ticket.")
    status_request: bool | None = Field(
        default=None, description="status_request echoed: the server staples an OCSP response.")
    ec_point_formats: list[str] | None = None
    echoed: list[str] = Field(default_factory=list,
                              description="Every extension in the ServerHello, in order.")
    unsolicited: list[str] = Field(
        default_factory=list, description="Extensions the server sent without being offered "
        "them (a protocol violation).")


class AgreementCheck(Model):
    fact: Literal["version", "cipher_suite", "alpn", "secure_renegotiation", "session_ticket"]
    version: str | None = None
    raw: str | None = Field(description="What the raw ClientHello engine saw.")
    openssl: str | None = Field(description="What a full OpenSSL handshake saw.")
    agree: bool
    detail: str | None = None


class EngineAgreementResult(Model):
    """Facts both engines can see, compared; a disagreement is also a finding."""

    checks: list[AgreementCheck] = Field(default_factory=list)
    disagreements: int = 0


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
    connections: int = Field(default=0, description="TCP connections made to the target.")
    handshakes_completed: int = 0
    raw_connections: int = Field(
        default=0, description="Of connections: raw ClientHello exchanges (no key exchange).")


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
    protocols: ProtocolsResult | None = None
    cipher_suites: CipherSuitesResult | None = None
    groups: GroupsResult | None = None
    certificate: CertificateResult | None = None
    ocsp: OcspResult | None = None
    renegotiation: RenegotiationResult | None = None
    resumption: ResumptionResult | None = None
    alpn: AlpnResult | None = None
    alpn_support: AlpnSupportResult | None = None
    npn: NpnResult | None = None
    extensions: ExtensionsResult | None = None
    engine_agreement: EngineAgreementResult | None = None
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
