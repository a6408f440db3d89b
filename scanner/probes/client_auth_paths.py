"""client_auth per path: does a request for the path make the server ask for a certificate?

A listener that asks nothing in the handshake but renegotiates (TLS 1.2) or sends a
post-handshake CertificateRequest (TLS 1.3) once the request names a protected path has
path-scoped mTLS; summarising it as ``none`` would tell its operator "no mTLS" while the path
refuses every client without a certificate.
"""

from __future__ import annotations

from collections.abc import Mapping

import trio

from scanner.engine.session import EndpointSession
from scanner.probes.base import ProbeContext
from scanner.probes.shared.certificate_request_info import request_info
from scanner.probes.shared.path_requests import PathExchange, without_certificate
from scanner.results import (
    AttemptResult,
    CertificateAsked,
    CertificateRequestInfo,
    ClientAuthAtPath,
    ClientAuthAtVersion,
    ClientAuthClass,
    ClientAuthFacet,
    Finding,
    PathAtVersion,
    PathOutcome,
    Severity,
)
from scanner.wire import TLSVersion

_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)
_LATER = (CertificateAsked.renegotiation, CertificateAsked.post_handshake_auth)


async def client_auth_by_path(
        session: EndpointSession, context: ProbeContext,
        handshakes: Mapping[TLSVersion, ClientAuthAtVersion]) -> list[ClientAuthAtPath] | None:
    """One entry per ``http_paths`` entry; None when the target is not HTTP. ``handshakes``:
    the listener's own client-auth facts per version (for versions whose handshake asks)."""
    if not context.http.enabled:
        return None
    exchanges: dict[tuple[str, TLSVersion], PathExchange] = {}

    async def one(path: str, version: TLSVersion) -> None:
        exchanges[path, version] = await without_certificate(session, context, path, version)

    async with trio.open_nursery() as nursery:
        for path in context.http.paths:
            for version in _VERSIONS:
                nursery.start_soon(one, path, version)
    return [path_entry(path, exchanges[path, TLSVersion.TLSv1_3],
                       exchanges[path, TLSVersion.TLSv1_2], handshakes)
            for path in context.http.paths]


def path_entry(path: str, tls13: PathExchange, tls12: PathExchange,
               handshakes: Mapping[TLSVersion, ClientAuthAtVersion]) -> ClientAuthAtPath:
    entries = {version: at_version(version, exchange, handshakes.get(version))
               for version, exchange in ((TLSVersion.TLSv1_3, tls13),
                                         (TLSVersion.TLSv1_2, tls12))}
    top = next((e for e in entries.values() if e.supported), None)
    return ClientAuthAtPath(path=path, classification=top.classification if top else None,
                            tls1_3=entries[TLSVersion.TLSv1_3],
                            tls1_2=entries[TLSVersion.TLSv1_2])


def at_version(version: TLSVersion, exchange: PathExchange,
               handshake: ClientAuthAtVersion | None = None) -> PathAtVersion:
    out = PathAtVersion(version=version.label, supported=exchange.supported)
    if not exchange.supported:
        return out
    out.asked = exchange.asked
    later = exchange.later
    if later is not None:
        request = later.request
        out.certificate_request = (request_info(request) if request is not None else
                                   CertificateRequestInfo(sent=True,
                                                          parse_error=later.message.parse_error))
    if exchange.outcome is PathOutcome.not_sent:
        # The handshake asked: the path is what the listener is, read off that handshake.
        without = handshake.without_certificate if handshake is not None else None
        out.classification = without.classification if without else None
        return out
    out.without_certificate = exchange.answer()
    out.classification = classify(exchange.asked, exchange.judged)
    return out


def classify(asked: CertificateAsked | None, judged: AttemptResult) -> ClientAuthClass | None:
    """What a request without a certificate says about the path."""
    if judged is AttemptResult.inconclusive:
        return None
    if asked is None:
        return ClientAuthClass.none
    return (ClientAuthClass.required if judged is AttemptResult.rejected
            else ClientAuthClass.optional)


def summarise_with_paths(facet: ClientAuthFacet) -> None:
    """Never ``none`` for a listener whose paths ask for a certificate after the request."""
    if facet.paths and facet.classification in (None, ClientAuthClass.none) and any(
            _later(entry) for entry in facet.paths):
        facet.classification = ClientAuthClass.per_path


def _later(entry: ClientAuthAtPath) -> bool:
    return any(v.asked in _LATER for v in entry.versions().values())


def path_findings(facet: ClientAuthFacet, probe: str) -> list[Finding]:
    findings = []
    for entry in facet.paths or ():
        for version in entry.versions().values():
            if version.asked not in _LATER or version.classification is None:
                continue
            how = ("by renegotiation" if version.asked is CertificateAsked.renegotiation
                   else "by post-handshake authentication")
            findings.append(Finding(
                id="client_auth.per_path", severity=Severity.info, probe=probe,
                version=version.version,
                detail=f"{entry.path}: a client certificate is asked {how} after the request, "
                f"not in the handshake ({version.classification.value}); scanners that only "
                "look at the handshake report no client authentication."))
    return findings
