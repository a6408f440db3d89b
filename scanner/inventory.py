"""The YAML inventory: parsing with line numbers, validation, defaults and overrides.

Validation is done by pydantic models; this module's own job is to keep the YAML position of
every value so that an error names the file, line and key, and to refuse inputs that would
make the loader itself a denial of service (huge files, alias bombs).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scanner import wire
from scanner.engine.offer import ClientCredential
from scanner.keyfiles import ENV_NAME, KeyFileError, load_credential
from scanner.pkix.trust import TrustStoreError, load_ca_bundle
from scanner.targets import (
    DEFAULT_PORT,
    HttpCheck,
    Target,
    TargetSyntaxError,
    default_sni,
    validate_alpn_extra,
    validate_host,
)

MAX_INVENTORY_BYTES = 16 * 1024 * 1024
MAX_YAML_NODES = 200_000

YamlPath = tuple[str | int, ...]


class InventoryError(Exception):
    """The inventory cannot be used; the message is one line naming file, line and key."""


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
    http_path: str | None = Field(default=None, description="Path of the HEAD request.")
    http_host: str | None = Field(default=None, description="Host header of the HEAD request.")

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
        wire.build_head_request(path, host, user_agent="mtlsweep")
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


class InventoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    defaults: _Settings = Field(default_factory=_Settings)
    targets: list[TargetEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Inventory:
    path: Path
    targets: list[Target]


def load_inventory(path: Path, *, known_probes: Collection[str]) -> Inventory:
    """Read, validate and resolve an inventory file, or raise InventoryError."""
    text = _read_bounded(path)
    data, marks = _load_yaml_with_marks(path, text)
    if not isinstance(data, dict):
        raise InventoryError(
            f"{path}:1: the inventory must be a mapping with a 'targets:' list "
            f"(got {type(data).__name__})"
        )
    try:
        parsed = InventoryFile.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(_first_error(path, exc, marks)) from None
    default_bundle = _ca_bundle(path, marks, parsed.defaults.ca_bundle, ("defaults", "ca_bundle"))
    targets = []
    credentials = _Credentials(path, marks)
    for index, entry in enumerate(parsed.targets):
        where = _position(path, marks, ("targets", index))
        bundle = _ca_bundle(path, marks, entry.ca_bundle, ("targets", index, "ca_bundle"))
        targets.append(_resolve(entry, parsed.defaults, where, bundle or default_bundle,
                                credentials, index))
        for probe in targets[-1].probes or ():
            if probe not in known_probes:
                raise InventoryError(
                    f"{_position(path, marks, ('targets', index, 'probes'))}: unknown probe "
                    f"{probe!r}; known probes: {', '.join(sorted(known_probes))}"
                )
    for probe in parsed.defaults.probes or ():
        if probe not in known_probes:
            raise InventoryError(
                f"{_position(path, marks, ('defaults', 'probes'))}: unknown probe {probe!r}; "
                f"known probes: {', '.join(sorted(known_probes))}"
            )
    _reject_duplicates(path, marks, targets)
    return Inventory(path=path, targets=targets)


def _ca_bundle(path: Path, marks: dict[YamlPath, str], value: str | None,
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
        raise InventoryError(f"{_position(path, marks, at)}: {_dotted(at)}: {exc}") from None
    return bundle


def _resolve(entry: TargetEntry, defaults: _Settings, origin: str, ca_bundle: Path | None,
             credentials: _Credentials, index: int) -> Target:
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
                       host=pick("http_host")),
        client_credential=credentials.load(entry, defaults, index, _CLIENT),
        client_ca=credentials.load(entry, defaults, index, _CLIENT_CA),
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


class _Credentials:
    """Loads each certificate/key pair once per inventory, however many targets share it.

    A target that sets any field of a pair takes the whole pair from its own entry, never
    half from ``defaults:``; relative paths are relative to the inventory file.
    """

    def __init__(self, path: Path, marks: dict[YamlPath, str]) -> None:
        self.path = path
        self.marks = marks
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
        return _position(self.path, self.marks, (*at, name))


def _reject_duplicates(path: Path, marks: dict[YamlPath, str], targets: list[Target]) -> None:
    seen: dict[tuple[str, int, str | None], int] = {}
    for index, target in enumerate(targets):
        first = seen.setdefault(target.key, index)
        if first != index:
            raise InventoryError(
                f"{_position(path, marks, ('targets', index))}: duplicate target "
                f"{target.label} (same host, port and sni as targets[{first}] at "
                f"{_position(path, marks, ('targets', first))}); remove one of them"
            )


def _read_bounded(path: Path) -> str:
    try:
        size = os.stat(path).st_size
        if size > MAX_INVENTORY_BYTES:
            raise InventoryError(
                f"{path}: file is {size / 1e6:.1f} MB, over the {MAX_INVENTORY_BYTES // 2**20} MiB "
                "limit for an inventory; split it into several files"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InventoryError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read ({exc.strerror})") from None


def _load_yaml_with_marks(path: Path, text: str) -> tuple[Any, dict[YamlPath, str]]:
    """Build plain Python data from YAML, remembering ``line:column`` for every path."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InventoryError(f"{path}:1: the file is empty; it needs a 'targets:' list")
        marks: dict[YamlPath, str] = {}
        budget = [MAX_YAML_NODES]
        return _to_python(loader, root, (), marks, budget, path), marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise InventoryError(f"{path}{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _to_python(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    at: YamlPath,
    marks: dict[YamlPath, str],
    budget: list[int],
    path: Path,
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise InventoryError(
            f"{path}:{node.start_mark.line + 1}: the document expands to more than "
            f"{MAX_YAML_NODES} values (an alias bomb?); write targets out without nested aliases"
        )
    marks.setdefault(at, f"{node.start_mark.line + 1}:{node.start_mark.column + 1}")
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise InventoryError(
                    f"{path}:{key_node.start_mark.line + 1}: keys must be strings, got {key!r}"
                )
            if key in result:
                raise InventoryError(
                    f"{path}:{key_node.start_mark.line + 1}: {_dotted((*at, key))} is given twice"
                )
            marks[(*at, key)] = f"{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}"
            result[key] = _to_python(loader, value_node, (*at, key), marks, budget, path)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(loader, item, (*at, i), marks, budget, path)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _dotted(at: YamlPath) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _position(path: Path, marks: dict[YamlPath, str], at: YamlPath) -> str:
    for cut in range(len(at), -1, -1):
        if at[:cut] in marks:
            return f"{path}:{marks[at[:cut]]}"
    return str(path)


def _first_error(path: Path, exc: ValidationError, marks: dict[YamlPath, str]) -> str:
    lines = list(_describe_errors(path, exc, marks))
    more = f" (and {len(lines) - 1} more problem(s))" if len(lines) > 1 else ""
    return lines[0] + more


def _describe_errors(
    path: Path, exc: ValidationError, marks: dict[YamlPath, str]
) -> Iterator[str]:
    for error in exc.errors(include_url=False):
        at: YamlPath = tuple(p for p in error["loc"] if isinstance(p, str | int))
        key = _dotted(at)
        where = _position(path, marks, at)
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(at[:-1])
            yield f"{where}: unknown key {key!r}; allowed here: {', '.join(allowed)}"
        elif kind == "missing":
            yield f"{where}: {key}: required key is missing"
        else:
            got = error.get("input")
            secret = bool(at) and str(at[-1]).endswith("_passphrase_env")
            shown = f" (got {got!r})" if not isinstance(got, dict | list) and not secret else ""
            yield f"{where}: {key}: {error['msg']}{shown}"


def _allowed_keys(parent: YamlPath) -> list[str]:
    if parent == ():
        model: type[BaseModel] = InventoryFile
    elif parent == ("defaults",):
        model = _Settings
    else:
        model = TargetEntry
    return sorted(model.model_fields)
