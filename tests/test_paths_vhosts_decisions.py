"""The pure decisions behind per-path client auth, the SNI map and the fronting check."""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import pytest
import trio
import typer

from scanner import wire
from scanner.cli.usage import parse_sni_names
from scanner.config.inventory_files import InventoryError
from scanner.config.inventory_stream import load_inventory
from scanner.config.options import SweepDefaults, resolve_options
from scanner.config.targets import Target, colocated_names
from scanner.engine.connect import resolve
from scanner.engine.handshake import HandshakeResult
from scanner.offers.offer import ClientOffer
from scanner.probes import DEFAULT_PROBES, PROBES
from scanner.probes.client_auth_paths import classify
from scanner.probes.enforcement_paths import decide_path
from scanner.probes.fronting import judge, pairs
from scanner.probes.shared.path_requests import PathExchange
from scanner.probes.vhosts import findings_for
from scanner.results import (
    AttemptResult,
    CertificateAsked,
    CertificateKind,
    ClientAuthClass,
    EnforcementVerdict,
    FrontingResult,
    PathOutcome,
    VhostKind,
    VhostsFacet,
    VhostView,
)
from scanner.run.sweep import SweepOptions, neighbours
from scanner.wire import HandshakeType, TranscriptMessage

HS = wire.ContentType.handshake


def received(msg_type: int, *, after: bool) -> TranscriptMessage:
    return TranscriptMessage("received", HS, 4, after, msg_type)


@pytest.mark.parametrize(("messages", "version", "expected"), [
    ([received(HandshakeType.certificate_request, after=False)], 0x0304, None),
    ([received(HandshakeType.new_session_ticket, after=True),
      received(HandshakeType.certificate_request, after=True)], 0x0304,
     ("post_handshake_auth", False)),
    ([received(HandshakeType.hello_request, after=True),
      received(HandshakeType.server_hello, after=True),
      received(HandshakeType.certificate_request, after=True)], 0x0303, ("renegotiation", True)),
])
def test_a_later_certificate_request_and_its_mechanism(messages, version, expected) -> None:
    later = wire.later_certificate_request(messages, version=version)
    assert (None if later is None else (later.mechanism, later.hello_request)) == expected


def exchange(outcome: PathOutcome, *, status: int | None = None, alert: str | None = None,
             kind: CertificateKind = CertificateKind.none, asked: bool = True,
             body: bytes = b"", location: str | None = None) -> PathExchange:
    later = (wire.LaterCertificateRequest(
        "post_handshake_auth", received(HandshakeType.certificate_request, after=True), False)
        if asked else None)
    response = (wire.HttpResponse("1.1", status, server="srv", location=location,
                                  body_sha256=hashlib.sha256(body).hexdigest(),
                                  body_bytes=len(body)) if status is not None else None)
    return PathExchange("/secure", kind, HandshakeResult(offer=ClientOffer()), later, outcome,
                        status, alert, response=response)


def test_path_classification() -> None:
    assert classify(None, AttemptResult.accepted) is ClientAuthClass.none
    assert classify(CertificateAsked.renegotiation,
                    AttemptResult.rejected) is ClientAuthClass.required
    assert classify(CertificateAsked.post_handshake_auth,
                    AttemptResult.accepted) is ClientAuthClass.optional
    assert classify(CertificateAsked.renegotiation, AttemptResult.inconclusive) is None


