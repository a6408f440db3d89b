"""Heartbleed (CVE-2014-0160): does the server answer a heartbeat that claims more payload
than it carries, with its own memory?

RFC 6520 4 says such a request MUST be discarded silently; OpenSSL 1.0.1-1.0.1f copied the
claimed length from its memory instead. Those builds always acknowledged the heartbeat
extension in their ServerHello (heartbeat support was compiled in and on by default), so a
server that does not acknowledge it is read as not vulnerable at once, with no heartbeat
sent. Otherwise we send, after ServerHelloDone, one heartbeat request claiming 16384 bytes
and carrying none, then one well-formed request, and count (never keep) the heartbeat bytes
that come back, reading at most 64 KiB. Records are processed in order, so the first
heartbeat response settles it: a leaking server's answer to the overlong request (16403
bytes, in two records) comes before the well-formed one's, and a correct server's first
answer is the well-formed one's (35 bytes). Only a server that answers neither costs the
window below.
"""

from __future__ import annotations

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.engine.session import EndpointSession
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.shared.version_tests import VersionTest
from scanner.probes.vulns.common import (
    accepted_hello,
    legacy_hello,
    legacy_version,
    no_hello,
    not_applicable,
    record,
    verdict,
)
from scanner.results import VulnerabilityCheck

CLAIMED_PAYLOAD = 0x4000
#: How long to wait for a heartbeat answer from a server that acknowledged the extension: a
#: correct one drops the request silently and costs this wait (a leaking one answers at once).
HEARTBEAT_WINDOW_S = 2.0
HEARTBEAT_REQUEST = 1
# type, payload_length: no payload, no padding (an honest request needs 16 bytes of padding)
MALFORMED_REQUEST = bytes([HEARTBEAT_REQUEST]) + CLAIMED_PAYLOAD.to_bytes(2, "big")
HONEST_PAYLOAD = bytes(range(16))
# type, payload_length, payload, the minimum 16 bytes of padding (RFC 6520 4)
HONEST_REQUEST = (bytes([HEARTBEAT_REQUEST]) + len(HONEST_PAYLOAD).to_bytes(2, "big")
                  + HONEST_PAYLOAD + bytes(16))
#: The response to HONEST_REQUEST: type, length, our payload, 16 bytes of padding.
HONEST_RESPONSE_LENGTH = len(HONEST_REQUEST)
# peer_allowed_to_send (RFC 6520 2)
HEARTBEAT_EXTENSION = wire.Extension(wire.ExtensionType.heartbeat, b"\x01")


NOT_APPLICABLE = "no TLS 1.0-1.2: TLS 1.3 has no heartbeat extension in use"


async def check(session: EndpointSession, enum: Enumerator) -> VulnerabilityCheck:
    test = await legacy_version(enum)
    if test is None:
        return not_applicable(NOT_APPLICABLE)
    return verdict_on(await exchange(session, enum, test), test.version)


async def exchange(session: EndpointSession, enum: Enumerator, test: VersionTest, *,
                   compression_methods: bytes = b"\x00") -> RawReply:
    """The version test's hello with the heartbeat extension (and ``compression_methods``,
    so the compression check can ride on the same connection), the heartbeats after it."""
    version = test.version

    def heartbeat(reply: RawReply) -> bytes | None:
        if not accepted_hello(reply, version) or not acknowledged(reply):
            return None
        return (record(wire.ContentType.heartbeat, version, MALFORMED_REQUEST)
                + record(wire.ContentType.heartbeat, version, HONEST_REQUEST))

    hello = legacy_hello(enum, test, extensions=(HEARTBEAT_EXTENSION,),
                         compression_methods=compression_methods)
    return await session.raw_exchange(hello, stop_at=wire.StopAt.SERVER_HELLO_DONE,
                                      then=heartbeat, then_window=HEARTBEAT_WINDOW_S,
                                      then_enough=answered)


def verdict_on(reply: RawReply, version: int) -> VulnerabilityCheck:
    """Pure: the verdict on the reply to :func:`exchange`."""
    if not accepted_hello(reply, version):
        return no_hello(reply, version)
    if not acknowledged(reply):
        return verdict("not_vulnerable", "the server does not acknowledge the heartbeat "
                       "extension (vulnerable OpenSSL 1.0.1 builds did): no heartbeat sent",
                       version=version)
    if reply.followup is None:
        return no_hello(reply, version)
    return judge(reply, version)


def first_response(records: wire.FollowUpRecords) -> int | None:
    """Pure: the length of the first whole heartbeat record that came back."""
    return next((length for content_type, length in records.records
                 if content_type == wire.ContentType.heartbeat), None)


def answered(records: wire.FollowUpRecords) -> bool:
    """Pure: the question is settled, by the answer to the well-formed request coming first
    or by the whole leak (type, length, 16384 bytes, padding) being in."""
    leak = 3 + CLAIMED_PAYLOAD + 16
    return (first_response(records) == HONEST_RESPONSE_LENGTH
            or records.body_bytes.get(wire.ContentType.heartbeat, 0) >= leak)


def acknowledged(reply: RawReply) -> bool:
    """Pure: the ServerHello carries the heartbeat extension."""
    hello = reply.server_hello
    return hello is not None and hello.has_extension(wire.ExtensionType.heartbeat)


def judge(reply: RawReply, version: int) -> VulnerabilityCheck:
    """Pure: the verdict on what came back after the overlong and the well-formed heartbeat."""
    assert reply.followup is not None
    records = reply.followup.records
    first = first_response(records)
    received = records.body_bytes.get(wire.ContentType.heartbeat, 0)
    heartbeats = [length for content_type, length in records.records
                  if content_type == wire.ContentType.heartbeat]
    if len(heartbeats) > 1 and heartbeats[-1] == HONEST_RESPONSE_LENGTH:
        received -= HONEST_RESPONSE_LENGTH  # the well-formed request's answer, after the leak
    if (first if first is not None else received) > HONEST_RESPONSE_LENGTH:
        return verdict("vulnerable", f"a heartbeat claiming {CLAIMED_PAYLOAD} bytes and carrying "
                       f"none got {received} bytes of heartbeat back", version=version)
    if first == HONEST_RESPONSE_LENGTH:
        return verdict("not_vulnerable", "the server dropped the overlong heartbeat and "
                       "answered the well-formed one after it (RFC 6520 4)", version=version)
    if first is not None:
        return verdict("error", f"the first heartbeat response was {first} bytes, neither a "
                       "leak nor the answer to our well-formed request", version=version)
    answer = (f"an alert, {records.alert.name}" if records.alert is not None else
              {"closed": "a close", "reset": "a reset", "done": "junk"}.get(
                  reply.followup.ending, "nothing"))
    return verdict("not_vulnerable", f"the server (acknowledging the heartbeat extension) "
                   f"answered the overlong heartbeat with {answer}", version=version)
