"""The enforcement probe's decisions as tables: attempt outcomes in, verdict and ALB reading out.

No server here: each row states how every attempt ended (as ``_judge`` records it) and what
``decide`` and ``infer_aws_alb`` must conclude. tests/test_enforcement_servers.py checks the
same conclusions against real servers; these rows cover every branch, including the ones no
installed server produces.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scanner.engine.handshake import HandshakeResult
from scanner.offers.offer import ClientOffer
from scanner.probes import enforcement
from scanner.results import (
    AttemptResult,
    AttemptStage,
    AwsAlbInference,
    CertificateKind,
    EnforcementVerdict,
    HttpOutcome,
    HttpOutcomeKind,
)

Kind = CertificateKind
Verdict = EnforcementVerdict
ACCEPTED, REJECTED, INCONCLUSIVE = (AttemptResult.accepted, AttemptResult.rejected,
                                    AttemptResult.inconclusive)
TLS, AFTER, HTTP, TLS_ONLY, NOWHERE = (AttemptStage.tls_handshake, AttemptStage.after_handshake,
                                       AttemptStage.http, AttemptStage.tls_only,
                                       AttemptStage.inconclusive)


@dataclass(frozen=True)
class Ending:
    """How one attempt ended: accepted/rejected/inconclusive, where, and with what."""

    result: AttemptResult
    stage: AttemptStage
    alert: str | None = None
    status: int | None = None  # the HTTP status, for attempts that ended at the HTTP layer
    http: HttpOutcomeKind = HttpOutcomeKind.response  # how the HTTP request ended


def accepted_http(status: int = 200) -> Ending:
    return Ending(ACCEPTED, HTTP, status=status)


def rejected_http(status: int = 400) -> Ending:
    return Ending(REJECTED, HTTP, status=status)


def rejected_tls(alert: str | None = "certificate_required") -> Ending:
    return Ending(REJECTED, TLS, alert=alert)


def rejected_after(alert: str | None = "certificate_required") -> Ending:
    return Ending(REJECTED, AFTER, alert=alert)


FAILED = Ending(INCONCLUSIVE, NOWHERE)
CLOSED_AT_HTTP = Ending(REJECTED, HTTP, http=HttpOutcomeKind.closed)


def judged(endings: dict[Kind, Ending]) -> list[enforcement._Judged]:
    """The records ``decide`` reads, one per attempt, in the probe's order."""
    out = []
    for kind, ending in endings.items():
        asked = ending.status is not None or ending.http is not HttpOutcomeKind.response
        http = (HttpOutcome(request="HEAD / (Host: localhost)", outcome=ending.http,
                            status=ending.status) if asked else None)
        observed = enforcement._Observed(kind=kind, credential=None,
                                         result=HandshakeResult(ClientOffer()), http=http)
        out.append(enforcement._Judged(observed, ending.result, ending.stage, ending.alert,
                                       detail=f"{kind.value} {ending.result.value}"))
    return out


def untrusted(ending: Ending, **others: Ending) -> dict[Kind, Ending]:
    """The three untrusted attempts ending alike, unless ``others`` says otherwise."""
    endings = {Kind.self_signed: ending, Kind.untrusted_ca: ending, Kind.lookalike_ca: ending}
    endings.update({Kind(name): value for name, value in others.items()})
    return endings


@dataclass(frozen=True)
class VerdictRow:
    endings: dict[Kind, Ending]
    verdict: Verdict | None
    reason: str  # a phrase the one-sentence reason must contain
    requested: bool = True
    baseline: int | None = None