def test_path_verdicts() -> None:
    none = exchange(PathOutcome.alert, alert="certificate_required")
    untrusted = exchange(PathOutcome.alert, alert="unknown_ca", kind=CertificateKind.untrusted_ca)
    assert decide_path({CertificateKind.none: none, CertificateKind.untrusted_ca: untrusted}
                       )[0] is EnforcementVerdict.required_at_tls
    forbidden = exchange(PathOutcome.response, status=403, kind=CertificateKind.untrusted_ca)
    assert decide_path({CertificateKind.none: none, CertificateKind.untrusted_ca: forbidden}
                       )[0] is EnforcementVerdict.required_at_http
    served = exchange(PathOutcome.response, status=200, kind=CertificateKind.untrusted_ca)
    assert decide_path({CertificateKind.none: none, CertificateKind.untrusted_ca: served}
                       )[0] is EnforcementVerdict.accepts_untrusted
    silent = exchange(PathOutcome.no_response)
    assert decide_path({CertificateKind.none: silent, CertificateKind.untrusted_ca: untrusted}
                       )[0] is None


@pytest.mark.parametrize(("status", "result"), [
    (200, FrontingResult.bypass), (302, FrontingResult.bypass), (404, FrontingResult.bypass),
    (421, FrontingResult.protected), (400, FrontingResult.protected),
    (403, FrontingResult.protected), (495, FrontingResult.protected),
    (496, FrontingResult.protected),
])
def test_fronting_statuses(status: int, result: FrontingResult) -> None:
    answer = exchange(PathOutcome.response, status=status, asked=False)
    assert judge("a.test", "b.test", answer).result is result


def test_fronting_compares_with_the_names_own_answers() -> None:
    def answer(body: bytes, location: str | None = None) -> PathExchange:
        return exchange(PathOutcome.response, status=200, asked=False, body=body,
                        location=location)

    a_page, b_page = answer(b"a public"), answer(b"b secret")
    # Routed by SNI: the answer is A's own, Host ignored.
    assert judge("a.test", "b.test", answer(b"a public"), a_page
                 ).result is FrontingResult.served_sni_vhost
    # A redirect that echoes the Host sent is still A's own answer.
    assert judge("a.test", "b.test", answer(b"", "https://b.test/x/"),
                 answer(b"", "https://a.test/x/")).result is FrontingResult.served_sni_vhost
    # Other content than A's, or B's own content: a bypass.
    assert judge("a.test", "b.test", answer(b"b secret"), a_page).result is FrontingResult.bypass
    check = judge("a.test", "b.test", answer(b"b secret"), a_page, b_page)
    assert check.result is FrontingResult.bypass and "the same answer as b.test's" in check.detail
    assert check.answer == check.host_name_answer != check.sni_name_answer
    # Without A's own answer, the status decides (as before).
    assert judge("a.test", "b.test", answer(b"a public")).result is FrontingResult.bypass


def test_fronting_alert_protects_and_silence_is_inconclusive() -> None:
    assert judge("a.test", "b.test", exchange(PathOutcome.alert, alert="certificate_required")
                 ).result is FrontingResult.protected
    assert judge("a.test", "b.test", exchange(PathOutcome.no_response, asked=False)
                 ).result is FrontingResult.inconclusive


def view(kind: VhostKind, sni: str | None, classification: ClientAuthClass | None,
         status: int | None) -> VhostView:
    return VhostView(kind=kind, sni=sni, classification=classification, http_status=status)


OPEN = view(VhostKind.name, "open.test", ClientAuthClass.none, 200)
NGINX_ON = view(VhostKind.name, "mtls.test", ClientAuthClass.optional, 400)
REQUIRED = view(VhostKind.name, "req.test", ClientAuthClass.required, None)
NO_SNI_OPEN = view(VhostKind.no_sni, None, ClientAuthClass.none, 200)


def test_pairs_go_from_open_names_to_names_that_require() -> None:
    views = [NO_SNI_OPEN, OPEN, NGINX_ON, REQUIRED]
    assert pairs(views, own=None) == [("open.test", "mtls.test", False),
                                      ("open.test", "req.test", False)]
    assert pairs(views, own="req.test") == [("open.test", "req.test", False)]
    assert pairs(views, own="open.test") == []


