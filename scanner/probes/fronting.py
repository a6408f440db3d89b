"""SNI/Host fronting under mTLS: can a request reach vhost B over a handshake made for A?

A client completes the handshake for A (which asks no certificate) and then names B in the
Host header. A proxy that routes by Host once TLS is done serves B without ever verifying a
certificate for B. nginx notices and answers 421 Misdirected Request (RFC 9110 15.5.20); a
rejection of the request for want of a certificate (400, 403, 495, 496) protects too.

A status alone does not tell B's content from A's: a server that routes by SNI (haproxy in
TCP mode with a backend per name, a single site with two names) ignores Host and serves A's
own answer with 200. So the answer is compared with what A's own request got (SNI A, Host A,
the same certificate) and, when your certificate opens B, with what B's own request got:
status, Server, Location and a digest of the body's first bytes. Those requests are the
``vhosts`` views' (kept in the target memo): the comparison costs no connection.
"""

from __future__ import annotations

import trio

from scanner.engine.session import EndpointSession
from scanner.probes.base import ProbeContext
from scanner.probes.shared.path_requests import REJECTING_STATUSES, PathExchange, exchange
from scanner.results import (
    AnswerDigest,
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


def own_answer_key(sni: str | None, *, yours: bool) -> tuple[str, str | None, bool]:
    """The memo key of a name's own request (SNI and Host that name), made by ``vhosts``."""
    return ("vhost_own_answer", sni, yours)


async def _own_answer(context: ProbeContext, sni: str, *, yours: bool) -> PathExchange | None:
    """A name's own request, when its view made one (never a new connection)."""
    key = own_answer_key(sni, yours=yours)
    if key not in context.shared.memo:
        return None

    async def not_made() -> PathExchange | None:
        return None

    try:
        return await context.shared.memo.get(key, not_made)
    except Exception:  # the view's request broke; it reported that itself
        return None


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
        # A's own answer with the same certificate; B's own with yours, when B accepts it.
        own_sni = await _own_answer(context, sni, yours=yours)
        own_host = await _own_answer(context, host, yours=True) \
            if context.client_credential is not None else None
        if own_host is not None and not _accepted(own_host):
            own_host = None
        checks = [judge(sni, host, first, own_sni, own_host)]
        if first.protocol == "HTTP/2":
            second = await exchange(session, session.offer(sni=sni, alpn=("http/1.1",),
                                                           client_credential=credential),
                                    context.http.path, header, kind)
            checks.append(judge(sni, host, second, own_sni, own_host))
        results[index] = checks

    results: dict[int, list[FrontingCheck]] = {}
    async with trio.open_nursery() as nursery:
        for index, (sni, host, yours) in enumerate(planned):
            nursery.start_soon(one, index, sni, host, yours)
    return [check for i in range(len(planned)) for check in results[i]]


def judge(sni: str, host: str, answer: PathExchange, own_sni: PathExchange | None = None,
          own_host: PathExchange | None = None) -> FrontingCheck:
    """The SNI A / Host B answer, against A's own answer (``own_sni``) and, when known, B's
    (``own_host``, with your certificate)."""
    check = FrontingCheck(sni=sni, host=host, protocol=answer.protocol or "HTTP/1.1",
                          certificate=answer.certificate.value, status=answer.status,
                          alert=answer.alert, result=FrontingResult.inconclusive, detail="",
                          answer=digest(answer), sni_name_answer=digest(own_sni),
                          host_name_answer=digest(own_host))
    said = f"SNI {sni} ({_presented(answer)}), {_names(answer)} {host}"
    if answer.outcome is PathOutcome.response and answer.status is not None:
        if answer.status in PROTECTING_STATUSES:
            check.result = FrontingResult.protected
            check.detail = (f"SNI {sni}, {_names(answer)} {host}: HTTP {answer.status}, "
                            f"{host} is not served")
        elif check.answer is not None and check.host_name_answer is not None \
                and same_content(check.answer, check.host_name_answer):
            check.result = FrontingResult.bypass
            check.detail = (f"{said}: HTTP {answer.status}, the same answer as {host}'s own "
                            f"(status, Server, Location, body digest); {host} requires a "
                            "client certificate when named in the SNI")
        elif check.answer is not None and check.sni_name_answer is not None \
                and same_content(check.answer, check.sni_name_answer, (host, sni)):
            check.result = FrontingResult.served_sni_vhost
            check.detail = (f"{said}: HTTP {answer.status}, the same answer as {sni}'s own "
                            f"(status, Server, Location, body digest): the server routes by "
                            f"SNI and ignores the {_names(answer)}, so {host} is not reached")
        else:
            check.result = FrontingResult.bypass
            compared = (f"an answer other than {sni}'s own (HTTP "
                        f"{check.sni_name_answer.status})" if check.sni_name_answer
                        else f"({sni}'s own answer is unknown, so judged by status)")
            check.detail = (f"{said}: HTTP {answer.status}, {compared}; {host} requires a "
                            "client certificate when named in the SNI")
    elif answer.outcome in (PathOutcome.alert, PathOutcome.closed):
        check.result = FrontingResult.protected
        check.detail = f"SNI {sni}, Host {host}: {answer.describe()}"
    else:
        check.detail = f"SNI {sni}, Host {host}: {answer.describe()}"
    return check


def digest(answer: PathExchange | None) -> AnswerDigest | None:
    """What tells this answer's content apart (None without a status line)."""
    response = answer.response if answer is not None else None
    if response is None:
        return None
    return AnswerDigest(status=response.status, server=response.server,
                        location=response.location, body_sha256=response.body_sha256,
                        body_bytes=response.body_bytes)


def same_content(answer: AnswerDigest, other: AnswerDigest,
                 renamed: tuple[str, str] | None = None) -> bool:
    """Equal status, Server, Location and body digest. ``renamed`` (B, A): a Location that
    names the Host we sent (B) is compared as if it named A, since a server that ignores Host
    for routing may still echo it in a redirect."""
    location = answer.location
    if location is not None and renamed is not None:
        location = location.replace(renamed[0], renamed[1])
    return (answer.status == other.status and answer.server == other.server
            and location == other.location and answer.body_sha256 == other.body_sha256)


def _accepted(own: PathExchange) -> bool:
    return own.outcome is PathOutcome.response and own.status is not None and own.status < 400


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
