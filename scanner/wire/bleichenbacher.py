"""The ROBOT test vectors: PKCS#1 v1.5 premaster-secret blocks, one correct and four
malformed, as the ROBOT paper (Böck, Somorovsky, Young, USENIX Security 2018, section 4)
describes them.

A server whose reaction (alert, close, silence) differs between them is a Bleichenbacher
padding oracle: whoever can tell the answers apart can decrypt or sign with its RSA key.
Pure: the caller encrypts the blocks with the server's public key (``rsa_encrypt_raw``).
"""

from __future__ import annotations

import os

__all__ = ["ROBOT_VECTORS", "robot_blocks", "rsa_encrypt_raw"]

#: The five vectors, in the paper's order.
ROBOT_VECTORS = ("correct", "wrong_first_bytes", "wrong_zero_position", "no_zero",
                 "wrong_version")
_PREMASTER_LENGTH = 48
_SHIFT = 8  # how far before the real separator the misplaced 0x00 goes


def _nonzero(count: int) -> bytes:
    out = bytearray()
    while len(out) < count:
        out += bytes(b for b in os.urandom(count) if b)
    return bytes(out[:count])


def robot_blocks(modulus_bytes: int, version: int) -> dict[str, bytes]:
    """One ``modulus_bytes``-long block per vector, around one random premaster secret
    for ``version`` (its first two bytes are the client's offered version)."""
    if modulus_bytes < 3 + _SHIFT + _PREMASTER_LENGTH + 8:
        raise ValueError(f"an RSA modulus of {modulus_bytes} bytes is too small")
    premaster = version.to_bytes(2, "big") + os.urandom(_PREMASTER_LENGTH - 2)
    padding = _nonzero(modulus_bytes - 3 - _PREMASTER_LENGTH)
    correct = b"\x00\x02" + padding + b"\x00" + premaster
    separator = 2 + len(padding)
    early_zero = bytearray(correct)
    early_zero[separator - _SHIFT] = 0
    # No 0x00 anywhere after the block type: the separator and any zero byte of the random
    # premaster secret become non-zero, or a zero there would still end the padding.
    no_zero = bytearray(byte or 0x11 for byte in correct[2:])
    no_zero[separator - 2] = 0x11
    no_zero[:0] = b"\x00\x02"
    return {
        "correct": correct,
        "wrong_first_bytes": b"\x41\x17" + correct[2:],
        "wrong_zero_position": bytes(early_zero),
        "no_zero": bytes(no_zero),
        "wrong_version": correct[: separator + 1] + b"\x02\x02" + premaster[2:],
    }


def rsa_encrypt_raw(block: bytes, modulus: int, exponent: int) -> bytes:
    """Textbook RSA on an already padded block (what PKCS#1 v1.5 encryption does after
    padding), so that malformed paddings can be sent at all."""
    size = (modulus.bit_length() + 7) // 8
    return pow(int.from_bytes(block, "big"), exponent, modulus).to_bytes(size, "big")
