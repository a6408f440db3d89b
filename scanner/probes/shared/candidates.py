"""Which cipher suites to offer, in which order: shared by every raw enumeration.

Candidates are offered weakest first, so a server that applies its own preference reveals
it at once (it does not take our first acceptable suite); when a server refuses one big
hello, the first chunk holds what real listeners deploy.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from scanner import wire
from scanner.wire import TLSVersion

__all__ = ["CHUNK", "candidates", "chunks", "strength", "weakest_first"]

# Suites per hello once a server has refused one big hello. Some TLS stacks fail on more
# than 128 suites or on hellos above a size; 64 suites keep a hello near 400 bytes.
CHUNK = 64

def _cipher_rank(suite: wire.CipherSuite) -> int:
    cipher = suite.cipher
    if cipher.startswith("NULL") or suite.export:
        return 0
    if any(weak in cipher for weak in ("RC4", "RC2", "DES40", "DES_CBC_", "28147")):
        return 1
    if any(old in cipher for old in ("3DES", "IDEA", "SEED")):
        return 2
    return 4 if suite.aead else 3


def _kx_rank(suite: wire.CipherSuite) -> int:
    kx = suite.key_exchange or ""
    if "anon" in kx:
        return 0
    return 2 if kx.startswith(("DHE", "ECDHE")) else 1


def strength(suite: wire.CipherSuite) -> tuple[int, int, int, int]:
    """A rough strength ranking, only used to order offers (never reported)."""
    bits = 256 if "256" in suite.cipher or "CHACHA20" in suite.cipher else 128
    return (_cipher_rank(suite), _kx_rank(suite), bits, suite.code)


# What real listeners deploy, so the first chunk (offered alone to servers that refuse one
# big hello) holds it: then other suites with certificate-based key exchange, then the rest.
_DEPLOYED_KX = ("ECDHE_ECDSA", "ECDHE_RSA", "RSA", "DHE_RSA")
_DEPLOYED_CIPHERS = ("AES_128_CBC", "AES_256_CBC", "AES_128_GCM", "AES_256_GCM",
                     "CHACHA20_POLY1305", "3DES_EDE_CBC", "RC4_128")
_CERTIFICATE_KX = ("RSA", "DHE_RSA", "DHE_DSS", "ECDHE_RSA", "ECDHE_ECDSA")


def _tier(suite: wire.CipherSuite) -> int:
    if suite.key_exchange in _DEPLOYED_KX and suite.cipher.startswith(_DEPLOYED_CIPHERS):
        return 0
    return 1 if suite.key_exchange in _CERTIFICATE_KX and _cipher_rank(suite) else 2


@functools.cache
def candidates(version: int) -> tuple[int, ...]:
    """Suites worth offering at ``version``, most likely to be deployed first.

    Every assigned suite is offered at every version up to TLS 1.2 (a server that picks a
    TLS 1.2-only suite in TLS 1.0 is worth reporting); TLS 1.3 has its own suites.
    """
    suites = [s for s in wire.CIPHER_SUITES.values()
              if not s.signalling and s.tls13 == (version == TLSVersion.TLSv1_3)]
    # _WEAKEST_FIRST ranks by strength() (unique: it ends with the code), already computed.
    ranked = sorted(suites, key=lambda s: (-_tier(s), _WEAKEST_FIRST[s.code]), reverse=True)
    return tuple(s.code for s in ranked)


_WEAKEST_FIRST: dict[int, int] = {
    suite.code: rank
    for rank, suite in enumerate(sorted(wire.CIPHER_SUITES.values(), key=strength))
}


def weakest_first(codes: Sequence[int]) -> tuple[int, ...]:
    """``codes`` ordered weakest first (unassigned values last, by code)."""
    return _weakest_first(tuple(codes))


@functools.lru_cache(maxsize=256)
def _weakest_first(codes: tuple[int, ...]) -> tuple[int, ...]:
    # Cached: every target sorts the same few hundred-suite lists (7 per target).
    return tuple(sorted(codes, key=lambda code: (_WEAKEST_FIRST.get(code, 1 << 20), code)))


def chunks(codes: Sequence[int], size: int = CHUNK) -> list[tuple[int, ...]]:
    return [tuple(codes[i : i + size]) for i in range(0, len(codes), size)]
