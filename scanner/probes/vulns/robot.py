"""ROBOT (Return Of Bleichenbacher's Oracle Threat, CVE-2017-13099 and vendor CVEs): does
the server react differently to malformed PKCS#1 premaster secrets?

Over static-RSA suites, five connections each send a ClientKeyExchange carrying one of the
paper's five blocks (``wire.bleichenbacher``), encrypted with the server's certificate key,
then ChangeCipherSpec and a Finished record of random bytes. A server that is not an oracle
answers all five alike (OpenSSL: bad_record_mac after the Finished); different answers are
an oracle, confirmed by a second round before it is reported. Opt-in (``--probes robot``):
its five connections would take an ALB-like default scan over its 60-connection budget.
"""

from __future__ import annotations

import os
from typing import ClassVar

import trio
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.shared.version_tests import LABELS
from scanner.probes.vulns.common import accepted_hello, not_applicable, record, verdict
from scanner.results import VulnerabilityCheck
from scanner.wire import TLSVersion
from scanner.wire.bleichenbacher import ROBOT_VECTORS, robot_blocks, rsa_encrypt_raw

_VERSIONS = (TLSVersion.TLSv1_2, TLSVersion.TLSv1_1, TLSVersion.TLSv1_0)
CLIENT_KEY_EXCHANGE = 16
FINISHED = 20


def static_rsa(code: int) -> bool:
    suite = wire.CIPHER_SUITES.get(code)
    return suite is not None and suite.key_exchange == "RSA"


def server_rsa_key(reply: RawReply, version: int) -> RSAPublicKey | None:
    body = reply.flight.message(wire.HandshakeType.certificate)
    if body is None:
        return None
    try:
        chain = wire.parse_certificate(body, version=version)
        key = x509.load_der_x509_certificate(chain.certificates[0]).public_key()
    except (wire.WireError, ValueError, IndexError):
        return None
    return key if isinstance(key, RSAPublicKey) else None


def client_flight(key: RSAPublicKey, version: int, vector: str) -> bytes:
    """ClientKeyExchange with one ROBOT block, ChangeCipherSpec, and a "Finished" of random
    bytes (the server cannot decrypt it whatever the premaster secret)."""
    numbers = key.public_numbers()
    block = robot_blocks(key.key_size // 8, version)[vector]
    encrypted = rsa_encrypt_raw(block, numbers.n, numbers.e)
    exchange = (bytes([CLIENT_KEY_EXCHANGE]) + (len(encrypted) + 2).to_bytes(3, "big")
                + len(encrypted).to_bytes(2, "big") + encrypted)
    return (record(wire.ContentType.handshake, version, exchange)
            + record(wire.ContentType.change_cipher_spec, version, b"\x01")
            + record(wire.ContentType.handshake, version, os.urandom(64)))


def reaction(reply: RawReply, version: int) -> str:
    """How the server answered one vector, in words that compare equal when alike."""
    if not accepted_hello(reply, version):
        return f"no ServerHello ({reply.refusal})"
    if reply.followup is None:
        return "no RSA certificate"
    records = reply.followup.records
    if records.alert is not None:
        return f"alert {records.alert.name}"
    return {"closed": "closed", "reset": "reset"}.get(reply.followup.ending, "no answer")


async def one_round(session: EndpointSession, enum: Enumerator, version: int,
                    suites: list[int]) -> dict[str, str]:
    answers: dict[str, str] = {}
    hello = enum.hellos.offer(version, suites).encode()

    async def ask(vector: str) -> None:
        def flight(reply: RawReply) -> bytes | None:
            key = server_rsa_key(reply, version) if accepted_hello(reply, version) else None
            return client_flight(key, version, vector) if key is not None else None

        # Silence is one of the reactions compared, so it is only silence at the deadline.
        reply = await session.raw_exchange(hello, stop_at=wire.StopAt.SERVER_HELLO_DONE,
                                           then=flight, then_window=session.timeout)
        answers[vector] = reaction(reply, version)

    async with trio.open_nursery() as nursery:
        for vector in ROBOT_VECTORS:
            nursery.start_soon(ask, vector)
    return {vector: answers[vector] for vector in ROBOT_VECTORS}


def judge(first: dict[str, str], second: dict[str, str] | None, version: int) -> VulnerabilityCheck:
    """Pure: one round alike is not an oracle; two rounds that differ alike are."""
    label = LABELS[version]
    described = "; ".join(f"{vector}: {answer}" for vector, answer in first.items())
    rounds = 1 if second is None else 2
    connections = len(ROBOT_VECTORS) * rounds
    if any(answer.startswith(("no ServerHello", "no RSA")) for answer in first.values()):
        return verdict("error", f"not every vector could be sent ({described})",
                       version=version, connections=connections)
    if len(set(first.values())) == 1:
        return verdict("not_vulnerable", f"all five premaster secrets got the same answer at "
                       f"{label}: {first['correct']}", version=version, connections=connections)
    if second != first:
        return verdict("error", f"the answers differed, but not the same way twice ({described})",
                       version=version, connections=connections)
    return verdict("vulnerable", f"the server answers malformed PKCS#1 paddings differently "
                   f"(a padding oracle), twice alike: {described}", version=version,
                   connections=connections)


async def check(session: EndpointSession, enum: Enumerator) -> VulnerabilityCheck:
    for version in _VERSIONS:
        found = await enum.suites(version)
        suites = [code for code in (found.accepted if found else ()) if static_rsa(code)]
        if suites:
            break
    else:
        return not_applicable("no static RSA key exchange suite accepted")
    first = await one_round(session, enum, version, suites)
    second = None
    if len(set(first.values())) > 1 and not any(
            answer.startswith(("no ServerHello", "no RSA")) for answer in first.values()):
        second = await one_round(session, enum, version, suites)
    return judge(first, second, version)


class RobotProbe(Probe[VulnerabilityCheck]):
    name: ClassVar[str] = "robot"
    description: ClassVar[str] = (
        "ROBOT: a Bleichenbacher padding oracle over static-RSA suites (opt-in, 5-10 "
        "connections)"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[VulnerabilityCheck]:
        return ProbeOutput(facet=await check(session, context.shared.enumeration))
