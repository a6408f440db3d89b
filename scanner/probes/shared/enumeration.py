"""Raw-ClientHello enumeration of one endpoint, shared by the probes that report it.

The protocol, cipher-suite, group, ALPN, NPN, extension and engine-agreement probes ask
overlapping questions: the first hello of a version's suite enumeration is also its version
test, the extension and NPN facts come from that same ServerHello, and the agreement probe
compares all of it with OpenSSL. Each answer is computed once per target through the
target's ``TargetMemo`` (the first probe to ask runs it, the others wait), so a default
scan stays within a few dozen connections. How each answer is found lives in its own
module: version_tests, suite_enumeration, group_enumeration, alpn_elimination.
"""

from __future__ import annotations

from collections.abc import Collection

import trio

from scanner import wire
from scanner.engine.raw import RawReply
from scanner.engine.session import EndpointSession
from scanner.probes.shared.alpn_elimination import (
    ALPN_PROTOCOLS,
    AlpnEnumeration,
    NoPick,
    eliminate_alpn,
    openssl_answer,
    raw_answer,
)
from scanner.probes.shared.group_enumeration import GroupEnumeration, enumerate_groups
from scanner.probes.shared.hello_carrier import (
    AlpnCarrier,
    CarrierSet,
    GroupCarrier,
    Tls13AlpnCarrier,
)
from scanner.probes.shared.memo import TargetMemo
from scanner.probes.shared.raw_hellos import RawHellos
from scanner.probes.shared.suite_enumeration import SuiteEnumeration, enumerate_suites
from scanner.probes.shared.version_tests import VersionTest, run_version_test
from scanner.wire import TLSVersion

__all__ = ["Enumerator"]


