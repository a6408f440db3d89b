"""Which DH group does the server use with each DHE suite? (LOGJAM: primes under 2048 bits,
and widely shared 1024-bit primes a precomputation can break.)

One raw hello per accepted DHE suite at each accepted version below TLS 1.3, offering that
suite alone and read to ServerHelloDone; the group comes from its ServerKeyExchange. A
server without DHE suites (an ALB, most modern configurations) costs no connection.
"""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner import wire
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.raw_hellos import RawHellos
from scanner.probes.shared.version_tests import LABELS
from scanner.results import DhGroupInfo, DhParametersAtVersion, DhParametersFacet
from scanner.wire import TLSVersion
from scanner.wire.dh_groups import dh_group_name

DHE_KEY_EXCHANGES = frozenset({"DHE_RSA", "DHE_DSS", "DH_anon"})
_VERSIONS = (TLSVersion.SSLv3, TLSVersion.TLSv1_0, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2)


def is_dhe(code: int) -> bool:
    suite = wire.CIPHER_SUITES.get(code)
    return suite is not None and suite.key_exchange in DHE_KEY_EXCHANGES


def group_from(code: int, reply_flight: wire.ServerFlight, version: int) -> DhGroupInfo:
    """The DH group of one reply to a hello offering the DHE suite ``code`` alone."""
    suite = wire.CIPHER_SUITES[code]

    def failed(error: str) -> DhGroupInfo:
        return DhGroupInfo(suite=suite.hex, name=suite.iana, prime_bits=None, error=error)

    hello = reply_flight.server_hello
    if hello is None or hello.selected_version != version or hello.cipher_suite != code:
        return failed("the server did not select the suite offered alone")
    body = reply_flight.message(wire.HandshakeType.server_key_exchange)
    if body is None:
        return failed("no ServerKeyExchange")
    try:
        params = wire.parse_dhe_server_key_exchange(body)
    except wire.WireError as exc:
        return failed(f"malformed ServerKeyExchange: {exc}")
    return DhGroupInfo(suite=suite.hex, name=suite.iana, prime_bits=params.prime_bits,
                       generator=params.generator, well_known=dh_group_name(params.prime))


async def dh_groups_at(hellos: RawHellos, version: int,
                       suites: list[int]) -> DhParametersAtVersion:
    found: dict[int, DhGroupInfo] = {}

    async def ask(code: int) -> None:
        reply = await hellos.send(hellos.offer(version, (code,)), wire.StopAt.SERVER_HELLO_DONE)
        found[code] = group_from(code, reply.flight, version)

    async with trio.open_nursery() as nursery:
        for code in suites:
            nursery.start_soon(ask, code)
    return DhParametersAtVersion(groups=[found[code] for code in suites],
                                 connections=len(suites))


class DhParametersProbe(Probe[DhParametersFacet]):
    name: ClassVar[str] = "dh_parameters"
    description: ClassVar[str] = (
        "DH prime size and well-known group of every accepted DHE suite (TLS <= 1.2)"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[DhParametersFacet]:
        enum = context.shared.enumeration
        results: dict[int, DhParametersAtVersion] = {}

        async def at(version: int) -> None:
            suites = await enum.suites(version)
            dhe = [code for code in (suites.accepted if suites else ()) if is_dhe(code)]
            if dhe:
                results[version] = await dh_groups_at(enum.hellos, version, dhe)

        async with trio.open_nursery() as nursery:
            for version in _VERSIONS:
                nursery.start_soon(at, version)
        return ProbeOutput(facet=DhParametersFacet(
            {LABELS[v]: results[v] for v in sorted(results)}))
