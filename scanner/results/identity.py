"""Who a record is about: the target key every sweep, resume, merge and diff compares by."""

from __future__ import annotations

import ipaddress

#: (host, port, SNI), host and SNI compared as DNS compares them (case-insensitively) and an
#: IP address in one spelling (``::ffff:192.0.2.1`` is ``192.0.2.1``): two records with equal
#: keys describe the same target.
TargetKey = tuple[str, int, str | None]


def target_key(host: str, port: int, sni: str | None) -> TargetKey:
    return (_host_key(host), port, sni.lower() if sni is not None else None)


def _host_key(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def default_sni(host: str) -> str | None:
    """SNI carries names only (RFC 6066 section 3): none for IP literals."""
    return None if is_ip_literal(host) else host.rstrip(".").lower()


def format_endpoint(host: str, port: int) -> str:
    """``host:port``, with IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def key_label(key: TargetKey) -> str:
    """A target key as people read it: the endpoint, and the SNI when it is not the default."""
    host, port, sni = key
    label = format_endpoint(host, port)
    return label if sni == default_sni(host) else f"{label} sni={sni or '(none)'}"
