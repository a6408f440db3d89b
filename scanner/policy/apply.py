"""After a target is scanned: identify its policy and check its expectations, on the record.

Both steps read the record as JSON data, so they work on any record that carries the facts,
whichever probe (or a later version of one) produced them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable
from typing import Any

from scanner.policy.baseline import with_baseline
from scanner.policy.catalog import Catalog, builtin_catalog
from scanner.policy.clients import Negotiated, ServerTerms, negotiate_all
from scanner.policy.expectations import Expectations, evaluate
from scanner.policy.identify import (
    Candidate,
    Identification,
    Observation,
    identify,
    observation_from_record,
)
from scanner.results import (
    ClientOutcome,
    ClientsView,
    ExpectationOutcome,
    ExpectationStatus,
    Finding,
    OrderDifference,
    PolicyCandidate,
    PolicyDifferences,
    PolicyIdentification,
    PolicySuite,
    Record,
    Severity,
)


def annotate(record: Record, expect: Expectations | None, *,
             catalog: Catalog | Callable[[], Catalog] = builtin_catalog,
             known_probes: Collection[str] | None = None) -> Record:
    """The record with the baseline's findings, ``policy`` (when it has enumerated suites)
    and ``expectations`` added."""
    record = with_baseline(record)
    data: dict[str, Any] | None = None
    update: dict[str, Any] = {}
    resolved: Catalog | None = catalog if isinstance(catalog, Catalog) else None

    def get_catalog() -> Catalog:
        nonlocal resolved
        if resolved is None:
            assert callable(catalog)
            resolved = catalog()
        return resolved

    if record.status != "error":
        # Expectations read the whole record; identification only the facets it observes
        # (the rest, transcripts and all, was most of this step's CPU).
        data = record.model_dump(mode="json", by_alias=True,
                                 include=None if expect is not None else _OBSERVED_FACETS)
        observation = observation_from_record(data)
        if observation is not None:
            identified, clients = _views(observation, get_catalog())
            update["policy"] = identified
            data["policy"] = identified.model_dump(mode="json")
            update["clients"] = clients
    if expect is not None:
        if data is None:
            data = record.model_dump(mode="json", by_alias=True)
        outcomes = evaluate(data, expect, get_catalog(), known_probes=known_probes)
        results = [ExpectationOutcome(
            name=o.name, status=ExpectationStatus(o.status), severity=Severity(o.severity),
            expected=o.expected, observed=o.observed, detail=o.detail,
        ) for o in outcomes]
        update["expectations"] = results
        update["findings"] = [*record.findings, *(
            Finding(id=f"expect.{r.name}", severity=r.severity, probe="expect",
                    detail=r.detail)
            for r in results if r.status is ExpectationStatus.failed)]
    return record.model_copy(update=update) if update else record


#: What ``observation_from_record`` reads of a record.
_OBSERVED_FACETS: set[str] = {"protocols", "cipher_suites", "groups", "certificate"}

# The views of the last observations seen. A sweep of a fleet sees few distinct
# configurations (every listener of one terminator answers alike), and identification plus
# the client simulation was ~4 ms per target; bounded, so a sweep's memory stays flat.
_VIEWS_KEPT = 64
_views_seen: OrderedDict[tuple[Hashable, ...], tuple[dict[str, Any], dict[str, Any]]] = \
    OrderedDict()


def _views(observation: Observation, catalog: Catalog) -> tuple[PolicyIdentification,
                                                                ClientsView]:
    """``policy`` and ``clients`` for ``observation``: computed once per distinct observation
    (and catalog). Kept as plain data and validated into new models for each record, so no
    two records share a model (validating is ~6x cheaper than a deep copy)."""
    key = (catalog, *_observation_key(observation))
    views = _views_seen.get(key)
    if views is None:
        views = (identification_out(identify(observation, catalog)).model_dump(),
                 clients_view(observation).model_dump())
        _views_seen[key] = views
        if len(_views_seen) > _VIEWS_KEPT:
            _views_seen.popitem(last=False)
    else:
        _views_seen.move_to_end(key)
    return PolicyIdentification.model_validate(views[0]), ClientsView.model_validate(views[1])


def _observation_key(observation: Observation) -> tuple[Hashable, ...]:
    """Every field of the observation, hashable, in its own order (equal keys mean
    identification sees identical input)."""
    o = observation
    return (tuple(o.versions.items()),
            tuple((v, tuple(s)) for v, s in o.suites.items()),
            tuple((v, tuple(s)) for v, s in o.server_order.items()),
            None if o.tested_suites is None else tuple(o.tested_suites.items()),
            o.groups_accepted, o.groups_refused, o.key_types, o.notes)


def identification_out(identification: Identification) -> PolicyIdentification:
    return PolicyIdentification(
        key_types=list(identification.key_types),
        key_types_source=identification.key_types_source,
        matches=[candidate_out(c) for c in identification.matches],
        ambiguous=identification.ambiguous,
        excluded_by_groups=[candidate_out(c) for c in identification.excluded_by_groups],
        nearest=[candidate_out(c) for c in identification.nearest],
        software_defaults=[candidate_out(c) for c in identification.software_defaults],
        notes=list(identification.notes),
    )


def candidate_out(candidate: Candidate) -> PolicyCandidate:
    policy, diff = candidate.policy, candidate.differences

    def suites(by_version: Any) -> dict[str, list[PolicySuite]]:
        return {v: [PolicySuite(code=s.hex, iana=s.iana, openssl=s.openssl) for s in items]
                for v, items in by_version.items()}

    return PolicyCandidate(
        id=policy.id, name=policy.name, provider=policy.provider,
        confidence=policy.confidence, distance=diff.count,
        differences=PolicyDifferences(
            versions_missing=list(diff.versions_missing),
            versions_extra=list(diff.versions_extra),
            suites_missing=suites(diff.suites_missing), suites_extra=suites(diff.suites_extra),
            groups_unexpected=list(diff.groups_unexpected),
            groups_missing=list(diff.groups_missing),
        ),
        order_differences={
            version: OrderDifference(policy=[s.label for s in expected],
                                     observed=[s.label for s in seen])
            for version, (expected, seen) in candidate.order_differences.items()
        },
        match=candidate.match, explanation=diff.explain(),
    )


def clients_view(observation: Observation) -> ClientsView:
    """Which profiled clients would connect to the observed endpoint, and with what."""
    outcomes = [client_outcome(result)
                for result in negotiate_all(ServerTerms.of_observation(observation))]
    notes = []
    if observation.groups_accepted is None:
        notes.append("key-exchange groups were not probed: every client's groups were assumed "
                     "to be accepted")
    if not observation.key_types:
        notes.append("the certificate key type is unknown: RSA and ECDSA were both assumed")
    return ClientsView(connect=sum(o.connects for o in outcomes),
                       fail=sum(not o.connects for o in outcomes), clients=outcomes,
                       notes=notes)


def client_outcome(result: Negotiated) -> ClientOutcome:
    suite = result.suite
    return ClientOutcome(
        id=result.client.id, name=result.client.name, connects=result.connects,
        version=result.version,
        suite=None if suite is None else PolicySuite(code=suite.hex, iana=suite.iana,
                                                     openssl=suite.openssl),
        group=result.group, reason=result.reason, detail=result.detail or None)
