"""Session facts of TLS 1.2 and 1.3: the renegotiation and resumption facets."""

from enum import StrEnum
from typing import Literal

from pydantic import Field

from scanner.results.common import (
    ErrorInfo,
    Model,
    NotMeasured,
    not_measured_field,
    presented_field,
)
from scanner.results.handshake import HandshakeReport
from scanner.results.versions import FieldPerVersion


class RenegotiationStatus(StrEnum):
    tested = "tested"
    not_applicable = "not_applicable"
    failed = "failed"
    not_measured = "not_measured"  # see not_measured: e.g. a client certificate is required


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


class RenegotiationFacet(Model):
    """Renegotiation in TLS 1.2 and below (TLS 1.3 has none)."""

    status: RenegotiationStatus = Field(
        description="tested; not_applicable: the server refused TLS 1.2 and below; failed: "
        "the TLS 1.2-or-below handshake did not complete (see detail); not_measured: it was "
        "turned down for a reason not_measured names (a client certificate is required)."
    )
    detail: str | None = None
    version: str | None = Field(default=None, description="Version negotiated for the test.")
    secure_renegotiation: bool | None = Field(
        default=None,
        description="The ServerHello carried renegotiation_info (RFC 5746 secure renegotiation).",
    )
    client_initiated: ClientRenegotiation | None = None
    client_certificate_presented: bool | None = presented_field()
    not_measured: NotMeasured | None = not_measured_field()
    handshake: HandshakeReport | None = Field(
        default=None, description="The connection, both handshakes included in the transcript."
    )


class Ticket(Model):
    lifetime_s: int = Field(description="TLS 1.2 ticket_lifetime_hint / TLS 1.3 ticket_lifetime.")
    ticket_length: int
    max_early_data: int | None = Field(
        default=None, description="TLS 1.3 early_data extension: max_early_data_size in bytes."
    )


class ResumptionAtTls12(Model):
    version: Literal["TLSv1.2"] = "TLSv1.2"
    supported: bool = Field(description="Whether the server negotiated TLS 1.2 at all.")
    ticket_issued: bool | None = Field(
        default=None, description="A NewSessionTicket with a non-empty ticket was received."
    )
    ticket: Ticket | None = None
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
    client_certificate_presented: bool | None = presented_field()
    not_measured: NotMeasured | None = not_measured_field()


class ResumptionAtTls13(Model):
    version: Literal["TLSv1.3"] = "TLSv1.3"
    supported: bool = Field(description="Whether the server negotiated TLS 1.3 at all.")
    tickets_issued: int | None = Field(
        default=None, description="NewSessionTicket messages received within the wait."
    )
    wait_ms: int | None = Field(
        default=None, description="How long we read after the handshake to collect tickets."
    )
    tickets: list[Ticket] = Field(default_factory=list)
    resumed_with_psk: bool | None = Field(
        default=None, description="PSK resumption with the last ticket worked; null if not tried."
    )
    errors: list[ErrorInfo] = Field(default_factory=list)
    handshake: HandshakeReport | None = None
    client_certificate_presented: bool | None = presented_field()
    not_measured: NotMeasured | None = not_measured_field()


class ResumptionFacet(Model, FieldPerVersion[ResumptionAtTls12 | ResumptionAtTls13]):
    tls1_2: ResumptionAtTls12
    tls1_3: ResumptionAtTls13
