"""Who a record is about: the target key every sweep, resume, merge and diff compares by."""

import functools
import ipaddress

#: (host, port, SNI), host and SNI compared as DNS compares them (case-insensitively) and an
#: IP address in one spelling (``::ffff:192.0.2.1`` is ``192.0.2.1``): two records with equal
#: keys describe the same target. A target scanned once per resolved address
#: (--all-addresses) adds that address, so each of its records has its own identity; other
#: keys keep three parts (and their shard digests).
TargetKey = tuple[str, int, str | None] | tuple[str, int, str | None, str]


def target_key(host: str, port: int, sni: str | None, address: str | None = None) -> TargetKey:
    key = (host_key(host), port, sni.lower() if sni is not None else None)
    if address is not None:
        return (*key, host_key(address))
    return key


def host_key(host: str) -> str:
    """A host as DNS and the address limits compare it: a name lower-cased, an IP address in
    one spelling, an IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) as the IPv4 it maps."""
    address = ip_literal(host)
    if address is None:
        return host.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def endpoint_key(key: TargetKey) -> TargetKey:
    """The key without a pinned address: the inventory target a per-address record is of."""
    return key[:3]


def is_ip_literal(host: str) -> bool:
    return ip_literal(host) is not None


@functools.lru_cache(maxsize=1024)
def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address, None for a name. Remembered for a while: reading one target
    asks this of the same host four or five times (validation, SNI default, key, address
    limit), and ``ipaddress`` takes ~9 us a parse, most of the cost of reading a host list."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def default_sni(host: str) -> str | None:
    """SNI carries names only (RFC 6066 section 3): none for IP literals."""
    return None if is_ip_literal(host) else host.rstrip(".").lower()


def format_endpoint(host: str, port: int) -> str:
    """``host:port``, with IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def key_label(key: TargetKey) -> str:
    """A target key as people read it: the endpoint, and the SNI when it is not the default."""
    host, port, sni = key[:3]
    label = format_endpoint(host, port)
    if sni != default_sni(host):
        label += f" sni={sni or '(none)'}"
    return label + (f" address={key[3]}" if len(key) == 4 else "")
