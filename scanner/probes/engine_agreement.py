"""Do the raw ClientHello engine and a full OpenSSL handshake see the same server?

Wherever both can see a fact — whether each of TLS 1.0-1.3 is accepted, which suite the
server picks from what OpenSSL offers, the ALPN protocol selected for "h2,http/1.1", secure
renegotiation, session tickets — the record lists both observations. A disagreement is
never resolved silently: it is a finding, because one of the two views (or the server's
consistency) is wrong and the user must know which facts to doubt.
"""

from __future__ import annotations

from typing import ClassVar

import trio

from scanner import wire
from scanner.engine.handshake import HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.shared.credential import presented_in
from scanner.probes.shared.suite_enumeration import SuiteEnumeration
from scanner.probes.shared.version_tests import LABELS, VersionTest
from scanner.results import (
    AgreementCheck,
    EngineAgreementFacet,
    ErrorKind,
    Finding,
    Severity,
)
from scanner.wire import TLSVersion

ALPN_OFFER = ("h2", "http/1.1")
_OPENSSL_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2, TLSVersion.TLSv1_1,
                     TLSVersion.TLSv1_0)
# The versions other probes make a plain handshake at.
_BASELINE_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)
# When the raw engine saw both refused, OpenSSL asks with one handshake offering both:
# refused with an alert, both are refused (a server accepting either would have answered
# with a ServerHello); otherwise each is asked alone.
_LEGACY_PAIR = (TLSVersion.TLSv1_0, TLSVersion.TLSv1_1)
# Failures that say nothing about TLS: OpenSSL got no answer to compare.
_NO_ANSWER = frozenset({ErrorKind.connection_refused, ErrorKind.network_unreachable,
                        ErrorKind.connect_timeout, ErrorKind.timeout, ErrorKind.not_tls})


def _suite_name(code: int | None) -> str | None:
    if code is None:
        return None
    suite = wire.cipher_suite(code)
    return suite.openssl or suite.iana


def _openssl_offer(result: HandshakeResult) -> wire.ClientHello | None:
    """The ClientHello OpenSSL actually sent, parsed from the capture."""
    for message in result.transcript:
        if (message.direction == "sent" and message.handshake is not None
                and message.handshake.msg_type == wire.HandshakeType.client_hello):
            try:
                return wire.parse_client_hello(message.handshake.body)
            except wire.WireError:
                return None
    return None


def _openssl_version_view(version: int, result: HandshakeResult) -> tuple[bool | None, str]:
    """(accepted, description) as OpenSSL saw it; accepted None when it got no answer."""
    hello = result.server_hello
    if hello is not None:
        if hello.selected_version == version:
            return True, "accepted"
        return False, f"answered {hello.selected_version_name}"
    if _openssl_offer(result) is None:
        return None, "OpenSSL cannot offer this version"
    received = result.alert_received
    if received is not None and received.alert is not None:
        return False, f"refused: {received.alert.name}"
    if result.failure is not None and result.failure.kind in _NO_ANSWER:
        return None, f"no answer: {result.failure.detail}"
    return False, f"refused: {result.failure.detail if result.failure else 'no ServerHello'}"


def _refused_with_alert(result: HandshakeResult) -> bool:
    """OpenSSL sent its hello and the server answered with an alert, no ServerHello: the
    refusal of every version offered, described by the alert alone (not by the offer)."""
    received = result.alert_received
    return (result.server_hello is None and _openssl_offer(result) is not None
            and received is not None and received.alert is not None)


def _raw_version_view(test: VersionTest) -> str:
    return "accepted" if test.accepted else f"refused: {test.refusal}"


def predicted_suite(enumeration: SuiteEnumeration, offer: tuple[int, ...]) -> int | None:
    """The suite the server should pick from ``offer``, by what the enumeration learnt."""
    accepted = set(enumeration.accepted)
    if enumeration.order == "server":
        return next((code for code in enumeration.preference if code in offer), None)
    if enumeration.order == "client":
        return next((code for code in offer if code in accepted), None)
    common = [code for code in offer if code in accepted]
    return common[0] if len(common) == 1 else None


