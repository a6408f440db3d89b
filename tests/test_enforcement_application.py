"""The enforcement probe's reading of a protocol's answer after TLS (non-HTTP targets), as
tables: the answer in, the attempt's ending and the verdict out."""

from __future__ import annotations

import pytest

from scanner.engine.handshake import HandshakeResult
from scanner.offers.offer import ClientOffer
from scanner.probes import enforcement
from scanner.results import (
    ApplicationOutcome,
    ApplicationOutcomeKind,
    AttemptResult,
    AttemptStage,
    CertificateKind,
    EnforcementVerdict,
)

Kind = CertificateKind
Outcome = ApplicationOutcomeKind


def judged(kind: Kind, outcome: Outcome, received: str = "'...'") -> enforcement._Judged:
    answer = ApplicationOutcome(protocol="postgres", request="StartupMessage", outcome=outcome,
                                received=received)
    observed = enforcement._Observed(kind=kind, credential=None,
                                     result=HandshakeResult(ClientOffer()), application=answer)
    return enforcement._judge_application(observed, answer)


@pytest.mark.parametrize(("outcome", "result", "stage"), [
    (Outcome.proceeds, AttemptResult.accepted, AttemptStage.application),
    (Outcome.certificate_rejected, AttemptResult.rejected, AttemptStage.application),
    (Outcome.refused, AttemptResult.accepted, AttemptStage.application),
    (Outcome.no_response, AttemptResult.accepted, AttemptStage.application),
    (Outcome.not_protocol, AttemptResult.accepted, AttemptStage.application),
    # Not a word back: the TLS layer closed after the handshake.
    (Outcome.closed, AttemptResult.rejected, AttemptStage.after_handshake),
])
def test_each_answer_ends_the_attempt(outcome: Outcome, result: AttemptResult,
                                      stage: AttemptStage) -> None:
    item = judged(Kind.none, outcome)
    assert (item.result, item.stage) == (result, stage)


def test_a_refusal_naming_the_certificate_is_required_at_application() -> None:
    items = [judged(Kind.none, Outcome.certificate_rejected, "'FATAL 28000 connection requires "
                    "a valid client certificate'"),
             judged(Kind.self_signed, Outcome.closed), judged(Kind.untrusted_ca, Outcome.closed)]
    verdict, reason = enforcement.decide(items, requested=True, baseline=None)
    assert verdict is EnforcementVerdict.required_at_application
    assert "postgres certificate_rejected" in reason


def test_a_login_refused_for_another_reason_is_tls_acceptance() -> None:
    items = [judged(Kind.none, Outcome.refused, "error 1045: 'Access denied'"),
             judged(Kind.self_signed, Outcome.closed)]
    verdict, _ = enforcement.decide(items, requested=True, baseline=None)
    assert verdict is EnforcementVerdict.optional_verified
