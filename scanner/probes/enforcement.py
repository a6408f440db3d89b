"""Does the server verify the client certificates it asks for, and where does it enforce that?

Asking for a certificate is not verifying one: an AWS ALB in passthrough mode or nginx
``optional_no_ca`` asks and forwards whatever comes, and stock nginx ``ssl_verify_client on``
completes the handshake without a certificate and rejects only the HTTP request (400). So the
probe makes one connection per certificate — none, self-signed, from a fresh CA, from a CA that
copies the first CA name the server advertises (signatures, not names), the user's own, an
expired one from the user's CA — and follows each to where it ended: in the handshake, right
after it (TLS 1.3 servers reject after the client's Finished), or in the answer to an HTTP
``GET`` (HTTP/2 when the server speaks only that). The verdict and the AWS ALB reading are
drawn from those endings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import trio

from scanner import __version__, wire
from scanner.engine.handshake import AfterHandshake, HandshakeResult
from scanner.engine.http import HttpAnswer, ask_http
from scanner.engine.session import EndpointSession
from scanner.offers.credential import ClientCredential
from scanner.pkix.issuing import KeyType
from scanner.probes import enforcement_paths as by_path
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.client_auth import certificate_request_message
from scanner.probes.shared.application_check import ask_application, check_description
from scanner.probes.shared.credential import certificate_presented
from scanner.probes.shared.report import handshake_report, version_name
from scanner.probes.shared.throwaway import ThrowawayCertificates, probe_name
from scanner.results import (
    ApplicationOutcome,
    ApplicationOutcomeKind,
    AttemptResult,
    AttemptStage,
    AwsAlbInference,
    CertificateKind,
    EnforcementAttempt,
    EnforcementFacet,
    EnforcementVerdict,
    ErrorKind,
    Finding,
    HttpOutcome,
    HttpOutcomeKind,
    PresentedCertificate,
    Severity,
)
from scanner.wire import TranscriptMessage

Kind = CertificateKind
Verdict = EnforcementVerdict

#: Without a trusted certificate to compare with, these statuses read as "rejected": nginx
#: answers 400 for a missing or bad certificate (its internal 495/496 when mapped), proxies
#: and applications 401/403.
REJECTING_STATUSES = frozenset({400, 401, 403, 495, 496})
_UNTRUSTED = (Kind.self_signed, Kind.untrusted_ca, Kind.lookalike_ca)
_CONTROLS = (Kind.user_certificate, Kind.user_ca_issued)
_ORDER = list(Kind)
_ECDSA_P256_SHA256 = wire.code_for(wire.SIGNATURE_SCHEMES, "ecdsa_secp256r1_sha256")
_RSA_SCHEMES = frozenset(wire.code_for(wire.SIGNATURE_SCHEMES, name) for name in (
    "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512", "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512", "rsa_pss_pss_sha256", "rsa_pss_pss_sha384",
    "rsa_pss_pss_sha512"))
_ECDSA_SIGN = wire.code_for(wire.CLIENT_CERTIFICATE_TYPES, "ecdsa_sign")
_NOT_REJECTIONS = frozenset({"close_notify", "user_canceled"})
_NO_ALPN = "no_application_protocol"


@dataclass(frozen=True)
class _Exchange:
    """What every connection to one target offers (ALPN) and asks (the HTTP request)."""

    alpn: tuple[str, ...]
    request: wire.HttpRequest | None  # None: not an HTTP service (http: false)
    request_label: str
    h2_only: bool = False
    protocol: str = "tls"  # else the plaintext protocol, whose own check replaces HTTP
    domain: str = ""  # the target's host: the XMPP stream names it when there is no SNI


@dataclass
class _Observed:
    """One attempt as it happened, before its HTTP answer is judged against the baseline."""

    kind: Kind
    credential: ClientCredential | None
    result: HandshakeResult
    http: HttpOutcome | None = None
    post_handshake_alert: str | None = None
    certificate_sent: bool | None = None
    application: ApplicationOutcome | None = None

    @property
    def reached_server(self) -> bool:
        return self.result.server_hello is not None


@dataclass
class _Judged:
    observed: _Observed
    result: AttemptResult
    stage: AttemptStage
    alert: str | None
    detail: str

    @property
    def kind(self) -> Kind:
        return self.observed.kind

    @property
    def accepted(self) -> bool:
        return self.result is AttemptResult.accepted

    @property
    def rejected(self) -> bool:
        return self.result is AttemptResult.rejected


@dataclass
class _Planned:
    """The attempts to make after the first, and the ones left out with the reason."""

    attempts: list[tuple[Kind, ClientCredential]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


class EnforcementProbe(Probe[EnforcementFacet]):
    name: ClassVar[str] = "enforcement"
    description: ClassVar[str] = (
        "Presents no, self-signed, untrusted, look-alike-CA, your own and expired client "
        "certificates; says where each is rejected (TLS or HTTP) and whether the server verifies"
    )

    def __init__(self) -> None:
        self.certificates = ThrowawayCertificates()

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[EnforcementFacet]:
        exchange = _exchange_for(context)
        first = await _attempt(session, Kind.none, None, exchange)
        if first.result.alert_received and first.result.alert_received.alert and \
                first.result.alert_received.alert.name == _NO_ALPN and exchange.alpn:
            # An h2-only server refuses an http/1.1-only offer: ask it over HTTP/2 instead of
            # misreading its alert as a rejection of the (missing) certificate.
            exchange = _Exchange(alpn=("h2",), request=exchange.request,
                                 request_label=exchange.request_label, h2_only=True)
            first = await _attempt(session, Kind.none, None, exchange)

        message = certificate_request_message(first.result)
        requested = message is not None
        request = _parsed(message)
        hello = first.result.server_hello
        version = version_name(first.result.version
                               or (hello.selected_version if hello is not None else None))
        if requested:
            planned = await trio.to_thread.run_sync(self._plan_attempts, context, request)
        else:
            planned = _Planned(skipped=_not_asked(context, reached=hello is not None))
        ca_names_sent = bool(request.certificate_authorities) if request is not None else None
        observed = [first]

        async def run_one(kind: Kind, credential: ClientCredential) -> None:
            observed.append(await _attempt(session, kind, credential, exchange))

        async with trio.open_nursery() as nursery:
            for kind, credential in planned.attempts:
                nursery.start_soon(run_one, kind, credential)
        observed.sort(key=lambda o: _ORDER.index(o.kind))

        baseline = _baseline(observed)
        judged = [_judge(o, baseline, exchange) for o in observed]
        verdict, reason = decide(judged, requested=requested, baseline=baseline)
        facet = EnforcementFacet(
            verdict=verdict,
            reason=reason,
            version=version,
            ca_names_sent=ca_names_sent,
            http_baseline=baseline,
            attempts=[_attempt_out(j) for j in judged],
            skipped=planned.skipped,
            aws_alb=(infer_aws_alb(verdict, judged, ca_names_sent=ca_names_sent)
                     if exchange.protocol == "tls" else None),
        )
        facet.paths = await by_path.enforcement_by_path(session, context, self.certificates)
        return ProbeOutput(facet=facet, findings=findings_for(facet, judged, exchange)
                           + by_path.path_findings(facet.paths, self.name))

    def _plan_attempts(self, target: ProbeContext,
                       request: wire.CertificateRequest | None) -> _Planned:
        """``request`` is None when the server's CertificateRequest could not be parsed."""
        key_type = key_type_for(request) if request is not None else "ec"
        plans = _Planned()
        plans.attempts.append((Kind.self_signed, self.certificates.self_signed(key_type)))
        plans.attempts.append((Kind.untrusted_ca, self.certificates.untrusted_ca(key_type)))
        if request is None:
            plans.skipped[Kind.lookalike_ca.value] = (
                "the CertificateRequest could not be parsed, so no CA name can be copied")
        elif request.certificate_authorities:
            first_name = request.certificate_authorities[0]
            try:
                lookalike = self.certificates.lookalike(first_name.der, key_type)
            except ValueError as exc:
                plans.skipped[Kind.lookalike_ca.value] = (
                    f"the first advertised CA name ({first_name.rfc4514}) cannot be copied: "
                    f"{exc}")
            else:
                plans.attempts.append((Kind.lookalike_ca, lookalike))
        else:
            plans.skipped[Kind.lookalike_ca.value] = "the server advertises no CA names to copy"
        if target.client_credential is not None:
            plans.attempts.append((Kind.user_certificate, target.client_credential))
        else:
            plans.skipped[Kind.user_certificate.value] = "no client_cert in the inventory"
        ca = target.client_ca
        if ca is None:
            plans.skipped[Kind.expired.value] = (
                "no client_ca_cert and client_ca_key in the inventory")
        else:
            subject = (target.client_credential.certificate.subject
                       if target.client_credential else probe_name("mtlsweep client"))
            if target.client_credential is None:
                plans.attempts.append((Kind.user_ca_issued, self.certificates.issued_by(
                    ca, subject, key_type, expired=False)))
            plans.attempts.append((Kind.expired, self.certificates.issued_by(
                ca, subject, key_type, expired=True)))
        return plans