def _suite_check(version: int, enumeration: SuiteEnumeration,
                 result: HandshakeResult) -> AgreementCheck | None:
    hello = result.server_hello
    offer = _openssl_offer(result)
    if hello is None or offer is None:
        return None
    chosen = hello.cipher_suite
    predicted = predicted_suite(enumeration, offer.cipher_suites)
    in_set = chosen in enumeration.accepted
    agree = in_set and (predicted is None or chosen == predicted)
    if predicted is not None:
        raw_view = _suite_name(predicted)
    else:
        raw_view = "one of " + ", ".join(
            n for code in enumeration.accepted if (n := _suite_name(code)) is not None)
    detail = None
    if not in_set:
        detail = "OpenSSL negotiated a suite the raw enumeration did not find"
    elif not agree:
        detail = _ORDER_MISS
    return AgreementCheck(fact="cipher_suite", version=LABELS[version], raw=raw_view,
                          openssl=_suite_name(chosen), agree=agree, detail=detail)


_ORDER_MISS = "the raw enumeration predicts another pick from OpenSSL's offer"


def replayed_suite_check(check: AgreementCheck, enumeration: SuiteEnumeration,
                         replayed: int | None) -> AgreementCheck:
    """Pure: the suite check again, once the raw engine has sent OpenSSL's own suite list in
    OpenSSL's order (``replayed``: what it picked). The same pick means the two engines see
    the same server and the enumerated order, not the engine, missed: the server's choice
    depends on the offer beyond one preference list (Go's crypto/tls ranks AES-GCM first
    only when the client's first suite is AES-GCM, else ChaCha20-Poly1305 first)."""
    predicted = check.raw
    seen = _suite_name(replayed) or "no ServerHello"
    if replayed is not None and seen == check.openssl:
        return check.model_copy(update={"raw": seen, "agree": True, "detail": (
            f"same pick when the raw engine sends OpenSSL's suite list; the enumerated "
            f"{enumeration.order} order predicted {predicted}: the server's preference "
            "depends on the order of the offer")})
    return check.model_copy(update={"detail": (
        f"the raw enumeration ({enumeration.order} order) predicts {predicted}; sending "
        f"OpenSSL's suite list, the raw engine saw {seen}")})


def _openssl_alpn(result: HandshakeResult) -> str | None:
    if result.completed:
        return result.alpn
    return result.server_hello.alpn_protocol if result.server_hello else None


def _openssl_ticket(result: HandshakeResult) -> bool | None:
    hello = result.server_hello
    if hello is None:
        return None
    if result.completed:
        return any(True for _ in result.received(wire.HandshakeType.new_session_ticket))
    return hello.session_ticket


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