def test_pairs_through_your_certificate_only_towards_names_that_refuse_it() -> None:
    yours_ok = REQUIRED.model_copy(update={"sni": "a.test", "your_certificate_accepted": True})
    refuses = REQUIRED.model_copy(update={"sni": "b.test", "your_certificate_accepted": False})
    accepts = REQUIRED.model_copy(update={"sni": "c.test", "your_certificate_accepted": True})
    # Towards b.test only: the names that accept yours are the ways in, and none goes to them.
    assert pairs([yours_ok, refuses, accepts], own=None) == [("a.test", "b.test", True),
                                                             ("c.test", "b.test", True)]


def test_default_vhost_finding_is_about_the_targets_own_name() -> None:
    facet = VhostsFacet(names=["mtls.test", "open.test"], views=[NO_SNI_OPEN, OPEN, NGINX_ON],
                        client_auth_differs=True)
    assert [f.id for f in findings_for(facet, "vhosts", "mtls.test")] == [
        "vhosts.default_vhost_without_client_auth"]
    # The open name's record says only that the names differ.
    assert [f.id for f in findings_for(facet, "vhosts", "open.test")] == [
        "vhosts.client_auth_differs"]


def test_vhosts_joins_the_default_probes_only_with_names_to_compare() -> None:
    sweep = SweepDefaults(probes=DEFAULT_PROBES)
    alone = Target(host="10.0.0.1", sni="a.test")
    assert "vhosts" not in resolve_options(alone, sweep).probes
    assert "vhosts" in resolve_options(alone, sweep, ("b.test",)).probes
    assert "vhosts" in resolve_options(Target(host="10.0.0.1", sni_names=("b.test",)),
                                       sweep).probes
    chosen = SweepDefaults(probes=("client_auth",))
    assert resolve_options(alone, chosen, ("b.test",)).probes == ("client_auth",)
    assert "vhosts" in PROBES and "vhosts" not in DEFAULT_PROBES


def test_names_sharing_an_address_come_from_the_inventory() -> None:
    targets = [Target(host="10.0.0.1", sni="a.test"), Target(host="10.0.0.1", sni="b.test"),
               Target(host="10.0.0.1", port=8443, sni="c.test"), Target(host="10.0.0.2")]
    assert colocated_names(targets) == {("10.0.0.1", 443): ("a.test", "b.test"),
                                        ("10.0.0.1", 8443): ("c.test",),
                                        ("10.0.0.2", 443): ()}


@pytest.mark.parametrize(("entry", "message"), [
    ("sni_names: [10.0.0.1]", "is an IP address"),
    ("http_paths: [secure]", "must start with '/'"),
    ("http_paths: []", "at least 1"),
    ("max_sni_names: 0", "greater than or equal to 1"),
])
def test_bad_names_and_paths_are_usage_errors(entry: str, message: str, tmp_path: Path) -> None:
    inventory = tmp_path / "targets.yaml"
    inventory.write_text(f"targets:\n  - host: a.example\n    {entry}\n")
    with pytest.raises(InventoryError, match=message):
        load_inventory(inventory, known_probes=PROBES)
    with pytest.raises(typer.Exit):
        parse_sni_names("a.test,10.0.0.1")


def test_names_are_grouped_by_resolved_address() -> None:
    first = trio.run(partial(resolve, "localhost", 443, timeout=5.0))[0].ip
    targets = [Target(host="localhost", sni="a.test"), Target(host=first, sni="b.test"),
               Target(host="10.0.0.9", sni="c.test")]
    grouped = trio.run(neighbours, targets, SweepOptions(probes=DEFAULT_PROBES))
    assert grouped[("localhost", 443)] == grouped[(first, 443)] == ("a.test", "b.test")
    assert grouped[("10.0.0.9", 443)] == ("c.test",)
    # Probes chosen without vhosts: nothing is looked up, hosts group as written.
    assert trio.run(neighbours, targets, SweepOptions(probes=("client_auth",)))[
        ("localhost", 443)] == ("a.test",)
