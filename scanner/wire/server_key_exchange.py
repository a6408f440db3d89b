"""ServerKeyExchange: what a scanner wants from it, the server's ECDHE curve or DH group."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WireError
from .reader import ByteReader

__all__ = ["DhParameters", "parse_dhe_server_key_exchange", "parse_ecdhe_server_key_exchange"]

#: A DH prime longer than this is no TLS server's (RFC 7919's largest group is 8192 bits);
#: refusing it bounds the integer arithmetic done on what a server sends.
MAX_DH_PRIME_BITS = 16384


def parse_ecdhe_server_key_exchange(body: bytes) -> int | None:
    """The named curve of an ECDHE ServerKeyExchange (RFC 8422 5.4), or None when the
    server used explicit curve parameters (curve_type 1 or 2, deprecated).

    Only the ECParameters and the point are read; the signature after them is not checked.
    """
    reader = ByteReader(body)
    curve_type = reader.u8("ServerKeyExchange curve_type")
    if curve_type in (1, 2):
        return None
    if curve_type != 3:
        raise WireError(f"ServerKeyExchange: unknown ECCurveType {curve_type}")
    group = reader.u16("ServerKeyExchange named_curve")
    reader.vector(1, "ServerKeyExchange public point", min_length=1)
    return group


@dataclass(frozen=True)
class DhParameters:
    """The finite-field group a DHE server chose, and the size of its public value."""

    prime: int
    generator: int
    public_value_bytes: int

    @property
    def prime_bits(self) -> int:
        return self.prime.bit_length()


def parse_dhe_server_key_exchange(body: bytes) -> DhParameters:
    """The ServerDHParams of a DHE (or DH_anon) ServerKeyExchange (RFC 5246 7.4.3).

    Only dh_p, dh_g and dh_Ys are read; the signature after them is not checked. Leading
    zero bytes of the prime do not count towards its size (some servers pad it).
    """
    reader = ByteReader(body)
    prime_bytes = reader.vector(2, "ServerKeyExchange dh_p", min_length=1,
                                max_length=MAX_DH_PRIME_BITS // 8 + 1)
    generator = reader.vector(2, "ServerKeyExchange dh_g", min_length=1)
    public_value = reader.vector(2, "ServerKeyExchange dh_Ys", min_length=1)
    prime = int.from_bytes(prime_bytes, "big")
    if prime < 3 or prime % 2 == 0:
        raise WireError(f"ServerKeyExchange: dh_p {prime_bytes[:8].hex()}... is not odd")
    return DhParameters(prime, int.from_bytes(generator[:MAX_DH_PRIME_BITS // 8], "big"),
                        len(public_value))
