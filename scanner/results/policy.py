"""What the policy step adds to a record: named-policy identification and the inventory's
expectations."""

from enum import StrEnum
from typing import Literal

from pydantic import Field, JsonValue

from scanner.results.common import Model
from scanner.results.severity import Severity


class PolicySuite(Model):
    code: str = Field(description="Code point, e.g. 0xC02B.")
    iana: str | None = None
    openssl: str | None = None


class PolicyDifferences(Model):
    """How the endpoint differs from one catalog policy (empty lists: it matches)."""

    versions_missing: list[str] = Field(
        default_factory=list, description="In the policy, refused by the endpoint.")
    versions_extra: list[str] = Field(
        default_factory=list, description="Accepted by the endpoint, not in the policy.")
    suites_missing: dict[str, list[PolicySuite]] = Field(
        default_factory=dict, description="Per version: in the policy (for the endpoint's "
        "certificate type), not accepted.")
    suites_extra: dict[str, list[PolicySuite]] = Field(
        default_factory=dict, description="Per version: accepted, not in the policy.")
    groups_unexpected: list[str] = Field(
        default_factory=list, description="Key-exchange groups accepted that the policy lacks.")
    groups_missing: list[str] = Field(
        default_factory=list, description="Groups of the policy that the endpoint refused.")


class OrderDifference(Model):
    policy: list[str] = Field(description="Shared suites in the policy's documented order.")
    observed: list[str] = Field(description="The same suites in the server's order.")


class PolicyCandidate(Model):
    id: str
    name: str
    provider: str
    confidence: str | None = None
    distance: int = Field(description="Differing (version, suite) pairs plus differing groups; "
                          "0 is an exact match.")
    differences: PolicyDifferences
    order_differences: dict[str, OrderDifference] = Field(
        default_factory=dict,
        description="Versions where the server's order differs from the documented one.")
    match: Literal["exact", "suites"] | None = Field(
        default=None, description="exact: protocols, suites and groups match; suites: "
        "protocols and suites match, groups differ (usually the server software's own "
        "defaults); null: not a match.")
    explanation: dict[str, str] = Field(
        default_factory=dict, description="Per facet (protocols, cipher_suites, groups): "
        "'same', how the endpoint differs, or why it was not compared ('not probed', "
        "'not documented').")


class PolicyIdentification(Model):
    """Which catalog policies the enumerated protocols and suites match."""

    key_types: list[str] = Field(description="Certificate key types suites were filtered by.")
    key_types_source: Literal["certificate", "accepted suites", "unknown"]
    matches: list[PolicyCandidate] = Field(
        description="Exact matches; several means look-alikes nothing observed separates.")
    ambiguous: bool
    excluded_by_groups: list[PolicyCandidate] = Field(
        default_factory=list,
        description="Same protocols and suites, but the observed key-exchange groups "
        "contradict the policy (e.g. a PQ variant).")
    nearest: list[PolicyCandidate] = Field(
        default_factory=list, description="With no match: the closest policies, ranked on "
        "protocols and suites first, groups breaking ties.")
    software_defaults: list[PolicyCandidate] = Field(
        default_factory=list, description="Server software defaults (e.g. nginx with only a "
        "certificate) matching on protocols and suites, reported next to any policy match.")
    notes: list[str] = Field(default_factory=list)


class ClientOutcome(Model):
    """One profiled client against this endpoint, negotiated on paper from the record."""

    id: str
    name: str
    connects: bool
    version: str | None = Field(default=None, description="The version both would use.")
    suite: PolicySuite | None = Field(
        default=None, description="The suite the server would pick (by its own order when it "
        "imposes one, else the client's).")
    group: str | None = Field(default=None, description="The key-exchange group, when the "
                              "suite needs one.")
    reason: Literal["no common version", "no common cipher suite", "no common group",
                    "no common signature algorithm"] | None = None
    detail: str | None = None


class ClientsView(Model):
    """Which profiled clients (``mtlsweep policies clients``) would connect to this endpoint."""

    connect: int = Field(description="How many of the profiled clients would connect.")
    fail: int
    clients: list[ClientOutcome]
    notes: list[str] = Field(default_factory=list)


class ExpectationStatus(StrEnum):
    met = "met"
    failed = "failed"
    not_evaluated = "not_evaluated"


class ExpectationOutcome(Model):
    """One inventory expectation checked against this record."""

    name: str = Field(description="e.g. client_auth, ca_names, certificate.min_days_left.")
    status: ExpectationStatus
    severity: Severity = Field(description="Severity of the finding when it failed.")
    expected: JsonValue
    observed: JsonValue = None
    detail: str = Field(description="What was seen, or why it could not be evaluated.")
