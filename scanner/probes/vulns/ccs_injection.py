"""CCS injection (CVE-2014-0224): does the server take a ChangeCipherSpec before the key
exchange?

A correct server refuses a ChangeCipherSpec that arrives before ClientKeyExchange with an
unexpected_message alert. OpenSSL before 1.0.1h (and 1.0.0m, 0.9.8za) accepted it and
switched to keys derived from an empty master secret, so the next record failed its MAC
check instead. We send, after the server's ServerHelloDone, a ChangeCipherSpec followed by
one record of random bytes; the alert that comes back tells which of the two happened.

Both answers come at once: the record is complete, so a server that took the CCS fails its
MAC as soon as it reads it. The answer is therefore awaited for ``CCS_WINDOW_S`` only, and
silence for that long is read as not vulnerable (the record was not decrypted with the
empty-secret keys), instead of holding the scan to the connection deadline.
"""

from __future__ import annotations

import os

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.engine.session import EndpointSession
from scanner.probes.shared.enumeration import Enumerator
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

#: How long to wait for the answer to the early CCS (see the module docstring).
CCS_WINDOW_S = 1.0

# What a server says when it took the early CCS and then could not authenticate the record.
_ACCEPTED_CCS = frozenset({wire.AlertDescription.bad_record_mac,
                           wire.AlertDescription.decryption_failed,
                           wire.AlertDescription.decrypt_error})


def early_ccs(version: int) -> bytes:
    return (record(wire.ContentType.change_cipher_spec, version, b"\x01")
            + record(wire.ContentType.handshake, version, os.urandom(64)))


async def check(session: EndpointSession, enum: Enumerator) -> VulnerabilityCheck:
    test = await legacy_version(enum)
    if test is None:
        return not_applicable("no TLS 1.0-1.2 (TLS 1.3 ignores ChangeCipherSpec by design)")
    version = test.version

    def inject(reply: RawReply) -> bytes | None:
        return early_ccs(version) if accepted_hello(reply, version) else None

    reply = await session.raw_exchange(legacy_hello(enum, test),
                                       stop_at=wire.StopAt.SERVER_HELLO_DONE, then=inject,
                                       then_window=min(CCS_WINDOW_S, session.timeout))
    if reply.followup is None:
        return no_hello(reply, version)
    return judge(reply, version)


def judge(reply: RawReply, version: int) -> VulnerabilityCheck:
    """Pure: the verdict on the server's answer to the early CCS and the record after it."""
    assert reply.followup is not None
    alert = reply.followup.records.alert
    if alert is not None and alert.description in _ACCEPTED_CCS:
        return verdict("vulnerable", f"the early ChangeCipherSpec was taken: the record after "
                       f"it got {alert.name}", version=version)
    if alert is not None:
        return verdict("not_vulnerable", f"the early ChangeCipherSpec got {alert.name}",
                       version=version)
    if reply.followup.ending in ("closed", "reset"):
        return verdict("not_vulnerable", f"the server {reply.followup.ending} the connection "
                       "on the early ChangeCipherSpec", version=version)
    if reply.followup.records.bytes_received:
        return verdict("error", "the answer to an early ChangeCipherSpec was not an alert",
                       version=version)
    return verdict("not_vulnerable", f"no answer within {CCS_WINDOW_S:g} s to an early "
                   "ChangeCipherSpec and a record after it (a server that took the CCS fails "
                   "that record's MAC at once)", version=version)