class Enumerator:
    """All raw enumeration of one endpoint; every public method is computed once."""

    def __init__(self, session: EndpointSession, memo: TargetMemo,
                 probes: Collection[str] = ()) -> None:
        self.session = session
        self.hellos = RawHellos(session)
        self._memo = memo
        #: TLS 1.2 ALPN questions ride on the suite enumeration's hellos, when the scan
        #: runs it (``hello_carrier``); it waits for the alpn probe's questions when that
        #: probe runs too.
        self.alpn_carrier = AlpnCarrier(open_="cipher_suites" in probes,
                                        wait_for_asker="alpn" in probes)
        #: Likewise the TLS 1.3 group questions on the TLS 1.3 suite enumeration's hellos.
        self.group_carrier = GroupCarrier(open_="cipher_suites" in probes,
                                          wait_for_asker="groups" in probes)
        #: And the TLS 1.3 ALPN questions, on the same hellos (decrypted to read them).
        self.alpn13_carrier = Tls13AlpnCarrier(open_="cipher_suites" in probes,
                                               wait_for_asker="alpn" in probes)
        self._carriers: dict[int, CarrierSet] = {
            TLSVersion.TLSv1_2: CarrierSet(self.alpn_carrier),
            # after a refused pair, the group question is asked alone: ALPN refusals
            # (a protocol a strict server lacks) are the more common ones
            TLSVersion.TLSv1_3: CarrierSet(self.alpn13_carrier, self.group_carrier),
        }

    async def version(self, version: int) -> VersionTest:
        """The version test. At TLS 1.3, when the scan runs cipher_suites and alpn, it
        carries an ALPN question too (an ALB's suite enumeration accepts two TLS 1.3 hellos,
        fewer than the questions), so it waits for the alpn probe's second question: one
        OpenSSL handshake later (or up to a timeout, against a server that stalls it)."""
        carrier = self.alpn13_carrier if version == TLSVersion.TLSv1_3 else None
        return await self._memo.get(("version", version),
                                    lambda: run_version_test(self.hellos, version, carrier))

    async def highest_legacy_version(self) -> VersionTest | None:
        """The highest of TLS 1.2 ... TLS 1.0 the server accepts (SSLv3 hellos carry no
        extensions, so they cannot tell about extensions, NPN or ALPN). Asked by most probes:
        one of them runs the three version tests side by side, the others wait for it."""
        return await self._memo.get("highest-legacy", self._highest_legacy_version)

    async def _highest_legacy_version(self) -> VersionTest | None:
        tests: dict[int, VersionTest] = {}

        async def test(version: int) -> None:
            tests[version] = await self.version(version)

        async with trio.open_nursery() as nursery:
            for version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_1, TLSVersion.TLSv1_0):
                nursery.start_soon(test, version)
        for version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_1, TLSVersion.TLSv1_0):
            if tests[version].accepted:
                return tests[version]
        return None

    async def suites(self, version: int) -> SuiteEnumeration | None:
        """Accepted suites at ``version`` (None when the version is not accepted)."""
        carrier = self._carriers.get(version)

        async def compute() -> SuiteEnumeration | None:
            if carrier is None:
                return await enumerate_suites(self.hellos, await self.version(version))
            try:
                return await enumerate_suites(self.hellos, await self.version(version),
                                              carrier)
            finally:
                carrier.close()
        return await self._memo.get(("suites", version), compute)

    async def groups(self, version: int) -> GroupEnumeration | None:
        async def compute() -> GroupEnumeration | None:
            if version != TLSVersion.TLSv1_3:
                return await enumerate_groups(self.hellos, await self.version(version))
            try:
                return await enumerate_groups(self.hellos, await self.version(version),
                                              self.group_carrier)
            finally:  # the TLS 1.3 suite enumeration waits for our questions until then
                self.group_carrier.asker_done()
        return await self._memo.get(("groups", version), compute)

    async def cbc_hello(self, version: int) -> wire.ServerHello | None:
        """A ServerHello at ``version`` that selected a CBC suite, to see whether
        encrypt_then_mac is echoed (servers echo it only with a CBC suite)."""
        return await self._memo.get(("cbc", version), lambda: self._cbc_hello(version))

    async def _cbc_hello(self, version: int) -> wire.ServerHello | None:
        test = await self.version(version)
        hello = test.server_hello
        if hello is not None and wire.cipher_suite(hello.cipher_suite).cbc:
            return hello
        if self._memo.started(("suites", version)):
            # The suite enumeration (same extensions offered) runs anyway: one of its picks
            # is a CBC suite whenever the server accepts one, so no hello of our own.
            suites = await self.suites(version)
            if suites is not None and suites.complete:
                return next((h for h in suites.hellos
                             if wire.cipher_suite(h.cipher_suite).cbc), None)
        # Among the suites of the hello the version was accepted with (a size-intolerant
        # server was accepted with a smaller one).
        cbc = [code for code in test.offered if wire.cipher_suite(code).cbc]
        if not cbc:
            return None
        reply = await self.hellos.send(self.hellos.offer(version, cbc))
        return reply.server_hello if reply.hello and reply.version == version else None

    async def alpn_selection(self, version: int, protocols: tuple[str, ...]) -> RawReply:
        """One hello offering ``protocols`` (no NPN, so the answer is about ALPN only): at
        TLS 1.2 a suite enumeration hello carries it when one can."""
        async def compute() -> RawReply:
            if version == TLSVersion.TLSv1_2:
                carried = await self.alpn_carrier.ask(protocols)
                if carried is not None:
                    return carried
            return await self._send_alpn(await self.version(version), protocols)
        return await self._memo.get(("alpn", version, protocols), compute)

    async def alpn_hello(self, version: int, protocols: tuple[str, ...]) -> RawReply | None:
        """A hello of its own offering ``protocols``, for an ALPN question no suite hello
        carried: the version test's suites (known to be accepted), no NPN, and at TLS 1.3
        real key shares, so the answer in EncryptedExtensions can be read. None when the
        version test was not accepted."""
        async def compute() -> RawReply | None:
            test = await self.version(version)
            return await self._send_alpn(test, protocols) if test.accepted else None
        return await self._memo.get(("alpn-hello", version, protocols), compute)

    async def _send_alpn(self, test: VersionTest, protocols: tuple[str, ...]) -> RawReply:
        return await self.hellos.send(self.hellos.offer(
            test.version, test.offered, alpn=protocols, npn=False,
            decrypt=test.version == TLSVersion.TLSv1_3))

    async def alpn(self) -> AlpnEnumeration:
        """Every protocol of ``ALPN_PROTOCOLS`` the server selects: with raw hellos at the
        highest version below TLS 1.3, else with OpenSSL at TLS 1.3."""
        return await self._memo.get("alpn-all", self._enumerate_alpn)

    async def _enumerate_alpn(self) -> AlpnEnumeration:
        legacy = await self.highest_legacy_version()
        if legacy is not None:
            version = legacy.version

            async def ask_raw(offer: tuple[str, ...]) -> str | NoPick:
                return raw_answer(await self.alpn_selection(version, offer), version)

            return AlpnEnumeration.of(version, "raw",
                                      await eliminate_alpn(ALPN_PROTOCOLS, ask_raw))
        if not (await self.version(TLSVersion.TLSv1_3)).accepted:
            return AlpnEnumeration(None, None, [], None, True, 0,
                                   ["no TLS version accepted (SSLv3 hellos carry no "
                                    "extensions)"])

        async def ask_openssl(offer: tuple[str, ...]) -> str | NoPick:
            return openssl_answer(await self.session.handshake(
                self.session.offer(TLSVersion.TLSv1_3, alpn=offer)))

        return AlpnEnumeration.of(TLSVersion.TLSv1_3, "openssl",
                                  await eliminate_alpn(ALPN_PROTOCOLS, ask_openssl))
