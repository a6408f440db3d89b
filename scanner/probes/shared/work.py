"""One target's shared work: the handshakes and raw enumeration several probes read."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from scanner.engine.handshake import HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.offers.credential import ClientCredential
from scanner.offers.offer import ClientOffer
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.shared.memo import TargetMemo
from scanner.wire import TLSVersion

__all__ = ["SharedWork"]


class SharedWork:
    """What probes of one target share, computed once through one ``TargetMemo`` (whose
    docstring states the failure policy). Created per target by ``run/scan.py`` and handed
    to every probe in its ``ProbeContext``.

    Only one-shot handshakes are shared: a connection that carries on (renegotiation,
    enforcement's certificates, the session-ID resumption pair) is made by its probe. A
    shared result's session may be resumed on a connection of one's own (the resumption
    probe's ticket pairs resume the baselines'); the result itself is never changed.

    ``credential`` is the user's client certificate: probes that need a *completed* handshake
    build their offers with :meth:`offer` (which carries it) and read :meth:`completed_baseline`;
    the plain :meth:`baseline` stays the view without a certificate (client_auth's question).
    """

    def __init__(self, session: EndpointSession,
                 credential: ClientCredential | None = None,
                 probes: Collection[str] = ()) -> None:
        self.session = session
        self.credential = credential
        self.memo = TargetMemo()
        # the probes this scan runs: shared work that one probe's hellos can do for another
        # (ALPN questions on suite hellos) is arranged only when both run
        self.enumeration = Enumerator(session, self.memo, probes)

    def baseline_offer(self, version: TLSVersion) -> ClientOffer:
        """The default offer pinned to ``version``, with an OCSP staple requested."""
        return self.session.offer(version, request_ocsp=True)

    async def baseline(self, version: TLSVersion) -> HandshakeResult:
        """The plain handshake at one version, with the short read after it (TLS 1.3
        rejections and tickets arrive then) and close_notify: client_auth, ocsp, certificate,
        alpn, engine_agreement and resumption all read it, so a default scan does not repeat
        it six times."""
        return await self.handshake(self.baseline_offer(version), read_after_handshake=True)

    def offer(self, version: TLSVersion | None = None, **fields: object) -> ClientOffer:
        """``session.offer(...)`` with the user's client certificate, when there is one: a
        server that does not ask for a certificate never sees it, one that requires it lets
        the handshake complete."""
        if self.credential is not None:
            fields.setdefault("client_credential", self.credential)
        return self.session.offer(version, **fields)

    async def completed_baseline(self, version: TLSVersion) -> HandshakeResult:
        """The baseline for probes that need a completed handshake: the plain one, unless the
        server asked for a client certificate and the user gave one; then the same offer with
        the certificate (one more connection, only on servers that ask)."""
        plain = await self.baseline(version)
        if self.credential is None or not plain.certificate_requested:
            return plain
        offer = dataclasses.replace(self.baseline_offer(version),
                                    client_credential=self.credential)
        return await self.handshake(offer, read_after_handshake=True)

    async def handshake(self, offer: ClientOffer, *,
                        read_after_handshake: bool = False) -> HandshakeResult:
        """``session.handshake()``, made once per distinct offer, whichever probe asks
        first; the others read the same result (which they must not change)."""
        return await self.memo.get(
            ("handshake", offer, read_after_handshake),
            lambda: self.session.handshake(offer, read_after_handshake=read_after_handshake))
