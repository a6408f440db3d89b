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

from scanner.targets import (
    DEFAULT_PORT,
    Target,
    TargetSyntaxError,
    default_sni,
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

    @field_validator("timeout", mode="before")
    @classmethod
    def _int_is_fine(cls, value: Any) -> Any:
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


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
    targets = []
    for index, entry in enumerate(parsed.targets):
        where = _position(path, marks, ("targets", index))
        targets.append(_resolve(entry, parsed.defaults, where))
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


def _resolve(entry: TargetEntry, defaults: _Settings, origin: str) -> Target:
    """Apply defaults; a target's own value wins, tags are merged."""
    sni = entry.sni if "sni" in entry.model_fields_set else default_sni(entry.host)
    port = entry.port or defaults.port or DEFAULT_PORT
    probes = entry.probes if entry.probes is not None else defaults.probes
    return Target(
        host=entry.host,
        port=port,
        sni=sni,
        name=entry.name,
        tags={**(defaults.tags or {}), **(entry.tags or {})},
        probes=tuple(probes) if probes is not None else None,
        timeout=entry.timeout if entry.timeout is not None else defaults.timeout,
        origin=origin,
    )


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
    """The file's text, refusing anything over the limit without reading it all.

    The size on disk is checked first, and the read itself is bounded too, because a FIFO,
    a device or ``/proc`` file reports no useful size (``targets.yaml -> /dev/zero``).
    """
    too_big = (f"over the {MAX_INVENTORY_BYTES // 2**20} MiB limit for an inventory; split it "
               "into several files")
    try:
        size = os.stat(path).st_size
        if size > MAX_INVENTORY_BYTES:
            raise InventoryError(f"{path}: file is {size / 1e6:.1f} MB, {too_big}")
        with path.open("rb") as handle:
            data = handle.read(MAX_INVENTORY_BYTES + 1)
        if len(data) > MAX_INVENTORY_BYTES:
            raise InventoryError(f"{path}: more than {MAX_INVENTORY_BYTES} bytes, {too_big}")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InventoryError(f"{path}: is a directory, not an inventory file") from None
    except UnicodeDecodeError as exc:
        raise InventoryError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
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
        raise InventoryError(_describe_yaml_error(path, exc)) from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _describe_yaml_error(path: Path, exc: yaml.MarkedYAMLError) -> str:
    """One line: where the parser gave up, what it expected, where the construct began."""
    mark = exc.problem_mark or exc.context_mark
    where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
    problem = exc.problem or exc.context or "syntax error"
    began = ""
    if exc.context and exc.context_mark and exc.problem_mark \
            and exc.context_mark.line != exc.problem_mark.line:
        began = f" ({exc.context} at line {exc.context_mark.line + 1})"
    hint = ("indent with spaces, YAML does not allow tabs" if "'\\t'" in problem
            else "check the brackets, quotes and indentation there")
    return f"{path}{where}: invalid YAML: {problem}{began}; {hint}"


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
            shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
            yield f"{where}: {key}: {error['msg']}{shown}"


def _allowed_keys(parent: YamlPath) -> list[str]:
    if parent == ():
        model: type[BaseModel] = InventoryFile
    elif parent == ("defaults",):
        model = _Settings
    else:
        model = TargetEntry
    return sorted(model.model_fields)