class EngineAgreementProbe(Probe[EngineAgreementFacet]):
    name: ClassVar[str] = "engine_agreement"
    description: ClassVar[str] = (
        "cross-check of raw-ClientHello facts against full OpenSSL handshakes"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[EngineAgreementFacet]:
        enum = context.shared.enumeration
        legacy = await enum.highest_legacy_version()
        alpn_version = legacy.version if legacy is not None else None
        handshakes: dict[int, HandshakeResult] = {}
        tests: dict[int, VersionTest] = {}
        suites: dict[int, SuiteEnumeration | None] = {}
        alpn_raw: list[str | None] = []

        async def openssl(version: int) -> None:
            if version == alpn_version:
                handshakes[version] = await context.shared.handshake(  # alpn makes it too
                    context.shared.offer(TLSVersion(version), alpn=ALPN_OFFER))
            elif version in _BASELINE_VERSIONS:  # the shared baseline will do
                handshakes[version] = await context.shared.completed_baseline(
                    TLSVersion(version))
            else:
                handshakes[version] = await legacy_handshake(version)

        async def legacy_handshake(version: int) -> HandshakeResult:
            raw_refused = [not (await enum.version(v)).accepted for v in _LEGACY_PAIR]
            if all(raw_refused):  # else a version-intolerant server could hide one
                both = await context.shared.memo.get(
                    ("engine_agreement", _LEGACY_PAIR), lambda: session.handshake(
                        context.shared.offer(min_version=_LEGACY_PAIR[0],
                                             max_version=_LEGACY_PAIR[1])))
                if _refused_with_alert(both):
                    return both
            return await session.handshake(context.shared.offer(TLSVersion(version)))

        async def raw_side(version: int) -> None:
            tests[version] = await enum.version(version)
            suites[version] = await enum.suites(version)

        async def raw_alpn(version: int) -> None:
            reply = await enum.alpn_selection(version, ALPN_OFFER)
            alpn_raw.append(reply.server_hello.alpn_protocol
                            if reply.hello and reply.server_hello else None)

        async with trio.open_nursery() as nursery:
            for version in _OPENSSL_VERSIONS:
                nursery.start_soon(openssl, version)
                nursery.start_soon(raw_side, version)
            if alpn_version is not None:
                nursery.start_soon(raw_alpn, alpn_version)

        checks = self._checks(tests, suites, handshakes, legacy, alpn_raw)
        for index, check in enumerate(checks):
            if check.fact == "cipher_suite" and not check.agree and check.detail == _ORDER_MISS:
                version = next(v for v in _OPENSSL_VERSIONS if LABELS[v] == check.version)
                offer = _openssl_offer(handshakes[version])
                enumeration = suites[version]
                assert offer is not None and enumeration is not None  # as _suite_check saw
                reply = await enum.hellos.send(enum.hellos.offer(version, offer.cipher_suites))
                picked = reply.cipher_suite if reply.hello and reply.version == version else None
                checks[index] = replayed_suite_check(check, enumeration, picked)
        findings = [
            Finding(id="engine_agreement.disagreement", severity=Severity.low, probe=self.name,
                    version=check.version,
                    detail=f"{check.fact}: the raw ClientHello engine saw {check.raw!r}, a full "
                    f"OpenSSL handshake saw {check.openssl!r}"
                    + (f" ({check.detail})" if check.detail else ""))
            for check in checks if not check.agree
        ]
        facet = EngineAgreementFacet(
            checks=checks, disagreements=len(findings),
            client_certificate_presented=presented_in(handshakes.values()))
        return ProbeOutput(facet=facet, findings=findings)

    def _checks(self, tests: dict[int, VersionTest],
                suites: dict[int, SuiteEnumeration | None],
                handshakes: dict[int, HandshakeResult], legacy: VersionTest | None,
                alpn_raw: list[str | None]) -> list[AgreementCheck]:
        checks: list[AgreementCheck] = []
        for version in _OPENSSL_VERSIONS:
            test, result = tests[version], handshakes[version]
            accepted, openssl_view = _openssl_version_view(version, result)
            if test.accepted is None or accepted is None:
                continue
            enumeration = suites[version]
            expected, raw_view = test.accepted, _raw_version_view(test)
            offer = _openssl_offer(result)
            if (expected and enumeration is not None and offer is not None
                    and not set(enumeration.accepted) & set(offer.cipher_suites)):
                # Accepted, but only with suites this OpenSSL cannot offer (3DES, RC4...).
                expected, raw_view = False, "accepted, with none of the suites OpenSSL offers"
            checks.append(AgreementCheck(
                fact="version", version=LABELS[version], raw=raw_view,
                openssl=openssl_view, agree=expected == accepted))
            if test.accepted and accepted and enumeration is not None:
                check = _suite_check(version, enumeration, result)
                if check is not None:
                    checks.append(check)
        if legacy is None or legacy.server_hello is None:
            return checks
        result = handshakes[legacy.version]
        openssl_hello = result.server_hello
        if openssl_hello is None:
            return checks
        label = LABELS[legacy.version]
        if alpn_raw:
            raw_alpn, openssl_alpn = alpn_raw[0], _openssl_alpn(result)
            checks.append(AgreementCheck(
                fact="alpn", version=label, raw=raw_alpn or "none", openssl=openssl_alpn or "none",
                agree=raw_alpn == openssl_alpn, detail=f"offered {','.join(ALPN_OFFER)}"))
        raw_reneg = legacy.server_hello.secure_renegotiation
        openssl_reneg = openssl_hello.secure_renegotiation
        checks.append(AgreementCheck(
            fact="secure_renegotiation", version=label, raw=_yes_no(raw_reneg),
            openssl=_yes_no(openssl_reneg), agree=raw_reneg == openssl_reneg))
        raw_ticket = legacy.server_hello.session_ticket
        openssl_ticket = _openssl_ticket(result)
        if openssl_ticket is not None:
            checks.append(AgreementCheck(
                fact="session_ticket", version=label, raw=_yes_no(raw_ticket),
                openssl=_yes_no(openssl_ticket), agree=raw_ticket == openssl_ticket,
                detail="raw: session_ticket echoed; openssl: NewSessionTicket received"
                if result.completed else "both: session_ticket echoed in the ServerHello"))
        return checks
