"""A small threaded TLS server built on pyOpenSSL, configurable like a real listener.

It exists for ``mtlsweep demo`` (which must work offline with nothing but this package) and
for tests of behaviours that no real server can be configured to show. It answers every
request with a fixed HTTP response; it is not meant to be fast.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from OpenSSL import SSL, crypto

from scanner.pkix.issuing import Issued

_HTTP_RESPONSE = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n"
                  b"connection: close\r\n\r\nok\n")


class ClientAuth(StrEnum):
    none = "none"
    request = "request"  # ask for a certificate, carry on without one
    require = "require"  # ask, and fail the handshake without one


class Verification(StrEnum):
    """How a presented client certificate is judged."""

    chain = "chain"  # OpenSSL's verdict: it must chain to a trusted CA (the normal case)
    accept_any = "accept_any"  # ask and take whatever comes (AWS ALB passthrough)
    # A broken check some custom verifiers have: trust a certificate whose issuer *name* is a
    # trusted CA's, without checking the signature. No real server does this on purpose.
    issuer_name_only = "issuer_name_only"
    ignore_expiry = "ignore_expiry"  # chain, but expired certificates pass (ALB option)


_X509_V_ERR_CERT_HAS_EXPIRED = 10


@dataclass(frozen=True)
class ListenerConfig:
    certificate: Issued
    min_version: int = SSL.TLS1_2_VERSION
    max_version: int = SSL.TLS1_3_VERSION
    cipher_list: str | None = None
    tls13_ciphersuites: str | None = None
    client_auth: ClientAuth = ClientAuth.none
    trusted_cas: Sequence[Issued] = ()
    advertise_ca_names: bool = True
    server_preference: bool = True
    chain: Sequence[Issued] = field(default_factory=tuple)
    verification: Verification = Verification.chain
    #: Protocols the server speaks, in its order of preference; a client offering none of
    #: them is refused (no_application_protocol). None: no ALPN.
    alpn: tuple[str, ...] | None = None


def build_context(config: ListenerConfig) -> SSL.Context:
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(config.min_version)
    context.set_max_proto_version(config.max_version)
    if config.cipher_list:
        context.set_cipher_list(config.cipher_list.encode())
    if config.tls13_ciphersuites:
        context.set_tls13_ciphersuites(config.tls13_ciphersuites.encode())
    if config.server_preference:
        context.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE)
    # Without a session ID context OpenSSL refuses to resume sessions of verified peers
    # (a fatal internal_error on the resumption attempt).
    context.set_session_id(b"mtlsweep-lab")
    context.use_certificate(config.certificate.certificate)
    context.use_privatekey(config.certificate.key)
    for extra in config.chain:
        context.add_extra_chain_cert(extra.certificate)
    store = context.get_cert_store()
    for ca in config.trusted_cas:
        if store is not None:
            store.add_cert(crypto.X509.from_cryptography(ca.certificate))
    if config.client_auth is not ClientAuth.none:
        mode = SSL.VERIFY_PEER
        if config.client_auth is ClientAuth.require:
            mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        context.set_verify(mode, _verifier(config))
        if config.advertise_ca_names:
            for ca in config.trusted_cas:
                context.add_client_ca(ca.certificate)
    if config.alpn is not None:
        protocols = [p.encode() for p in config.alpn]

        def select(_conn: SSL.Connection, offered: list[bytes]) -> bytes:
            for protocol in protocols:
                if protocol in offered:
                    return protocol
            # An exception makes pyOpenSSL answer SSL_TLSEXT_ERR_ALERT_FATAL, which OpenSSL
            # turns into a no_application_protocol alert (RFC 7301 section 3.2).
            raise SSL.Error("no protocol in common")

        context.set_alpn_select_callback(select)
    return context


VerifyCallback = Callable[[SSL.Connection, crypto.X509, int, int, int], bool]


def _verifier(config: ListenerConfig) -> VerifyCallback:
    trusted_names = [ca.certificate.subject for ca in config.trusted_cas]

    def verify(_conn: SSL.Connection, cert: crypto.X509, errno: int, _depth: int,
               ok: int) -> bool:
        if ok or config.verification is Verification.accept_any:
            return True
        if config.verification is Verification.ignore_expiry:
            return errno == _X509_V_ERR_CERT_HAS_EXPIRED
        if config.verification is Verification.issuer_name_only:
            issuer: x509.Name = cert.to_cryptography().issuer
            return issuer in trusted_names
        return False

    return verify


class LabServer:
    """Listens on 127.0.0.1 on a free port and serves each connection in a thread."""

    def __init__(self, config: ListenerConfig, *, io_timeout: float = 5.0) -> None:
        self.context = build_context(config)
        self.io_timeout = io_timeout
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.settimeout(0.1)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True,
                                          name=f"lab-server-{self.port}")

    def __enter__(self) -> LabServer:
        self._acceptor.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._stopping.set()
        if self._acceptor.is_alive():
            self._acceptor.join(timeout=5)
        self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=self.io_timeout + 1)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def after_handshake(self, connection: SSL.Connection) -> None:
        """What the listener does once the handshake is done: answer one HTTP request.

        Hostile-peer tests override this (e.g. to renegotiate without end).
        """
        with contextlib.suppress(SSL.ZeroReturnError):  # the client closed: answer in kind
            if connection.get_alpn_proto_negotiated() == b"h2":
                _answer_h2(connection)
            elif connection.recv(4096):
                connection.sendall(_HTTP_RESPONSE)

    def _serve(self, sock: socket.socket) -> None:
        # pyOpenSSL needs a blocking socket; kernel timeouts keep a silent client from
        # holding the thread forever.
        sock.setblocking(True)
        timeval = struct.pack("ll", int(self.io_timeout), int(self.io_timeout % 1 * 1e6))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        connection = SSL.Connection(self.context, sock)
        connection.set_accept_state()
        try:
            connection.do_handshake()
            self.after_handshake(connection)
            # Without our close_notify OpenSSL drops the session from the cache.
            with contextlib.suppress(SSL.Error):
                connection.shutdown()
        except (SSL.Error, OSError):
            pass  # the client gave up or was rejected: both are normal here
        finally:
            sock.close()
            with self._lock:
                self._threads.discard(threading.current_thread())


def _answer_h2(connection: SSL.Connection) -> None:
    """Answer the first HTTP/2 request with 200, as an h2-only (gRPC-style) front would."""
    h2c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    h2c.initiate_connection()
    connection.sendall(h2c.data_to_send())
    while data := connection.recv(65535):
        for event in h2c.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                h2c.send_headers(event.stream_id, [(":status", "200"),
                                                   ("server", "mtlsweep-lab")])
                h2c.send_data(event.stream_id, b"ok\n", end_stream=True)
                h2c.close_connection()
                connection.sendall(h2c.data_to_send())
                # Read until the client closes: closing with its frames unread would reset
                # the connection, and the client could lose the answer.
                while connection.recv(65535):
                    pass
                return
        connection.sendall(h2c.data_to_send())
