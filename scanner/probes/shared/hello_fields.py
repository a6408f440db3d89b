"""Fields picked out of a raw ServerHello's extensions (ALPN, NPN) for the enumeration."""

from __future__ import annotations

from scanner import wire

__all__ = ["npn_protocols", "selected_alpn"]

_EXT_ALPN = 16
_EXT_NPN = 13172


def selected_alpn(hello: wire.ServerHello | None) -> str | None:
    if hello is None:
        return None
    ext = wire.find_extension(hello.extensions, _EXT_ALPN)
    if ext is None:
        return None
    try:
        names = wire.parse_alpn_extension(ext.data)
    except wire.WireError:
        return None
    return names[0] if len(names) == 1 else None


def npn_protocols(hello: wire.ServerHello) -> tuple[str, ...] | None:
    """The server's NPN list, or None when it did not answer the NPN extension."""
    ext = wire.find_extension(hello.extensions, _EXT_NPN)
    if ext is None:
        return None
    try:
        return wire.parse_next_protocol_negotiation_extension(ext.data)
    except wire.WireError:
        return ()
