"""The server's certificate chain as sent (Certificate, RFC 8446 4.4.2 / RFC 5246 7.4.2)
and its stapled OCSP response (CertificateStatus, RFC 6066 section 8), which TLS 1.3 moves
into the leaf's CertificateEntry. X.509 itself is pkix's business, not parsed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .extensions import Extension, find_extension, read_extension_list
from .layout import uses_tls13_layout
from .reader import ByteReader
from .registry import ExtensionType

__all__ = [
    "CertificateMessage",
    "CertificateStatus",
    "certificate_entry_status",
    "parse_certificate",
    "parse_certificate_status",
]


@dataclass(frozen=True)
class CertificateStatus:
    """RFC 6066 CertificateStatus: status_type (1 = ocsp) and the DER OCSPResponse."""

    status_type: int
    response: bytes


def parse_certificate_status(body: bytes) -> CertificateStatus:
    """Parse a CertificateStatus message body or a TLS 1.3 entry's status_request data."""
    reader = ByteReader(body)
    status_type = reader.u8("CertificateStatus status_type")
    response = reader.vector(3, "CertificateStatus response", min_length=1)
    reader.expect_end("CertificateStatus")
    return CertificateStatus(status_type=status_type, response=response)


@dataclass(frozen=True)
class CertificateMessage:
    """A Certificate message: DER certificates, leaf first, as sent.

    ``entry_extensions`` parallels ``certificates`` (always empty tuples before TLS 1.3).
    """

    certificates: tuple[bytes, ...]
    context: bytes
    entry_extensions: tuple[tuple[Extension, ...], ...]

    @property
    def leaf_status(self) -> CertificateStatus | None:
        """The stapled OCSP response of the leaf in TLS 1.3, if any."""
        if not self.entry_extensions:
            return None
        return certificate_entry_status(self.entry_extensions[0])


def certificate_entry_status(extensions: tuple[Extension, ...]) -> CertificateStatus | None:
    """OCSP response from a TLS 1.3 CertificateEntry's status_request extension."""
    extension = find_extension(extensions, ExtensionType.status_request)
    if extension is None:
        return None
    return parse_certificate_status(extension.data)


def parse_certificate(body: bytes, *, version: int) -> CertificateMessage:
    """Parse a Certificate message (RFC 8446 4.4.2 / RFC 5246 7.4.2); X.509 is not parsed."""
    tls13 = uses_tls13_layout(version, "Certificate")
    reader = ByteReader(body)
    context = reader.vector(1, "Certificate certificate_request_context") if tls13 else b""
    entries = reader.sub_reader(3, "Certificate certificate_list")
    reader.expect_end("Certificate")
    certificates: list[bytes] = []
    entry_extensions: list[tuple[Extension, ...]] = []
    while not entries.at_end:
        index = len(certificates)
        certificates.append(entries.vector(3, f"Certificate entry {index}", min_length=1))
        if tls13:
            extensions = read_extension_list(entries, f"Certificate entry {index}")
            if (status := find_extension(extensions, ExtensionType.status_request)) is not None:
                try:
                    parse_certificate_status(status.data)
                except WireError as exc:
                    raise WireError(f"Certificate entry {index} status_request: {exc}") from exc
            entry_extensions.append(extensions)
        else:
            entry_extensions.append(())
    return CertificateMessage(
        certificates=tuple(certificates),
        context=context,
        entry_extensions=tuple(entry_extensions),
    )
