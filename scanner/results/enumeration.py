"""The enumeration facets (raw ClientHello engine): protocols, cipher suites, groups,
ALPN support, NPN, extensions, and the agreement of both engines."""

from typing import Literal

from pydantic import Field

from scanner.results.common import Model, presented_field
from scanner.results.versions import KeyedByVersion


class ProtocolsAtVersion(Model):
    accepted: bool | None = Field(
        description="The server negotiated this version when offered only it; null when no "
        "answer could be had (see error)."
    )
    refusal: str | None = Field(
        default=None,
        description="How the server refused: an alert name (protocol_version, "
        "handshake_failure...), 'closed', 'reset', 'timeout', 'downgraded to TLSv1.0' (it "
        "answered with a lower version), 'malformed: ...'.",
    )
    error: str | None = Field(default=None, description="Why the version could not be tested.")
    notes: list[str] = Field(default_factory=list)


class ProtocolsFacet(KeyedByVersion[ProtocolsAtVersion]):
    """Every version SSLv2 ... TLS 1.3, each tested with a hello offering only that version."""


class CipherSuiteInfo(Model):
    code: str = Field(description="IANA code point, e.g. 0xC02B (SSLv2: 3-byte 0x0700C0).")
    iana: str | None = Field(description="IANA registry name (SSLv2: the SSL 2.0 CIPHER-KIND "
                             "name).")
    openssl: str | None = Field(description="OpenSSL's name, when OpenSSL ever had one.")


SuiteOrder = Literal["server", "client", "indeterminate"]


class CipherSuitesAtVersion(Model):
    suites: list[CipherSuiteInfo] = Field(
        description="Accepted suites. With order=server: the server's preference order; "
        "otherwise by code point."
    )
    order: SuiteOrder = Field(
        description="server: the server picks by its own preference; client: it honours the "
        "client's order; indeterminate: one suite, or the evidence was contradictory."
    )
    complete: bool = Field(description="False when the enumeration stopped early (see notes).")
    offered: int = Field(description="How many candidate suites were offered for this version.")
    hello_split: bool = Field(
        default=False,
        description="The server refused one large ClientHello, so candidates were offered in "
        "chunks of 64.",
    )
    connections: int = Field(description="Connections this enumeration used.")
    notes: list[str] = Field(default_factory=list)


class CipherSuitesFacet(KeyedByVersion[CipherSuitesAtVersion]):
    """Accepted cipher suites per accepted protocol version."""


class GroupInfo(Model):
    code: str = Field(description="IANA NamedGroup code point, e.g. 0x11EC.")
    name: str
    via: Literal["server_hello", "hello_retry_request", "server_key_exchange"] = Field(
        description="Proof of support: a ServerHello key_share, a HelloRetryRequest asking "
        "for it, or the curve named in a TLS 1.2 ServerKeyExchange."
    )


class GroupsAtVersion(Model):
    groups: list[GroupInfo] = Field(
        description="Supported groups in the order the server selected them (TLS 1.3: each "
        "hello carries one key share, x25519 while it is left, as browsers do)."
    )
    complete: bool
    offered: int
    connections: int
    notes: list[str] = Field(default_factory=list)


class GroupsFacet(KeyedByVersion[GroupsAtVersion]):
    """Key-exchange groups for TLS 1.3 and for the highest version below it the server
    accepts (ECDHE curves, from ServerKeyExchange)."""


class AlpnSupportFacet(Model):
    version: str | None = Field(description="Protocol version the probe ran at.")
    engine: Literal["raw", "openssl"] | None = Field(
        default=None, description="raw ClientHellos (ALPN is in the TLS <= 1.2 ServerHello); "
        "openssl full handshakes for TLS 1.3-only servers (ALPN is encrypted there).")
    supported: list[str] = Field(
        default_factory=list, description="Protocols the server selected, in selection order.")
    offered: list[str] = Field(default_factory=list)
    without_match: str | None = Field(
        default=None, description="What the server did once no offered protocol was left: "
        "'ignored' (no ALPN in its hello) or an alert name (no_application_protocol).")
    complete: bool = True
    connections: int = 0
    notes: list[str] = Field(default_factory=list)


class NpnFacet(Model):
    version: str | None = Field(description="Protocol version of the ServerHello read.")
    advertised: bool | None = Field(
        description="The server answered the NPN extension (null: no TLS <= 1.2 version).")
    protocols: list[str] = Field(default_factory=list)


class ExtensionsFacet(Model):
    """Which extensions a TLS <= 1.2 ServerHello echoes when the client offers them all."""

    version: str | None = Field(description="Protocol version of the ServerHello read.")
    secure_renegotiation: bool | None = Field(
        default=None, description="renegotiation_info echoed (RFC 5746).")
    extended_master_secret: bool | None = Field(default=None, description="RFC 7627.")
    encrypt_then_mac: bool | None = Field(
        default=None, description="RFC 7366; only meaningful with a CBC suite (null when the "
        "server accepts none).")
    session_ticket: bool | None = Field(
        default=None, description="session_ticket echoed: the server will issue a ticket.")
    status_request: bool | None = Field(
        default=None, description="status_request echoed: the server staples an OCSP response.")
    ec_point_formats: list[str] | None = None
    echoed: list[str] = Field(default_factory=list,
                              description="Every extension in the ServerHello, in order.")
    unsolicited: list[str] = Field(
        default_factory=list, description="Extensions the server sent without being offered "
        "them (a protocol violation).")


class AgreementCheck(Model):
    fact: Literal["version", "cipher_suite", "alpn", "secure_renegotiation", "session_ticket"]
    version: str | None = None
    raw: str | None = Field(description="What the raw ClientHello engine saw.")
    openssl: str | None = Field(description="What a full OpenSSL handshake saw.")
    agree: bool
    detail: str | None = None


class EngineAgreementFacet(Model):
    """Facts both engines can see, compared; a disagreement is also a finding."""

    checks: list[AgreementCheck] = Field(default_factory=list)
    disagreements: int = 0
    client_certificate_presented: bool | None = presented_field()
