"""One raw ClientHello, one answer: the fast path for enumerating what a server accepts.

We send a ClientHello built by ``wire`` and read until the server's ServerHello (or
HelloRetryRequest, alert, SSLv2 answer, close, timeout), optionally on to ServerHelloDone
for TLS 1.2 key-exchange details, then close. No key exchange happens on our side, so any
suite, version or group can be offered, including ones no OpenSSL build still implements.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import trio

from scanner import wire
from scanner.engine import sockio
from scanner.engine.errors import ScanFailure
from scanner.offers.keyshares import X25519, key_share
from scanner.results import ErrorKind
from scanner.wire import TLSVersion
from scanner.wire.tls13_flight import handshake_payload
from scanner.wire.tls13_keys import TLS13_KEY_SHARE_GROUPS, EphemeralKey

_RECEIVE_CHUNK = 65536


def _group(name: str) -> int:
    return wire.code_for(wire.NAMED_GROUPS, name)


# Groups a TLS 1.3 server may pick (RFC 8446 4.2.7, RFC 8734, RFC 9189 / RFC 9367,
# RFC 8998, draft-ietf-tls-mlkem, draft-ietf-tls-ecdhe-mlkem, Kyber drafts).
TLS13_GROUPS: tuple[int, ...] = tuple(_group(name) for name in (
    "x25519", "secp256r1", "secp384r1", "secp521r1", "x448",
    "X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024",
    "MLKEM512", "MLKEM768", "MLKEM1024", "X25519Kyber768Draft00", "SecP256r1Kyber768Draft00",
    "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192",
    "brainpoolP256r1tls13", "brainpoolP384r1tls13", "brainpoolP512r1tls13",
    "curveSM2", "GC256A", "GC256B", "GC256C", "GC256D", "GC512A", "GC512B", "GC512C",
))

# Curves a TLS 1.0-1.2 server may name in an ECDHE ServerKeyExchange (RFC 8422 5.1.1,
# RFC 4492 for the deprecated binary and small prime curves, RFC 7027 for brainpool).
TLS12_CURVES: tuple[int, ...] = (
    *(_group(name) for name in ("x25519", "secp256r1", "secp384r1", "secp521r1", "x448",
                                "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1")),
    *range(1, 23),  # sect163k1 .. secp256k1
)

# What an enumeration hello offers so the server can pick any suite it has: every curve,
# plus the RFC 7919 groups for DHE suites.
TLS12_OFFERED_GROUPS: tuple[int, ...] = (
    *TLS12_CURVES,
    *(_group(f"ffdhe{bits}") for bits in (2048, 3072, 4096, 6144, 8192)),
)

# Every signature scheme with a name, TLS 1.3 ones first (what servers look for first).
SIGNATURE_ALGORITHMS: tuple[int, ...] = tuple(
    sorted(wire.SIGNATURE_SCHEMES, key=lambda code: (code < 0x0700, code))
)


@dataclass(frozen=True)
class RawOffer:
    """What one raw ClientHello offers; ``encode`` adds fresh randomness each time.

    ``version`` is the single version offered: TLS 1.3 through supported_versions, older
    versions through the legacy version field only (as clients of that era did). SSLv3
    hellos carry no extensions, only the renegotiation SCSV.
    """

    version: int
    cipher_suites: tuple[int, ...]
    sni: str | None = None
    groups: tuple[int, ...] | None = None  # None: the default for the version
    key_share_groups: tuple[int, ...] = (X25519,)
    alpn: tuple[str, ...] = ()
    npn: bool = True
    legacy_extensions: bool = True  # renegotiation_info, EMS, ETM, session_ticket, OCSP
    #: TLS 1.3: send real key shares (fresh key pairs for the groups we can compute) and
    #: read the server's EncryptedExtensions after its ServerHello (``encode_keyed``).
    decrypt: bool = False

    def client_hello(self, keys: dict[int, EphemeralKey] | None = None) -> wire.ClientHello:
        """The hello; with ``keys``, TLS 1.3 key shares of groups we can compute get fresh
        key pairs, kept in ``keys``."""
        if self.version == TLSVersion.TLSv1_3:
            return self._tls13(keys)
        if self.version == TLSVersion.SSLv3:
            suites = (*self.cipher_suites, wire.SCSV_EMPTY_RENEGOTIATION_INFO)
            return wire.ClientHello(TLSVersion.SSLv3, os.urandom(32), b"", suites, b"\x00", None)
        return wire.pad_client_hello(self._tls12())

    def encode(self) -> bytes:
        """The hello record, with a fresh random (and TLS 1.3 session id) each time.

        Everything else in it is fixed by the offer, so it is built once per offer
        (``_template``) and only the random bytes are written in: sweeps send the same
        offer to many listeners, and building and encoding the hello was ~4 % of a sweep.
        """
        template, session_id_length = _template(self)
        fresh = os.urandom(32 + session_id_length)  # one system call for both
        return b"".join((template[:_RANDOM_AT], fresh[:32],
                         template[_SESSION_ID_AT - 1:_SESSION_ID_AT], fresh[32:],
                         template[_SESSION_ID_AT + session_id_length:]))

    def _encode_fresh(self) -> tuple[bytes, int]:
        sslv3 = self.version == TLSVersion.SSLv3
        record_version = TLSVersion.SSLv3 if sslv3 else TLSVersion.TLSv1_0
        hello = self.client_hello()
        return (wire.client_hello_record(hello, record_version=record_version),
                len(hello.session_id))

    def encode_keyed(self) -> tuple[bytes, wire.HandshakeDecryption | None]:
        """The hello and, for a TLS 1.3 ``decrypt`` offer, what reading the server's
        EncryptedExtensions needs (its private keys and the ClientHello as sent)."""
        if not self.decrypt or self.version != TLSVersion.TLSv1_3:
            return self.encode(), None
        keys: dict[int, EphemeralKey] = {}
        payload = wire.client_hello_record(self.client_hello(keys),
                                           record_version=TLSVersion.TLSv1_0)
        return payload, wire.HandshakeDecryption(handshake_payload(payload), keys)

    def _common(self) -> list[wire.Extension]:
        extensions = []
        if self.sni:
            extensions.append(wire.server_name_extension(self.sni))
        return extensions

    def _tls13(self, keys: dict[int, EphemeralKey] | None) -> wire.ClientHello:
        groups = self.groups or TLS13_GROUPS
        shares = []
        for group in self.key_share_groups:
            if group not in groups:
                continue
            if keys is not None and group in TLS13_KEY_SHARE_GROUPS:
                keys[group] = EphemeralKey(group)
                shares.append(wire.KeyShareEntry(group, keys[group].public))
            elif (entry := key_share(group)) is not None:
                shares.append(entry)
        extensions = [
            *self._common(),
            wire.supported_versions_extension([TLSVersion.TLSv1_3]),
            wire.supported_groups_extension(groups),
            wire.key_share_extension(shares),
            wire.signature_algorithms_extension(SIGNATURE_ALGORITHMS),
            wire.psk_key_exchange_modes_extension(),
        ]
        if self.alpn:
            extensions.append(wire.alpn_extension(self.alpn))
        hello = wire.ClientHello(TLSVersion.TLSv1_2, os.urandom(32), os.urandom(32),
                                 self.cipher_suites, b"\x00", tuple(extensions))
        return wire.pad_client_hello(hello)

    def _tls12(self) -> wire.ClientHello:
        extensions = [
            *self._common(),
            wire.supported_groups_extension(self.groups or TLS12_OFFERED_GROUPS),
            wire.ec_point_formats_extension(),
        ]
        if self.version == TLSVersion.TLSv1_2:  # RFC 5246 7.4.1.4.1: not for earlier versions
            extensions.append(wire.signature_algorithms_extension(SIGNATURE_ALGORITHMS))
        if self.legacy_extensions:
            extensions += [
                wire.renegotiation_info_extension(),
                wire.empty_extension(wire.ExtensionType.extended_master_secret),
                wire.empty_extension(wire.ExtensionType.encrypt_then_mac),
                wire.session_ticket_extension(),
                wire.status_request_extension(),
            ]
        if self.npn:
            extensions.append(wire.next_protocol_negotiation_extension())
        if self.alpn:
            extensions.append(wire.alpn_extension(self.alpn))
        return wire.ClientHello(self.version, os.urandom(32), b"", self.cipher_suites, b"\x00",
                                tuple(extensions))

    @property
    def offered_extensions(self) -> frozenset[int]:
        hello = self.client_hello()
        return frozenset(ext.type for ext in hello.extensions or ())


# Offsets in a ClientHello record: record header (5), handshake header (4), legacy_version
# (2), then the random (32), the session id's length (1) and the session id.
_RANDOM_AT = 5 + 4 + 2
_SESSION_ID_AT = _RANDOM_AT + 32 + 1


@functools.lru_cache(maxsize=1024)
def _template(offer: RawOffer) -> tuple[bytes, int]:
    """One encoding of ``offer`` (its random bytes are replaced on use) and the length of
    its session id; ``lru_cache`` does not keep an offer that fails to encode."""
    return offer._encode_fresh()


class RawOutcome(StrEnum):
    server_hello = "server_hello"
    hello_retry_request = "hello_retry_request"
    sslv2_server_hello = "sslv2_server_hello"
    sslv2_error = "sslv2_error"
    alert = "alert"
    closed = "closed"
    reset = "reset"
    timeout = "timeout"
    not_tls = "not_tls"
    malformed = "malformed"
    connect_failed = "connect_failed"
    skipped = "skipped"  # not sent: the server answered no earlier hello at all


@dataclass
class RawReply:
    """The server's answer to one raw ClientHello."""

    outcome: RawOutcome
    flight: wire.ServerFlight = field(default_factory=wire.ServerFlight)
    failure: ScanFailure | None = None
    duration_s: float = 0.0
    #: What came back after a follow-up message (``EndpointSession.raw_exchange(then=)``).
    followup: FollowUp | None = None

    @property
    def server_hello(self) -> wire.ServerHello | None:
        return self.flight.server_hello

    @property
    def encrypted_extensions(self) -> wire.EncryptedExtensions | None:
        """What a ``decrypt`` offer read after a TLS 1.3 ServerHello, when it could."""
        decryption = self.flight.decryption
        return None if decryption is None else decryption.encrypted_extensions

    @property
    def hello(self) -> bool:
        """A ServerHello or HelloRetryRequest: the server negotiated something."""
        return self.outcome in (RawOutcome.server_hello, RawOutcome.hello_retry_request)

    @property
    def version(self) -> int | None:
        hello = self.flight.server_hello
        return None if hello is None else hello.selected_version

    @property
    def cipher_suite(self) -> int | None:
        hello = self.flight.server_hello
        return None if hello is None else hello.cipher_suite

    @property
    def alert(self) -> wire.Alert | None:
        return self.flight.alert

    @property
    def refusal(self) -> str:
        """Why no hello came back, in the words the record uses."""
        if self.outcome is RawOutcome.alert and self.flight.alert is not None:
            return self.flight.alert.name
        if self.outcome is RawOutcome.sslv2_error and isinstance(self.flight.sslv2,
                                                                 wire.Ssl2Error):
            return f"SSLv2 {self.flight.sslv2.name}"
        if self.failure is not None and self.outcome in (
                RawOutcome.malformed, RawOutcome.not_tls, RawOutcome.connect_failed,
                RawOutcome.skipped):
            return f"{self.outcome.value}: {self.failure.detail}"
        return self.outcome.value

    def key_exchange_group(self) -> int | None:
        """TLS 1.3: the key_share group (or the group an HRR asks for); TLS 1.2: the named
        curve of an ECDHE ServerKeyExchange, when the flight was read that far."""
        hello = self.flight.server_hello
        if hello is None:
            return None
        if hello.selected_version >= TLSVersion.TLSv1_3:
            return hello.key_share_group
        body = self.flight.message(wire.HandshakeType.server_key_exchange)
        if body is None:
            return None
        try:
            return wire.parse_ecdhe_server_key_exchange(body)
        except wire.WireError:
            return None


