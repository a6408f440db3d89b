"""Name resolution and TCP connection, each under a deadline, failing with typed errors."""

from __future__ import annotations

import errno
import ipaddress
import os
import select
import socket
import struct
from dataclasses import dataclass

import trio

from scanner.engine.errors import ScanFailure
from scanner.engine.proxy import open_tunnel
from scanner.results import ErrorKind
from scanner.wire.http_connect import HttpProxy


@dataclass(frozen=True)
class Address:
    family: int
    ip: str  # with ``via``: the host (name or address) the proxy is asked to connect to
    port: int
    #: Tunnel through this HTTP proxy (its resolved address in ``via_address``).
    via: HttpProxy | None = None
    via_address: tuple[int, str] | None = None  # (family, ip) of the proxy


async def resolve(host: str, port: int, *, timeout: float) -> list[Address]:
    """All addresses for host, IPv6 and IPv4 as the system orders them."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return [Address(family, host, port)]
    with trio.move_on_after(timeout) as scope:
        try:
            infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ScanFailure(
                ErrorKind.dns_failure, f"cannot resolve {host}: {exc.strerror}"
            ) from None
    if scope.cancelled_caught:
        raise ScanFailure(ErrorKind.dns_failure, f"resolving {host} took over {timeout:g}s")
    seen: dict[str, Address] = {}
    for family, _type, _proto, _canon, sockaddr in infos:
        ip = str(sockaddr[0])
        seen.setdefault(ip, Address(int(family), ip, port))
    if not seen:
        raise ScanFailure(ErrorKind.dns_failure, f"{host} has no addresses")
    return list(seen.values())


_ERRNO_KINDS = {
    errno.ECONNREFUSED: ErrorKind.connection_refused,
    errno.ECONNRESET: ErrorKind.connection_reset,
    errno.ENETUNREACH: ErrorKind.network_unreachable,
    errno.EHOSTUNREACH: ErrorKind.network_unreachable,
    errno.EADDRNOTAVAIL: ErrorKind.network_unreachable,
    errno.ETIMEDOUT: ErrorKind.connect_timeout,
}


async def open_tcp(address: Address, *, timeout: float) -> trio.SocketStream:
    """Connect to one address; no happy-eyeballs, since the record names the address used."""
    family, ip, port = address.family, address.ip, address.port
    if address.via is not None and address.via_address is not None:  # TCP goes to the proxy
        (family, ip), port = address.via_address, address.via.port
    started = trio.current_time()
    await trio.lowlevel.checkpoint_if_cancelled()
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        # A plain non-blocking connect, not trio's ``socket.connect``: the address is already
        # numeric, so trio's resolving it again (getaddrinfo per connection) is pure cost.
        error = sock.connect_ex((ip, port))
        if error in (errno.EINPROGRESS, errno.EAGAIN):
            if not _connected_already(sock):
                with trio.move_on_after(timeout) as scope:
                    await trio.lowlevel.wait_writable(sock)
                if scope.cancelled_caught:
                    raise ScanFailure(
                        ErrorKind.connect_timeout,
                        f"no answer to TCP connect within {timeout:g}s (filtered port or "
                        "host down?)",
                    )
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, os.strerror(error))
    except OSError as exc:
        sock.close()
        kind = _ERRNO_KINDS.get(exc.errno or 0, ErrorKind.network_unreachable)
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        where = f"TCP connect to {ip} port {port}"
        raise ScanFailure(kind, f"{where}: {reason}") from None
    except BaseException:
        sock.close()
        raise
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))  # sets TCP_NODELAY
    if address.via is not None:
        try:
            await open_tunnel(stream, address.ip, address.port, address.via,
                              timeout=max(0.0, timeout - (trio.current_time() - started)))
        except BaseException:
            sock.close()
            raise
    return stream


def _connected_already(sock: socket.socket) -> bool:
    """Whether a connect in progress has already finished (or failed): on loopback or a
    LAN it usually has by the time ``connect`` returns, and asking the kernel once costs
    far less than a round of the event loop (registering, waiting, unregistering)."""
    poll = select.poll()
    poll.register(sock, select.POLLOUT)
    return bool(poll.poll(0))


# struct tcp_info (linux/tcp.h): eight u8 fields, then u32s; tcpi_rtt is the 16th u32.
_TCP_INFO_RTT_OFFSET = 8 + 15 * 4


def kernel_rtt(stream: trio.SocketStream) -> float | None:
    """The kernel's round-trip estimate for a connected socket, in seconds (Linux TCP_INFO).

    Timing connect() from Python also counts the time the task waited for the event loop,
    which on a busy sweep (hundreds of connections in flight) is far longer than the network
    round trip; the kernel's figure, taken from the SYN / SYN-ACK exchange, is not skewed.
    None where TCP_INFO is unavailable.
    """
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        info = stream.socket.getsockopt(socket.IPPROTO_TCP, option, 104)
    except OSError:
        return None
    if len(info) < _TCP_INFO_RTT_OFFSET + 4:
        return None
    (rtt_us,) = struct.unpack_from("=I", info, _TCP_INFO_RTT_OFFSET)
    return rtt_us / 1e6 if rtt_us else None
