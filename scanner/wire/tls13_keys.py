"""TLS 1.3 handshake keys, just far enough to read the server's first encrypted records.

A raw ClientHello that offers a real key share can decrypt what follows the ServerHello:
EncryptedExtensions is where a TLS 1.3 server answers ALPN (RFC 8446 4.3.1), which the
ServerHello does not show. This module is the arithmetic for that, and nothing more:
ECDHE with our ephemeral key (RFC 8446 7.4), the key schedule up to the server handshake
traffic secret (7.1), its write key and IV (7.3), and record deprotection (5.2, 5.3).
No I/O; the ``cryptography`` library does HMAC, ECDH and the AEADs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .errors import WireError
from .records import RECORD_HEADER_LENGTH
from .registry import ContentType

__all__ = [
    "TLS13_KEY_SHARE_GROUPS",
    "TLS13_SUITES",
    "EphemeralKey",
    "RecordDecrypter",
    "Tls13Suite",
    "TrafficKeys",
    "derive_secret",
    "hkdf_expand_label",
    "hkdf_extract",
    "server_handshake_traffic_secret",
    "traffic_keys",
]

_X25519, _SECP256R1, _SECP384R1 = 29, 23, 24
#: Groups we can hold a real private key for (and so decrypt after).
TLS13_KEY_SHARE_GROUPS: frozenset[int] = frozenset({_X25519, _SECP256R1, _SECP384R1})
_CURVES: dict[int, Callable[[], ec.EllipticCurve]] = {
    _SECP256R1: ec.SECP256R1, _SECP384R1: ec.SECP384R1,
}

_Aead = AESGCM | AESCCM | ChaCha20Poly1305


@dataclass(frozen=True)
class Tls13Suite:
    """What the key schedule and record layer need to know of a TLS 1.3 suite (RFC 8446 B.4)."""

    code: int
    hash_name: str
    key_length: int
    aead: Callable[[bytes], _Aead]

    @property
    def hash_length(self) -> int:
        return hashlib.new(self.hash_name).digest_size


def _ccm8(key: bytes) -> _Aead:
    return AESCCM(key, tag_length=8)


TLS13_SUITES: dict[int, Tls13Suite] = {suite.code: suite for suite in (
    Tls13Suite(0x1301, "sha256", 16, AESGCM),
    Tls13Suite(0x1302, "sha384", 32, AESGCM),
    Tls13Suite(0x1303, "sha256", 32, ChaCha20Poly1305),
    Tls13Suite(0x1304, "sha256", 16, AESCCM),
    Tls13Suite(0x1305, "sha256", 16, _ccm8),
)}


def _hash(hash_name: str) -> hashes.HashAlgorithm:
    return hashes.SHA384() if hash_name == "sha384" else hashes.SHA256()


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 2.2): HMAC keyed by the salt; empty means HashLen zeros."""
    mac = hmac.HMAC(salt or bytes(hashlib.new(hash_name).digest_size), _hash(hash_name))
    mac.update(ikm)
    return mac.finalize()


def hkdf_expand_label(hash_name: str, secret: bytes, label: bytes, context: bytes,
                      length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 7.1): HkdfLabel is length, "tls13 " + label, context."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    return HKDFExpand(_hash(hash_name), length, info).derive(secret)


def derive_secret(hash_name: str, secret: bytes, label: bytes, messages: bytes) -> bytes:
    """Derive-Secret (RFC 8446 7.1): Expand-Label over the transcript hash of ``messages``."""
    digest = hashlib.new(hash_name, messages).digest()
    return hkdf_expand_label(hash_name, secret, label, digest, len(digest))


def server_handshake_traffic_secret(hash_name: str, shared_secret: bytes,
                                    hello_messages: bytes) -> bytes:
    """server_handshake_traffic_secret (RFC 8446 7.1), without PSK: ``hello_messages`` is
    ClientHello || ServerHello, handshake headers included."""
    early = hkdf_extract(hash_name, b"", bytes(hashlib.new(hash_name).digest_size))
    handshake = hkdf_extract(hash_name, derive_secret(hash_name, early, b"derived", b""),
                             shared_secret)
    return derive_secret(hash_name, handshake, b"s hs traffic", hello_messages)


@dataclass(frozen=True)
class TrafficKeys:
    suite: Tls13Suite
    key: bytes
    iv: bytes


def traffic_keys(suite: Tls13Suite, secret: bytes) -> TrafficKeys:
    """The write key and IV of a traffic secret (RFC 8446 7.3)."""
    key = hkdf_expand_label(suite.hash_name, secret, b"key", b"", suite.key_length)
    iv = hkdf_expand_label(suite.hash_name, secret, b"iv", b"", 12)
    return TrafficKeys(suite, key, iv)


@dataclass
class RecordDecrypter:
    """Deprotects the records of one direction in order (the sequence number counts them)."""

    keys: TrafficKeys
    sequence: int = 0
    _aead: _Aead | None = field(default=None, repr=False)

    def decrypt(self, header: bytes, payload: bytes) -> tuple[int, bytes]:
        """(inner content type, content) of one TLSCiphertext (RFC 8446 5.2): the nonce is
        the IV xor the padded sequence number (5.3), the header is the additional data."""
        if len(header) != RECORD_HEADER_LENGTH or header[0] != ContentType.application_data:
            raise WireError("encrypted record: expected an application_data record header")
        if self._aead is None:
            self._aead = self.keys.suite.aead(self.keys.key)
        nonce = bytes(a ^ b for a, b in zip(
            self.keys.iv, self.sequence.to_bytes(len(self.keys.iv), "big"), strict=True))
        self.sequence += 1
        try:
            inner = self._aead.decrypt(nonce, payload, header)
        except InvalidTag as exc:
            raise WireError("encrypted record: authentication failed") from exc
        content = inner.rstrip(b"\x00")  # zero padding after the real content type
        if not content:
            raise WireError("encrypted record: no content type (all padding)")
        return content[-1], content[:-1]


class EphemeralKey:
    """Our half of one ECDHE key share: a fresh private key and its public value."""

    def __init__(self, group: int) -> None:
        if group not in TLS13_KEY_SHARE_GROUPS:
            raise WireError(f"no ephemeral key for group {group}")
        self.group = group
        self._x25519: x25519.X25519PrivateKey | None = None
        self._ec: ec.EllipticCurvePrivateKey | None = None
        if group == _X25519:
            self._x25519 = x25519.X25519PrivateKey.generate()
        else:
            self._ec = ec.generate_private_key(_CURVES[group]())

    @classmethod
    def x25519_from(cls, private: bytes) -> EphemeralKey:
        """A known X25519 key (test vectors)."""
        key = cls(_X25519)
        key._x25519 = x25519.X25519PrivateKey.from_private_bytes(private)
        return key

    @property
    def public(self) -> bytes:
        """The key_share key_exchange value (RFC 8446 4.2.8.2)."""
        if self._x25519 is not None:
            return self._x25519.public_key().public_bytes_raw()
        assert self._ec is not None
        return self._ec.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def shared_secret(self, peer: bytes) -> bytes:
        """The ECDHE shared secret with the server's key_exchange value (RFC 8446 7.4)."""
        try:
            if self._x25519 is not None:
                return self._x25519.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
            assert self._ec is not None
            point = ec.EllipticCurvePublicKey.from_encoded_point(self._ec.curve, peer)
            return self._ec.exchange(ec.ECDH(), point)
        except ValueError as exc:
            raise WireError(f"server key share: {exc}") from exc
