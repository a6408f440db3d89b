"""Hostile and broken TLS peers for the hostile-server suite: one behaviour per handler.

Each handler runs in a :class:`~tests.support.processes.TcpServer` thread on 127.0.0.1 (started
in a child process by ``child_tcp_server``, so that under CPU load its replies are not held
back by the scanner's hold on the test process's GIL) and scripts
the server side of one connection from canned bytes (``tests.support.tlsbytes``): no TLS library
on the server side, so it can lie about lengths, versions and message order as no real
server would. Scripts that need a TLS 1.2 first flight refuse a ClientHello that does not
offer TLS 1.2 with a ``protocol_version`` alert, as a real TLS 1.2-only server would.
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import struct
import threading
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from scanner.lab.server import ListenerConfig, build_context
from scanner.pkix.issuing import Issued, issue, make_ca, name

from . import tlsbytes as tb
from .processes import ChildServer, Handler, TcpServer, child_tcp_server

ALERT_HANDSHAKE_FAILURE = 40
ALERT_PROTOCOL_VERSION = 70
ALERT_CERTIFICATE_REQUIRED = 116


_KEYGEN_LOCK = threading.Lock()


def rsa_certificate_der(*, padding: int = 0) -> bytes:
    """A self-signed RSA 2048 certificate for localhost (for RSA key exchange scripts).

    ``padding`` adds an opaque extension of that many bytes, to build huge certificates.
    Made once per process: RSA key generation holds the GIL, so scripts must not each make
    one while a sweep runs in the same process (call it before the sweep to be sure).
    """
    with _KEYGEN_LOCK:
        return _rsa_certificate_der(padding)


@functools.cache
def _rsa_certificate_der(padding: int) -> bytes:
    filler = (x509.UnrecognizedExtension(
        x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"),
        b"\x04\x83" + padding.to_bytes(3, "big") + b"\x00" * padding),) if padding else ()
    issued = issue(None, name("localhost"), hosts=("localhost",), key_type="rsa", days=1,
                   extra=filler)
    return issued.certificate.public_bytes(Encoding.DER)


# --- reading the client ----------------------------------------------------------------


def read_exactly(conn: socket.socket, server: TcpServer, count: int) -> bytes | None:
    """``count`` bytes from the client, or None at EOF / server stop."""
    conn.settimeout(0.05)
    data = b""
    while len(data) < count:
        if server.stopping.is_set():
            return None
        try:
            chunk = conn.recv(count - len(data))
        except TimeoutError:
            continue
        if not chunk:
            return None
        data += chunk
    return data


def read_handshake_message(conn: socket.socket, server: TcpServer) -> bytes | None:
    """The next whole handshake message from plaintext records (None at EOF)."""
    buffer = b""
    while True:
        if len(buffer) >= 4 and len(buffer) >= 4 + int.from_bytes(buffer[1:4], "big"):
            return buffer[:4 + int.from_bytes(buffer[1:4], "big")]
        header = read_exactly(conn, server, 5)
        if header is None:
            return None
        payload = read_exactly(conn, server, int.from_bytes(header[3:5], "big"))
        if payload is None:
            return None
        if header[0] == tb.CONTENT_HANDSHAKE:
            buffer += payload


def read_client_hello(conn: socket.socket, server: TcpServer) -> tb.ClientHelloInfo | None:
    message = read_handshake_message(conn, server)
    if message is None:
        return None
    hello = tb.parse_client_hello(message)
    server.note(f"client hello offering {[hex(v) for v in hello.versions]}")
    return hello


def hold(conn: socket.socket, server: TcpServer) -> None:
    """Keep the connection open, reading and discarding, until the client leaves."""
    conn.settimeout(0.05)
    while not server.stopping.is_set():
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue
        except OSError:
            return


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def tls12_first_flight(hello: tb.ClientHelloInfo, *middle: bytes,
                       certificate: bytes | None = None, done: bool = True) -> bytes:
    """ServerHello + Certificate + ``middle`` messages + ServerHelloDone, as records."""
    extensions = tb.ext(tb.EXT_RENEGOTIATION_INFO, b"\x00")
    if hello.requests_ocsp:
        extensions += tb.ext(tb.EXT_STATUS_REQUEST, b"")
    if hello.accepts_tickets:
        extensions += tb.ext(tb.EXT_SESSION_TICKET, b"")
    messages = (tb.server_hello(session_id=hello.session_id, extensions=extensions)
                + (certificate or tb.certificate(rsa_certificate_der()))
                + b"".join(middle) + (tb.server_hello_done() if done else b""))
    return tb.records(tb.CONTENT_HANDSHAKE, messages)


def tls12_script(
    respond: Callable[[socket.socket, TcpServer, tb.ClientHelloInfo], None],
) -> Handler:
    """A handler that refuses non-TLS 1.2 offers with an alert and runs ``respond`` otherwise."""
    rsa_certificate_der()  # made now, not in a server thread during the sweep

    def handler(conn: socket.socket, server: TcpServer) -> None:
        hello = read_client_hello(conn, server)
        if hello is None:
            return
        if not hello.offers_tls12:
            conn.sendall(tb.alert(ALERT_PROTOCOL_VERSION))
            hold(conn, server)
            return
        respond(conn, server, hello)

    return handler


def flight_then_hold(*middle: bytes, certificate: bytes | None = None) -> Handler:
    def respond(conn: socket.socket, server: TcpServer, hello: tb.ClientHelloInfo) -> None:
        conn.sendall(tls12_first_flight(hello, *middle, certificate=certificate))
        hold(conn, server)

    return tls12_script(respond)


# --- the behaviours --------------------------------------------------------------------


def accept_then_close(conn: socket.socket, server: TcpServer) -> None:
    """Accept the TCP connection and close it at once, before any byte.

    A FIN first, then drain: a ClientHello that arrived before this process ran would
    otherwise be unread at ``close`` and turn the close into a reset."""
    conn.shutdown(socket.SHUT_WR)
    hold(conn, server)


def rst_after_client_hello(conn: socket.socket, server: TcpServer) -> None:
    if read_client_hello(conn, server) is not None:
        reset(conn)


def garbage(conn: socket.socket, server: TcpServer) -> None:
    """Answer the ClientHello with bytes that are not TLS, then wait."""
    if read_client_hello(conn, server) is not None:
        conn.sendall(bytes(range(0x30, 0x30 + 64)) * 8)
        hold(conn, server)


def drip(conn: socket.socket, server: TcpServer) -> None:
    """Send a valid TLS 1.2 first flight one byte per second: every read makes progress, so
    only a deadline on the whole connection (not per read) stops it."""
    hello = read_client_hello(conn, server)
    if hello is None:
        return
    for byte in tls12_first_flight(hello):
        conn.sendall(bytes([byte]))
        if server.stopping.wait(1.0):
            return


def reset_mid_handshake(conn: socket.socket, server: TcpServer) -> None:
    """ServerHello and half a Certificate, then a TCP RST."""
    hello = read_client_hello(conn, server)
    if hello is None:
        return
    flight = tls12_first_flight(hello) if hello.offers_tls12 else tb.record(
        tb.CONTENT_HANDSHAKE, tb.tls13_server_hello(hello.session_id))
    conn.sendall(flight[:len(flight) // 2])
    server.stopping.wait(0.2)  # let the client read what was sent before the RST
    reset(conn)


def server_hello_then_silence(conn: socket.socket, server: TcpServer) -> None:
    """A valid ServerHello for whatever was offered (TLS 1.3 or 1.2), then nothing."""
    hello = read_client_hello(conn, server)
    if hello is None:
        return
    if tb.TLS13 in hello.versions:
        message = tb.tls13_server_hello(hello.session_id)
    else:
        message = tb.server_hello(session_id=hello.session_id,
                                  extensions=tb.ext(tb.EXT_RENEGOTIATION_INFO, b"\x00"))
    conn.sendall(tb.record(tb.CONTENT_HANDSHAKE, message))
    hold(conn, server)


def oversized_record(conn: socket.socket, server: TcpServer) -> None:
    """A handshake record whose length field says 2^14 + 2048 + 1 bytes."""
    if read_client_hello(conn, server) is not None:
        conn.sendall(tb.record(tb.CONTENT_HANDSHAKE, b"\x02" + b"\x00" * (2**14 + 2048)))
        hold(conn, server)


def oversized_later_record(conn: socket.socket, server: TcpServer) -> None:
    """A valid ServerHello record, then a record longer than any TLS version allows."""
    hello = read_client_hello(conn, server)
    if hello is None:
        return
    message = (tb.server_hello(session_id=hello.session_id) if hello.offers_tls12
               else tb.tls13_server_hello(hello.session_id))
    conn.sendall(tb.record(tb.CONTENT_HANDSHAKE, message)
                 + tb.record(tb.CONTENT_HANDSHAKE, b"\x0b" + b"\x00" * 40_000))
    hold(conn, server)


def wrong_version_server_hello(version: int) -> Handler:
    """A ServerHello selecting ``version`` whatever the client offered."""

    def handler(conn: socket.socket, server: TcpServer) -> None:
        hello = read_client_hello(conn, server)
        if hello is None:
            return
        conn.sendall(tb.record(tb.CONTENT_HANDSHAKE, tb.server_hello(
            version=version, session_id=hello.session_id)))
        hold(conn, server)

    return handler


def alert_after_client_hello(description: int, level: int = 2) -> Handler:
    def handler(conn: socket.socket, server: TcpServer) -> None:
        if read_client_hello(conn, server) is not None:
            conn.sendall(tb.alert(description, level))
            hold(conn, server)

    return handler


def alert_after_server_hello(description: int) -> Handler:
    def respond(conn: socket.socket, server: TcpServer, hello: tb.ClientHelloInfo) -> None:
        conn.sendall(tb.record(tb.CONTENT_HANDSHAKE, tb.server_hello(
            session_id=hello.session_id, extensions=tb.ext(tb.EXT_RENEGOTIATION_INFO, b"\x00")))
            + tb.alert(description))
        hold(conn, server)

    return tls12_script(respond)


def alert_after_client_flight(description: int) -> Handler:
    """A full first flight with a CertificateRequest; the alert answers the client's flight."""

    def respond(conn: socket.socket, server: TcpServer, hello: tb.ClientHelloInfo) -> None:
        conn.sendall(tls12_first_flight(hello, tb.certificate_request()))
        if read_handshake_message(conn, server) is not None:  # the client's Certificate
            conn.sendall(tb.alert(description))
        hold(conn, server)

    return tls12_script(respond)


