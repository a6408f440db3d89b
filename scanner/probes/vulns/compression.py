"""TLS compression (CRIME, CVE-2012-4929): does the server accept DEFLATE?

Compressing secrets together with attacker-chosen data leaks them through the record sizes.
We send the version test's hello again offering DEFLATE (RFC 3749) before null compression;
the ServerHello's compression_method is the answer.
"""

from __future__ import annotations

from scanner.engine.raw import RawReply
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.vulns.common import (
    accepted_hello,
    legacy_hello,
    legacy_version,
    no_hello,
    not_applicable,
    verdict,
)
from scanner.results import VulnerabilityCheck

DEFLATE = 1


NOT_APPLICABLE = "no TLS 1.0-1.2 (TLS 1.3 has no compression)"
#: The compression methods offered: DEFLATE before null.
OFFERED = bytes([DEFLATE, 0])


async def check(enum: Enumerator) -> VulnerabilityCheck:
    test = await legacy_version(enum)
    if test is None:
        return not_applicable(NOT_APPLICABLE)
    reply = await enum.hellos.exchange(
        legacy_hello(enum, test, compression_methods=OFFERED))
    return judge(reply, test.version)


def judge(reply: RawReply, version: int) -> VulnerabilityCheck:
    """Pure: the verdict on the answer to a hello offering DEFLATE and null."""
    hello = reply.server_hello
    if hello is None or not accepted_hello(reply, version):
        return no_hello(reply, version)
    if hello.compression_method == DEFLATE:
        return verdict("vulnerable", "the server selected DEFLATE compression", version=version)
    if hello.compression_method == 0:
        return verdict("not_vulnerable", "offered DEFLATE and null, the server selected null",
                       version=version)
    return verdict("error", f"the server selected compression method "
                   f"{hello.compression_method}, which was not offered", version=version)
