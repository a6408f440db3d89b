"""A parsed CertificateRequest as the record writes it (the handshake's, or one sent later by
renegotiation or post-handshake authentication)."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from scanner import wire
from scanner.results import CertificateRequestInfo, DistinguishedNameInfo, OidFilterInfo


def request_info(request: wire.CertificateRequest) -> CertificateRequestInfo:
    return CertificateRequestInfo(
        sent=True,
        ca_names_sent=bool(request.certificate_authorities),
        certificate_authorities_extension=(
            request.certificate_authorities_present if request.tls13 else None
        ),
        ca_names=[
            DistinguishedNameInfo(rfc4514=dn.rfc4514, der_b64=base64.b64encode(dn.der).decode())
            for dn in request.certificate_authorities
        ],
        signature_algorithms=_names(wire.SIGNATURE_SCHEMES, request.signature_algorithms),
        signature_algorithms_cert=_names(wire.SIGNATURE_SCHEMES,
                                         request.signature_algorithms_cert),
        certificate_types=_names(wire.CLIENT_CERTIFICATE_TYPES, request.certificate_types, 2),
        oid_filters=[
            OidFilterInfo(oid=f.oid, values_b64=base64.b64encode(f.values).decode())
            for f in request.oid_filters
        ] if request.tls13 else None,
    )


def _names(table: Mapping[int, str], codes: tuple[int, ...] | None,
           width: int = 4) -> list[str] | None:
    return None if codes is None else [wire.name_for(table, code, width) for code in codes]
