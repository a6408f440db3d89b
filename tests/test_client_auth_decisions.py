"""Client-auth classification as tables: how a handshake without a certificate ended, in;
the class (none / optional / required) per version and for the endpoint, out.

tests/test_client_auth_servers.py checks the same against real servers; these rows cover every
branch without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scanner.engine.errors import ScanFailure
from scanner.engine.handshake import AfterHandshake, HandshakeResult
from scanner.offers.offer import ClientOffer
from scanner.probes import client_auth
from scanner.probes.shared.report import handshake_report
from scanner.results import (
    CertificateRequestInfo,
    ClientAuthAtVersion,
    ClientAuthClass,
    ErrorKind,
    WithoutCertificate,
    WithoutCertificateOutcome,
)

Outcome = WithoutCertificateOutcome
Class = ClientAuthClass

_SILENCE = ScanFailure(ErrorKind.timeout, "no answer")  # no ServerHello: nothing learned


@dataclass(frozen=True)
class Row:
    completed: bool
    after: AfterHandshake = AfterHandshake.not_read
    failure: ScanFailure | None = None
    requested: bool = True
    expected: tuple[Outcome, Class] | None = None  # None: the handshake tells nothing


WITHOUT_CERTIFICATE = {
    "asked, refused in the handshake -> required": Row(
        completed=False, expected=(Outcome.rejected_in_handshake, Class.required)),
    "asked, alert after the handshake (TLS 1.3) -> required": Row(
        completed=True, after=AfterHandshake.alert,
        expected=(Outcome.rejected_after_handshake, Class.required)),
    "asked, closed after the handshake -> required": Row(
        completed=True, after=AfterHandshake.closed,
        expected=(Outcome.rejected_after_handshake, Class.required)),
    "asked, quiet after the handshake -> optional": Row(
        completed=True, after=AfterHandshake.quiet,
        expected=(Outcome.completed, Class.optional)),
    "asked, application data after the handshake -> optional": Row(
        completed=True, after=AfterHandshake.application_data,
        expected=(Outcome.completed, Class.optional)),
    "asked, nothing read after the handshake -> optional": Row(
        completed=True, after=AfterHandshake.not_read,
        expected=(Outcome.completed, Class.optional)),
    "not asked, handshake completed -> none": Row(
        completed=True, after=AfterHandshake.quiet, requested=False,
        expected=(Outcome.completed, Class.none)),
    "not asked, refused in the handshake -> none": Row(
        completed=False, requested=False,
        expected=(Outcome.rejected_in_handshake, Class.none)),
    "not asked, closed after the handshake -> none": Row(
        completed=True, after=AfterHandshake.closed, requested=False,
        expected=(Outcome.rejected_after_handshake, Class.none)),
    "connection broke after the handshake -> unknown": Row(
        completed=True, after=AfterHandshake.failed),
    "no answer at all -> unknown": Row(completed=False, failure=_SILENCE),
}


@pytest.mark.parametrize("row", WITHOUT_CERTIFICATE.values(), ids=WITHOUT_CERTIFICATE.keys())
def test_without_certificate(row: Row) -> None:
    result = HandshakeResult(ClientOffer(), completed=row.completed, after_handshake=row.after,
                             failure=row.failure)
    out = client_auth._without_certificate(result, requested=row.requested)
    if row.expected is None:
        assert out is None
        return
    assert out is not None
    assert (out.outcome, out.classification) == row.expected


def version(label: str, classification: Class | None, *, supported: bool = True,
            requested: bool = True) -> ClientAuthAtVersion:
    """One version's facts as ``analyse`` writes them."""
    return ClientAuthAtVersion(
        version=label, supported=supported,
        certificate_request=CertificateRequestInfo(sent=requested) if supported else None,
        without_certificate=WithoutCertificate(outcome=Outcome.completed,
                                               classification=classification)
        if supported and classification is not None else None,
        handshake=handshake_report(HandshakeResult(ClientOffer())))


@dataclass(frozen=True)
class SummaryRow:
    tls13: ClientAuthAtVersion
    tls12: ClientAuthAtVersion
    requested: bool | None
    classification: Class | None
    consistent: bool | None


NONE_13, NONE_12 = (version(v, None, supported=False) for v in ("TLSv1.3", "TLSv1.2"))
SUMMARIES = {
    "both versions require -> required, consistent": SummaryRow(
        version("TLSv1.3", Class.required), version("TLSv1.2", Class.required),
        True, Class.required, True),
    "TLS 1.3 optional, TLS 1.2 required -> the highest version's class, inconsistent":
        SummaryRow(version("TLSv1.3", Class.optional), version("TLSv1.2", Class.required),
                   True, Class.optional, False),
    "only TLS 1.2 supported -> its class": SummaryRow(
        NONE_13, version("TLSv1.2", Class.required), True, Class.required, True),
    "only TLS 1.3 supported, not asked -> none, not requested": SummaryRow(
        version("TLSv1.3", Class.none, requested=False), NONE_12, False, Class.none, True),
    "asked at TLS 1.2 only -> requested": SummaryRow(
        version("TLSv1.3", Class.none, requested=False), version("TLSv1.2", Class.optional),
        True, Class.none, False),
    "TLS 1.3 handshake told nothing -> no class": SummaryRow(
        version("TLSv1.3", None), version("TLSv1.2", Class.required), True, None, True),
    "neither version supported -> unknown": SummaryRow(NONE_13, NONE_12, None, None, None),
}


@pytest.mark.parametrize("row", SUMMARIES.values(), ids=SUMMARIES.keys())
def test_summarise(row: SummaryRow) -> None:
    facet = client_auth.summarise(row.tls13, row.tls12)
    assert (facet.requested, facet.classification, facet.consistent_across_versions) == (
        row.requested, row.classification, row.consistent)
