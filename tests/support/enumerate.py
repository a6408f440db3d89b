"""A small, slow, obviously-correct enumeration of a server's versions and suites (tests only).

One blocking pyOpenSSL handshake per candidate: each version alone, then each catalog suite
this OpenSSL can offer alone, then the server's preference order by offering what is left.
It feeds :class:`scanner.policy.identify.Observation` so the identification tests run against
real servers before the real enumeration probe exists; the lead should switch these tests to
the probe once it is merged.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from OpenSSL import SSL

from scanner.policy.identify import Observation
from scanner.policy.suites import CipherSuite, normalize_group, suite_table

_PROTOCOLS = {"TLSv1.0": SSL.TLS1_VERSION, "TLSv1.1": SSL.TLS1_1_VERSION,
              "TLSv1.2": SSL.TLS1_2_VERSION, "TLSv1.3": SSL.TLS1_3_VERSION}


@dataclass(frozen=True)
class Handshake:
    suite: CipherSuite
    group: str | None
    key_type: str


def offerable_suites() -> list[CipherSuite]:
    """Catalog suites the OpenSSL in the pyOpenSSL wheel can put in a ClientHello."""
    usable = []
    for suite in suite_table().by_code.values():
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        try:
            if suite.is_tls13:
                context.set_tls13_ciphersuites(suite.iana.encode())  # type: ignore[union-attr]
            else:
                context.set_cipher_list(f"{suite.openssl}:@SECLEVEL=0".encode())
        except SSL.Error:
            continue
        usable.append(suite)
    return sorted(usable)


def handshake(port: int, version: str, suites: Sequence[CipherSuite],
              host: str = "127.0.0.1") -> Handshake | None:
    """One handshake offering only ``suites`` at ``version``; None if the server refuses."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(_PROTOCOLS[version])
    context.set_max_proto_version(_PROTOCOLS[version])
    context.set_verify(SSL.VERIFY_NONE, None)
    older = [s.openssl for s in suites if not s.is_tls13 and s.openssl]
    newer = [s.iana for s in suites if s.is_tls13]
    try:
        context.set_cipher_list((":".join(older) if older else "DEFAULT").encode()
                                + b":@SECLEVEL=0")
        context.set_tls13_ciphersuites(":".join(n for n in newer if n).encode())
    except SSL.Error:
        return None
    with socket.create_connection((host, port), timeout=5) as sock:
        connection = SSL.Connection(context, sock)
        connection.set_tlsext_host_name(b"localhost")
        connection.set_connect_state()
        if not _handshake_completes(connection, sock):
            return None
        name = connection.get_cipher_name()
        group = connection.get_group_name()
        certificate = connection.get_peer_certificate(as_cryptography=True)
        key = certificate.public_key() if certificate is not None else None
        key_type = ("rsa" if isinstance(key, rsa.RSAPublicKey) else
                    "ecdsa" if isinstance(key, ec.EllipticCurvePublicKey) else
                    "dsa" if isinstance(key, dsa.DSAPublicKey) else "other")
        connection.shutdown()
    if name is None:
        raise AssertionError("a completed handshake always has a cipher suite")
    group_name = group.decode() if isinstance(group, bytes) else group
    return Handshake(suite_table().resolve(name), normalize_group(group_name)
                     if group_name else None, key_type)


def _handshake_completes(connection: SSL.Connection, sock: socket.socket) -> bool:
    """Drive the handshake on a socket with a timeout (pyOpenSSL then sees it non-blocking)."""
    while True:
        try:
            connection.do_handshake()
            return True
        except SSL.WantReadError:
            if not select.select([sock], [], [], 5)[0]:
                return False
        except (SSL.Error, OSError):
            return False


def server_order(port: int, version: str, accepted: Sequence[CipherSuite]) -> list[int] | None:
    """The server's preference order, or None when the client's order decides."""
    if len(accepted) < 2:
        return [s.code for s in accepted] or None
    forward = handshake(port, version, accepted)
    backward = handshake(port, version, list(reversed(accepted)))
    if forward is None or backward is None or forward.suite != backward.suite:
        return None
    order, left = [], list(accepted)
    while left:
        chosen = handshake(port, version, left)
        assert chosen is not None, "the server refused suites it accepted one at a time"
        order.append(chosen.suite.code)
        left = [s for s in left if s.code != chosen.suite.code]
    return order


def observe(port: int, versions: Sequence[str] = tuple(_PROTOCOLS)) -> Observation:
    """Everything :func:`scanner.policy.identify.identify` needs, measured on ``port``."""
    candidates = offerable_suites()
    accepted_versions: dict[str, bool] = {}
    suites: dict[str, tuple[int, ...]] = {}
    orders: dict[str, tuple[int, ...]] = {}
    tested: dict[str, frozenset[int]] = {}
    groups: set[str] = set()
    key_types: set[str] = set()
    for version in versions:
        pool = [s for s in candidates if s.runs_on(version)]
        tested[version] = frozenset(s.code for s in pool)
        accepted_versions[version] = handshake(port, version, pool) is not None
        if not accepted_versions[version]:
            continue
        accepted = []
        for suite in pool:
            result = handshake(port, version, [suite])
            if result is not None:
                accepted.append(suite)
                key_types.add(result.key_type)
                if result.group:
                    groups.add(result.group)
        suites[version] = tuple(s.code for s in accepted)
        order = server_order(port, version, accepted)
        if order:
            orders[version] = tuple(order)
    return Observation(versions=accepted_versions, suites=suites, server_order=orders,
                       tested_suites=tested, groups_accepted=frozenset(groups),
                       key_types=frozenset(key_types))
