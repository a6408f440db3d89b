"""Valid public values for TLS 1.3 key_share entries, made once per process.

A raw ClientHello never completes the key exchange, but a server checks the client's share
before answering (an invalid point or ML-KEM key gets ``illegal_parameter`` instead of a
ServerHello), so every share must be a value the group accepts:

* x25519 / x448: any string of the right length is a valid public value (RFC 7748 5).
* NIST curves: a real uncompressed point, from a key pair generated with ``cryptography``.
* ML-KEM: an encapsulation key passes FIPS 203's input check (7.2) when each of its
  coefficients, 12-bit encoded, is below q = 3329; random such coefficients plus a random
  32-byte seed make one without running the key generation.
* Hybrids (draft-ietf-tls-ecdhe-mlkem 3): X25519MLKEM768 is ML-KEM-768 key || x25519 value
  (1216 bytes); SecP256r1MLKEM768 and SecP384r1MLKEM1024 put the point first.
* Finite-field groups get no share (the server answers with a HelloRetryRequest instead).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from scanner import wire

__all__ = ["KEY_SHARES", "key_share"]

_Q = 3329  # ML-KEM modulus (FIPS 203)
_MLKEM_K = {512: 2, 768: 3, 1024: 4}  # module rank per parameter set


def _group(name: str) -> int:
    return wire.code_for(wire.NAMED_GROUPS, name)


X25519 = _group("x25519")


def _below_q(count: int) -> list[int]:
    """``count`` uniform values below q: 12-bit draws from one random read each round, those
    at or above q rejected (one read instead of a ``secrets.randbelow`` read per value, some
    2,300 system calls at every start-up)."""
    values: list[int] = []
    while len(values) < count:
        draws = memoryview(os.urandom(2 * (count - len(values)) + 64)).cast("H")
        values += [value for value in (draw & 0xFFF for draw in draws) if value < _Q]
    return values[:count]


def mlkem_encapsulation_key(parameter_set: int) -> bytes:
    """A syntactically valid ML-KEM encapsulation key: 256*k 12-bit coefficients < q, then
    the 32-byte seed rho (FIPS 203 algorithm 13 output layout)."""
    coefficients = _below_q(256 * _MLKEM_K[parameter_set])
    packed = bytearray()
    for low, high in zip(coefficients[0::2], coefficients[1::2], strict=True):
        packed += (low | (high << 12)).to_bytes(3, "little")
    return bytes(packed) + os.urandom(32)


def _ec_point(curve: ec.EllipticCurve) -> bytes:
    public = ec.generate_private_key(curve).public_key()
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _build() -> dict[int, bytes]:
    x25519 = os.urandom(32)
    p256 = _ec_point(ec.SECP256R1())
    p384 = _ec_point(ec.SECP384R1())
    mlkem512 = mlkem_encapsulation_key(512)
    mlkem768 = mlkem_encapsulation_key(768)
    mlkem1024 = mlkem_encapsulation_key(1024)
    return {
        X25519: x25519,
        _group("x448"): os.urandom(56),
        _group("secp256r1"): p256,
        _group("secp384r1"): p384,
        _group("secp521r1"): _ec_point(ec.SECP521R1()),
        _group("MLKEM512"): mlkem512,
        _group("MLKEM768"): mlkem768,
        _group("MLKEM1024"): mlkem1024,
        _group("X25519MLKEM768"): mlkem768 + x25519,
        _group("SecP256r1MLKEM768"): p256 + mlkem768,
        _group("SecP384r1MLKEM1024"): p384 + mlkem1024,
        # Pre-standard Kyber hybrids put the classical value first; the Kyber-768 public
        # key has the same size and format constraints as ML-KEM-768's.
        _group("X25519Kyber768Draft00"): x25519 + mlkem768,
        _group("SecP256r1Kyber768Draft00"): p256 + mlkem768,
    }


KEY_SHARES: Mapping[int, bytes] = MappingProxyType(_build())


def key_share(group: int) -> wire.KeyShareEntry | None:
    """A key_share entry for ``group``, or None when we have no value for it."""
    value = KEY_SHARES.get(group)
    return None if value is None else wire.KeyShareEntry(group, value)
