"""Heartbleed and compression (CRIME) asked with one hello.

Both questions are the version test's hello changed in one respect (the heartbeat extension
added; DEFLATE offered before null), and neither answer depends on the other change: the
heartbeat acknowledgement is an extension of the ServerHello, the compression its
compression_method, and the heartbeats sent after ServerHelloDone are plaintext records
whatever method was selected (compression starts after ChangeCipherSpec). So one hello
carries both, saving a connection. A server that refuses the combined hello is asked each
question alone, as before, so an intolerance of one change cannot cost the other answer.
"""

from __future__ import annotations

from scanner.engine.session import EndpointSession
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.vulns import compression, heartbleed
from scanner.probes.vulns.common import accepted_hello, legacy_version, not_applicable
from scanner.results import VulnerabilityCheck


async def check(session: EndpointSession,
                enum: Enumerator) -> tuple[VulnerabilityCheck, VulnerabilityCheck]:
    """(heartbleed, compression)."""
    test = await legacy_version(enum)
    if test is None:
        return (not_applicable(heartbleed.NOT_APPLICABLE),
                not_applicable(compression.NOT_APPLICABLE))
    reply = await heartbleed.exchange(session, enum, test,
                                      compression_methods=compression.OFFERED)
    if accepted_hello(reply, test.version):
        return (heartbleed.verdict_on(reply, test.version),
                compression.judge(reply, test.version))
    return await heartbleed.check(session, enum), await compression.check(enum)