VERDICTS = {
    "no certificate failed to connect -> undetermined": VerdictRow(
        {Kind.none: FAILED, **untrusted(rejected_tls())}, None,
        "undetermined: the attempt without a certificate failed"),
    "no CertificateRequest -> not requested": VerdictRow(
        {Kind.none: accepted_http()}, Verdict.not_requested, "never asks", requested=False),
    "every untrusted attempt failed to connect -> undetermined": VerdictRow(
        {Kind.none: rejected_tls(), **untrusted(FAILED)}, None,
        "undetermined: no untrusted certificate got an answer"),
    "no untrusted certificate could be made -> undetermined": VerdictRow(
        {Kind.none: rejected_tls()}, None, "no untrusted certificate got an answer (none)"),
    "no certificate rejected in TLS, untrusted rejected in TLS -> required at TLS": VerdictRow(
        {Kind.none: rejected_tls(), **untrusted(rejected_tls("unknown_ca"))},
        Verdict.required_at_tls, "rejected without a certificate in the TLS layer"),
    "TLS 1.3 rejection after the handshake -> required at TLS": VerdictRow(
        {Kind.none: rejected_after(), **untrusted(rejected_after("decrypt_error"))},
        Verdict.required_at_tls, "alert certificate_required after the handshake"),
    "no certificate refused with HTTP 400, untrusted too -> required at HTTP": VerdictRow(
        {Kind.none: rejected_http(), **untrusted(rejected_http())}, Verdict.required_at_http,
        "the TLS handshake completes without a certificate but the HTTP request is refused"),
    "no certificate accepted, untrusted rejected -> optional and verified": VerdictRow(
        {Kind.none: accepted_http(), **untrusted(rejected_tls("unknown_ca"))},
        Verdict.optional_verified, "accepted without a certificate (HTTP 200)"),
    "no certificate and every untrusted one accepted -> optional, verifies nothing": VerdictRow(
        {Kind.none: accepted_http(), **untrusted(accepted_http())}, Verdict.optional_unverified,
        "it asks but verifies nothing"),
    "accepted over TLS with http: false -> optional, verifies nothing": VerdictRow(
        {Kind.none: Ending(ACCEPTED, TLS_ONLY), **untrusted(Ending(ACCEPTED, TLS_ONLY))},
        Verdict.optional_unverified, "accepted without a certificate (TLS accepted)"),
    "no certificate rejected, self-signed accepted -> accepts untrusted (no chain check)":
        VerdictRow({Kind.none: rejected_tls(),
                    **untrusted(rejected_tls(), self_signed=accepted_http())},
                   Verdict.accepts_untrusted,
                   "does not check that certificates chain to a CA it trusts"),
    "only the look-alike CA accepted -> accepts untrusted (checks names, not signatures)":
        VerdictRow({Kind.none: rejected_tls(),
                    **untrusted(rejected_tls(), lookalike_ca=accepted_http())},
                   Verdict.accepts_untrusted, "checks the issuer's name, not the signature"),
    "no certificate accepted, one untrusted accepted, one rejected -> accepts untrusted":
        VerdictRow({Kind.none: accepted_http(),
                    **untrusted(rejected_tls(), untrusted_ca=accepted_http())},
                   Verdict.accepts_untrusted, "accepted untrusted_ca (HTTP 200)"),
    "no ServerHello at all outranks no CertificateRequest -> undetermined": VerdictRow(
        {Kind.none: FAILED}, None, "undetermined: the attempt without a certificate failed",
        requested=False),
    "untrusted attempts that failed are listed as inconclusive -> undetermined": VerdictRow(
        {Kind.none: rejected_tls(), **untrusted(FAILED)}, None,
        "(self_signed (inconclusive), untrusted_ca (inconclusive), lookalike_ca (inconclusive))"),
    "closed in the handshake without an alert -> required at TLS": VerdictRow(
        {Kind.none: rejected_tls(None), **untrusted(rejected_tls(None))},
        Verdict.required_at_tls, "(closed in the handshake); rejected self_signed (closed in"),
    "closed after the handshake without an alert -> required at TLS": VerdictRow(
        {Kind.none: rejected_after(None), **untrusted(rejected_after(None))},
        Verdict.required_at_tls, "in the TLS layer (closed after the handshake)"),
    "connection closed instead of an HTTP answer -> required at HTTP": VerdictRow(
        {Kind.none: CLOSED_AT_HTTP, **untrusted(CLOSED_AT_HTTP)}, Verdict.required_at_http,
        "the HTTP request is refused (HTTP closed); rejected self_signed (HTTP closed)"),
    "no certificate rejected, every untrusted one accepted -> accepts untrusted": VerdictRow(
        {Kind.none: rejected_tls(), **untrusted(accepted_http())}, Verdict.accepts_untrusted,
        "accepted self_signed (HTTP 200), untrusted_ca (HTTP 200), lookalike_ca (HTTP 200); it "
        "does not check that certificates chain"),
    "one untrusted accepted, the rest failed, no certificate accepted -> optional, verifies "
    "nothing": VerdictRow(
        {Kind.none: accepted_http(), **untrusted(FAILED, untrusted_ca=accepted_http())},
        Verdict.optional_unverified, "and with every untrusted one (untrusted_ca (HTTP 200))"),
    "HTTP rejections without a trusted baseline -> verdict with a caveat": VerdictRow(
        {Kind.none: rejected_http(), **untrusted(rejected_http(403))}, Verdict.required_at_http,
        "no trusted certificate was given to compare HTTP answers with"),
}


@pytest.mark.parametrize("row", VERDICTS.values(), ids=VERDICTS.keys())
def test_decide(row: VerdictRow) -> None:
    verdict, reason = enforcement.decide(judged(row.endings), requested=row.requested,
                                         baseline=row.baseline)
    assert verdict is row.verdict
    assert row.reason in reason


def test_a_trusted_baseline_removes_the_http_caveat() -> None:
    endings = {Kind.none: rejected_http(), **untrusted(rejected_http(403)),
               Kind.user_certificate: accepted_http()}
    _, reason = enforcement.decide(judged(endings), requested=True, baseline=200)
    assert "compare HTTP answers" not in reason


