"""ServerKeyExchange: the one field a scanner wants from it, the server's ECDHE group."""

from __future__ import annotations

from .errors import WireError
from .reader import ByteReader

__all__ = ["parse_ecdhe_server_key_exchange"]


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