def _not_asked(context: ProbeContext, *, reached: bool) -> dict[str, str]:
    kinds = [*_UNTRUSTED]
    if context.client_credential is not None:
        kinds.append(Kind.user_certificate)
    if context.client_ca is not None:
        kinds.append(Kind.expired)
    why = ("the server sent no CertificateRequest" if reached
           else "the attempt without a certificate got no ServerHello")
    return {kind.value: why for kind in kinds}


def _exchange_for(context: ProbeContext) -> _Exchange:
    if context.protocol != "tls":
        label = check_description(context.protocol) or f"{context.protocol} (no request)"
        return _Exchange(alpn=(), request=None, request_label=label, protocol=context.protocol,
                         domain=context.host)
    http = context.http
    request = wire.HttpRequest(path=http.path, host=http.host,
                               user_agent=f"mtlsweep/{__version__}")
    if not http.enabled:
        return _Exchange(alpn=(), request=None, request_label=request.label)
    return _Exchange(alpn=("http/1.1",), request=request, request_label=request.label)


def _parsed(message: TranscriptMessage | None) -> wire.CertificateRequest | None:
    if message is not None and message.handshake is not None and isinstance(
            message.handshake.parsed, wire.CertificateRequest):
        return message.handshake.parsed
    return None


def key_type_for(request: wire.CertificateRequest) -> KeyType:
    """EC P-256 unless the server's CertificateRequest rules ECDSA out and allows RSA."""
    schemes = set(request.signature_algorithms or ())
    ecdsa = not schemes or _ECDSA_P256_SHA256 in schemes
    if request.certificate_types is not None and _ECDSA_SIGN not in request.certificate_types:
        ecdsa = False
    if ecdsa or not (schemes & _RSA_SCHEMES or request.certificate_types):
        return "ec"
    return "rsa"


