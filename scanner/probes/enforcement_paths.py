"""enforcement per path: for each path whose request makes the server ask for a certificate
afterwards (renegotiation, post-handshake auth), what happens without one, with an untrusted
one and with the user's.

The attempts are made at the newest version at which the server asked after the request, since
that is the mechanism its clients meet; the requests without a certificate are the ones
client_auth already made (shared).
"""

from __future__ import annotations

import trio

from scanner.engine.session import EndpointSession
from scanner.offers.credential import ClientCredential
from scanner.pkix.issuing import KeyType
from scanner.probes.base import ProbeContext
from scanner.probes.shared.path_requests import (
    PathExchange,
    request_label,
    request_path,
    without_certificate_all,
)
from scanner.probes.shared.throwaway import ThrowawayCertificates
from scanner.results import (
    AttemptResult,
    CertificateAsked,
    CertificateKind,
    EnforcementVerdict,
    Finding,
    PathEnforcement,
    PathOutcome,
    Severity,
)

Kind = CertificateKind
Verdict = EnforcementVerdict
_LATER = (CertificateAsked.renegotiation, CertificateAsked.post_handshake_auth)


async def enforcement_by_path(session: EndpointSession, context: ProbeContext,
                              certificates: ThrowawayCertificates,
                              key_type: KeyType = "ec") -> list[PathEnforcement] | None:
    """One entry per ``http_paths`` entry; None when the target is not HTTP."""
    if not context.http.enabled:
        return None
    out: dict[str, PathEnforcement] = {}

    async def one(path: str) -> None:
        out[path] = await _enforce_path(session, context, certificates, path, key_type)

    async with trio.open_nursery() as nursery:
        for path in context.http.paths:
            nursery.start_soon(one, path)
    return [out[path] for path in context.http.paths]


async def _enforce_path(session: EndpointSession, context: ProbeContext,
                        certificates: ThrowawayCertificates, path: str,
                        key_type: KeyType) -> PathEnforcement:
    by_version = await without_certificate_all(session, context, path)
    label = request_label(path, context)
    asked_later = next(((v, e) for v, e in by_version.items()
                        if e.supported and e.asked in _LATER), None)
    if asked_later is None:
        first = next((e for e in by_version.values() if e.supported), None)
        asked = first.asked if first is not None else None
        reason = ("the server asked for a certificate in the handshake: the listener's own "
                  "verdict applies" if asked is CertificateAsked.handshake
                  else "no certificate was asked, in the handshake or after the request")
        return PathEnforcement(
            path=path, request=label, asked=asked,
            version=first.answer().version if first is not None else None,
            verdict=None if asked is CertificateAsked.handshake else Verdict.not_requested,
            reason=reason, attempts=[first.answer()] if first is not None else [])
    version, none = asked_later
    planned: list[tuple[Kind, ClientCredential]] = [
        (Kind.untrusted_ca, await trio.to_thread.run_sync(certificates.untrusted_ca, key_type))]
    if context.client_credential is not None:
        planned.append((Kind.user_certificate, context.client_credential))
    exchanges: dict[Kind, PathExchange] = {Kind.none: none}

    async def attempt(kind: Kind, credential: ClientCredential) -> None:
        exchanges[kind] = await request_path(session, context, path, version, kind, credential)

    async with trio.open_nursery() as nursery:
        for kind, credential in planned:
            nursery.start_soon(attempt, kind, credential)
    ordered = [exchanges[k] for k in Kind if k in exchanges]
    verdict, reason = decide_path(exchanges)
    return PathEnforcement(path=path, request=label, version=version.label, asked=none.asked,
                           verdict=verdict, reason=reason, attempts=[e.answer() for e in ordered])


def decide_path(exchanges: dict[Kind, PathExchange]) -> tuple[Verdict | None, str]:
    """The verdict for a path that asked after the request, from its attempts."""
    none = exchanges[Kind.none].judged
    untrusted = exchanges[Kind.untrusted_ca].judged
    user = exchanges.get(Kind.user_certificate)
    if AttemptResult.inconclusive in (none, untrusted):
        return None, "an attempt without or with an untrusted certificate was inconclusive"
    if untrusted is AttemptResult.accepted:
        return Verdict.accepts_untrusted, (
            "a certificate from an unknown CA got the path's content")
    if none is AttemptResult.accepted:
        return Verdict.optional_verified, (
            "the path is served without a certificate; an untrusted one is refused")
    by_alert = all(exchanges[k].outcome is PathOutcome.alert
                   for k in (Kind.none, Kind.untrusted_ca))
    verdict = Verdict.required_at_tls if by_alert else Verdict.required_at_http
    where = "with a TLS alert" if by_alert else "in HTTP"
    tail = ""
    if user is not None:
        tail = ("; your certificate got through" if user.judged is AttemptResult.accepted
                else f"; your certificate was refused too ({user.describe()})")
    return verdict, f"no certificate and an untrusted one are both refused {where}{tail}"


def path_findings(paths: list[PathEnforcement] | None, probe: str) -> list[Finding]:
    findings = []
    for entry in paths or ():
        if entry.verdict is Verdict.accepts_untrusted:
            findings.append(Finding(
                id="enforcement.path_accepts_untrusted", severity=Severity.high, probe=probe,
                version=entry.version,
                detail=f"{entry.path}: the server asks for a certificate after the request "
                f"({entry.asked.value if entry.asked else '?'}) but serves the path to one "
                "from an unknown CA."))
        user = next((a for a in entry.attempts if a.certificate is Kind.user_certificate), None)
        if user is not None and user.result is AttemptResult.rejected and entry.verdict in (
                Verdict.required_at_tls, Verdict.required_at_http):
            findings.append(Finding(
                id="enforcement.path_trusted_certificate_rejected", severity=Severity.low,
                probe=probe, version=entry.version,
                detail=f"{entry.path}: your certificate was rejected: {user.detail}."))
    return findings