def lying_certificate_request() -> Handler:
    """A CertificateRequest whose one DN claims 500 bytes in a list that holds 20."""
    dn = (500).to_bytes(2, "big") + b"\x30\x12" + b"\x31\x10" + b"\x00" * 14
    return flight_then_hold(tb.certificate_request(ca_names=tb.vec(2, dn)))


def lying_ca_list_length() -> Handler:
    """A CertificateRequest whose DN list length claims more bytes than the message has."""
    return flight_then_hold(tb.certificate_request(ca_names=(4000).to_bytes(2, "big")
                                                   + b"\x00\x03\x30\x01\x00"))


def huge_certificate(size: int = 200_000) -> Handler:
    """A Certificate message of about ``size`` bytes (one certificate with a padded extension)."""
    der = rsa_certificate_der(padding=size)
    return flight_then_hold(certificate=tb.certificate(der))


def garbage_certificate() -> Handler:
    """A Certificate message whose one entry is not DER at all."""
    return flight_then_hold(certificate=tb.certificate(b"this is not a certificate"))


def malformed_certificate_status(*, status_type: int = 1, response: bytes = b"\x30\x03\x0a\x01",
                                 length: int | None = 4000) -> Handler:
    """A CertificateStatus (stapled OCSP) whose response length or type lies."""
    return flight_then_hold(tb.certificate_status(response, status_type=status_type,
                                                  length=length))


