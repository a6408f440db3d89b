"""The enforcement facet: does the server verify the client certificates it asks for?"""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from scanner.results.common import Model
from scanner.results.handshake import HandshakeReport


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
    #: The protocol's own answer after TLS (PostgreSQL, MySQL, LDAP, SMTP targets).
    application = "application"
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
    """What the HTTP request got after the TLS layer accepted the connection."""

    request: str = Field(description="The method, path and Host, e.g. 'GET / (Host: a.example)'.")
    outcome: HttpOutcomeKind = Field(
        description="response: a status line came back; closed: the server closed the "
        "connection without one; no_response: nothing before the deadline; not_http: the "
        "answer was not HTTP; h2_only: the server speaks only HTTP/2 and no request was sent "
        "(older records: HTTP/2 listeners are now asked over HTTP/2)."
    )
    status: int | None = None
    reason: str | None = None
    received: str | None = Field(
        default=None, description="The first bytes of a non-HTTP answer (printable or hex)."
    )
    protocol: str | None = Field(
        default=None, description="What the request was sent as: HTTP/1.1, or HTTP/2 when "
        "ALPN selected h2.")
    server: str | None = Field(default=None, description="The response's Server header.")
    strict_transport_security: str | None = Field(
        default=None, description="The response's Strict-Transport-Security header.")
    location: str | None = Field(default=None, description="The response's Location header.")
    alert: str | None = Field(
        default=None, description="A TLS alert that ended the exchange after the request (e.g. "
        "certificate_required after a post-handshake CertificateRequest); outcome is then "
        "closed unless a status line came first.")


class ApplicationOutcomeKind(StrEnum):
    proceeds = "proceeds"
    certificate_rejected = "certificate_rejected"
    refused = "refused"
    closed = "closed"
    no_response = "no_response"
    not_protocol = "not_protocol"


class ApplicationOutcome(Model):
    """What a non-HTTP protocol answered to its harmless request after the TLS handshake."""

    protocol: str = Field(description="postgres, mysql, ldap or smtp.")
    request: str = Field(description="What was sent, e.g. a PostgreSQL StartupMessage for a "
                         "fixed user; never real credentials.")
    outcome: ApplicationOutcomeKind = Field(
        description="proceeds: it went on to authentication or a session; "
        "certificate_rejected: it refused, naming the client certificate; refused: it refused "
        "for another reason (quoted in received); closed: it closed without an answer; "
        "no_response: nothing before the deadline; not_protocol: the answer did not parse."
    )
    received: str | None = Field(default=None, description="What the server said, bounded.")


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
    application: ApplicationOutcome | None = Field(
        default=None, description="The protocol's own answer after TLS, for targets whose "
        "protocol is not tls (in place of the HTTP request)."
    )
    detail: str = Field(description="One line: what happened, in words.")
    handshake: HandshakeReport


class EnforcementVerdict(StrEnum):
    not_requested = "not_requested"
    optional_unverified = "optional_unverified"
    optional_verified = "optional_verified"
    required_at_tls = "required_at_tls"
    required_at_http = "required_at_http"
    #: TLS completes without a certificate; the protocol after it refuses, naming the certificate.
    required_at_application = "required_at_application"
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


# --- per path (inventory http_paths) ---


class CertificateAsked(StrEnum):
    """When and how the server asked for a client certificate on this connection."""

    handshake = "handshake"
    renegotiation = "renegotiation"
    post_handshake_auth = "post_handshake_auth"


class PathOutcome(StrEnum):
    response = "response"
    alert = "alert"
    closed = "closed"
    no_response = "no_response"
    not_http = "not_http"
    failed = "failed"
    #: Not sent: the handshake at this version already asked for a certificate, so the
    #: listener's own client_auth and enforcement results apply to every path.
    not_sent = "not_sent"


class PathAnswer(Model):
    """One connection: the request for the path, with one certificate (or none)."""

    certificate: CertificateKind
    version: str | None = Field(default=None, description="The TLS version negotiated.")
    asked: CertificateAsked | None = Field(
        default=None, description="When the server asked for a client certificate (null: never).")
    certificate_sent: bool | None = Field(
        default=None, description="Whether our answer to that request carried a certificate.")
    outcome: PathOutcome
    status: int | None = Field(default=None, description="The HTTP status, when one came back.")
    alert: str | None = Field(default=None, description="The TLS alert the server sent.")
    result: AttemptResult
    detail: str


class PathEnforcement(Model):
    """Does the server verify the certificate it asks for on this path?"""

    path: str
    request: str = Field(description="The request sent, e.g. 'HEAD /secure (Host: a.example)'.")
    version: str | None = Field(default=None,
                                description="The TLS version the attempts were made at.")
    asked: CertificateAsked | None = None
    verdict: EnforcementVerdict | None = None
    reason: str
    attempts: list[PathAnswer] = Field(default_factory=list)


class EnforcementFacet(Model):
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
    paths: list[PathEnforcement] | None = Field(
        default=None, description="Per inventory http_paths entry: the request for the path "
        "without a certificate, with an untrusted one and with yours.")
