"""The record: everything learned about one target, and its published JSON Schema."""

from datetime import datetime
from typing import Final, Literal

from pydantic import ConfigDict, Field

from scanner.results.alpn import AlpnFacet
from scanner.results.certificate import CertificateFacet
from scanner.results.client_auth import ClientAuthFacet
from scanner.results.common import ErrorInfo, Finding, Model, Stats, TargetInfo
from scanner.results.enforcement import EnforcementFacet
from scanner.results.enumeration import (
    AlpnSupportFacet,
    CipherSuitesFacet,
    EngineAgreementFacet,
    ExtensionsFacet,
    GroupsFacet,
    NpnFacet,
    ProtocolsFacet,
)
from scanner.results.ocsp import OcspFacet
from scanner.results.policy import ClientsView, ExpectationOutcome, PolicyIdentification
from scanner.results.session import RenegotiationFacet, ResumptionFacet
from scanner.results.vhosts import VhostsFacet
from scanner.results.vulnerabilities import (
    DhParametersFacet,
    VulnerabilitiesFacet,
    VulnerabilityCheck,
)

#: Written into every record; bump it (and the snapshot docs/schema/record-<n>.json) on any
#: change that breaks readers of existing records.
SCHEMA_VERSION: Final = "mtlsweep/1"


class Record(Model):
    """Everything learned about one target."""

    schema_: Literal["mtlsweep/1"] = Field(default=SCHEMA_VERSION, alias="schema")
    target: TargetInfo
    status: Literal["ok", "partial", "error"] = Field(
        description="ok: every probe ran; partial: some probe failed (see probe_errors); "
        "error: the target could not be scanned at all (see error)."
    )
    error: ErrorInfo | None = None
    probe_errors: dict[str, ErrorInfo] = Field(default_factory=dict)
    started_at: datetime
    duration_ms: int
    probes: list[str]
    client_auth: ClientAuthFacet | None = None
    enforcement: EnforcementFacet | None = None
    protocols: ProtocolsFacet | None = None
    cipher_suites: CipherSuitesFacet | None = None
    groups: GroupsFacet | None = None
    certificate: CertificateFacet | None = None
    ocsp: OcspFacet | None = None
    renegotiation: RenegotiationFacet | None = None
    resumption: ResumptionFacet | None = None
    alpn: AlpnFacet | None = None
    alpn_support: AlpnSupportFacet | None = None
    npn: NpnFacet | None = None
    extensions: ExtensionsFacet | None = None
    engine_agreement: EngineAgreementFacet | None = None
    dh_parameters: DhParametersFacet | None = None
    vulnerabilities: VulnerabilitiesFacet | None = None
    robot: VulnerabilityCheck | None = Field(
        default=None, description="ROBOT (opt-in probe): a Bleichenbacher padding oracle "
        "over static-RSA suites.")
    vhosts: VhostsFacet | None = None
    policy: PolicyIdentification | None = Field(
        default=None, description="Named-policy identification; present when the record has "
        "enumerated protocol versions and cipher suites.")
    clients: ClientsView | None = Field(
        default=None, description="Which profiled clients would connect and what each would "
        "negotiate; present with the policy identification.")
    expectations: list[ExpectationOutcome] = Field(
        default_factory=list, description="The inventory's expectations for this target.")
    findings: list[Finding] = Field(default_factory=list)
    stats: Stats = Field(default_factory=Stats)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def record_json_schema() -> dict[str, object]:
    """The JSON Schema of one record, as published by ``mtlsweep schema``."""
    schema = Record.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://github.com/mtlsweep/mtlsweep/schema/{schema_file_name()}"
    return schema


def schema_file_name() -> str:
    """``record-<n>.json`` for schema version ``mtlsweep/<n>``: the published schema's name,
    also that of its committed snapshot under docs/schema/."""
    return f"record-{SCHEMA_VERSION.removeprefix('mtlsweep/')}.json"