async def _attempt(session: EndpointSession, kind: Kind, credential: ClientCredential | None,
                   exchange: _Exchange) -> _Observed:
    offer = session.offer(client_credential=credential, alpn=exchange.alpn)
    http: HttpOutcome | None = None
    application: ApplicationOutcome | None = None
    async with session.connect(offer) as tls:
        result = await tls.handshake()
        if result.completed and exchange.protocol != "tls":
            application = await ask_application(tls, exchange.protocol,
                                                session.sni or exchange.domain)
            if application is None:
                await tls.read_after_handshake(session.wait_after_handshake())
        elif result.completed:
            other_protocol = result.alpn not in (None, "http/1.1", "h2")
            if exchange.request is None or other_protocol:
                # No HTTP to speak: wait a moment for a post-handshake rejection instead.
                await tls.read_after_handshake(session.wait_after_handshake())
                if other_protocol:
                    http = HttpOutcome(request=exchange.request_label,
                                       outcome=HttpOutcomeKind.not_http,
                                       received=f"ALPN {result.alpn}")
            else:
                async with session.http_turn:
                    http = _outcome(exchange.request_label,
                                    await ask_http(tls, exchange.request))
    observed = _Observed(kind, credential, tls.result, http, application=application)
    observed.post_handshake_alert = _post_handshake_alert(tls.result)
    observed.certificate_sent = certificate_presented(tls.result)
    return observed


def _outcome(label: str, answer: HttpAnswer) -> HttpOutcome:
    response = answer.response
    if response is None:
        return HttpOutcome(request=label, outcome=answer.outcome, received=answer.received,
                           protocol=answer.protocol, alert=answer.alert)
    return HttpOutcome(request=label, outcome=answer.outcome, status=response.status,
                       reason=response.reason or None, protocol=answer.protocol,
                       server=response.server,
                       strict_transport_security=response.strict_transport_security,
                       location=response.location, alert=answer.alert)


def _post_handshake_alert(result: HandshakeResult) -> str | None:
    for message in result.alerts("received"):
        if message.after_handshake and message.alert is not None \
                and message.alert.name not in _NOT_REJECTIONS:
            return message.alert.name
    return None


