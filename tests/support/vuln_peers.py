"""Scripted TLS 1.2 peers with the flaws the active checks look for, and without them.

Each is written from the flaw's published description (no vulnerable server can be
installed here): a heartbeat responder that copies the claimed payload length from its
memory (Heartbleed, CVE-2014-0160, as described in RFC 6520's own rule it broke: a
too-large payload_length MUST be discarded silently), and a server that takes a
ChangeCipherSpec before the key exchange and then fails the next record's MAC (CCS
injection, CVE-2014-0224), and a front end that answers a ticket sent with a short session
ID with a 32-byte one (Ticketbleed, CVE-2016-9244, F5's advisory K05121675), and an RSA
server whose reaction depends on the premaster secret's padding (ROBOT). Every peer has
a correct twin, so each check is asserted both ways.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from scanner import wire
from scanner.pkix.issuing import Issued, issue, name

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


def heartbeat_peer(*, leaks: bool, acknowledges: bool = True) -> Handler:
    """Answers a heartbeat request: with ``payload_length`` bytes of "memory" whatever the
    request carried (``leaks``), or as RFC 6520 4 requires (an overlong one is dropped, a
    well-formed one answered).
    It acknowledges the heartbeat extension in its ServerHello, as the vulnerable OpenSSL
    1.0.1 builds did, unless ``acknowledges`` is False."""

    def after(conn: socket.socket, server: TcpServer) -> None:
        while (received := read_record(conn, server)) is not None:
            if received[0] != CONTENT_HEARTBEAT or len(received[1]) < 3:
                return
            server.note("heartbeat received")
            body = received[1]
            claimed, carried = int.from_bytes(body[1:3], "big"), len(body) - 3
            if claimed + 16 > carried and not leaks:
                server.note("overlong heartbeat dropped")
                continue
            response = b"\x02" + claimed.to_bytes(2, "big") + (body[3:] + MEMORY * claimed)[
                :claimed] + b"\x00" * 16
            conn.sendall(tb.records(CONTENT_HEARTBEAT, response))

    return _flight_then(after, heartbeat=acknowledges)


def early_ccs_peer(*, accepts: bool, silent: bool = False) -> Handler:
    """Takes a ChangeCipherSpec before ClientKeyExchange and fails the next record's MAC
    (``accepts``), or refuses it with unexpected_message; ``silent`` (not accepting) says
    nothing at all and keeps the connection open."""

    def after(conn: socket.socket, server: TcpServer) -> None:
        received = read_record(conn, server)
        if received is None or received[0] != CONTENT_CHANGE_CIPHER_SPEC:
            return
        if silent:
            hold(conn, server)
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


TLS_RSA_WITH_AES_128_GCM_SHA256 = 0x009C
ALERT_HANDSHAKE_FAILURE = 40


@functools.cache
def _rsa_identity() -> Issued:
    return issue(None, name("localhost"), hosts=("localhost",), key_type="rsa", days=1)


def rsa_oracle_peer(*, oracle: bool) -> Handler:
    """A static-RSA TLS 1.2 server that decrypts the ClientKeyExchange with its key. As an
    ``oracle`` it refuses a block whose PKCS#1 padding does not start 0x00 0x02 or has no
    0x00 separator at once (handshake_failure), and answers the others only after the
    Finished (bad_record_mac): the distinguishable reactions the ROBOT paper describes.
    Otherwise it always waits for the Finished and answers bad_record_mac."""
    identity = _rsa_identity()  # made now, not in a server thread during the sweep
    der = identity.certificate.public_bytes(Encoding.DER)
    private = identity.key
    assert isinstance(private, rsa.RSAPrivateKey)
    numbers = private.private_numbers()
    size = private.key_size // 8

    def respond(conn: socket.socket, server: TcpServer, hello: tb.ClientHelloInfo) -> None:
        if TLS_RSA_WITH_AES_128_GCM_SHA256 not in hello.cipher_suites:
            conn.sendall(tb.alert(ALERT_HANDSHAKE_FAILURE))
            return
        conn.sendall(tb.records(tb.CONTENT_HANDSHAKE, tb.server_hello(
            session_id=hello.session_id, cipher_suite=TLS_RSA_WITH_AES_128_GCM_SHA256,
            extensions=tb.ext(tb.EXT_RENEGOTIATION_INFO, b"\x00"))
            + tb.certificate(der) + tb.server_hello_done()))
        exchange = read_record(conn, server)
        if exchange is None or exchange[0] != tb.CONTENT_HANDSHAKE:
            return
        encrypted = int.from_bytes(exchange[1][6:], "big")
        block = pow(encrypted, numbers.d, numbers.public_numbers.n).to_bytes(size, "big")
        well_padded = block[:2] == b"\x00\x02" and b"\x00" in block[2:]
        if oracle and not well_padded:
            conn.sendall(tb.alert(ALERT_HANDSHAKE_FAILURE))
            return
        if read_record(conn, server) is not None and read_record(conn, server) is not None:
            conn.sendall(tb.alert(ALERT_BAD_RECORD_MAC))

    return tls12_script(respond)
