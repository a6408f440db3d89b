"""The vhosts facet: what one address serves per server name, and whether the Host header
can reach a virtual host the SNI did not name (domain fronting under mTLS)."""

from enum import StrEnum

from pydantic import Field

from scanner.results.client_auth import ClientAuthClass
from scanner.results.common import Model


class VhostKind(StrEnum):
    no_sni = "no_sni"
    name = "name"
    unknown_name = "unknown_name"


class ServedCertificate(Model):
    sha256: str
    subject: str
    sans: list[str] = Field(default_factory=list)


class VhostAtVersion(Model):
    version: str
    supported: bool
    classification: ClientAuthClass | None = Field(
        default=None, description="Client auth without a certificate (null: inconclusive).")
    ca_names: list[str] = Field(default_factory=list)
    alert: str | None = None


class VhostView(Model):
    """One server name (or none) on the address: what the handshakes and a request got."""

    kind: VhostKind
    sni: str | None
    certificate: ServedCertificate | None = None
    tls1_3: VhostAtVersion | None = None
    tls1_2: VhostAtVersion | None = None
    classification: ClientAuthClass | None = Field(
        default=None, description="At the highest version the name supports.")
    http_status: int | None = Field(
        default=None, description="The status of a GET request without a certificate.")
    your_certificate_status: int | None = Field(
        default=None, description="The status of a GET with your client_cert (null: not "
        "tried, or no response).")
    your_certificate_accepted: bool | None = Field(
        default=None, description="Whether your client_cert got content (a status under 400); "
        "null when not tried.")


class FrontingResult(StrEnum):
    bypass = "bypass"
    protected = "protected"
    served_sni_vhost = "served_sni_vhost"  # routed by SNI: A's own answer, Host ignored
    inconclusive = "inconclusive"


class AnswerDigest(Model):
    """What tells two HTTP answers apart without keeping either body."""

    status: int
    server: str | None = None
    location: str | None = None
    body_sha256: str | None = Field(
        default=None, description="sha256 (hex) of the first body_bytes bytes of the body "
        "(at most 16 KiB are read).")
    body_bytes: int = 0


class FrontingCheck(Model):
    """One connection: handshake for ``sni`` (A), then a request naming ``host`` (B)."""

    sni: str | None
    host: str
    protocol: str = Field(description="HTTP/1.1 (Host header) or HTTP/2 (:authority).")
    certificate: str = Field(description="What we presented for A: none, or user_certificate "
                             "when A needs one and B does not accept yours.")
    status: int | None = None
    alert: str | None = None
    result: FrontingResult
    detail: str
    answer: AnswerDigest | None = Field(
        default=None, description="What the SNI A / Host B request got.")
    sni_name_answer: AnswerDigest | None = Field(
        default=None, description="What A's own request got (SNI A, Host A, the same "
        "certificate): an answer equal to it is A's content (served_sni_vhost), not B's.")
    host_name_answer: AnswerDigest | None = Field(
        default=None, description="What B's own request got (SNI B, Host B) with your "
        "client_cert, when B accepts it: an answer equal to it is B's content.")


class VhostsFacet(Model):
    names: list[str] = Field(description="The names compared (the target's, sni_names, and "
                             "the other inventory targets on the same address and port).")
    names_left_out: list[str] = Field(
        default_factory=list, description="Names over the per-address cap (max_sni_names).")
    views: list[VhostView] = Field(default_factory=list)
    client_auth_differs: bool | None = None
    fronting: list[FrontingCheck] = Field(default_factory=list)
