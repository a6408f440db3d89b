"""The alpn facet: which application protocols the server selects, per version."""

from enum import StrEnum

from pydantic import Field

from scanner.results.common import Model, presented_field
from scanner.results.versions import FieldPerVersion


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


class AlpnAtVersion(Model):
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
    client_certificate_presented: bool | None = presented_field()


class AlpnFacet(Model, FieldPerVersion[AlpnAtVersion]):
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
    tls1_3: AlpnAtVersion
    tls1_2: AlpnAtVersion
