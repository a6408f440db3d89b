"""The SNI map: what one address serves per server name, and whether Host can cross names.

nginx, haproxy and Envoy set client verification per virtual host, so the default vhost (no
SNI, or a name it does not know) may ask nothing while a named one requires a certificate, or
the reverse: scanning by IP, or by one name, hides the others. The probe compares no SNI, each
name (the target's, ``sni_names``, the inventory's other targets on the same host and port,
up to ``max_sni_names``) and one random unknown name: the certificate served, client
authentication per version, the CA names and the status of a request without a certificate.
Then, per pair of names where B requires a certificate and A can be reached without one, it
sends one request with SNI A and ``Host: B`` (see ``fronting``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import ClassVar

import trio
from cryptography import x509

from scanner.engine.handshake import HandshakeResult
from scanner.engine.session import EndpointSession
from scanner.pkix.certinfo import subject_alt_names
from scanner.probes import fronting
from scanner.probes.base import Probe, ProbeContext, ProbeOutput
from scanner.probes.client_auth import analyse
from scanner.probes.fronting import open_without_certificate, requires_certificate
from scanner.probes.shared.path_requests import exchange
from scanner.results import (
    CertificateKind,
    Finding,
    PathOutcome,
    ServedCertificate,
    Severity,
    VhostAtVersion,
    VhostKind,
    VhostsFacet,
    VhostView,
)
from scanner.wire import TLSVersion

_VERSIONS = (TLSVersion.TLSv1_3, TLSVersion.TLSv1_2)
_DEFAULT_KINDS = (VhostKind.no_sni, VhostKind.unknown_name)


@dataclass(frozen=True)
class Compared:
    """The names the probe compares, after the cap."""

    own: str | None
    others: tuple[str, ...]
    left_out: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.own, *self.others) if self.own else self.others


def names_to_compare(own: str | None, listed: Sequence[str], cap: int) -> Compared:
    """The target's own name first, then the listed ones, at most ``cap`` in all."""
    others = [name for name in dict.fromkeys(listed) if name != own]
    room = max(cap - (1 if own else 0), 0)
    return Compared(own, tuple(others[:room]), tuple(others[room:]))


def unknown_name() -> str:
    """A name no virtual host has: a random label under .invalid (RFC 6761)."""
    return f"mtlsweep-{secrets.token_hex(6)}.invalid"


class VhostsProbe(Probe[VhostsFacet]):
    name: ClassVar[str] = "vhosts"
    description: ClassVar[str] = (
        "Compares no SNI, each server name on the address and an unknown one (certificate, "
        "client auth, CA names, HTTP status); tests SNI/Host fronting between names"
    )

    async def run(self, session: EndpointSession,
                  context: ProbeContext) -> ProbeOutput[VhostsFacet]:
        compared = names_to_compare(session.sni, context.sni_names, context.max_sni_names)
        planned: list[tuple[VhostKind, str | None]] = [(VhostKind.no_sni, None)]
        planned += [(VhostKind.name, name) for name in compared.names]
        planned.append((VhostKind.unknown_name, unknown_name()))
        views: dict[int, VhostView] = {}

        async def one(index: int, kind: VhostKind, sni: str | None) -> None:
            views[index] = await _view(session, context, kind, sni)

        async with trio.open_nursery() as nursery:
            for index, (kind, sni) in enumerate(planned):
                nursery.start_soon(one, index, kind, sni)
        ordered = [views[i] for i in range(len(planned))]
        classes = {v.classification for v in ordered if v.classification is not None}
        facet = VhostsFacet(names=list(compared.names), names_left_out=list(compared.left_out),
                            views=ordered, client_auth_differs=len(classes) > 1 if classes
                            else None)
        if context.http.enabled:
            facet.fronting = await fronting.check_pairs(
                session, context, ordered, own=compared.own)
        return ProbeOutput(facet=facet, findings=findings_for(facet, self.name, compared.own)
                           + fronting.findings_for(facet.fronting))