def _baseline(observed: Iterable[_Observed]) -> int | None:
    """The HTTP status a trusted certificate got, when it plainly got through (< 400)."""
    for item in observed:
        if item.kind in _CONTROLS and item.http is not None and item.http.status is not None \
                and item.http.status < 400 and item.post_handshake_alert is None:
            return item.http.status
    return None


def _judge(observed: _Observed, baseline: int | None, exchange: _Exchange) -> _Judged:
    result = observed.result
    inconclusive, rejected = AttemptResult.inconclusive, AttemptResult.rejected
    if not observed.reached_server:
        why = result.failure.detail if result.failure else "no ServerHello"
        return _Judged(observed, inconclusive, AttemptStage.inconclusive, None,
                       f"no ServerHello, so nothing was learned: {why}")
    if observed.kind is not Kind.none and observed.certificate_sent is False:
        return _Judged(observed, inconclusive, AttemptStage.inconclusive, None,
                       "the certificate was not sent: the server sent no CertificateRequest "
                       "this time, or our TLS library found the certificate unfit for the "
                       "signature algorithms it lists")
    if not result.completed:
        failure = result.failure
        if failure is not None and failure.alert:
            return _Judged(observed, rejected, AttemptStage.tls_handshake, failure.alert,
                           f"rejected in the TLS handshake: alert {failure.alert}")
        if failure is not None and failure.kind in (ErrorKind.connection_closed,
                                                    ErrorKind.connection_reset):
            return _Judged(observed, rejected, AttemptStage.tls_handshake, None,
                           "rejected in the TLS handshake: the server closed the connection "
                           "without an alert")
        why = failure.detail if failure else "unknown"
        return _Judged(observed, inconclusive, AttemptStage.inconclusive, None,
                       f"the handshake did not finish: {why}")
    http = observed.http
    alert = observed.post_handshake_alert
    if alert and (http is None or http.status is None):
        return _Judged(observed, rejected, AttemptStage.after_handshake, alert,
                       f"the handshake completed, then the server sent alert {alert} (TLS 1.3 "
                       "servers judge the certificate after the client's Finished)")
    if (http is None or http.outcome in _NOT_ASKED) \
            and result.after_handshake is AfterHandshake.closed:
        return _Judged(observed, rejected, AttemptStage.after_handshake, None,
                       "the handshake completed, then the server closed the connection")
    if observed.application is not None:
        return _judge_application(observed, observed.application)
    if exchange.protocol != "tls":
        return _Judged(observed, AttemptResult.accepted, AttemptStage.tls_only, None,
                       f"accepted by the TLS layer ({exchange.protocol}: no request is sent "
                       "after TLS)")
    outcome, stage, detail = _judge_http(http, baseline, exchange)
    return _Judged(observed, outcome, stage, None, detail)


def _judge_application(observed: _Observed, answer: ApplicationOutcome) -> _Judged:
    """An attempt the TLS layer accepted, as the protocol after it answered."""
    app = ApplicationOutcomeKind
    said = f"accepted by the TLS layer; {answer.request} got"
    stage = AttemptStage.application
    if answer.outcome is app.certificate_rejected:
        return _Judged(observed, AttemptResult.rejected, stage, None,
                       f"{said} a refusal naming the certificate: {answer.received}")
    if answer.outcome is app.closed:
        # Nothing at all came back: the TLS layer refused after the handshake (slapd's
        # TLSVerifyClient demand at TLS 1.3 closes without an alert).
        return _Judged(observed, AttemptResult.rejected, AttemptStage.after_handshake, None,
                       "the handshake completed, then the server closed the connection without "
                       f"answering {answer.request}")
    why = {app.proceeds: f"{answer.received}",
           app.refused: f"a refusal that does not name the certificate: {answer.received}",
           app.no_response: "no answer before the deadline",
           app.not_protocol: f"an answer that did not parse: {answer.received}"}[answer.outcome]
    return _Judged(observed, AttemptResult.accepted, stage, None, f"{said} {why}")


_NOT_ASKED = (HttpOutcomeKind.h2_only, HttpOutcomeKind.not_http)


