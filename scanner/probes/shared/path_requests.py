"""One request for one path on one connection, watching for a certificate asked after it.

Servers that protect some paths only ask for a client certificate once the request names one:
by renegotiation (TLS 1.2) or post-handshake authentication (TLS 1.3, which we offer on these
connections; servers never ask clients that did not). OpenSSL answers either while we read
the response, with the connection's certificate or an empty Certificate, and the capture
keeps the CertificateRequest (``wire.later_certificate_request``). The exchanges without a
certificate are shared (client_auth and enforcement both read them).
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner import __version__, wire
from scanner.engine.handshake import HandshakeResult
from scanner.engine.http import HttpAnswer, ask_http
from scanner.engine.session import EndpointSession
from scanner.offers.credential import ClientCredential
from scanner.offers.offer import ClientOffer
from scanner.probes.base import ProbeContext
from scanner.probes.shared.report import version_name
from scanner.results import (
    AttemptResult,
    CertificateAsked,
    CertificateKind,
    HttpOutcomeKind,
    PathAnswer,
    PathOutcome,
)
from scanner.wire import TLSVersion

#: Statuses that say "not without a (valid) certificate" (nginx 400/495/496, 401, 403).
REJECTING_STATUSES = frozenset({400, 401, 403, 495, 496})
_NOT_REJECTIONS = frozenset({"close_notify", "user_canceled"})
_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)


@dataclass(frozen=True)
class PathExchange:
    """One connection that asked for ``path``: what it offered, what came back."""

    path: str
    certificate: CertificateKind
    result: HandshakeResult
    later: wire.LaterCertificateRequest | None
    outcome: PathOutcome
    status: int | None = None
    alert: str | None = None
    protocol: str | None = None  # "HTTP/1.1" or "HTTP/2", when a request was sent
    response: wire.HttpResponse | None = None  # the answer's head and body digest

    @property
    def supported(self) -> bool:
        """The server negotiated a version offered (this exchange tells about it)."""
        hello = self.result.server_hello
        offer = self.result.offer
        return hello is not None and offer.min_version <= hello.selected_version \
            <= offer.max_version

    @property
    def asked(self) -> CertificateAsked | None:
        if self.later is not None:
            return CertificateAsked(self.later.mechanism)
        if any(m.direction == "received" and not m.after_handshake
               and m.msg_type == wire.HandshakeType.certificate_request
               for m in self.result.transcript):
            return CertificateAsked.handshake
        return None

    @property
    def certificate_sent(self) -> bool | None:
        """Whether our Certificate message (the last one we sent) carried a certificate."""
        sent = [m for m in self.result.transcript if m.direction == "sent"
                and m.msg_type == wire.HandshakeType.certificate]
        if not sent:
            return None
        parsed = sent[-1].handshake.parsed if sent[-1].handshake else None
        return isinstance(parsed, wire.CertificateMessage) and bool(parsed.certificates)

    @property
    def judged(self) -> AttemptResult:
        if self.outcome is PathOutcome.alert:
            return AttemptResult.rejected
        if self.outcome is PathOutcome.response:
            return (AttemptResult.rejected if self.status in REJECTING_STATUSES
                    else AttemptResult.accepted)
        if self.outcome is PathOutcome.closed and self.asked is not None:
            return AttemptResult.rejected  # closed after asking: refused what we sent
        return AttemptResult.inconclusive

    def answer(self) -> PathAnswer:
        return PathAnswer(
            certificate=self.certificate, version=version_name(self.result.version),
            asked=self.asked, certificate_sent=self.certificate_sent if self.asked else None,
            outcome=self.outcome, status=self.status, alert=self.alert, result=self.judged,
            detail=self.describe())

    def describe(self) -> str:
        asked = {None: "no certificate was asked",
                 CertificateAsked.handshake: "a certificate was asked in the handshake",
                 CertificateAsked.renegotiation:
                     "a certificate was asked by renegotiation after the request",
                 CertificateAsked.post_handshake_auth:
                     "a certificate was asked after the request (post-handshake auth)",
                 }[self.asked]
        if self.outcome is PathOutcome.response:
            ended = f"HTTP {self.status}"
        elif self.outcome is PathOutcome.alert:
            ended = f"the server sent a {self.alert} alert"
        elif self.outcome is PathOutcome.failed and self.result.failure is not None:
            ended = f"the connection failed: {self.result.failure.detail}"
        else:
            ended = {PathOutcome.not_sent: "the request was not sent (the handshake decides)",
                 PathOutcome.closed: "the server closed the connection",
                     PathOutcome.no_response: "no answer before the deadline",
                     PathOutcome.not_http: "the answer was not HTTP"}.get(
                         self.outcome, str(self.outcome))
        return f"{self.certificate.value} certificate, {asked}: {ended}"


def request_label(path: str, context: ProbeContext) -> str:
    return wire.HttpRequest(path=path, host=context.http.host).label


async def without_certificate(session: EndpointSession, context: ProbeContext, path: str,
                              version: TLSVersion) -> PathExchange:
    """The request for ``path`` at ``version`` without a certificate, made once per target.

    Not made when the plain handshake at that version (shared with client_auth) shows the
    version unsupported, failed, or already asks for a certificate in the handshake: the
    exchange is then that handshake, with outcome ``failed`` or ``not_sent``.
    """
    baseline = await context.shared.baseline(version)
    hello = baseline.server_hello
    if hello is None or hello.selected_version != int(version) or not baseline.answered:
        # Unsupported, or the plain handshake already broke (a flood, a timeout...): a
        # request on a new connection would only meet the same peer again.
        return PathExchange(path, CertificateKind.none, baseline, None, PathOutcome.failed)
    if baseline.certificate_requested:
        return PathExchange(path, CertificateKind.none, baseline, None, PathOutcome.not_sent)
    return await context.shared.memo.get(
        ("path_request", path, version),
        lambda: request_path(session, context, path, version, CertificateKind.none, None))


async def without_certificate_all(session: EndpointSession, context: ProbeContext,
                                  path: str) -> dict[TLSVersion, PathExchange]:
    """Both versions, one after the other (the second often waits on the first's memo)."""
    return {version: await without_certificate(session, context, path, version)
            for version in _VERSIONS}


async def request_path(session: EndpointSession, context: ProbeContext, path: str,
                       version: TLSVersion | None, kind: CertificateKind,
                       credential: ClientCredential | None) -> PathExchange:
    """The request for ``path`` with the target's SNI and Host, offering post-handshake auth."""
    offer = session.offer(version, post_handshake_auth=True, alpn=("http/1.1",),
                          client_credential=credential)
    return await exchange(session, offer, path, context.http.host, kind)


async def exchange(session: EndpointSession, offer: ClientOffer, path: str, host: str,
                   kind: CertificateKind) -> PathExchange:
    """One connection with ``offer``, then ``GET path`` with ``Host: host`` (HTTP/2
    ``:authority`` when ALPN selects h2).

    A renegotiation or post-handshake CertificateRequest is answered by OpenSSL inside the
    reads, so it lands in the transcript before the response (or the alert) does.
    """
    request = wire.HttpRequest(path=path, host=host, user_agent=f"mtlsweep/{__version__}")
    answer: HttpAnswer | None = None
    async with session.connect(offer) as tls:
        result = await tls.handshake()
        if result.completed:
            async with session.http_turn:
                answer = await ask_http(tls, request)
    result = tls.result
    alert = _rejecting_alert(result)
    response = answer.response if answer else None
    status = response.status if response else None
    if status is not None:
        outcome = PathOutcome.response
    elif alert is not None:
        outcome = PathOutcome.alert
    elif answer is None:
        outcome = PathOutcome.failed
    else:
        outcome = _OUTCOMES[answer.outcome]
    later = wire.later_certificate_request(result.transcript, version=result.version)
    return PathExchange(path, kind, result, later, outcome, status, alert,
                        protocol=answer.protocol if answer else None, response=response)


_OUTCOMES = {HttpOutcomeKind.closed: PathOutcome.closed,
             HttpOutcomeKind.no_response: PathOutcome.no_response,
             HttpOutcomeKind.not_http: PathOutcome.not_http,
             HttpOutcomeKind.response: PathOutcome.response,
             HttpOutcomeKind.h2_only: PathOutcome.failed}


def _rejecting_alert(result: HandshakeResult) -> str | None:
    for message in result.alerts("received"):
        if message.alert is not None and message.alert.name not in _NOT_REJECTIONS:
            return message.alert.name
    return None
