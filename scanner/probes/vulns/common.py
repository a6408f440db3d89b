"""What the active checks share: the version and hello they test with, and their verdicts."""

from __future__ import annotations

import dataclasses

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.shared.version_tests import LABELS, VersionTest
from scanner.results import VulnerabilityCheck, VulnerabilityResult
from scanner.wire import TLSVersion


def verdict(result: VulnerabilityResult, detail: str, *, version: int | None = None,
            connections: int = 1) -> VulnerabilityCheck:
    return VulnerabilityCheck(result=result, detail=detail, connections=connections,
                              version=LABELS.get(version) if version is not None else None)


def not_applicable(detail: str) -> VulnerabilityCheck:
    return VulnerabilityCheck(result="not_applicable", detail=detail, connections=0)


async def legacy_version(enum: Enumerator) -> VersionTest | None:
    """The highest of TLS 1.2 ... 1.0 the server accepts: the checks on the TLS 1.2-style
    handshake (heartbeat, early CCS, compression) ask there."""
    return await enum.highest_legacy_version()


def legacy_hello(enum: Enumerator, test: VersionTest, *,
                 extensions: tuple[wire.Extension, ...] = (),
                 compression_methods: bytes = b"\x00", session_id: bytes = b"") -> bytes:
    """The version test's hello again (the same suites, so the server accepts it), with
    ``extensions`` added (replacing any of the same type), ``compression_methods`` in place
    of null alone, and ``session_id``."""
    hello = enum.hellos.offer(test.version, test.offered).client_hello()
    replaced = {extension.type for extension in extensions}
    kept = tuple(e for e in hello.extensions or () if e.type not in replaced)
    hello = dataclasses.replace(hello, compression_methods=compression_methods,
                                session_id=session_id, extensions=(*kept, *extensions))
    return wire.client_hello_record(hello, record_version=TLSVersion.TLSv1_0)


def accepted_hello(reply: RawReply, version: int) -> bool:
    return reply.hello and reply.version == version


def no_hello(reply: RawReply, version: int) -> VulnerabilityCheck:
    return verdict("error", f"no {LABELS[version]} ServerHello to a hello the version test "
                   f"had accepted ({reply.refusal})", version=version)


def record(content_type: int, version: int, payload: bytes) -> bytes:
    return wire.encode_records(content_type, version, payload)