def _judge_http(http: HttpOutcome | None, baseline: int | None,
                exchange: _Exchange) -> tuple[AttemptResult, AttemptStage, str]:
    """An attempt the TLS layer accepted: what the HTTP answer (if any) makes of it."""
    accepted, rejected = AttemptResult.accepted, AttemptResult.rejected
    stage = AttemptStage.http
    if http is None:
        return accepted, AttemptStage.tls_only, ("accepted by the TLS layer (http: false, no "
                                                 "request sent)")
    if http.outcome is HttpOutcomeKind.h2_only:
        return accepted, AttemptStage.tls_only, ("accepted by the TLS layer; the server speaks "
                                                 "only HTTP/2, so no HTTP/1.1 request was sent")
    prefix = f"accepted by the TLS layer; {exchange.request_label}"
    if http.outcome is HttpOutcomeKind.not_http:
        return accepted, stage, (f"{prefix} got an answer that is not HTTP "
                                 f"({http.received}); set http: false for non-HTTP services")
    if http.outcome is HttpOutcomeKind.no_response:
        return accepted, stage, f"{prefix} got no answer before the deadline"
    if http.outcome is HttpOutcomeKind.closed:
        return rejected, stage, (f"{prefix} got no response: the server closed the "
                                 "connection")
    status = http.status
    assert status is not None
    said = f"{prefix} got HTTP {status}" + (f" {http.reason}" if http.reason else "")
    if baseline is not None:
        if status == baseline:
            return accepted, stage, f"{said}, as a trusted certificate does"
        verdict = rejected if status >= 400 else accepted
        return verdict, stage, f"{said} (a trusted certificate gets {baseline})"
    return (rejected if status in REJECTING_STATUSES else accepted), stage, said


@dataclass(frozen=True)
class _Evidence:
    """What the verdict rules read, gathered once from every attempt's ending."""

    none: _Judged  # the attempt without a certificate
    requested: bool  # the server sent a CertificateRequest
    tried: list[_Judged]  # the untrusted attempts, answered or not
    accepted: list[_Judged]  # the untrusted attempts that got an answer and were accepted
    rejected: list[_Judged]  # ... and were rejected
    caveat: str  # what limits the reading ("" or "; ..."), appended to a verdict's reason

    @classmethod
    def of(cls, judged: Sequence[_Judged], *, requested: bool,
           baseline: int | None) -> _Evidence:
        tried = [j for j in judged if j.kind in _UNTRUSTED]
        return cls(none={j.kind: j for j in judged}[Kind.none], requested=requested,
                   tried=tried, accepted=[j for j in tried if j.accepted],
                   rejected=[j for j in tried if j.rejected],
                   caveat=_caveat(judged, baseline))

    @property
    def answered(self) -> bool:
        """Some untrusted certificate got an answer (accepted or rejected)."""
        return bool(self.accepted or self.rejected)

    @property
    def without(self) -> str:
        return _where(self.none)

    @property
    def rejections(self) -> str:
        return f"rejected {_list(self.rejected)}"


@dataclass(frozen=True)
class _Rule:
    """One verdict and when it applies; the first rule that applies decides."""

    applies: Callable[[_Evidence], bool]
    verdict: Verdict | None  # None: undetermined
    reason: Callable[[_Evidence], str]
    caveat: bool = True  # whether the evidence's caveat qualifies the reason


def _accepts_untrusted_reason(e: _Evidence) -> str:
    lookalike_only = [j.kind for j in e.accepted] == [Kind.lookalike_ca]
    why = (" it checks the issuer's name, not the signature" if lookalike_only else
           " it does not check that certificates chain to a CA it trusts")
    return f"accepted {_list(e.accepted)};{why} (without a certificate: {e.without})"


_TLS_STAGES = (AttemptStage.tls_handshake, AttemptStage.after_handshake)