def _classify(flight: wire.ServerFlight, eof: bool) -> tuple[RawOutcome, ScanFailure | None]:
    if flight.not_tls is not None:
        return RawOutcome.not_tls, ScanFailure(
            ErrorKind.not_tls, f"the peer does not speak TLS; it sent {flight.not_tls}")
    if flight.error is not None:
        return RawOutcome.malformed, ScanFailure(
            ErrorKind.protocol_error, f"malformed answer to a ClientHello: {flight.error}")
    if flight.server_hello is not None:
        if flight.server_hello.is_hello_retry_request:
            return RawOutcome.hello_retry_request, None
        return RawOutcome.server_hello, None
    if flight.sslv2 is not None:
        if isinstance(flight.sslv2, wire.Ssl2Error):
            return RawOutcome.sslv2_error, ScanFailure(
                ErrorKind.handshake_failure, f"SSLv2 {flight.sslv2.name}")
        return RawOutcome.sslv2_server_hello, None
    if flight.alert is not None:
        alert = flight.alert
        return RawOutcome.alert, ScanFailure(
            ErrorKind.handshake_failure,
            f"the server sent a {alert.level_name} {alert.name} alert", alert=alert.name)
    if eof:
        return RawOutcome.closed, ScanFailure(
            ErrorKind.connection_closed,
            "the server closed the connection without answering the ClientHello")
    return RawOutcome.timeout, ScanFailure(
        ErrorKind.timeout, "the server accepted the TCP connection but sent nothing before the "
        "deadline" if flight.bytes_received == 0 else
        f"answer unfinished at the deadline ({flight.bytes_received} bytes received)")


