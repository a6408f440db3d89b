"""The ocsp facet: the stapled OCSP response per version, decoded and checked."""

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from scanner.results.common import Model, presented_field
from scanner.results.handshake import HandshakeReport
from scanner.results.versions import FieldPerVersion


class OcspCertStatus(StrEnum):
    good = "good"
    revoked = "revoked"
    unknown = "unknown"


class OcspSignature(Model):
    valid: bool | None = Field(
        description="true: signed by the issuer or an authorised delegate; null: not checkable "
        "(issuer certificate unavailable or algorithm unsupported).")
    signer: Literal["issuer", "delegated_responder"] | None = None
    responder_certificate: str | None = Field(
        default=None, description="Subject of the delegated responder certificate used.")
    issuer_source: Literal["chain", "trust_store"] | None = Field(
        default=None, description="Where the leaf's issuer certificate was found.")
    error: str | None = None


class OcspResponseInfo(Model):
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
    signature: OcspSignature | None = None


class OcspAtVersion(Model):
    """The staple requested (status_request) at one protocol version."""

    version: str
    supported: bool = Field(description="Whether the server negotiated this version at all.")
    stapled: bool | None = Field(
        default=None, description="A CertificateStatus (TLS 1.2) or a status_request in the "
        "leaf's CertificateEntry (TLS 1.3) was sent.")
    leaf_subject: str | None = None
    leaf_serial: str | None = None
    must_staple: bool | None = None
    response: OcspResponseInfo | None = None
    handshake: HandshakeReport
    client_certificate_presented: bool | None = presented_field()


class OcspFacet(Model, FieldPerVersion[OcspAtVersion]):
    stapled: bool | None = Field(
        default=None, description="A response was stapled at some version.")
    must_staple: bool | None = Field(
        default=None, description="The leaf carries the TLS Feature status_request extension.")
    certificate_status: OcspCertStatus | None = Field(
        default=None, description="From the staple at the highest version that has one.")
    tls1_3: OcspAtVersion | None = None
    tls1_2: OcspAtVersion | None = None