@dataclass(frozen=True)
class AlbRow:
    verdict: Verdict | None
    endings: dict[Kind, Ending]
    ca_names_sent: bool | None
    expected: AwsAlbInference | None
    evidence: str = ""  # a phrase one evidence line must contain


_VERIFY = {Kind.none: rejected_tls(), **untrusted(rejected_tls("unknown_ca"))}
_OPEN = {Kind.none: accepted_http(), **untrusted(accepted_http())}

ALB = {
    "no verdict -> no reading": AlbRow(None, {Kind.none: FAILED}, None, None),
    "not requested -> mode off": AlbRow(
        Verdict.not_requested, {Kind.none: accepted_http()}, None,
        AwsAlbInference(fits=True, mode="off"), "no CertificateRequest"),
    "accepts anything, no CA names -> passthrough": AlbRow(
        Verdict.optional_unverified, _OPEN, False,
        AwsAlbInference(fits=True, mode="passthrough"), "passthrough has no trust store"),
    "accepts anything but advertises CA names -> not an ALB": AlbRow(
        Verdict.optional_unverified, _OPEN, True, AwsAlbInference(fits=False),
        "which passthrough mode (no trust store) does not do"),
    "rejects in TLS with CA names, expiry untested -> verify, advertise on": AlbRow(
        Verdict.required_at_tls, _VERIFY, True,
        AwsAlbInference(fits=True, mode="verify", advertise_ca_names="on"),
        "client certificate expiry not tested"),
    "rejects in TLS without CA names -> verify, advertise off": AlbRow(
        Verdict.required_at_tls, _VERIFY, False,
        AwsAlbInference(fits=True, mode="verify", advertise_ca_names="off"),
        "no CA names advertised"),
    "rejects in TLS, CertificateRequest unparsed -> verify, advertise unknown": AlbRow(
        Verdict.required_at_tls, _VERIFY, None, AwsAlbInference(fits=True, mode="verify"),
        "the CertificateRequest could not be parsed"),
    "your certificate and an expired one accepted -> ignore expiry on": AlbRow(
        Verdict.required_at_tls, {**_VERIFY, Kind.user_certificate: accepted_http(),
                                  Kind.expired: accepted_http()}, True,
        AwsAlbInference(fits=True, mode="verify", advertise_ca_names="on",
                        ignore_client_certificate_expiry="on"),
        "an expired certificate from your CA was accepted"),
    "your CA's certificate accepted, expired rejected -> ignore expiry off": AlbRow(
        Verdict.required_at_tls, {**_VERIFY, Kind.user_ca_issued: accepted_http(),
                                  Kind.expired: rejected_tls("certificate_expired")}, True,
        AwsAlbInference(fits=True, mode="verify", advertise_ca_names="on",
                        ignore_client_certificate_expiry="off"),
        "an expired certificate from your CA was rejected"),
    "expired rejected but your own rejected too -> expiry not testable": AlbRow(
        Verdict.required_at_tls, {**_VERIFY, Kind.user_ca_issued: rejected_tls(),
                                  Kind.expired: rejected_tls()}, True,
        AwsAlbInference(fits=True, mode="verify", advertise_ca_names="on"),
        "client certificate expiry not testable"),
    "expired attempt inconclusive -> expiry unknown": AlbRow(
        Verdict.required_at_tls, {**_VERIFY, Kind.user_certificate: accepted_http(),
                                  Kind.expired: FAILED}, True,
        AwsAlbInference(fits=True, mode="verify", advertise_ca_names="on"),
        "the expired-certificate attempt was inconclusive"),
    "optional but verified -> not an ALB": AlbRow(
        Verdict.optional_verified, {Kind.none: accepted_http(), **untrusted(rejected_tls())},
        True, AwsAlbInference(fits=False),
        "accepts connections without a certificate but rejects untrusted ones"),
    "required only at HTTP -> not an ALB": AlbRow(
        Verdict.required_at_http, {Kind.none: rejected_http(), **untrusted(rejected_http())},
        True, AwsAlbInference(fits=False), "rejects at the HTTP layer"),
    "accepts some untrusted certificates -> not an ALB": AlbRow(
        Verdict.accepts_untrusted, {Kind.none: rejected_tls(),
                                    **untrusted(rejected_tls(), self_signed=accepted_http())},
        True, AwsAlbInference(fits=False), "accepts some untrusted certificates but not others"),
}


@pytest.mark.parametrize("row", ALB.values(), ids=ALB.keys())
def test_infer_aws_alb(row: AlbRow) -> None:
    inference = enforcement.infer_aws_alb(row.verdict, judged(row.endings),
                                          ca_names_sent=row.ca_names_sent)
    if row.expected is None:
        assert inference is None
        return
    assert inference is not None
    assert inference.model_dump(exclude={"evidence"}) == row.expected.model_dump(
        exclude={"evidence"})
    assert any(row.evidence in line for line in inference.evidence), inference.evidence
