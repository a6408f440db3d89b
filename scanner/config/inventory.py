"""The YAML inventory: parsing with line numbers, validation, defaults and overrides.

Validation is done by pydantic models; ``scanner.yamlsource`` keeps the YAML position of every
value so that an error names the file, line and key, and refuses inputs that would make the
loader itself a denial of service (huge files, alias bombs). Policy names in ``expect:`` are
checked against the catalog (plus the inventory's own ``policies:``) before any connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scanner import wire
from scanner.config.inventory_files import MAX_INVENTORY_BYTES as MAX_INVENTORY_BYTES
from scanner.config.inventory_files import InventoryError as InventoryError
from scanner.config.keyfiles import ENV_NAME, KeyFileError, load_credential
from scanner.config.targets import (
    DEFAULT_PORT,
    HttpCheck,
    Target,
    TargetSyntaxError,
    resolve_protocol,
    validate_alpn_extra,
    validate_host,
    validate_sni,
    validate_sni_names,
)
from scanner.offers.credential import ClientCredential
from scanner.pkix.trust import TrustStoreError, load_ca_bundle
from scanner.policy.catalog import (
    Catalog,
    Policy,
)
from scanner.policy.expectations import Expectations, merge_expectations
from scanner.policy.schema import PolicyEntry
from scanner.results.identity import default_sni
from scanner.wire.errors import WireError
from scanner.wire.http_connect import parse_proxy
from scanner.yamlsource import (
    Positions,
    YamlPath,
    dotted,
)


class _Settings(BaseModel):
    """Fields a target may set and ``defaults:`` may provide for every target."""

    model_config = ConfigDict(extra="forbid", strict=True)

    port: int | None = Field(default=None, ge=1, le=65535, description="TCP port (443).")
    tags: dict[str, str] | None = Field(default=None, description="Free-form labels.")
    probes: list[str] | None = Field(default=None, description="Probes to run.")
    timeout: float | None = Field(
        default=None, gt=0, le=600, description="Seconds per handshake attempt."
    )
    ca_bundle: str | None = Field(
        default=None, min_length=1,
        description="PEM file of trust anchors for certificate validation (relative to the "
        "inventory file); default: --ca-bundle, else the system store.",
    )
    expect: Expectations | None = Field(
        default=None, description="What the target must do; checked after the scan."
    )

    alpn_extra: list[str] | None = Field(
        default=None, description="ALPN protocol IDs the alpn probe tests besides the known ones."
    )

    @field_validator("alpn_extra")
    @classmethod
    def _valid_alpn_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return list(validate_alpn_extra(value))
        except TargetSyntaxError as exc:
            raise ValueError(str(exc)) from None

    client_cert: str | None = Field(default=None, description="Your client certificate (PEM/DER).")
    client_key: str | None = Field(default=None, description="Its private key (PEM/DER).")
    client_key_passphrase_env: str | None = Field(
        default=None, description="Name of the environment variable holding the key passphrase."
    )
    client_ca_cert: str | None = Field(default=None, description="CA that issues your clients.")
    client_ca_key: str | None = Field(default=None, description="Its private key.")
    client_ca_key_passphrase_env: str | None = Field(
        default=None, description="Name of the environment variable holding its passphrase."
    )
    http: bool | None = Field(default=None, description="Whether the service speaks HTTP.")
    http_path: str | None = Field(default=None, description="Path of the HTTP GET request.")
    http_host: str | None = Field(
        default=None, description="Host header (HTTP/2 :authority) of the HTTP request.")
    all_addresses: bool | None = Field(
        default=None, description="Scan every address the host resolves to, one record each.")
    https_proxy: str | None = Field(
        default=None, description="HTTP proxy (host:port) to tunnel every connection through.")
    protocol: str | None = Field(
        default=None, description="Plaintext protocol that upgrades to TLS: tls (none, the "
        "default), postgres, mysql, ldap, smtp, imap, pop3, ftp, xmpp, or auto (from the port).")

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                resolve_protocol(value, DEFAULT_PORT)
            except TargetSyntaxError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("https_proxy")
    @classmethod
    def _valid_proxy(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_proxy(value)
            except WireError as exc:
                raise ValueError(str(exc)) from None
        return value
    http_paths: list[str] | None = Field(
        default=None, min_length=1, max_length=32,
        description="Paths whose per-path client authentication is checked (default: /).")
    sni_names: list[str] | None = Field(
        default=None, max_length=256,
        description="Other server names this address serves, compared by the vhosts probe.")
    max_sni_names: int | None = Field(
        default=None, ge=1, le=256, description="At most this many names per address (16).")

    @field_validator("http_paths")
    @classmethod
    def _paths(cls, value: list[str] | None) -> list[str] | None:
        for path in value or ():
            _check_request(path, "example.com")
        return list(dict.fromkeys(value)) if value is not None else None

    @field_validator("sni_names")
    @classmethod
    def _sni_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        try:
            return list(validate_sni_names(value))
        except TargetSyntaxError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("timeout", mode="before")
    @classmethod
    def _int_is_fine(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("client_key_passphrase_env", "client_ca_key_passphrase_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        # Never echo the value: someone may have put the passphrase itself here.
        if value is not None and not ENV_NAME.fullmatch(value):
            raise ValueError("must be the NAME of an environment variable (letters, digits, _) "
                             "that holds the passphrase, never the passphrase itself")
        return value

    @field_validator("http_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None:
            _check_request(value, "example.com")
        return value

    @field_validator("http_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None:
            _check_request("/", value)
        return value


def _check_request(path: str, host: str) -> None:
    try:
        wire.HttpRequest(path=path, host=host)
    except wire.WireError as exc:
        raise ValueError(str(exc)) from None


class TargetEntry(_Settings):
    host: str = Field(description="DNS name or IP address literal.")
    sni: str | None = Field(
        default=None, description="Server name to send; defaults to host for names, none for IPs."
    )
    name: str | None = Field(default=None, description="Label shown in reports.")

    @field_validator("host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        try:
            return validate_host(value)
        except TargetSyntaxError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("sni")
    @classmethod
    def _valid_sni(cls, value: str | None) -> str | None:
        try:
            return validate_sni(value) if value is not None else None
        except TargetSyntaxError as exc:
            raise ValueError(str(exc)) from None


class InventoryHeader(BaseModel):
    """The top-level keys read before the targets (the reader's header pass)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    defaults: _Settings = Field(default_factory=_Settings)
    policies: list[PolicyEntry] = Field(
        default_factory=list, description="Your own named policies, as in a --policy-file."
    )


class InventoryFile(InventoryHeader):
    """The whole file: what its errors and its documentation describe (the reader validates
    the header and then one ``TargetEntry`` at a time)."""

    targets: list[TargetEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Inventory:
    path: Path
    targets: list[Target]
    policies: tuple[Policy, ...] = ()
    catalog: Catalog | None = None  # the catalog the expectations were checked against


def ca_bundle_of(path: Path, positions: Positions, value: str | None,
               at: YamlPath) -> Path | None:
    """The bundle's path (relative to the inventory's directory), checked to hold certificates."""
    if value is None:
        return None
    bundle = Path(value).expanduser()
    if not bundle.is_absolute():
        bundle = path.parent / bundle
    try:
        load_ca_bundle(bundle)
    except TrustStoreError as exc:
        raise InventoryError(f"{positions.at(at)}: {dotted(at)}: {exc}") from None
    return bundle


def resolve_entry(entry: TargetEntry, defaults: _Settings, origin: str,
                  ca_bundle: Path | None, credentials: Credentials, index: int) -> Target:
    """Apply defaults; a target's own value wins, tags are merged."""
    sni = entry.sni if "sni" in entry.model_fields_set else default_sni(entry.host)
    port = entry.port or defaults.port or DEFAULT_PORT
    probes = entry.probes if entry.probes is not None else defaults.probes
    alpn_extra = entry.alpn_extra if entry.alpn_extra is not None else defaults.alpn_extra

    def pick(name: str) -> Any:
        own = getattr(entry, name)
        return own if own is not None else getattr(defaults, name)

    return Target(
        host=entry.host,
        port=port,
        sni=sni,
        name=entry.name,
        tags={**(defaults.tags or {}), **(entry.tags or {})},
        probes=tuple(probes) if probes is not None else None,
        timeout=entry.timeout if entry.timeout is not None else defaults.timeout,
        alpn_extra=tuple(alpn_extra) if alpn_extra is not None else None,
        ca_bundle=ca_bundle,
        origin=origin,
        http=HttpCheck(enabled=pick("http") is not False, path=pick("http_path") or "/",
                       host=pick("http_host"), paths=tuple(pick("http_paths") or ("/",))),
        sni_names=tuple(pick("sni_names")) if pick("sni_names") is not None else None,
        max_sni_names=pick("max_sni_names"),
        client_credential=credentials.load(entry, defaults, index, _CLIENT),
        client_ca=credentials.load(entry, defaults, index, _CLIENT_CA),
        expect=merge_expectations(defaults.expect, entry.expect),
        protocol=resolve_protocol(pick("protocol") or "tls", port),
        all_addresses=pick("all_addresses") is True,
        https_proxy=parse_proxy(pick("https_proxy")) if pick("https_proxy") else None,
    )


@dataclass(frozen=True)
class _CredentialFields:
    cert: str
    key: str
    passphrase_env: str
    must_be_ca: bool


_CLIENT = _CredentialFields("client_cert", "client_key", "client_key_passphrase_env", False)
_CLIENT_CA = _CredentialFields("client_ca_cert", "client_ca_key", "client_ca_key_passphrase_env",
                               True)


class Credentials:
    """Loads each certificate/key pair once per inventory, however many targets share it.

    A target that sets any field of a pair takes the whole pair from its own entry, never
    half from ``defaults:``; relative paths are relative to the inventory file.
    """

    def __init__(self, path: Path, positions: Positions) -> None:
        self.path = path
        self.positions = positions
        self._loaded: dict[tuple[Path, Path, str | None, bool], ClientCredential] = {}

    def load(self, entry: TargetEntry, defaults: _Settings, index: int,
             fields: _CredentialFields) -> ClientCredential | None:
        names = (fields.cert, fields.key, fields.passphrase_env)
        own = any(getattr(entry, name) is not None for name in names)
        source: _Settings = entry if own else defaults
        at: YamlPath = ("targets", index) if own else ("defaults",)
        cert, key, env = (getattr(source, name) for name in names)
        if cert is None and key is None:
            if env is not None:
                raise InventoryError(f"{self._where(at, fields.passphrase_env)}: "
                                     f"{fields.passphrase_env} is set but {fields.key} is not")
            return None
        if cert is None or key is None:
            present, missing = ((fields.cert, fields.key) if key is None
                                else (fields.key, fields.cert))
            raise InventoryError(f"{self._where(at, present)}: {present} needs {missing} too "
                                 f"(a certificate and its private key go together)")
        cert_path, key_path = self._file(cert), self._file(key)
        cache_key = (cert_path, key_path, env, fields.must_be_ca)
        if cache_key not in self._loaded:
            try:
                self._loaded[cache_key] = load_credential(
                    cert_path, key_path, env, cert_field=fields.cert, key_field=fields.key,
                    env_field=fields.passphrase_env, must_be_ca=fields.must_be_ca)
            except KeyFileError as exc:
                raise InventoryError(f"{self._where(at, exc.field)}: {exc}") from None
        return self._loaded[cache_key]

    def _file(self, name: str) -> Path:
        file = Path(name).expanduser()
        return file if file.is_absolute() else self.path.parent / file

    def _where(self, at: YamlPath, name: str) -> str:
        return self.positions.at((*at, name))
