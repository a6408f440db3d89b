"""What every record shares: the strict base model, errors, findings, the target, stats."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from scanner.results.identity import TargetKey, target_key
from scanner.results.severity import Severity


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
    #: The server speaks the plaintext protocol but will not start TLS (no STARTTLS offered,
    #: an error answer to it, PostgreSQL's ``N`` to the SSLRequest).
    starttls_refused = "starttls_refused"
    #: The plaintext preamble before TLS got an answer that is not the protocol's.
    starttls_unexpected = "starttls_unexpected"
    internal_error = "internal_error"
    #: The HTTP proxy (--https-proxy) refused or failed the CONNECT tunnel.
    proxy_error = "proxy_error"


class ErrorInfo(Model):
    kind: ErrorKind
    detail: str
    alert: str | None = Field(
        default=None, description="TLS alert received from the server, when one ended it."
    )


class NotMeasured(StrEnum):
    """Why a facet's facts could not be measured."""

    #: The server turned the handshake down for want of a client certificate, and none was
    #: given (client_cert / --client-cert): the facts behind a completed handshake are unknown.
    client_certificate_required = "client_certificate_required"


def presented_field() -> bool | None:
    """The per-facet "which view" field: did these facts come from handshakes that presented
    the user's client certificate?"""
    return Field(
        default=None, description="true: the handshakes behind these facts presented your "
        "client certificate (client_cert); false: none was presented (none given, or the "
        "server did not ask); null: no handshake reached the server.")


def not_measured_field() -> NotMeasured | None:
    return Field(
        default=None, description="Set when these facts could not be measured, and why "
        "(client_certificate_required: the server requires a client certificate and none was "
        "given; set client_cert or --client-cert).")




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
    protocol: str = Field(
        default="tls", description="What was spoken before TLS on every connection: tls "
        "(nothing), postgres, mysql, ldap, smtp, imap, pop3, ftp or xmpp.")
    per_address: bool = Field(
        default=False, description="Scanned once per resolved address (--all-addresses): the "
        "address is part of the record's identity (resume, merge, diff).")

    def key(self) -> TargetKey:
        """The record's identity (``identity.target_key``)."""
        return target_key(self.host, self.port, self.sni,
                          self.address if self.per_address else None)


class Stats(Model):
    connections: int = Field(default=0, description="TCP connections made to the target.")
    handshakes_completed: int = 0
    raw_connections: int = Field(
        default=0, description="Of connections: raw ClientHello exchanges (no key exchange).")
