"""Compliance: what a target is expected to do, and a pure check of a record against it.

An inventory states expectations per target or in ``defaults`` (``expect:``). Evaluation is a
pure function of the record (as JSON data) and the policy catalog, so a new probe only has to
fill its record facet for the expectations that read it to start working. Every expectation
ends ``met``, ``failed`` (and then also a finding ``expect.<name>``) or ``not_evaluated`` with the
reason: a fact the record lacks is never a silent pass.

Where each expectation reads the record (facets not built yet are read at these paths):

=========================== =============================================================
policy                      ``policy.matches`` (identification); the differences from the
                            expected policy are computed from ``protocols``/``cipher_suites``
min_version                 ``protocols.<version>.accepted`` (null: not tested)
client_auth                 ``client_auth.tls1_3|tls1_2.without_certificate.classification``
ca_names, ca_names_sent     ``client_auth.tls1_3|tls1_2.certificate_request``
ocsp_stapled                ``ocsp.tls1_3|tls1_2.stapled`` (else ``ocsp.stapled``)
alpn                        ``alpn.tls1_3|tls1_2.supported_protocols`` /
                            ``unsupported_protocols`` (a protocol in neither: not tested)
session_tickets             ``resumption.tls1_2.ticket_issued``,
                            ``resumption.tls1_3.tickets_issued``
max_ticket_lifetime         ``resumption.tls1_2.ticket.lifetime_s``,
                            ``resumption.tls1_3.tickets[].lifetime_s``
client_renegotiation        ``renegotiation.client_initiated.outcome`` (``accepted`` fails it;
                            ``status: not_applicable`` meets it)
certificate.min_days_left   ``certificate.days_left`` (else each ``chains[].certificates[0]``)
=========================== =============================================================

Per-version facts must hold at every version the server negotiated. Per-version entries are
found through the facet models' ``versions_in`` (``scanner.results.versions``), never by
pairing field names with version labels here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from scanner.policy.catalog import Catalog
from scanner.policy.identify import compare_policy, observation_from_record
from scanner.policy.schema import ProtocolName
from scanner.policy.suites import VERSIONS, version_rank
from scanner.results import (
    AlpnFacet,
    ClientAuthFacet,
    OcspFacet,
    PerVersion,
    ProtocolsFacet,
    ResumptionFacet,
)

SeverityName = Literal["info", "low", "medium", "high", "critical"]
ExpectationName = Literal[
    "policy", "min_version", "client_auth", "ca_names", "ca_names_sent", "ocsp_stapled", "alpn",
    "session_tickets", "max_ticket_lifetime", "client_renegotiation",
    "certificate.min_days_left",
]

# How bad a failure is unless the inventory's ``expect.severity`` says otherwise.
DEFAULT_SEVERITY: Mapping[str, SeverityName] = {
    "policy": "high",
    "min_version": "high",
    "client_auth": "high",
    "ca_names": "medium",
    "ca_names_sent": "medium",
    "ocsp_stapled": "medium",
    "alpn": "low",
    "session_tickets": "low",
    "max_ticket_lifetime": "low",
    "client_renegotiation": "medium",
    "certificate.min_days_left": "high",
}

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# RFC 4514 section 3 short names, plus common ones; anything else must be a dotted OID.
_DN_TYPES = frozenset({
    "CN", "L", "ST", "O", "OU", "C", "STREET", "DC", "UID", "SERIALNUMBER", "EMAILADDRESS",
    "E", "TITLE", "GN", "SN", "DNQUALIFIER", "PSEUDONYM", "GENERATIONQUALIFIER", "INITIALS",
    "POSTALCODE", "BUSINESSCATEGORY",
})


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def normalize_dn(text: str) -> str:
    """A comparable form of an RFC 4514 string: types upper-cased, spaces around separators
    dropped, multi-valued RDNs sorted, case folded (names match case-insensitively)."""
    rdns = []
    for rdn in _split_unescaped(text.strip(), ","):
        attributes = []
        for attribute in _split_unescaped(rdn, "+"):
            kind, equals, value = attribute.partition("=")
            kind = kind.strip().upper()
            if not equals or not kind:
                raise ValueError(f"{attribute.strip()!r} is not TYPE=value")
            if kind not in _DN_TYPES and not all(p.isdigit() for p in kind.split(".")):
                raise ValueError(f"unknown attribute type {kind!r}")
            attributes.append(f"{kind}={value.strip()}")
        rdns.append("+".join(sorted(attributes)))
    return ",".join(rdns).casefold()


def _distinguished_name(value: str) -> str:
    try:
        normalize_dn(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an RFC 4514 distinguished name: {exc}") from None
    return value


class CaNamesExpectation(_Strict):
    """``exact``: the CA names sent must be exactly these; ``include``: at least these."""

    exact: list[str] | None = None
    include: list[str] | None = None

    @field_validator("exact", "include")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            _distinguished_name(name)
        return value

    @model_validator(mode="after")
    def _one_of(self) -> CaNamesExpectation:
        if (self.exact is None) == (self.include is None):
            raise ValueError("give exactly one of exact: [...] or include: [...]")
        return self


class CertificateExpectation(_Strict):
    min_days_left: int = Field(ge=0, description="The leaf must stay valid this many days.")


def _list_of_names(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _ca_names_shorthand(value: Any) -> Any:
    return {"exact": value} if isinstance(value, list) else value


class Expectations(_Strict):
    """What a target must do; every key is optional (``expect:`` in the inventory)."""

    policy: Annotated[list[str] | None, BeforeValidator(_list_of_names)] = Field(
        default=None, description="Catalog policy (or any of a list) the endpoint must match.")
    min_version: ProtocolName | None = Field(
        default=None, description="No protocol version below this may be accepted.")
    client_auth: Literal["none", "optional", "required"] | None = None
    ca_names: Annotated[CaNamesExpectation | None, BeforeValidator(_ca_names_shorthand)] = Field(
        default=None, description="A list (exact set) or {include: [...]}; RFC 4514 strings.")
    ca_names_sent: bool | None = None
    ocsp_stapled: bool | None = None
    alpn: list[str] | None = Field(default=None, min_length=1,
                                   description="Protocols the server must support.")
    session_tickets: bool | None = None
    max_ticket_lifetime: int | None = Field(default=None, ge=0, description="Seconds.")
    client_renegotiation: Literal["refused"] | None = None
    certificate: CertificateExpectation | None = None
    severity: dict[ExpectationName, SeverityName] | None = Field(
        default=None, description="Severity of the finding when an expectation fails.")

    def stated(self) -> list[str]:
        """Names of the expectations this object states, in a stable order."""
        names = [name for name in DEFAULT_SEVERITY if name != "certificate.min_days_left"
                 and getattr(self, name) is not None]
        if self.certificate is not None:
            names.append("certificate.min_days_left")
        return names


def merge_expectations(defaults: Expectations | None,
                       own: Expectations | None) -> Expectations | None:
    """A target's expectations over the defaults, key by key; ``key: null`` drops a default."""
    if defaults is None and own is None:
        return None
    merged: dict[str, Any] = {}
    for source in (defaults, own):
        if source is None:
            continue
        for key in source.model_fields_set:
            value = getattr(source, key)
            if key == "severity" and value is not None:
                merged["severity"] = {**merged.get("severity", {}), **value}
            else:
                merged[key] = value
    result = Expectations.model_construct(**{k: v for k, v in merged.items() if v is not None})
    return result if result.stated() else None


