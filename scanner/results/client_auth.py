"""The client_auth facet: the CertificateRequest and the outcome without a certificate,
per version."""

from enum import StrEnum

from pydantic import Field

from scanner.results.common import Model
from scanner.results.enforcement import CertificateAsked, PathAnswer
from scanner.results.handshake import HandshakeReport
from scanner.results.versions import FieldPerVersion


class DistinguishedNameInfo(Model):
    rfc4514: str
    der_b64: str


class OidFilterInfo(Model):
    oid: str
    values_b64: str


class CertificateRequestInfo(Model):
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
    ca_names: list[DistinguishedNameInfo] = Field(default_factory=list)
    signature_algorithms: list[str] | None = None
    signature_algorithms_cert: list[str] | None = None
    certificate_types: list[str] | None = None
    oid_filters: list[OidFilterInfo] | None = None
    parse_error: str | None = Field(
        default=None, description="Why the CertificateRequest could not be decoded, if so."
    )


class ClientAuthClass(StrEnum):
    none = "none"
    optional = "optional"
    required = "required"
    #: No certificate is asked in the handshake, but requests for some paths are refused
    #: without one (renegotiation or post-handshake authentication): see ``paths``.
    per_path = "per_path"


class WithoutCertificateOutcome(StrEnum):
    completed = "completed"
    rejected_in_handshake = "rejected_in_handshake"
    rejected_after_handshake = "rejected_after_handshake"


class WithoutCertificate(Model):
    outcome: WithoutCertificateOutcome
    alert: str | None = None
    classification: ClientAuthClass


class ClientAuthAtVersion(Model):
    """Client-auth facts for one protocol version."""

    version: str
    supported: bool = Field(description="Whether the server negotiated this version at all.")
    certificate_request: CertificateRequestInfo | None = None
    without_certificate: WithoutCertificate | None = None
    handshake: HandshakeReport


class PathAtVersion(Model):
    """The request for one path without a client certificate, at one protocol version."""

    version: str
    supported: bool
    asked: CertificateAsked | None = None
    certificate_request: CertificateRequestInfo | None = Field(
        default=None, description="The CertificateRequest sent after the request (by "
        "renegotiation or post-handshake), parsed like the handshake's, CA names included.")
    without_certificate: PathAnswer | None = None
    classification: ClientAuthClass | None = None


class ClientAuthAtPath(Model, FieldPerVersion[PathAtVersion]):
    """Client authentication as a request for one path sees it."""

    path: str
    classification: ClientAuthClass | None = Field(
        default=None, description="At the highest version the server supports.")
    tls1_3: PathAtVersion | None = None
    tls1_2: PathAtVersion | None = None


class ClientAuthFacet(Model, FieldPerVersion[ClientAuthAtVersion]):
    requested: bool | None = Field(
        default=None, description="A CertificateRequest was seen at any version."
    )
    classification: ClientAuthClass | None = Field(
        default=None, description="At the highest version the server supports."
    )
    consistent_across_versions: bool | None = None
    tls1_3: ClientAuthAtVersion | None = None
    tls1_2: ClientAuthAtVersion | None = None
    paths: list[ClientAuthAtPath] | None = Field(
        default=None, description="Per inventory http_paths entry: whether a request for the "
        "path makes the server ask for a certificate (renegotiation, post-handshake auth).")
