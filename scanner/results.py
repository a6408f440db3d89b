"""The result model: one record per target, its JSON encoding and its JSON Schema.

The JSON Schema that ``mtlsweep schema`` prints is generated from these models, so the
published contract cannot drift from what the scanner writes.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator
from datetime import datetime
from enum import StrEnum
from typing import Final, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel

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
    protocols: ProtocolsResult | None = None
    cipher_suites: CipherSuitesResult | None = None
    groups: GroupsResult | None = None
    alpn_support: AlpnSupportResult | None = None
    npn: NpnResult | None = None
    extensions: ExtensionsResult | None = None
    engine_agreement: EngineAgreementResult | None = None
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
