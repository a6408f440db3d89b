"""SNI/Host fronting under mTLS: can a request reach vhost B over a handshake made for A?

A client completes the handshake for A (which asks no certificate) and then names B in the
Host header. A proxy that routes by Host once TLS is done serves B without ever verifying a
certificate for B. nginx notices and answers 421 Misdirected Request (RFC 9110 15.5.20); a
rejection of the request for want of a certificate (400, 403, 495, 496) protects too.
"""

from __future__ import annotations

import trio

from scanner.engine.session import EndpointSession
from scanner.probes.base import ProbeContext
from scanner.probes.shared.path_requests import REJECTING_STATUSES, PathExchange, exchange
from scanner.results import (
    CertificateKind,
    ClientAuthClass,
    Finding,
    FrontingCheck,
    FrontingResult,
    PathOutcome,
    Severity,
    VhostKind,
    VhostView,
)

#: Answers that keep B's content from a client that did not authenticate for B.
PROTECTING_STATUSES = frozenset({421, 400, 403, 495, 496})
FINDING = "enforcement.sni_host_bypass"


def host_header(name: str, port: int) -> str:
    host = f"[{name}]" if ":" in name else name
    return host if port == 443 else f"{host}:{port}"


def requires_certificate(view: VhostView) -> bool:
    """Refused without a certificate: in TLS, or in HTTP after asking for one (nginx 400)."""
    if view.classification is ClientAuthClass.required:
        return True
    return (view.classification is ClientAuthClass.optional
            and view.http_status in REJECTING_STATUSES)


def open_without_certificate(view: VhostView) -> bool:
    """Completes without a certificate and serves content (a status under 400)."""
    return (view.classification in (ClientAuthClass.none, ClientAuthClass.optional)
            and view.http_status is not None and view.http_status < 400)


def pairs(views: list[VhostView], *, own: str | None) -> list[tuple[str, str, bool]]:
    """(A, B, with your certificate): B a name that requires a certificate, A a name served
    without one, or with your certificate when B does not accept yours. With a target name,
    only B = that name (each target answers for its own vhost, so a sweep over the names of
    one address makes each pair once)."""
    named = [v for v in views if v.kind is VhostKind.name and v.sni]
    out: list[tuple[str, str, bool]] = []
    for b in named:
        if not requires_certificate(b) or (own is not None and b.sni != own):
            continue
        for a in named:
            if a.sni == b.sni or not a.sni or not b.sni:
                continue
            if open_without_certificate(a):
                out.append((a.sni, b.sni, False))
            elif a.your_certificate_accepted and b.your_certificate_accepted is False:
                out.append((a.sni, b.sni, True))
    return out


async def check_pairs(session: EndpointSession, context: ProbeContext, views: list[VhostView],
                      *, own: str | None) -> list[FrontingCheck]:
    planned = pairs(views, own=own)

    async def one(index: int, sni: str, host: str, yours: bool) -> None:
        header = host_header(host, session.address.port)
        credential = context.client_credential if yours else None
        kind = CertificateKind.user_certificate if yours else CertificateKind.none
        # Offer h2 first: where the server selects it, :authority is what names B, and the
        # HTTP/1.1 Host header gets its own connection; otherwise this one was HTTP/1.1.
        first = await exchange(session, session.offer(sni=sni, alpn=("h2", "http/1.1"),
                                                      client_credential=credential),
                               context.http.path, header, kind)
        checks = [judge(sni, host, first)]
        if first.protocol == "HTTP/2":
            second = await exchange(session, session.offer(sni=sni, alpn=("http/1.1",),
                                                           client_credential=credential),
                                    context.http.path, header, kind)
            checks.append(judge(sni, host, second))
        results[index] = checks

    results: dict[int, list[FrontingCheck]] = {}
    async with trio.open_nursery() as nursery:
        for index, (sni, host, yours) in enumerate(planned):
            nursery.start_soon(one, index, sni, host, yours)
    return [check for i in range(len(planned)) for check in results[i]]


def judge(sni: str, host: str, answer: PathExchange) -> FrontingCheck:
    check = FrontingCheck(sni=sni, host=host, protocol=answer.protocol or "HTTP/1.1",
                          certificate=answer.certificate.value, status=answer.status,
                          alert=answer.alert, result=FrontingResult.inconclusive, detail="")
    if answer.outcome is PathOutcome.response and answer.status is not None:
        if answer.status in PROTECTING_STATUSES:
            check.result = FrontingResult.protected
            check.detail = (f"SNI {sni}, {_names(answer)} {host}: HTTP {answer.status}, "
                            f"{host} is not served")
        else:
            check.result = FrontingResult.bypass
            check.detail = (f"SNI {sni} ({_presented(answer)}), {_names(answer)} {host}: HTTP "
                            f"{answer.status}; {host} requires a client certificate when "
                            "named in the SNI")
    elif answer.outcome in (PathOutcome.alert, PathOutcome.closed):
        check.result = FrontingResult.protected
        check.detail = f"SNI {sni}, Host {host}: {answer.describe()}"
    else:
        check.detail = f"SNI {sni}, Host {host}: {answer.describe()}"
    return check


def _presented(answer: PathExchange) -> str:
    return ("your certificate, which the SNI's vhost accepts and the Host's does not"
            if answer.certificate is CertificateKind.user_certificate
            else "no client certificate")


def _names(answer: PathExchange) -> str:
    return ":authority" if answer.protocol == "HTTP/2" else "Host"


def findings_for(checks: list[FrontingCheck]) -> list[Finding]:
    return [Finding(
        id=FINDING, severity=Severity.critical, probe="vhosts",
        detail=f"{check.host} requires a client certificate, but a connection made for "
        f"{check.sni} is served {check.host}'s content ({check.detail}): the "
        "server routes by Host after TLS without checking the SNI's client authentication.")
        for check in checks if check.result is FrontingResult.bypass]
