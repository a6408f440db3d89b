"""Ticketbleed (CVE-2016-9244): does the server echo a 32-byte session ID when resuming
from a ticket offered with a shorter one?

RFC 5077 3.4: a server resuming from a ticket echoes the client's session ID. F5 BIG-IP
stacks echoed 32 bytes whatever length the client sent, so the bytes past the client's were
uninitialised memory. We present the ticket of the shared TLS 1.2 baseline handshake with a
16-byte session ID and compare the ServerHello's session ID with ours. A server that issues
no TLS 1.2 ticket costs no connection.
"""

from __future__ import annotations

import os

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.probes.base import ProbeContext
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.vulns.common import (
    accepted_hello,
    legacy_hello,
    no_hello,
    not_applicable,
    verdict,
)
from scanner.results import VulnerabilityCheck
from scanner.wire import TLSVersion

SESSION_ID_LENGTH = 16


async def check(enum: Enumerator, context: ProbeContext) -> VulnerabilityCheck:
    test = await enum.version(TLSVersion.TLSv1_2)
    if not test.accepted:
        return not_applicable("no TLS 1.2: session tickets of this kind are TLS 1.2's")
    hello = test.server_hello
    if hello is None or not hello.has_extension(wire.ExtensionType.session_ticket):
        return not_applicable("the server will issue no TLS 1.2 session ticket (no "
                              "session_ticket extension in its ServerHello)")
    baseline = await context.shared.baseline(TLSVersion.TLSv1_2)
    tickets = [m.parsed.ticket for m in baseline.received(wire.HandshakeType.new_session_ticket)
               if isinstance(m.parsed, wire.NewSessionTicket) and m.parsed.ticket]
    if not tickets:
        return not_applicable("the server issued no TLS 1.2 session ticket")
    session_id = os.urandom(SESSION_ID_LENGTH)
    ticket = wire.Extension(wire.ExtensionType.session_ticket, tickets[-1])
    reply = await enum.hellos.exchange(legacy_hello(enum, test, extensions=(ticket,),
                                                    session_id=session_id))
    return judge(reply, session_id)


def judge(reply: RawReply, session_id: bytes) -> VulnerabilityCheck:
    """Pure: the verdict on the ServerHello answering a ticket with ``session_id``."""
    hello = reply.server_hello
    if hello is None or not accepted_hello(reply, TLSVersion.TLSv1_2):
        return no_hello(reply, TLSVersion.TLSv1_2)
    echoed = hello.session_id
    if len(echoed) > len(session_id) and echoed.startswith(session_id):
        return verdict("vulnerable", f"a {len(session_id)}-byte session ID sent with a ticket "
                       f"came back as {len(echoed)} bytes: {len(echoed) - len(session_id)} "
                       "bytes of server memory", version=TLSVersion.TLSv1_2)
    if echoed == session_id:
        return verdict("not_vulnerable", "the server resumed from the ticket and echoed our "
                       f"{len(session_id)}-byte session ID exactly", version=TLSVersion.TLSv1_2)
    return verdict("not_vulnerable", "the server did not resume from the ticket (a new "
                   f"{len(echoed)}-byte session ID)", version=TLSVersion.TLSv1_2)