async def exchange(stream: trio.abc.Stream, payload: bytes, *, deadline: float,
                   stop_at: wire.StopAt = wire.StopAt.SERVER_HELLO,
                   decryption: wire.HandshakeDecryption | None = None) -> RawReply:
    """Send ``payload`` (one or more records) and read the answer; never raises on I/O.
    With ``decryption``, a TLS 1.3 answer is read on to its EncryptedExtensions."""
    started = time.perf_counter()
    flight = wire.ServerFlight(stop_at=stop_at, decryption=decryption)
    eof = False
    try:
        with trio.move_on_at(deadline):
            await sockio.send_all(stream, payload)
            while not flight.done:
                data = await sockio.receive_some(stream, _RECEIVE_CHUNK)
                if not data:
                    eof = True
                    break
                flight.feed(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
        cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else exc
        if flight.server_hello is None and flight.alert is None and flight.sslv2 is None:
            detail = ("the server reset the connection (TCP RST)"
                      if isinstance(cause, ConnectionResetError) else f"connection broke: {cause}")
            return RawReply(RawOutcome.reset, flight,
                            ScanFailure(ErrorKind.connection_reset, detail),
                            time.perf_counter() - started)
        eof = True
    outcome, failure = _classify(flight, eof)
    return RawReply(outcome, flight, failure, time.perf_counter() - started)


@dataclass
class FollowUp:
    """The server's records after a follow-up message, and how the reading ended."""

    sent: bytes
    records: wire.FollowUpRecords
    ending: str = "window"  # "window" (nothing more before it ended), "closed", "reset", "done"


async def follow_up(stream: trio.abc.Stream, data: bytes, *, deadline: float, window: float,
                    cap: int,
                    enough: Callable[[wire.FollowUpRecords], bool] | None = None) -> FollowUp:
    """Send ``data`` on a raw connection and read records for at most ``window`` seconds
    (within ``deadline``) and ``cap`` bytes, or until ``enough`` is true of what was read;
    never raises on I/O."""
    result = FollowUp(data, wire.FollowUpRecords(cap=cap))
    try:
        with trio.move_on_at(min(deadline, trio.current_time() + window)):
            await sockio.send_all(stream, data)
            while not result.records.done and not (enough is not None
                                                   and enough(result.records)):
                chunk = await sockio.receive_some(stream, _RECEIVE_CHUNK)
                if not chunk:
                    result.ending = "closed"
                    return result
                result.records.feed(chunk)
            result.ending = "done"
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        result.ending = "reset"
    return result


def connect_failed(failure: ScanFailure) -> RawReply:
    return RawReply(RawOutcome.connect_failed, wire.ServerFlight(), failure.detached())


def skipped(reason: str) -> RawReply:
    return RawReply(RawOutcome.skipped, wire.ServerFlight(),
                    ScanFailure(ErrorKind.timeout, reason))


def sslv2_hello() -> bytes:
    """An SSLv2 CLIENT-HELLO offering every SSL 2.0 cipher kind."""
    return wire.build_sslv2_client_hello(challenge=os.urandom(16))


def describe_version(code: int) -> str:
    return wire.name_for(wire.PROTOCOL_VERSIONS, code)
