"""TLS_FALLBACK_SCSV (RFC 7507): does the server refuse a downgraded retry?

A client that retries with a lower version after a failure marks the retry with the
TLS_FALLBACK_SCSV suite; a server that supports a higher version must then answer
inappropriate_fallback, which stops an attacker from forcing the downgrade (POODLE's
delivery, CVE-2014-3566). We offer the highest version the server accepts below its best,
with the SCSV, and read its answer.
"""

from __future__ import annotations

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.probes.shared.candidates import candidates, weakest_first
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.shared.version_tests import LABELS
from scanner.probes.vulns.common import not_applicable, verdict
from scanner.results import VulnerabilityCheck
from scanner.wire import TLSVersion

_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2, TLSVersion.TLSv1_1, TLSVersion.TLSv1_0)


async def check(enum: Enumerator) -> VulnerabilityCheck:
    accepted = [v for v in _VERSIONS if (await enum.version(v)).accepted]
    if len(accepted) < 2:
        return not_applicable("one TLS version accepted: there is nothing to fall back to")
    best, fallback = accepted[0], accepted[1]
    suites = (*weakest_first(candidates(fallback)), wire.SCSV_FALLBACK)
    reply = await enum.hellos.send(enum.hellos.offer(fallback, suites))
    return judge(reply, best, fallback)


def judge(reply: RawReply, best: int, fallback: int) -> VulnerabilityCheck:
    """Pure: the verdict on the answer to a ``fallback`` hello carrying the SCSV."""
    alert = reply.alert
    if alert is not None and alert.description == wire.AlertDescription.inappropriate_fallback:
        return verdict("not_vulnerable", f"a {LABELS[fallback]} hello with TLS_FALLBACK_SCSV "
                       "got inappropriate_fallback", version=fallback)
    if reply.hello and reply.version == fallback:
        return verdict("vulnerable", f"a {LABELS[fallback]} hello with TLS_FALLBACK_SCSV was "
                       f"accepted although the server supports {LABELS[best]}",
                       version=fallback)
    return verdict("error", f"a {LABELS[fallback]} hello with TLS_FALLBACK_SCSV got "
                   f"{reply.refusal}, neither inappropriate_fallback nor a ServerHello",
                   version=fallback)
