"""What to scan: a resolved target, and parsing of ``host[:port]`` arguments and host names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import starttls
from scanner.offers.credential import ClientCredential
from scanner.results.identity import (
    TargetKey,
    format_endpoint,
    ip_literal,
    is_ip_literal,
    target_key,
)
from scanner.wire.http_connect import HttpProxy

if TYPE_CHECKING:
    from scanner.policy.expectations import Expectations

DEFAULT_PORT = 443

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class TargetSyntaxError(ValueError):
    """A host or host:port that cannot be a scan target."""


@dataclass(frozen=True)
class HttpCheck:
    """How the enforcement probe asks a connection the TLS layer accepted for an HTTP answer."""

    enabled: bool = True
    path: str = "/"
    host: str | None = None  # the Host header; None: the SNI, else the host (see http_host)
    #: Paths whose per-path client authentication is checked (inventory ``http_paths``).
    paths: tuple[str, ...] = ("/",)


@dataclass(frozen=True, slots=True)  # slots: a million targets fit in memory
class Target:
    """One endpoint to scan, after defaults and overrides are applied."""

    host: str
    port: int = DEFAULT_PORT
    sni: str | None = None
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    probes: tuple[str, ...] | None = None
    timeout: float | None = None
    #: Extra ALPN protocol IDs for the alpn probe; None: the sweep's (--alpn-extra).
    alpn_extra: tuple[str, ...] | None = None
    #: Trust anchors for this target's certificate checks; None: the sweep's (--ca-bundle).
    ca_bundle: Path | None = field(default=None, compare=False)
    origin: str = "command line"
    http: HttpCheck = HttpCheck()
    #: The user's client certificate and key (read once, in memory only).
    client_credential: ClientCredential | None = field(default=None, compare=False, hash=False)
    #: The user's client CA and its key, to issue an expired certificate from it.
    client_ca: ClientCredential | None = field(default=None, compare=False, hash=False)
    expect: Expectations | None = field(default=None, hash=False, compare=False)
    #: The plaintext protocol that upgrades to TLS ("postgres", "smtp", ...); "tls": none.
    protocol: str = starttls.TLS
    #: Scan every address the host resolves to, one record each (--all-addresses).
    all_addresses: bool = field(default=False, compare=False)
    #: The one address to connect to (set when all_addresses expands a target); part of the key.
    address: str | None = None
    #: Reach the target through this HTTP proxy (CONNECT); None: the sweep's (--https-proxy).
    https_proxy: HttpProxy | None = field(default=None, compare=False)
    #: Other server names served on this address (inventory ``sni_names``); None: the sweep's.
    sni_names: tuple[str, ...] | None = field(default=None, compare=False, hash=False)
    #: At most this many names per address for the vhosts probe; None: the sweep's.
    max_sni_names: int | None = field(default=None, compare=False, hash=False)

    @property
    def label(self) -> str:
        """How humans see the target: its name, or host:port (and the address it is pinned to)."""
        label = self.name or format_endpoint(self.host, self.port)
        return label if self.address is None else f"{label} ({self.address})"

    @property
    def http_host(self) -> str:
        """The Host header: as configured, else the SNI or host, with the port unless 443."""
        if self.http.host:
            return self.http.host
        name = self.sni or (f"[{self.host}]" if ":" in self.host else self.host)
        return name if self.port == DEFAULT_PORT else f"{name}:{self.port}"

    @property
    def key(self) -> TargetKey:
        """Identity of a target inside one sweep (what resume and merge compare)."""
        return target_key(self.host, self.port, self.sni, self.address)






def resolve_protocol(protocol: str, port: int) -> str:
    """A protocol name as the engine takes it: ``auto`` becomes the port's well-known one."""
    if protocol == starttls.AUTO:
        return starttls.protocol_for_port(port)
    if protocol not in starttls.PROTOCOLS:
        raise TargetSyntaxError(
            f"unknown protocol {protocol!r}; known: {', '.join((*starttls.PROTOCOLS, 'auto'))}")
    return protocol
DEFAULT_MAX_SNI_NAMES = 16  # each name costs the vhosts probe 3 connections, each pair 1


def validate_sni_names(names: Iterable[str]) -> tuple[str, ...]:
    """Server names to compare on one address: valid DNS names (no IP literals, which SNI
    cannot carry), lower-cased, duplicates dropped, order kept."""
    out: list[str] = []
    for name in names:
        valid = validate_host(name)
        if is_ip_literal(valid):
            raise TargetSyntaxError(f"{name!r} is an IP address; SNI carries host names only")
        out.append(valid.rstrip("."))
    return tuple(dict.fromkeys(out))


def colocated_names(targets: Iterable[Target],
                    addresses: Mapping[tuple[str, int], str] | None = None,
                    ) -> dict[tuple[str, int], tuple[str, ...]]:
    """The server names the targets send to each address, by each target's (host, port):
    the names that share an address, which the vhosts probe compares. ``addresses``: the
    resolved address of (host, port) where known; otherwise the host as written groups."""
    targets = list(targets)
    where = addresses or {}

    def address(target: Target) -> tuple[str, int]:
        return (where.get((target.host, target.port), target.host), target.port)

    groups: dict[tuple[str, int], dict[str, None]] = {}
    for target in targets:
        if target.sni:
            groups.setdefault(address(target), {})[target.sni] = None
    return {(t.host, t.port): tuple(groups.get(address(t), {})) for t in targets}