#: The enforcement verdict: the first rule that applies decides, so the order is the logic.
#: Without answers there is no verdict; an untrusted certificate accepted while another is
#: rejected, or while a connection without one is refused, means the check is partial (or
#: reads names only); accepted along with no certificate, it means nothing is verified.
_VERDICT_RULES: tuple[_Rule, ...] = (
    _Rule(lambda e: e.none.result is AttemptResult.inconclusive, None,
          lambda e: f"undetermined: the attempt without a certificate failed ({e.none.detail})",
          caveat=False),
    _Rule(lambda e: not e.requested, Verdict.not_requested,
          lambda e: "the server sends no CertificateRequest, so it never asks for a client "
          "certificate", caveat=False),
    _Rule(lambda e: not e.answered, None,
          lambda e: f"undetermined: no untrusted certificate got an answer ({_list(e.tried)})",
          caveat=False),
    _Rule(lambda e: bool(e.accepted) and bool(e.rejected or not e.none.accepted),
          Verdict.accepts_untrusted, _accepts_untrusted_reason),
    _Rule(lambda e: bool(e.accepted), Verdict.optional_unverified,
          lambda e: f"accepted without a certificate ({e.without}) and with every untrusted "
          f"one ({_list(e.accepted)}): it asks but verifies nothing"),
    _Rule(lambda e: e.none.accepted, Verdict.optional_verified,
          lambda e: f"accepted without a certificate ({e.without}); {e.rejections}"),
    _Rule(lambda e: e.none.stage in _TLS_STAGES, Verdict.required_at_tls,
          lambda e: f"rejected without a certificate in the TLS layer ({e.without}); "
          f"{e.rejections}"),
    _Rule(lambda e: e.none.stage is AttemptStage.application, Verdict.required_at_application,
          lambda e: "the TLS handshake completes without a certificate but the protocol after "
          f"it refuses, naming the certificate ({e.without}); {e.rejections}"),
    _Rule(lambda e: True, Verdict.required_at_http,
          lambda e: "the TLS handshake completes without a certificate but the HTTP request "
          f"is refused ({e.without}); {e.rejections}"),
)


def decide(judged: Sequence[_Judged], *, requested: bool,
           baseline: int | None) -> tuple[Verdict | None, str]:
    """The verdict, and one sentence saying which attempts it rests on."""
    evidence = _Evidence.of(judged, requested=requested, baseline=baseline)
    rule = next(rule for rule in _VERDICT_RULES if rule.applies(evidence))
    return rule.verdict, rule.reason(evidence) + (evidence.caveat if rule.caveat else "")


def _caveat(judged: Sequence[_Judged], baseline: int | None) -> str:
    http_rejections = [j for j in judged if j.rejected and j.stage is AttemptStage.http]
    if http_rejections and baseline is None:
        return ("; no trusted certificate was given to compare HTTP answers with, so an HTTP "
                "rejection may have another cause (set client_cert)")
    return ""


def _where(item: _Judged) -> str:
    if item.stage is AttemptStage.tls_handshake:
        return f"alert {item.alert} in the handshake" if item.alert else "closed in the handshake"
    if item.stage is AttemptStage.after_handshake:
        return (f"alert {item.alert} after the handshake" if item.alert
                else "closed after the handshake")
    if item.stage is AttemptStage.tls_only:
        return "TLS accepted"
    answer = item.observed.application
    if item.stage is AttemptStage.application and answer is not None:
        return f"{answer.protocol} {answer.outcome.value}"
    http = item.observed.http
    if http is not None and http.status is not None:
        return f"HTTP {http.status}"
    return f"HTTP {http.outcome.value}" if http is not None else item.stage.value


def _list(items: Iterable[_Judged]) -> str:
    return ", ".join(f"{j.kind.value} ({_where(j)})" for j in items) or "none"


def infer_aws_alb(verdict: Verdict | None, judged: Sequence[_Judged], *,
                  ca_names_sent: bool | None) -> AwsAlbInference | None:
    """Which ALB mutual-TLS settings (mode, AdvertiseTrustStoreCaNames,
    IgnoreClientCertificateExpiry) behave like this, and on what evidence."""
    if verdict is None:
        return None
    by_kind = {j.kind: j for j in judged}
    none = by_kind[Kind.none]
    if verdict is Verdict.not_requested:
        return AwsAlbInference(fits=True, mode="off", evidence=[
            "no CertificateRequest in the handshake"])
    if verdict is Verdict.optional_unverified:
        evidence = [f"without a certificate: {_where(none)}",
                    "accepted " + _list(j for j in judged if j.kind in _UNTRUSTED
                                        and j.accepted)]
        if ca_names_sent:
            return AwsAlbInference(fits=False, evidence=[
                *evidence, "CA names are advertised, which passthrough mode (no trust store) "
                "does not do"])
        return AwsAlbInference(fits=True, mode="passthrough", evidence=[
            *evidence, "no CA names advertised (passthrough has no trust store)"])
    if verdict is Verdict.required_at_tls:
        evidence = [f"without a certificate: {_where(none)}",
                    "rejected " + _list(j for j in judged if j.kind in _UNTRUSTED
                                        and j.rejected),
                    {True: "CA names advertised", False: "no CA names advertised",
                     None: "the CertificateRequest could not be parsed"}[ca_names_sent]]
        expiry, expiry_evidence = _expiry(by_kind)
        evidence.append(expiry_evidence)
        advertise: Literal["on", "off"] | None = (
            None if ca_names_sent is None else "on" if ca_names_sent else "off")
        return AwsAlbInference(fits=True, mode="verify", advertise_ca_names=advertise,
                               ignore_client_certificate_expiry=expiry, evidence=evidence)
    behaviour = {
        Verdict.optional_verified: "accepts connections without a certificate but rejects "
        "untrusted ones",
        Verdict.required_at_http: "completes the handshake without a certificate and rejects "
        "at the HTTP layer",
        Verdict.accepts_untrusted: "accepts some untrusted certificates but not others",
        Verdict.required_at_application: "rejects at the protocol after TLS",
    }[verdict]
    return AwsAlbInference(fits=False, evidence=[
        f"this endpoint {behaviour}; ALB modes are off (no request), passthrough (accepts "
        "anything) and verify (rejects in TLS)"])


