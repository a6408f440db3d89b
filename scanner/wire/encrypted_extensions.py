"""TLS 1.3 EncryptedExtensions (RFC 8446 4.3.1): where a TLS 1.3 server answers ALPN."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .extensions import Extension, find_extension, parse_alpn_extension, read_extension_list
from .reader import ByteReader
from .registry import ExtensionType

__all__ = ["EncryptedExtensions", "parse_encrypted_extensions"]

_ALPN = ExtensionType.application_layer_protocol_negotiation


@dataclass(frozen=True)
class EncryptedExtensions:
    """TLS 1.3 EncryptedExtensions (RFC 8446 4.3.1)."""

    extensions: tuple[Extension, ...]

    @property
    def alpn_protocol(self) -> str | None:
        """The negotiated ALPN protocol, if the server selected one."""
        extension = find_extension(self.extensions, _ALPN)
        if extension is None:
            return None
        names = parse_alpn_extension(extension.data)
        return names[0] if names else None


def parse_encrypted_extensions(body: bytes) -> EncryptedExtensions:
    reader = ByteReader(body)
    extensions = read_extension_list(reader, "EncryptedExtensions")
    reader.expect_end("EncryptedExtensions")
    if (alpn := find_extension(extensions, _ALPN)) is not None:
        try:
            parse_alpn_extension(alpn.data)
        except WireError as exc:
            raise WireError(f"EncryptedExtensions: {exc}") from exc
    return EncryptedExtensions(extensions)
