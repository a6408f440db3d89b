"""TLS 1.2 servers (pyOpenSSL, in a child process of the tests) that answer a client-initiated
renegotiation in ways the installed real servers cannot be configured to: openssl s_server,
nginx, haproxy and gnutls-serv either complete it or send a warning ``no_renegotiation`` alert.

* ``"close"``: when the client's next record after the handshake is a handshake record (the
  renegotiation ClientHello), close the TCP connection without an alert, as servers that
  watch for renegotiation in an info callback do (old nginx, haproxy before OpenSSL 1.1.1).
* ``"require_certificate"``: allow the renegotiation, but require a client certificate in
  it, as servers that ask for one per resource do; without one the second handshake ends
  in a fatal ``handshake_failure`` alert.
* ``"ignore"``: read and discard whatever the client sends after the handshake, never
  answering: the renegotiation gets no response at all.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterator
from typing import Literal

from OpenSSL import SSL

from .pki import TestPKI
from .processes import ChildServer, TcpServer, child_tcp_server

Behaviour = Literal["close", "require_certificate", "ignore"]

# openssl/ssl.h (3.0+): SSL_OP_ALLOW_CLIENT_RENEGOTIATION = SSL_OP_BIT(8); pyOpenSSL does
# not export it. Without it an OpenSSL 3+ server refuses client-initiated renegotiation.
SSL_OP_ALLOW_CLIENT_RENEGOTIATION = 1 << 8
_HANDSHAKE_RECORD = 0x16
_IO_TIMEOUT_S = 5


def _context(pki: TestPKI, behaviour: Behaviour) -> SSL.Context:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_max_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate_file(str(pki.server_files.cert))
    context.use_privatekey_file(str(pki.server_files.key))
    if behaviour == "require_certificate":
        context.set_options(SSL_OP_ALLOW_CLIENT_RENEGOTIATION)
        context.load_verify_locations(str(pki.client_ca_bundle))
    return context


def _handler(context: SSL.Context, behaviour: Behaviour):  # type: ignore[no-untyped-def]
    def handle(sock: socket.socket, server: TcpServer) -> None:
        # pyOpenSSL wants a blocking socket; kernel timeouts bound every read and write.
        sock.setblocking(True)
        timeval = struct.pack("ll", _IO_TIMEOUT_S, 0)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        connection = SSL.Connection(context, sock)
        connection.set_accept_state()
        try:
            connection.do_handshake()
            server.note("handshake done")
            if behaviour == "close":
                head = sock.recv(1, socket.MSG_PEEK)
                server.note(f"next record type {head.hex() or 'EOF'}")
                if head and head[0] == _HANDSHAKE_RECORD:
                    sock.shutdown(socket.SHUT_RDWR)
                return
            if behaviour == "ignore":
                while not server.stopping.is_set():
                    with contextlib.suppress(TimeoutError, BlockingIOError):
                        if not sock.recv(65536):
                            return
                return
            connection.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
                                  lambda _c, _x, _e, _d, ok: bool(ok))
            connection.recv(4096)  # the renegotiation runs inside this read
        except (SSL.Error, OSError) as exc:
            server.note(f"ended: {exc!r}")

    return handle


@contextlib.contextmanager
def renegotiation_peer(pki: TestPKI, behaviour: Behaviour) -> Iterator[ChildServer]:
    """A started TLS 1.2 server on 127.0.0.1 with the given behaviour, in a child process
    (its answers do not wait for the scanner to let go of the test process's GIL)."""
    context = _context(pki, behaviour)
    handler = _handler(context, behaviour)
    with child_tcp_server(handler, name=f"renegotiation-{behaviour}") as server:
        yield server