def flood(conn: socket.socket, server: TcpServer, chunk: bytes) -> None:
    """Send ``chunk`` again and again until the client leaves (or the server stops)."""
    conn.settimeout(5.0)  # block while the client digests; its close ends the loop
    while not server.stopping.is_set():
        conn.sendall(chunk)


def hello_request_flood(conn: socket.socket, server: TcpServer) -> None:
    """Answer the ClientHello with HelloRequests, forever."""
    if read_client_hello(conn, server) is not None:
        flood(conn, server, tb.record(tb.CONTENT_HANDSHAKE, tb.hello_request()) * 4096)


def tls12_ticket_flood() -> Handler:
    """After the client's flight, NewSessionTicket after NewSessionTicket, never Finished."""

    def respond(conn: socket.socket, server: TcpServer, hello: tb.ClientHelloInfo) -> None:
        conn.sendall(tls12_first_flight(hello))
        if read_handshake_message(conn, server) is None:  # ClientKeyExchange
            return
        flood(conn, server,
              tb.record(tb.CONTENT_HANDSHAKE, tb.new_session_ticket(b"t" * 32)) * 1024)

    return tls12_script(respond)


def warning_alert_flood(conn: socket.socket, server: TcpServer) -> None:
    """Warning-level alerts with an unknown description, forever."""
    if read_client_hello(conn, server) is not None:
        flood(conn, server, tb.alert(0xEE, level=1) * 4096)