# --- evaluation ---------------------------------------------------------------------------

Status = Literal["met", "failed", "not_evaluated"]


@dataclass(frozen=True)
class Outcome:
    name: str
    status: Status
    expected: Any
    observed: Any
    detail: str
    severity: SeverityName


@dataclass(frozen=True)
class _Verdict:
    status: Status
    observed: Any
    detail: str


class _NotEvaluated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def evaluate(record: Mapping[str, Any], expectations: Expectations, catalog: Catalog, *,
             known_probes: Collection[str] | None = None,
             now: datetime | None = None) -> list[Outcome]:
    """Check ``record`` (JSON data of one record) against ``expectations``."""
    severities: dict[str, SeverityName] = dict(DEFAULT_SEVERITY)
    for key, severity in (expectations.severity or {}).items():
        severities[key] = severity
    outcomes = []
    for name in expectations.stated():
        expected = _expected_value(expectations, name)
        try:
            if record.get("status") == "error":
                error = record.get("error") or {}
                raise _NotEvaluated(f"the target could not be scanned ({error.get('kind')})")
            verdict = _CHECKS[name](_Context(record, catalog, known_probes, now), expected)
        except _NotEvaluated as skipped:
            verdict = _Verdict("not_evaluated", None, skipped.reason)
        outcomes.append(Outcome(name=name, status=verdict.status, expected=expected,
                                observed=verdict.observed, detail=verdict.detail,
                                severity=severities[name]))
    return outcomes


