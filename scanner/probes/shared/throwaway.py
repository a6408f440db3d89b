"""Certificates the enforcement probe presents: made in memory, never written anywhere.

They are made once per key type (and per copied CA name, or per user CA) and reused across
the targets of a sweep, so the OpenSSL contexts built for them are shared too; a fresh set
per target would cost a context each and grow the context cache with the sweep.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Callable

from cryptography import x509

from scanner.offers.credential import ClientCredential
from scanner.pkix import issuing as pki
from scanner.pkix.issuing import KeyType

_ORGANIZATION = "mtlsweep enforcement probe"
_LIFETIME_DAYS = 7
_RENEW_AFTER = datetime.timedelta(days=1)
_MAX_CACHED = 256  # distinct look-alike CA names and user CAs remembered per process


def probe_name(common_name: str) -> x509.Name:
    return pki.name(common_name, _ORGANIZATION)


class ThrowawayCertificates:
    """A cache of generated client credentials, renewed a day after they were made.

    Thread-safe: probes prepare certificates in a worker thread, since an RSA key takes long
    enough to stall every other connection of the sweep.
    """

    def __init__(self) -> None:
        self._cache: OrderedDict[tuple[object, ...],
                                 tuple[datetime.datetime, ClientCredential]] = OrderedDict()
        self._lock = threading.Lock()

    def self_signed(self, key_type: KeyType) -> ClientCredential:
        def make() -> ClientCredential:
            issued = pki.self_signed_client(probe_name("mtlsweep self-signed client"),
                                            days=_LIFETIME_DAYS, key_type=key_type)
            return ClientCredential(issued.certificate, issued.key)
        return self._get(("self_signed", key_type), make)

    def untrusted_ca(self, key_type: KeyType) -> ClientCredential:
        def make() -> ClientCredential:
            ca = pki.make_ca(probe_name("mtlsweep untrusted CA"), days=_LIFETIME_DAYS,
                             key_type=key_type)
            leaf = pki.issue(ca, probe_name("mtlsweep untrusted-CA client"), client=True,
                             days=_LIFETIME_DAYS, key_type=key_type)
            return ClientCredential(leaf.certificate, leaf.key)
        return self._get(("untrusted_ca", key_type), make)

    def lookalike(self, ca_name_der: bytes, key_type: KeyType) -> ClientCredential:
        """A client certificate from a new CA whose subject copies ``ca_name_der``.

        Raises ValueError when the name holds values that cannot be copied. The leaf names
        its issuer but carries no authority key identifier, so a server can only tell it
        from the real CA's certificates by checking the signature.
        """
        def make() -> ClientCredential:
            subject = pki.name_from_der(ca_name_der)
            ca = pki.make_ca(subject, days=_LIFETIME_DAYS, key_type=key_type)
            leaf = pki.issue(ca, probe_name("mtlsweep look-alike client"), client=True,
                             days=_LIFETIME_DAYS, key_type=key_type, authority_key_id=False)
            return ClientCredential(leaf.certificate, leaf.key)
        return self._get(("lookalike", ca_name_der, key_type), make)

    def issued_by(self, ca: ClientCredential, subject: x509.Name, key_type: KeyType,
                  *, expired: bool) -> ClientCredential:
        """A certificate from the user's CA: valid now, or expired since yesterday."""
        def make() -> ClientCredential:
            issuer = pki.Issued(ca.certificate, ca.key)
            now = datetime.datetime.now(datetime.UTC)
            if expired:
                window = (now - datetime.timedelta(days=31), now - datetime.timedelta(days=1))
            else:
                window = (now - datetime.timedelta(minutes=5),
                          now + datetime.timedelta(days=_LIFETIME_DAYS))
            leaf = pki.issue(issuer, subject, client=True, key_type=key_type,
                             not_before=window[0], not_after=window[1])
            return ClientCredential(leaf.certificate, leaf.key, chain=(ca.certificate, *ca.chain))
        key = ("issued_by", ca.fingerprint, subject.public_bytes(), key_type, expired)
        return self._get(key, make)

    def _get(self, key: tuple[object, ...],
             make: Callable[[], ClientCredential]) -> ClientCredential:
        with self._lock:  # one maker at a time: concurrent targets share the first result
            now = datetime.datetime.now(datetime.UTC)
            cached = self._cache.get(key)
            if cached is not None and now - cached[0] < _RENEW_AFTER:
                self._cache.move_to_end(key)
                return cached[1]
            credential = make()
            self._cache[key] = (now, credential)
            while len(self._cache) > _MAX_CACHED:
                self._cache.popitem(last=False)
            return credential
