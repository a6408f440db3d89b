"""The OpenSSL client context that makes one ``ClientOffer``, cached per distinct offer."""

from __future__ import annotations

from collections.abc import Callable

from OpenSSL import SSL
from OpenSSL._util import lib

from scanner.engine import capture
from scanner.offers.offer import ClientOffer

KeylogWriter = Callable[[bytes], None]


class ContextFactory:
    """Builds and caches one client ``SSL.Context`` per distinct offer.

    Creating a context costs far more than a connection, so probes that repeat an offer
    across many targets share one.
    """

    def __init__(self, keylog: KeylogWriter | None = None) -> None:
        self._keylog = keylog
        self._cache: dict[tuple[object, ...], SSL.Context] = {}

    def context_for(self, offer: ClientOffer) -> SSL.Context:
        key = offer.context_key()
        context = self._cache.get(key)
        if context is None:
            context = self._build(offer)
            self._cache[key] = context
        return context

    def _build(self, offer: ClientOffer) -> SSL.Context:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(int(offer.min_version))
        context.set_max_proto_version(int(offer.max_version))
        context.set_cipher_list(offer.cipher_list.encode())
        if offer.tls13_ciphersuites is not None:
            context.set_tls13_ciphersuites(offer.tls13_ciphersuites.encode())
        if offer.signature_algorithms and not lib.SSL_CTX_set1_sigalgs_list(
                context._context, offer.signature_algorithms.encode()):
            raise ValueError(f"OpenSSL rejects signature algorithms {offer.signature_algorithms!r}")
        if offer.groups and not lib.SSL_CTX_set1_curves_list(
                context._context, offer.groups.encode()):
            raise ValueError(f"OpenSSL rejects groups {offer.groups!r}")
        if offer.client_credential is not None:
            credential = offer.client_credential
            context.use_certificate(credential.certificate)
            context.use_privatekey(credential.key)
            for extra in credential.chain:
                context.add_extra_chain_cert(extra)
        if offer.post_handshake_auth:
            lib.SSL_CTX_set_post_handshake_auth(context._context, 1)
        options = SSL.OP_NO_COMPRESSION | SSL.OP_LEGACY_SERVER_CONNECT
        if not offer.session_tickets:
            options |= SSL.OP_NO_TICKET
        context.set_options(options)
        # We observe the server's certificate; judging it is the certificate probe's job.
        context.set_verify(SSL.VERIFY_NONE, None)
        if self._keylog is not None:
            write = self._keylog
            context.set_keylog_callback(lambda _conn, line: write(line + b"\n"))
        capture.install(context)
        return context