def _expiry(by_kind: dict[Kind, _Judged]) -> tuple[Literal["on", "off"] | None, str]:
    expired = by_kind.get(Kind.expired)
    control = next((by_kind[k] for k in _CONTROLS if k in by_kind), None)
    if expired is None:
        return None, ("client certificate expiry not tested (give client_ca_cert and "
                      "client_ca_key)")
    if control is None or not control.accepted:
        return None, ("client certificate expiry not testable: no certificate from your CA was "
                      "accepted, so an expired one's rejection says nothing about expiry")
    if expired.accepted:
        return "on", f"an expired certificate from your CA was accepted ({_where(expired)})"
    if expired.rejected:
        return "off", f"an expired certificate from your CA was rejected ({_where(expired)})"
    return None, f"the expired-certificate attempt was inconclusive ({expired.detail})"


def _attempt_out(item: _Judged) -> EnforcementAttempt:
    observed = item.observed
    credential = observed.credential
    presented = None
    if credential is not None:
        certificate = credential.certificate
        presented = PresentedCertificate(
            subject=certificate.subject.rfc4514_string(),
            issuer=certificate.issuer.rfc4514_string(),
            sha256=credential.fingerprint,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            generated=observed.kind is not Kind.user_certificate,
        )
    return EnforcementAttempt(
        certificate=observed.kind,
        presented=presented,
        certificate_sent=observed.certificate_sent,
        result=item.result,
        ended=item.stage,
        alert=item.alert,
        http=observed.http,
        application=observed.application,
        detail=item.detail,
        handshake=handshake_report(observed.result),
    )


def findings_for(facet: EnforcementFacet, judged: Sequence[_Judged],
                 exchange: _Exchange) -> list[Finding]:
    findings: list[Finding] = []

    def add(finding_id: str, severity: Severity, detail: str) -> None:
        findings.append(Finding(id=finding_id, severity=severity, probe=EnforcementProbe.name,
                                version=facet.version, detail=detail))

    by_kind = {j.kind: j for j in judged}
    if facet.verdict is Verdict.accepts_untrusted:
        add("enforcement.accepts_untrusted", Severity.high,
            f"The server accepts client certificates nobody trusts: {facet.reason}.")
    elif facet.verdict is Verdict.optional_unverified:
        add("enforcement.unverified", Severity.medium,
            "The server asks for a client certificate but accepts any, or none: unless the "
            "application behind it verifies the forwarded certificate (as with ALB "
            "passthrough), client authentication is not enforced.")
    control = next((by_kind[k] for k in _CONTROLS if k in by_kind), None)
    if control is not None and control.rejected:
        add("enforcement.trusted_certificate_rejected", Severity.low,
            f"The certificate expected to be trusted ({control.kind.value}) was rejected: "
            f"{control.detail}.")
    expired = by_kind.get(Kind.expired)
    if (expired is not None and expired.accepted and control is not None and control.accepted
            and facet.verdict not in (Verdict.optional_unverified, Verdict.accepts_untrusted)):
        add("enforcement.expired_accepted", Severity.low,
            f"An expired certificate from your CA is accepted ({_where(expired)}): client "
            "certificate expiry is ignored.")
    if exchange.h2_only:
        add("enforcement.h2_only", Severity.info,
            "The server refuses HTTP/1.1 (ALPN); its HTTP layer was asked over HTTP/2.")
    return findings