def _expected_value(expectations: Expectations, name: str) -> Any:
    if name == "certificate.min_days_left":
        assert expectations.certificate is not None
        return expectations.certificate.min_days_left
    if name == "ca_names":
        assert expectations.ca_names is not None
        return expectations.ca_names.model_dump(exclude_none=True)
    return getattr(expectations, name)


@dataclass(frozen=True)
class _Context:
    record: Mapping[str, Any]
    catalog: Catalog
    known_probes: Collection[str] | None
    now: datetime | None

    def facet(self, name: str) -> Any:
        """The record's facet ``name``, or _NotEvaluated saying why it is missing."""
        value = self.record.get(name)
        if value is not None:
            return value
        errors = self.record.get("probe_errors") or {}
        if name in errors:
            raise _NotEvaluated(f"the {name} probe failed: {errors[name].get('detail')}")
        if self.known_probes is not None and name not in self.known_probes:
            raise _NotEvaluated(f"the record has no {name} facet: no probe of this mtlsweep "
                                f"version measures it yet")
        raise _NotEvaluated(f"the record has no {name} facet: the {name} probe did not run")


# client_auth -----------------------------------------------------------------------------


def _negotiated(model: type[PerVersion[Any]],
                facet: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The facet's entries for the versions the server negotiated, newest first."""
    return {version: entry for version, entry in model.versions_in(facet).items()
            if entry.get("supported")}


def _auth_versions(context: _Context) -> dict[str, Mapping[str, Any]]:
    versions = _negotiated(ClientAuthFacet, context.facet("client_auth"))
    if not versions:
        raise _NotEvaluated("neither TLS 1.3 nor TLS 1.2 could be negotiated, so client "
                            "authentication was not observed")
    return versions


def _check_client_auth(context: _Context, expected: str) -> _Verdict:
    observed = {}
    for version, entry in _auth_versions(context).items():
        outcome = entry.get("without_certificate")
        if isinstance(outcome, Mapping):
            observed[version] = outcome.get("classification")
    if not observed:
        raise _NotEvaluated("no handshake without a client certificate completed its test")
    wrong = {v: c for v, c in observed.items() if c != expected}
    if wrong:
        shown = ", ".join(f"{c} at {v}" for v, c in wrong.items())
        return _Verdict("failed", observed, f"expected {expected}, observed {shown}")
    return _Verdict("met", observed, f"{expected} at {', '.join(observed)}")


def _requests(context: _Context) -> dict[str, Mapping[str, Any]]:
    requests = {}
    for version, entry in _auth_versions(context).items():
        request = entry.get("certificate_request")
        if isinstance(request, Mapping) and request.get("sent"):
            requests[version] = request
    return requests


def _comparable_dn(text: str) -> str:
    try:
        return normalize_dn(text)
    except ValueError:
        return " ".join(text.split()).casefold()


def _check_ca_names(context: _Context, expected: Mapping[str, list[str]]) -> _Verdict:
    requests = _requests(context)
    if not requests:
        return _Verdict("failed", None, "the server sends no CertificateRequest, so no CA names")
    want = expected.get("exact") or expected.get("include") or []
    want_keys = {_comparable_dn(n): n for n in want}
    observed: dict[str, list[str]] = {}
    problems = []
    for version, request in requests.items():
        names = [n.get("rfc4514", "") for n in request.get("ca_names") or ()]
        observed[version] = names
        have = {_comparable_dn(n): n for n in names}
        missing = [want_keys[k] for k in want_keys if k not in have]
        extra = [have[k] for k in have if k not in want_keys] if "exact" in expected else []
        if missing:
            problems.append(f"{version} lacks {'; '.join(missing)}")
        if extra:
            problems.append(f"{version} also sends {'; '.join(extra)}")
    if problems:
        return _Verdict("failed", observed, "; ".join(problems))
    how = "exactly" if "exact" in expected else "including"
    return _Verdict("met", observed, f"{how} the expected {len(want)} name(s) at "
                    f"{', '.join(observed)}")


def _check_ca_names_sent(context: _Context, expected: bool) -> _Verdict:
    requests = _requests(context)
    if not requests:
        detail = "the server sends no CertificateRequest"
        return _Verdict("met" if not expected else "failed", None, detail)
    observed = {v: bool(r.get("ca_names_sent")) for v, r in requests.items()}
    wrong = [v for v, sent in observed.items() if sent != expected]
    if wrong:
        state = "sends no CA names" if expected else "sends CA names"
        return _Verdict("failed", observed, f"the CertificateRequest {state} at "
                        f"{', '.join(wrong)}")
    return _Verdict("met", observed, f"as expected at {', '.join(observed)}")


# policy and versions ---------------------------------------------------------------------


def _check_policy(context: _Context, expected: list[str]) -> _Verdict:
    identification = context.record.get("policy")
    if not isinstance(identification, Mapping):
        context.facet("cipher_suites")  # says which probe is missing
        raise _NotEvaluated("the record has enumerated suites but no policy identification")
    wanted = {p.id: p for name in expected for p in context.catalog.find(name)}
    matches = [m.get("id") for m in identification.get("matches") or ()]
    defaults = [m.get("id") for m in identification.get("software_defaults") or ()]
    hit = [m for m in (*matches, *defaults) if m in wanted]  # a software default may be named
    if hit:
        others = [m for m in matches if m not in wanted]
        also = f" (also indistinguishable from {', '.join(others)})" if others else ""
        return _Verdict("met", matches, f"matches {', '.join(hit)}{also}")
    observation = observation_from_record(context.record)
    differences = {}
    if observation is not None:
        for policy_id, policy in wanted.items():
            found = compare_policy(policy, observation, _key_types(identification))
            differences[policy_id] = found.differences.describe()
    nearest = [m.get("id") for m in identification.get("nearest") or ()]
    seen = f"matches {', '.join(matches)}" if matches else (
        f"matches no catalog policy (nearest: {', '.join(nearest[:3])})" if nearest
        else "matches no catalog policy")
    detail = f"expected {' or '.join(expected)}; the endpoint {seen}"
    if differences:
        detail += "; " + "; ".join(f"differences from {k}: {v}" for k, v in differences.items())
    return _Verdict("failed", {"matches": matches, "differences": differences}, detail)


def _key_types(identification: Mapping[str, Any]) -> frozenset[str] | None:
    types = identification.get("key_types") or ()
    return frozenset(types) or None


def _check_min_version(context: _Context, expected: str) -> _Verdict:
    protocols = context.facet("protocols")
    below = [v for v in VERSIONS if version_rank(v) < version_rank(expected)]
    tested: dict[str, bool] = {}
    # Oldest first, as the protocols facet is written.
    for name, facts in reversed(ProtocolsFacet.versions_in(protocols).items()):
        if isinstance(facts.get("accepted"), bool):
            tested[name] = facts["accepted"]
    accepted_below = [v for v in below if tested.get(v)]
    if accepted_below:
        return _Verdict("failed", tested, f"accepts {', '.join(accepted_below)}, below "
                        f"{expected}")
    checked = [v for v in below if v in tested]
    if not checked:
        raise _NotEvaluated(f"no version below {expected} was tested")
    return _Verdict("met", tested, f"refuses {', '.join(checked)}")


# facets of the other probes -----------------------------------------------------------------


def _same_everywhere(name: str, expected: Any, observed: Mapping[str, Any],
                     describe: Callable[[Any], str]) -> _Verdict:
    """Met when every version shows ``expected``; the detail names the versions that differ."""
    if not observed:
        raise _NotEvaluated(f"no protocol version gave an answer for {name}")
    wrong = {v: value for v, value in observed.items() if value != expected}
    if wrong:
        return _Verdict("failed", dict(observed), ", ".join(
            f"{describe(value)} at {v}" for v, value in wrong.items()))
    return _Verdict("met", dict(observed), f"{describe(expected)} at {', '.join(observed)}")


def _check_ocsp(context: _Context, expected: bool) -> _Verdict:
    facet = context.facet("ocsp")
    observed = {v: e["stapled"] for v, e in _negotiated(OcspFacet, facet).items()
                if isinstance(e.get("stapled"), bool)}
    if not observed and isinstance(facet.get("stapled"), bool):
        observed = {"any version": facet["stapled"]}
    return _same_everywhere("OCSP stapling", expected, observed,
                            lambda stapled: "stapled" if stapled else "nothing stapled")


def _check_alpn(context: _Context, expected: list[str]) -> _Verdict:
    facet = context.facet("alpn")
    versions = _negotiated(AlpnFacet, facet)
    if not versions:
        raise _NotEvaluated("the server negotiated neither TLS 1.3 nor TLS 1.2 for the alpn "
                            "probe")
    observed: dict[str, list[str]] = {}
    problems, untested = [], []
    for version, entry in versions.items():
        supported = list(entry.get("supported_protocols") or ())
        refused = set(entry.get("unsupported_protocols") or ())
        observed[version] = supported
        for protocol in expected:
            if protocol in supported:
                continue
            if protocol in refused:
                problems.append(f"{protocol} not supported at {version}")
            else:
                untested.append(f"{protocol} at {version}")
    if problems:
        return _Verdict("failed", observed, "; ".join(problems))
    if untested:
        raise _NotEvaluated(f"not tested: {', '.join(untested)} (add the protocol to "
                            "alpn_extra / --alpn-extra)")
    return _Verdict("met", observed, f"{', '.join(expected)} supported at "
                    f"{', '.join(observed)}")


def _tickets(context: _Context) -> dict[str, Mapping[str, Any]]:
    """Per negotiated version: ``issued`` (bool) and ``lifetimes`` (seconds) where known."""
    facet = context.facet("resumption")
    found: dict[str, Mapping[str, Any]] = {}
    negotiated = _negotiated(ResumptionFacet, facet)
    if negotiated and all(entry.get("not_measured") == "client_certificate_required"
                          for entry in negotiated.values()):
        raise _NotEvaluated(_CERTIFICATE_REQUIRED)
    for version, entry in negotiated.items():
        if isinstance(entry.get("ticket_issued"), bool):  # TLS 1.2
            ticket = entry.get("ticket")
            lifetimes = [ticket["lifetime_s"]] if isinstance(ticket, Mapping) else []
            found[version] = {"issued": entry["ticket_issued"], "lifetimes": lifetimes}
        elif isinstance(entry.get("tickets_issued"), int):  # TLS 1.3
            lifetimes = [t["lifetime_s"] for t in entry.get("tickets") or ()
                         if isinstance(t, Mapping) and isinstance(t.get("lifetime_s"), int)]
            found[version] = {"issued": entry["tickets_issued"] > 0, "lifetimes": lifetimes}
    return found


def _check_session_tickets(context: _Context, expected: bool) -> _Verdict:
    observed = {v: t["issued"] for v, t in _tickets(context).items()}
    return _same_everywhere("session tickets", expected, observed,
                            lambda issued: "tickets issued" if issued else "no tickets issued")


def _check_ticket_lifetime(context: _Context, expected: int) -> _Verdict:
    tickets = _tickets(context)
    if not tickets:
        raise _NotEvaluated("no protocol version gave an answer for session tickets")
    observed = {v: max(t["lifetimes"]) for v, t in tickets.items() if t["lifetimes"]}
    if not observed:
        if any(t["issued"] for t in tickets.values()):
            raise _NotEvaluated("tickets were issued but the record has no lifetime")
        return _Verdict("met", None, "no tickets issued")
    too_long = {v: life for v, life in observed.items() if life > expected}
    if too_long:
        return _Verdict("failed", observed, ", ".join(
            f"ticket lifetime {life}s at {v} exceeds {expected}s" for v, life in too_long.items()))
    return _Verdict("met", observed, f"longest ticket lifetime {max(observed.values())}s")


_CERTIFICATE_REQUIRED = ("the server requires a client certificate and none was given "
                         "(set client_cert, or --client-cert)")


def _check_renegotiation(context: _Context, expected: str) -> _Verdict:
    facet = context.facet("renegotiation")
    status = facet.get("status")
    if facet.get("not_measured") == "client_certificate_required":
        raise _NotEvaluated(_CERTIFICATE_REQUIRED)
    if status == "not_applicable":
        return _Verdict("met", status, "TLS 1.2 and below are refused: no renegotiation exists")
    attempt = facet.get("client_initiated")
    outcome = attempt.get("outcome") if isinstance(attempt, Mapping) else None
    if not isinstance(outcome, str):
        raise _NotEvaluated(f"no client-initiated renegotiation was tried ({status}: "
                            f"{facet.get('detail')})")
    alert = attempt.get("alert") if isinstance(attempt, Mapping) else None
    shown = f"{outcome} ({alert})" if alert else outcome
    if outcome == "accepted":
        return _Verdict("failed", outcome, "the server accepts client-initiated renegotiation")
    if outcome in ("refused_warning", "refused_fatal", "closed"):
        return _Verdict("met", outcome, f"client-initiated renegotiation: {shown}")
    raise _NotEvaluated(f"the renegotiation attempt was inconclusive: {shown}")


def _check_days_left(context: _Context, expected: int) -> _Verdict:
    facet = context.facet("certificate")
    days = facet.get("days_left")
    if not isinstance(days, int):
        leaves = [chain["certificates"][0] for chain in facet.get("chains") or ()
                  if isinstance(chain, Mapping) and chain.get("certificates")]
        found = [d for d in (_days_left(leaf, context.now) for leaf in leaves) if d is not None]
        if not found:
            raise _NotEvaluated("the certificate facet has no leaf validity")
        days = min(found)
    if days < expected:
        return _Verdict("failed", days, f"the certificate expires in {days} day(s), fewer "
                        f"than {expected}")
    return _Verdict("met", days, f"{days} days left")


def _days_left(leaf: Any, now: datetime | None) -> int | None:
    if not isinstance(leaf, Mapping):
        return None
    if isinstance(leaf.get("days_left"), int):
        return int(leaf["days_left"])
    not_after = leaf.get("not_after")
    if isinstance(not_after, str):
        try:
            end = datetime.fromisoformat(not_after.replace("Z", "+00:00"))
        except ValueError:
            return None
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        return (end - (now or datetime.now(UTC))).days
    return None


_CHECKS: Mapping[str, Callable[[_Context, Any], _Verdict]] = {
    "policy": _check_policy,
    "min_version": _check_min_version,
    "client_auth": _check_client_auth,
    "ca_names": _check_ca_names,
    "ca_names_sent": _check_ca_names_sent,
    "ocsp_stapled": _check_ocsp,
    "alpn": _check_alpn,
    "session_tickets": _check_session_tickets,
    "max_ticket_lifetime": _check_ticket_lifetime,
    "client_renegotiation": _check_renegotiation,
    "certificate.min_days_left": _check_days_left,
}
