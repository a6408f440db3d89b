"""Reading a TLS 1.3 server's EncryptedExtensions after a raw ClientHello with real key shares.

``HandshakeDecryption`` keeps what the client needs (its ClientHello as sent and its private
keys); ``ServerFlight`` hands it the ServerHello and then each encrypted record, until
EncryptedExtensions is read or it is clear it cannot be (a group we hold no key for, a
record that does not authenticate, an unexpected message). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .encrypted_extensions import EncryptedExtensions, parse_encrypted_extensions
from .errors import WireError
from .extensions import find_extension
from .handshake import split_handshake_stream
from .reader import ByteReader
from .records import RECORD_HEADER_LENGTH
from .registry import ContentType, ExtensionType, HandshakeType
from .server_hello import ServerHello
from .tls13_keys import (
    TLS13_SUITES,
    EphemeralKey,
    RecordDecrypter,
    server_handshake_traffic_secret,
    traffic_keys,
)

__all__ = ["HandshakeDecryption", "handshake_payload"]


def handshake_payload(records: bytes) -> bytes:
    """The handshake bytes carried by handshake records (a ClientHello as the transcript
    hashes it), whatever the record boundaries."""
    payload, offset = b"", 0
    while offset < len(records):
        header = records[offset : offset + RECORD_HEADER_LENGTH]
        if len(header) < RECORD_HEADER_LENGTH or header[0] != ContentType.handshake:
            raise WireError("expected handshake records")
        end = offset + RECORD_HEADER_LENGTH + int.from_bytes(header[3:5], "big")
        payload += records[offset + RECORD_HEADER_LENGTH : end]
        offset = end
    return payload


def _server_share(hello: ServerHello) -> tuple[int, bytes]:
    extension = find_extension(hello.extensions, ExtensionType.key_share)
    if extension is None:
        raise WireError("ServerHello without key_share")
    reader = ByteReader(extension.data)
    group = reader.u16("key_share group")
    value = reader.vector(2, "key_share key_exchange", min_length=1)
    reader.expect_end("key_share")
    return group, value


@dataclass
class HandshakeDecryption:
    """Our side of a TLS 1.3 hello that wants the server's EncryptedExtensions."""

    client_hello: bytes  # the ClientHello handshake message(s) as sent
    keys: Mapping[int, EphemeralKey]
    encrypted_extensions: EncryptedExtensions | None = None
    #: Why EncryptedExtensions could not be read (None while reading, or once it was).
    error: str | None = None
    _decrypter: RecordDecrypter | None = field(default=None, repr=False)
    _handshake: bytes = field(default=b"", repr=False)

    @property
    def done(self) -> bool:
        return self.encrypted_extensions is not None or self.error is not None

    def start(self, server_hello_message: bytes, hello: ServerHello) -> None:
        """Derive the server handshake keys from a TLS 1.3 ServerHello (header included)."""
        try:
            suite = TLS13_SUITES.get(hello.cipher_suite)
            if suite is None:
                raise WireError(f"no record protection known for suite {hello.cipher_suite:#06x}")
            group, value = _server_share(hello)
            key = self.keys.get(group)
            if key is None:
                raise WireError(f"the server picked group {group}, for which we hold no key")
            secret = server_handshake_traffic_secret(
                suite.hash_name, key.shared_secret(value),
                self.client_hello + server_hello_message)
            self._decrypter = RecordDecrypter(traffic_keys(suite, secret))
        except WireError as exc:
            self.error = str(exc)

    def record(self, header: bytes, payload: bytes) -> None:
        """Take one encrypted record that followed the ServerHello."""
        if self.done or self._decrypter is None:
            return
        try:
            content_type, content = self._decrypter.decrypt(header, payload)
            if content_type != ContentType.handshake:
                raise WireError(f"encrypted record of inner content type {content_type}, "
                                "expected handshake")
            messages, self._handshake = split_handshake_stream(self._handshake + content)
            if messages:
                first = messages[0]
                if first[0] != HandshakeType.encrypted_extensions:
                    raise WireError(f"expected encrypted_extensions, got message {first[0]}")
                self.encrypted_extensions = parse_encrypted_extensions(first[4:])
        except WireError as exc:
            self.error = str(exc)