# --- a fragmenting proxy ---------------------------------------------------------------


def fragmenting_proxy(upstream: tuple[str, int], fragment: int = 1) -> Handler:
    """Relay to a real TLS server, re-cutting its plaintext handshake records into
    ``fragment``-byte records (legal: RFC 8446 5.1, RFC 5246 6.2.1)."""

    def handler(conn: socket.socket, server: TcpServer) -> None:
        with socket.create_connection(upstream, timeout=5) as up:
            _relay(conn, up, server, fragment)

    return handler


def _relay(client: socket.socket, up: socket.socket, server: TcpServer, fragment: int) -> None:
    pending = b""
    encrypted = False  # after the server's ChangeCipherSpec, type-22 records are encrypted
    client.setblocking(True)
    up.setblocking(True)
    while not server.stopping.is_set():
        readable, _, _ = select.select([client, up], [], [], 0.05)
        if client in readable:
            data = client.recv(65536)
            if not data:
                return
            up.sendall(data)
        if up in readable:
            data = up.recv(65536)
            if not data:
                return
            pending += data
            out = b""
            while len(pending) >= 5 and len(pending) >= 5 + int.from_bytes(pending[3:5], "big"):
                size = 5 + int.from_bytes(pending[3:5], "big")
                whole, pending = pending[:size], pending[size:]
                if whole[0] == 20:
                    encrypted = True
                if whole[0] == tb.CONTENT_HANDSHAKE and not encrypted:
                    out += tb.records(tb.CONTENT_HANDSHAKE, whole[5:], fragment=fragment)
                    server.note(f"re-cut a {size - 5}-byte handshake record")
                else:
                    out += whole
            client.sendall(out)


# --- real TLS servers with a hostile streak ---------------------------------------------


def renegotiate_forever(certificate: Issued, *, io_timeout: float = 2.0) -> Handler:
    """A TLS 1.2 server that, once the handshake is done, renegotiates again and again.

    Where the server's Finished ends a handshake (the first, full one), the HelloRequest
    leaves in the same write (OpenSSL through memory BIOs): the client has it the moment
    its handshake completes, however late this process gets the CPU. The renegotiations
    resume the session (cheap for a loaded client), so the client's Finished ends them and
    the next HelloRequest follows it as soon as this process runs.
    """
    context = build_context(ListenerConfig(certificate=certificate,
                                           max_version=SSL.TLS1_2_VERSION))

    def handler(sock: socket.socket, server: TcpServer) -> None:
        sock.settimeout(io_timeout)
        connection = SSL.Connection(context, None)
        connection.set_accept_state()

        def flush() -> None:
            with contextlib.suppress(SSL.WantReadError):
                while data := connection.bio_read(65536):
                    sock.sendall(data)

        def step(operation: Callable[[], object]) -> bool:
            """Run ``operation`` once; on WantRead, send what is due only if a handshake is
            still under way (else the Finished waits for the next HelloRequest), then read."""
            try:
                operation()
                return True
            except SSL.WantReadError:
                if connection.renegotiate_pending() or not handshake_done:
                    flush()
                    data = sock.recv(65536)
                    if not data:
                        raise EOFError from None
                    connection.bio_write(data)
                return False

        handshake_done = False
        try:
            while not step(connection.do_handshake):
                pass
            handshake_done = True
            while not server.stopping.is_set():
                connection.renegotiate()
                step(connection.do_handshake)  # queues the HelloRequest behind the Finished
                flush()
                server.note("sent a HelloRequest")
                while connection.renegotiate_pending():
                    step(lambda: connection.recv(1))
        except (SSL.Error, OSError, EOFError) as exc:
            with contextlib.suppress(OSError):
                flush()  # an alert of ours, e.g. protocol_version to a TLS 1.3 offer
            server.note(f"ended: {exc!r}")

    return handler


def renegotiating_server() -> contextlib.AbstractContextManager[ChildServer]:
    """A :func:`renegotiate_forever` listener in a child process."""
    return child_tcp_server(renegotiate_forever(lab_certificate()), name="renegotiating")


def lab_certificate() -> Issued:
    ca = make_ca(name("Hostile Test CA"))
    return issue(ca, name("localhost"), hosts=("localhost", "127.0.0.1"))