async def _view(session: EndpointSession, context: ProbeContext, kind: VhostKind,
                sni: str | None) -> VhostView:
    results: dict[TLSVersion, HandshakeResult] = {}

    async def handshake(version: TLSVersion) -> None:
        if sni == session.sni:
            results[version] = await context.shared.baseline(version)  # client_auth's
        else:
            results[version] = await context.shared.handshake(
                session.offer(version, sni=sni), read_after_handshake=True)

    async with trio.open_nursery() as nursery:
        for version in _VERSIONS:
            nursery.start_soon(handshake, version)
    view = VhostView(kind=kind, sni=sni)
    for version in _VERSIONS:
        facts = analyse(version, results[version])
        request = facts.certificate_request
        without = facts.without_certificate
        at = VhostAtVersion(
            version=version.label, supported=facts.supported,
            classification=without.classification if without else None,
            ca_names=[dn.rfc4514 for dn in request.ca_names] if request else [],
            alert=without.alert if without else None)
        setattr(view, "tls1_3" if version is TLSVersion.TLSv1_3 else "tls1_2", at)
    top = next((v for v in (view.tls1_3, view.tls1_2) if v and v.supported), None)
    view.classification = top.classification if top else None
    view.certificate = _served(results[TLSVersion.TLSv1_3]) or _served(
        results[TLSVersion.TLSv1_2])
    clean = top is not None and results[TLSVersion.from_label(top.version)].answered
    if context.http.enabled and clean:  # a peer that broke the handshake gets no request
        host = fronting.host_header(sni or session.address.ip, session.address.port)
        # Kept in the memo: fronting compares a request naming another Host with these.
        answer = await context.shared.memo.get(
            fronting.own_answer_key(sni, yours=False),
            lambda: exchange(session, session.offer(sni=sni, post_handshake_auth=True,
                                                    alpn=("http/1.1",)),
                             context.http.path, host, CertificateKind.none))
        if answer.outcome is PathOutcome.response:
            view.http_status = answer.status
        if context.client_credential is not None and kind is VhostKind.name:
            # Which names your certificate opens: a name it opens is a way in to the others.
            credential = context.client_credential
            yours = await context.shared.memo.get(
                fronting.own_answer_key(sni, yours=True),
                lambda: exchange(session, session.offer(
                    sni=sni, post_handshake_auth=True, alpn=("http/1.1",),
                    client_credential=credential), context.http.path, host,
                    CertificateKind.user_certificate))
            view.your_certificate_status = yours.status
            view.your_certificate_accepted = (yours.outcome is PathOutcome.response
                                              and yours.status is not None
                                              and yours.status < 400)
    return view


def _served(result: HandshakeResult) -> ServedCertificate | None:
    if not result.peer_chain_der:
        return None
    certificate = x509.load_der_x509_certificate(result.peer_chain_der[0])
    return ServedCertificate(sha256=sha256(result.peer_chain_der[0]).hexdigest(),
                             subject=certificate.subject.rfc4514_string(),
                             sans=subject_alt_names(certificate))


def findings_for(facet: VhostsFacet, probe: str, own: str | None = None) -> list[Finding]:
    """Differences in client authentication between the names of the address. With a target
    name, only those about that name: each target of a sweep answers for its own vhost."""
    findings: list[Finding] = []
    named = [v for v in facet.views if v.kind is VhostKind.name]
    defaults = [v for v in facet.views if v.kind in _DEFAULT_KINDS]
    mine = [v for v in named if own is None or v.sni == own]
    protected = [v for v in mine if requires_certificate(v)]
    open_defaults = [v for v in defaults if open_without_certificate(v)]
    open_named = [v for v in mine if open_without_certificate(v)]
    protected_defaults = [v for v in defaults if requires_certificate(v)]
    if protected and open_defaults:
        which = " and ".join("no SNI" if v.kind is VhostKind.no_sni else "an unknown name"
                             for v in open_defaults)
        findings.append(Finding(
            id="vhosts.default_vhost_without_client_auth", severity=Severity.medium,
            probe=probe,
            detail=f"{', '.join(str(v.sni) for v in protected)} requires a client "
            f"certificate, but {which} reaches a virtual host that serves content without one "
            f"(HTTP {open_defaults[0].http_status}): scanning this address by IP reads 'no "
            "mTLS', and a client that omits or mistypes the SNI skips client authentication."))
    if open_named and protected_defaults:
        findings.append(Finding(
            id="vhosts.named_vhost_without_client_auth", severity=Severity.low, probe=probe,
            detail=f"The default virtual host (no SNI, unknown names) requires a client "
            f"certificate, but {', '.join(str(v.sni) for v in open_named)} serves content "
            f"without one (HTTP {open_named[0].http_status}): scanning this address by IP "
            "reads 'mTLS required' and hides it."))
    if not findings and facet.client_auth_differs and (own is None or mine):
        by_view = "; ".join(f"{v.sni or v.kind.value}: {v.classification}"
                            for v in facet.views if v.classification is not None)
        findings.append(Finding(
            id="vhosts.client_auth_differs", severity=Severity.info, probe=probe,
            detail=f"Client authentication differs between server names on this address "
            f"({by_view})."))
    return findings
