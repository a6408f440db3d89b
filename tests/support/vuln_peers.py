"""Scripted TLS 1.2 peers with the flaws the active checks look for, and without them.

Each is written from the flaw's published description (no vulnerable server can be
installed here): a heartbeat responder that copies the claimed payload length from its
memory (Heartbleed, CVE-2014-0160, as described in RFC 6520's own rule it broke: a
too-large payload_length MUST be discarded silently), and a server that takes a
ChangeCipherSpec before the key exchange and then fails the next record's MAC (CCS
injection, CVE-2014-0224), and a front end that answers a ticket sent with a short session
ID with a 32-byte one (Ticketbleed, CVE-2016-9244, F5's advisory K05121675). Every peer has
a correct twin, so each check is asserted both ways.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

from scanner import wire

from . import tlsbytes as tb
from .hostile import (
    _relay,
    hold,
    read_exactly,
    rsa_certificate_der,
    tls12_script,
)
from .processes import Handler, TcpServer

CONTENT_CHANGE_CIPHER_SPEC = 20
CONTENT_HEARTBEAT = 24
EXT_HEARTBEAT = 15
ALERT_UNEXPECTED_MESSAGE = 10
ALERT_BAD_RECORD_MAC = 20
#: What the leaky peer "leaks": a recognisable filler, not anything real.
MEMORY = b"\xa5"


def read_record(conn: socket.socket, server: TcpServer) -> tuple[int, bytes] | None:
    header = read_exactly(conn, server, 5)
    if header is None:
        return None
    body = read_exactly(conn, server, int.from_bytes(header[3:5], "big"))
    return None if body is None else (header[0], body)


def _flight_then(after: Callable[[socket.socket, TcpServer], None], *,
                 heartbeat: bool = False) -> Handler:
    def respond(conn: socket.socket, server: TcpServer, hello: tb.ClientHelloInfo) -> None:
        # No session_ticket or status_request echoed: these peers only ever get this far.
        extensions = tb.ext(tb.EXT_RENEGOTIATION_INFO, b"\x00")
        if heartbeat:  # peer_allowed_to_send
            extensions += tb.ext(EXT_HEARTBEAT, b"\x01")
        conn.sendall(tb.records(tb.CONTENT_HANDSHAKE, tb.server_hello(
            session_id=hello.session_id, extensions=extensions)
            + tb.certificate(rsa_certificate_der()) + tb.server_hello_done()))
        after(conn, server)

    return tls12_script(respond)


def heartbeat_peer(*, leaks: bool) -> Handler:
    """Answers a heartbeat request: with ``payload_length`` bytes of "memory" whatever the
    request carried (``leaks``), or as RFC 6520 4 requires (an overlong one is dropped)."""

    def after(conn: socket.socket, server: TcpServer) -> None:
        received = read_record(conn, server)
        if received is None or received[0] != CONTENT_HEARTBEAT or len(received[1]) < 3:
            return
        body = received[1]
        claimed, carried = int.from_bytes(body[1:3], "big"), len(body) - 3
        if claimed + 16 > carried and not leaks:
            server.note("overlong heartbeat dropped")
            hold(conn, server)
            return
        response = b"\x02" + claimed.to_bytes(2, "big") + (body[3:] + MEMORY * claimed)[
            :claimed] + b"\x00" * 16
        conn.sendall(tb.records(CONTENT_HEARTBEAT, response))
        hold(conn, server)

    return _flight_then(after, heartbeat=True)


def early_ccs_peer(*, accepts: bool) -> Handler:
    """Takes a ChangeCipherSpec before ClientKeyExchange and fails the next record's MAC
    (``accepts``), or refuses it with unexpected_message."""

    def after(conn: socket.socket, server: TcpServer) -> None:
        received = read_record(conn, server)
        if received is None or received[0] != CONTENT_CHANGE_CIPHER_SPEC:
            return
        if not accepts:
            conn.sendall(tb.alert(ALERT_UNEXPECTED_MESSAGE))
            return
        if read_record(conn, server) is not None:  # "decrypted" with the wrong keys
            conn.sendall(tb.alert(ALERT_BAD_RECORD_MAC))

    return _flight_then(after)


def ticketbleed_proxy(upstream: tuple[str, int], *, leaks: bool) -> Handler:
    """Relays to a real TLS 1.2 server (which issues the tickets), except that with ``leaks``
    it answers a ClientHello carrying a ticket and a session ID under 32 bytes itself: a
    ServerHello echoing that ID padded to 32 bytes with "memory", as F5's stack did."""

    def handler(conn: socket.socket, server: TcpServer) -> None:
        received = read_record(conn, server)
        if received is None:
            return
        content_type, body = received
        raw_record = bytes([content_type]) + b"\x03\x01" + len(body).to_bytes(2, "big") + body
        if leaks and content_type == tb.CONTENT_HANDSHAKE:
            hello = wire.parse_client_hello(wire.split_handshake(body)[1])
            ticket = hello.extension(wire.ExtensionType.session_ticket)
            if ticket is not None and ticket.data and len(hello.session_id) < 32:
                echoed = hello.session_id + MEMORY * (32 - len(hello.session_id))
                conn.sendall(tb.records(tb.CONTENT_HANDSHAKE, tb.server_hello(
                    session_id=echoed, extensions=tb.ext(tb.EXT_SESSION_TICKET, b""))))
                server.note("echoed a 32-byte session ID")
                return
        with socket.create_connection(upstream, timeout=5) as up:
            up.sendall(raw_record)
            _relay(conn, up, server, 2**14)

    return handler