def validate_host(host: str) -> str:
    """Return the host normalised, or raise TargetSyntaxError saying what is wrong."""
    host = host.strip()
    if not host:
        raise TargetSyntaxError("host is empty")
    if "://" in host or "/" in host:
        raise TargetSyntaxError(
            f"{host!r} looks like a URL; give a host name or IP address (and port separately)"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    address = ip_literal(host)
    if address is not None:
        return str(address)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise TargetSyntaxError(f"{host!r} is not a valid host name ({exc})") from None
    name = ascii_host.rstrip(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise TargetSyntaxError(f"{host!r} is not a valid host name or IP address")
    return ascii_host.lower()


MAX_SNI_LENGTH = 253  # RFC 1035 section 2.3.4: a name in text form, without the final dot


def validate_sni(sni: str) -> str:
    """The server name to send, as the DNS name it must be (RFC 6066 section 3): non-ASCII
    labels become their IDNA A-labels, a final dot is dropped; anything else (spaces, control
    characters, empty or over-long labels, over 253 characters) raises TargetSyntaxError."""
    if not sni:
        raise TargetSyntaxError("sni is empty; leave it out to send none for an IP address")
    unprintable = next((c for c in sni if not c.isprintable() or c.isspace()), None)
    if unprintable is not None:
        raise TargetSyntaxError(f"sni {sni[:80]!r} contains {unprintable!r}; a server name is "
                                "letters, digits, '-' and dots")
    try:
        ascii_name = sni.encode("idna").decode("ascii") if not sni.isascii() else sni
    except UnicodeError as exc:
        raise TargetSyntaxError(f"sni {sni[:80]!r} is not a valid internationalised name "
                                f"({exc})") from None
    name = ascii_name[:-1] if ascii_name.endswith(".") else ascii_name
    if len(name) > MAX_SNI_LENGTH:
        raise TargetSyntaxError(f"sni is {len(name)} characters; a DNS name is at most "
                                f"{MAX_SNI_LENGTH}")
    bad = next((label for label in name.split(".") if not _LABEL.match(label)), None)
    if bad is not None:
        raise TargetSyntaxError(f"sni {sni[:80]!r} is not a DNS name (label {bad[:70]!r}: "
                                "1-63 letters, digits or '-', not starting or ending with '-')")
    return name


def validate_port(port: int) -> int:
    if not 1 <= port <= 65535:
        raise TargetSyntaxError(f"port {port} is out of range 1-65535")
    return port


def parse_endpoint(text: str) -> tuple[str, int]:
    """Split ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    text = text.strip()
    port = DEFAULT_PORT
    if "://" in text:
        raise TargetSyntaxError(
            f"{text!r} looks like a URL; give host, host:port or [IPv6]:port"
        )
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise TargetSyntaxError(f"{text!r}: missing ']' after the IPv6 address")
        host, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise TargetSyntaxError(f"{text!r}: expected ':port' after ']'")
            port = _parse_port(rest[1:], text)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = _parse_port(port_text, text)
    else:
        host = text  # a name, an IPv4 address, or a bare IPv6 address
    return validate_host(host), validate_port(port)


def _parse_port(port_text: str, whole: str) -> int:
    if not port_text.isdigit():
        raise TargetSyntaxError(f"{whole!r}: port {port_text!r} is not a number")
    return int(port_text)


MAX_ALPN_ID_LENGTH = 255  # RFC 7301 section 3.1: opaque ProtocolName<1..2^8-1>


def validate_alpn_id(protocol: str) -> str:
    """An ALPN protocol ID to offer, or TargetSyntaxError saying what is wrong.

    RFC 7301 allows any bytes; we take printable ASCII without spaces or commas (every
    registered ID is), so that IDs survive a comma-separated option and a JSON record.
    """
    if not protocol:
        raise TargetSyntaxError("an ALPN protocol ID cannot be empty")
    if len(protocol) > MAX_ALPN_ID_LENGTH:
        raise TargetSyntaxError(
            f"ALPN protocol ID {protocol[:20]!r}... is {len(protocol)} characters, over "
            f"{MAX_ALPN_ID_LENGTH}")
    if not all("!" <= char <= "~" and char != "," for char in protocol):
        raise TargetSyntaxError(
            f"ALPN protocol ID {protocol!r}: only printable ASCII without spaces or commas")
    return protocol


MAX_ALPN_EXTRA = 32  # each costs the alpn probe a connection per version when supported


def validate_alpn_extra(protocols: Iterable[str]) -> tuple[str, ...]:
    """Extra ALPN IDs: each valid, duplicates dropped (order kept), at most MAX_ALPN_EXTRA."""
    unique = tuple(dict.fromkeys(validate_alpn_id(protocol) for protocol in protocols))
    if len(unique) > MAX_ALPN_EXTRA:
        raise TargetSyntaxError(
            f"{len(unique)} extra ALPN protocol IDs; at most {MAX_ALPN_EXTRA} are allowed")
    return unique

