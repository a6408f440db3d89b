"""CertificateRequest in every protocol version, and the TLS 1.3 extensions in which it
describes acceptable client certificates (certificate_authorities, oid_filters).

Layouts: RFC 8446 4.3.2 (TLS 1.3), RFC 5246 7.4.4 (TLS 1.2), RFC 4346 7.4.4 / RFC 6101
(TLS 1.1 and older).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import WireError
from .extensions import (
    Extension,
    parse_signature_algorithms_extension,
    read_extension_list,
    read_u16_list,
)
from .layout import uses_tls13_layout
from .reader import ByteReader
from .registry import (
    CLIENT_CERTIFICATE_TYPES,
    SIGNATURE_SCHEMES,
    ExtensionType,
    TLSVersion,
    name_for,
)
from .x500 import DistinguishedName, decode_oid, parse_distinguished_name

__all__ = [
    "CertificateRequest",
    "OidFilter",
    "parse_certificate_authorities_extension",
    "parse_certificate_request",
    "parse_oid_filters_extension",
]

_T = TypeVar("_T")


def _read_distinguished_names(reader: ByteReader, what: str) -> tuple[DistinguishedName, ...]:
    names: list[DistinguishedName] = []
    index = 0
    while not reader.at_end:
        der = reader.vector(2, f"{what} DistinguishedName {index}", min_length=1)
        try:
            names.append(parse_distinguished_name(der))
        except WireError as exc:
            raise WireError(f"{what} DistinguishedName {index}: {exc}") from exc
        index += 1
    return tuple(names)


def parse_certificate_authorities_extension(data: bytes) -> tuple[DistinguishedName, ...]:
    """RFC 8446 4.2.4: ``DistinguishedName authorities<3..2^16-1>``.

    An empty list is accepted although the RFC forbids it: OpenSSL 3.0 sends exactly that
    when told not to send CA names (``-no_ca_names``, ``Options -CANames``), and the
    scanner must report what such servers do rather than fail on them.
    """
    reader = ByteReader(data)
    block = reader.sub_reader(2, "certificate_authorities")
    reader.expect_end("certificate_authorities")
    return _read_distinguished_names(block, "certificate_authorities")


@dataclass(frozen=True)
class OidFilter:
    """RFC 8446 4.2.5: a certificate extension OID and the DER values it must match."""

    oid: str
    values: bytes


def _filter_oid(raw: bytes) -> str:
    # The RFC leaves open whether the opaque holds a full DER OID (06 len ...) or only
    # its contents; accept both, preferring the full TLV when its header fits exactly.
    if len(raw) >= 2 and raw[0] == 0x06 and raw[1] == len(raw) - 2:
        return decode_oid(raw[2:])
    return decode_oid(raw)


def parse_oid_filters_extension(data: bytes) -> tuple[OidFilter, ...]:
    """RFC 8446 4.2.5: ``OIDFilter filters<0..2^16-1>``."""
    reader = ByteReader(data)
    block = reader.sub_reader(2, "oid_filters")
    reader.expect_end("oid_filters")
    filters: list[OidFilter] = []
    while not block.at_end:
        index = len(filters)
        raw_oid = block.vector(1, f"oid_filters {index} certificate_extension_oid", min_length=1)
        values = block.vector(2, f"oid_filters {index} certificate_extension_values")
        try:
            oid = _filter_oid(raw_oid)
        except WireError as exc:
            raise WireError(f"oid_filters {index}: {exc}") from exc
        filters.append(OidFilter(oid=oid, values=values))
    return tuple(filters)


@dataclass(frozen=True)
class CertificateRequest:
    """What a server asks of a client certificate, in any protocol version.

    ``certificate_types`` exists only up to TLS 1.2; ``signature_algorithms`` is the
    TLS 1.2 field or the TLS 1.3 extension (None when absent). In TLS 1.2 the CA list
    is a mandatory field that may be empty, so ``certificate_authorities_present`` is
    always True there; in TLS 1.3 it says whether extension 47 was sent at all.
    """

    tls13: bool
    certificate_request_context: bytes
    certificate_types: tuple[int, ...] | None
    signature_algorithms: tuple[int, ...] | None
    signature_algorithms_cert: tuple[int, ...] | None
    certificate_authorities: tuple[DistinguishedName, ...]
    certificate_authorities_present: bool
    oid_filters: tuple[OidFilter, ...]
    extensions: tuple[Extension, ...]

    @property
    def certificate_type_names(self) -> tuple[str, ...] | None:
        if self.certificate_types is None:
            return None
        return tuple(name_for(CLIENT_CERTIFICATE_TYPES, t, 2) for t in self.certificate_types)

    @property
    def signature_algorithm_names(self) -> tuple[str, ...] | None:
        if self.signature_algorithms is None:
            return None
        return tuple(name_for(SIGNATURE_SCHEMES, s) for s in self.signature_algorithms)

    @property
    def signature_algorithm_cert_names(self) -> tuple[str, ...] | None:
        if self.signature_algorithms_cert is None:
            return None
        return tuple(name_for(SIGNATURE_SCHEMES, s) for s in self.signature_algorithms_cert)

    @property
    def certificate_authority_names(self) -> tuple[str, ...]:
        """RFC 4514 strings of the acceptable CA names, in the order sent."""
        return tuple(dn.rfc4514 for dn in self.certificate_authorities)

    @property
    def extension_names(self) -> tuple[str, ...]:
        return tuple(extension.name for extension in self.extensions)


def parse_certificate_request(body: bytes, *, version: int) -> CertificateRequest:
    """Parse a CertificateRequest body for the negotiated ``version``.

    0x0304: RFC 8446 4.3.2; 0x0303: RFC 5246 7.4.4 (with supported_signature_algorithms);
    0x0300-0x0302: RFC 4346 7.4.4 / RFC 6101 (no signature algorithms).
    """
    if uses_tls13_layout(version, "CertificateRequest"):
        return _parse_certificate_request_13(body)
    reader = ByteReader(body)
    types_raw = reader.vector(1, "CertificateRequest certificate_types", min_length=1)
    signature_algorithms: tuple[int, ...] | None = None
    if version == TLSVersion.TLSv1_2:
        signature_algorithms = read_u16_list(
            reader, "CertificateRequest supported_signature_algorithms"
        )
    authorities = reader.sub_reader(2, "CertificateRequest certificate_authorities")
    reader.expect_end("CertificateRequest")
    return CertificateRequest(
        tls13=False,
        certificate_request_context=b"",
        certificate_types=tuple(types_raw),
        signature_algorithms=signature_algorithms,
        signature_algorithms_cert=None,
        certificate_authorities=_read_distinguished_names(
            authorities, "CertificateRequest certificate_authorities"
        ),
        certificate_authorities_present=True,
        oid_filters=(),
        extensions=(),
    )


def _extension_field(extension: Extension, parse: Callable[[bytes], _T]) -> _T:
    try:
        return parse(extension.data)
    except WireError as exc:
        raise WireError(f"CertificateRequest extension: {exc}") from exc


def _parse_certificate_request_13(body: bytes) -> CertificateRequest:
    reader = ByteReader(body)
    context = reader.vector(1, "CertificateRequest certificate_request_context")
    extensions = read_extension_list(
        reader, "CertificateRequest", min_length=2, max_length=2**16 - 1
    )
    reader.expect_end("CertificateRequest")
    by_type = {extension.type: extension for extension in extensions}

    signature_algorithms = None
    if (ext := by_type.get(ExtensionType.signature_algorithms)) is not None:
        signature_algorithms = _extension_field(ext, parse_signature_algorithms_extension)
    signature_algorithms_cert = None
    if (ext := by_type.get(ExtensionType.signature_algorithms_cert)) is not None:
        signature_algorithms_cert = _extension_field(ext, _signature_algorithms_cert_extension)
    authorities: tuple[DistinguishedName, ...] = ()
    if (ext := by_type.get(ExtensionType.certificate_authorities)) is not None:
        authorities = _extension_field(ext, parse_certificate_authorities_extension)
    oid_filters: tuple[OidFilter, ...] = ()
    if (ext := by_type.get(ExtensionType.oid_filters)) is not None:
        oid_filters = _extension_field(ext, parse_oid_filters_extension)

    return CertificateRequest(
        tls13=True,
        certificate_request_context=context,
        certificate_types=None,
        signature_algorithms=signature_algorithms,
        signature_algorithms_cert=signature_algorithms_cert,
        certificate_authorities=authorities,
        certificate_authorities_present=ExtensionType.certificate_authorities in by_type,
        oid_filters=oid_filters,
        extensions=extensions,
    )


def _signature_algorithms_cert_extension(data: bytes) -> tuple[int, ...]:
    return parse_signature_algorithms_extension(data, "signature_algorithms_cert")
