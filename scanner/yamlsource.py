"""YAML files users write (inventories, policy files): positions of every value, and errors
that name the file, line and key.

Validation itself is pydantic's; this module keeps the ``line:column`` of every value so that a
pydantic error can be reported where the user wrote it, and refuses inputs that would make the
loader a denial of service (huge files, alias bombs).
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

YamlPath = tuple[str | int, ...]

# Aliases let a small file stand for a huge document (an "alias bomb"): what aliases expand
# to is bounded in values and in bytes of text. Without aliases a document is bounded by the
# file's size, so a large inventory (a million targets) is not mistaken for a bomb.
MAX_ALIAS_VALUES = 200_000
MAX_ALIAS_BYTES = 16 * 2**20
MAX_YAML_DEPTH = 64  # nesting; no file mtlsweep reads needs a tenth of it

# libyaml parses about ten times faster than the pure-Python parser; both give positions.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SourceFileError(Exception):
    """A user file cannot be used; the message is one line naming file, line and key."""


@dataclass(frozen=True)
class Positions:
    """Where each value of one YAML document was written."""

    path: Path
    marks: dict[YamlPath, str]

    def at(self, where: YamlPath) -> str:
        """``file:line:column`` of ``where``, or of its closest written parent."""
        for cut in range(len(where), -1, -1):
            if where[:cut] in self.marks:
                return f"{self.path}:{self.marks[where[:cut]]}"
        return str(self.path)


def read_bounded(path: Path, *, max_bytes: int, what: str,
                 error: type[SourceFileError] = SourceFileError) -> str:
    """The file's text, or ``error`` saying why it cannot be read.

    The size on disk is checked first, and the read itself is bounded too, because a FIFO,
    a device or a ``/proc`` file reports no useful size (``targets.yaml -> /dev/zero``).
    """
    too_big = f"over the {max_bytes // 2**20} MiB limit for {what}; split it into several files"
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise error(f"{path}: file is {size / 1e6:.1f} MB, {too_big}")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise error(f"{path}: more than {max_bytes} bytes, {too_big}")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None


def load_yaml(path: Path, text: str, *, empty_hint: str,
              error: type[SourceFileError] = SourceFileError) -> tuple[Any, Positions]:
    """Plain Python data from one YAML document, with the position of every value."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise error(f"{path}:1: the file is empty; {empty_hint}")
        marks: dict[YamlPath, str] = {}
        data = NodeConverter(loader, marks, path, error).convert(root, ())
        return data, Positions(path, marks)
    except RecursionError:
        raise error(f"{path}: nested too deeply to read (over {MAX_YAML_DEPTH} levels); "
                    "write it flatter") from None
    except yaml.MarkedYAMLError as exc:
        raise error(describe_yaml_error(path, exc, text)) from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


def describe_yaml_error(path: Path, exc: yaml.MarkedYAMLError, text: str) -> str:
    """One line: where the parser gave up, what it expected, where the construct began."""
    mark = exc.problem_mark or exc.context_mark
    where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
    problem = exc.problem or exc.context or "syntax error"
    began = ""
    if exc.context and exc.context_mark and exc.problem_mark \
            and exc.context_mark.line != exc.problem_mark.line:
        began = f" ({exc.context} at line {exc.context_mark.line + 1})"
    lines = text.splitlines()
    at_tab = mark is not None and mark.line < len(lines) and "\t" in lines[mark.line][
        : mark.column + 1]
    hint = ("indent with spaces, YAML does not allow tabs" if "'\\t'" in problem or at_tab
            else "check the brackets, quotes and indentation there")
    return f"{path}{where}: invalid YAML: {problem}{began}; {hint}"


class NodeConverter:
    """Plain Python data from a composed YAML node tree, with positions, within the bounds
    above: depth, what aliases expand to, and no node inside itself (``&a [*a]``)."""

    def __init__(self, loader: yaml.SafeLoader, marks: dict[YamlPath, str], path: Path,
                 error: type[SourceFileError]) -> None:
        self.loader = loader
        self.marks = marks
        self.path = path
        self.error = error
        self.seen: set[int] = set()  # nodes converted once: meeting one again is an alias
        self.open: set[int] = set()  # nodes being converted: meeting one is a cycle
        self.alias_values = 0
        self.alias_bytes = 0

    def _fail(self, node: yaml.Node, problem: str) -> SourceFileError:
        return self.error(f"{self.path}:{node.start_mark.line + 1}: {problem}")

    def _count_alias(self, node: yaml.Node) -> None:
        self.alias_values += 1
        if isinstance(node, yaml.ScalarNode):
            self.alias_bytes += len(str(node.value))
        if self.alias_values > MAX_ALIAS_VALUES or self.alias_bytes > MAX_ALIAS_BYTES:
            raise self._fail(node, f"aliases expand to more than {MAX_ALIAS_VALUES} values or "
                             f"{MAX_ALIAS_BYTES // 2**20} MiB (an alias bomb?); write it out "
                             "without nested aliases")

    def convert(self, node: yaml.Node, at: YamlPath) -> Any:
        key = id(node)
        if key in self.open:
            raise self._fail(node, f"{dotted(at)} contains itself through an alias; an alias "
                             "must refer to an anchor outside it")
        if len(at) > MAX_YAML_DEPTH:
            raise self._fail(node, f"{dotted(at[:8])}...: nested more than {MAX_YAML_DEPTH} "
                             "levels deep; write it flatter")
        if key in self.seen:
            self._count_alias(node)
        self.seen.add(key)
        self.marks.setdefault(at, f"{node.start_mark.line + 1}:{node.start_mark.column + 1}")
        self.open.add(key)
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, at)
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(item, (*at, i)) for i, item in enumerate(node.value)]
            return self.loader.construct_object(node, deep=True)
        finally:
            self.open.discard(key)

    def _mapping(self, node: yaml.MappingNode, at: YamlPath) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, "keys must be strings")
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise self._fail(key_node, f"keys must be strings, got {key!r}")
            if key in result:
                raise self._fail(key_node, f"{dotted((*at, key))} is given twice")
            self.marks[(*at, key)] = (f"{key_node.start_mark.line + 1}:"
                                      f"{key_node.start_mark.column + 1}")
            result[key] = self.convert(value_node, (*at, key))
        return result


def dotted(at: YamlPath) -> str:
    """``targets[1].port`` style name of a path."""
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def first_validation_error(exc: ValidationError, positions: Positions,
                           model: type[BaseModel], *, prefix: YamlPath = ()) -> str:
    """The first problem as ``file:line:col: key: message``, counting the others."""
    lines = list(_describe(exc, positions, model, prefix))
    more = f" (and {len(lines) - 1} more problem(s))" if len(lines) > 1 else ""
    return lines[0] + more


_SECRET_WORDS = ("passphrase", "password", "secret", "token")


def _describe(exc: ValidationError, positions: Positions, model: type[BaseModel],
              prefix: YamlPath) -> Iterator[str]:
    for error in exc.errors(include_url=False):
        inner: YamlPath = tuple(p for p in error["loc"] if isinstance(p, str | int))
        inner = _drop_union_tags(inner)
        at = (*prefix, *inner)
        key = dotted(at)
        where = positions.at(at)
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = allowed_keys(model, inner[:-1])
            yield f"{where}: unknown key {key!r}; allowed here: {', '.join(allowed)}"
        elif kind == "missing":
            yield f"{where}: {key}: required key is missing"
        else:
            got = error.get("input")
            # A user who typed a passphrase where its variable's name belongs must not see it
            # echoed into a terminal or CI log.
            secret = bool(at) and any(word in str(at[-1]) for word in _SECRET_WORDS)
            shown = f" (got {got!r})" if not isinstance(got, dict | list) and not secret else ""
            message = error["msg"].removeprefix("Value error, ")
            yield f"{where}: {key}: {message}{shown}"


def _drop_union_tags(loc: YamlPath) -> YamlPath:
    """pydantic puts union member names (``list[str]``) in error paths; users never wrote them."""
    kept: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part in _TYPE_TAGS):
            continue
        kept.append(part)
    return tuple(kept)


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list"})


def allowed_keys(model: type[BaseModel], parent: YamlPath) -> list[str]:
    """Keys a mapping at ``parent`` (inside ``model``) may have."""
    current: Any = model
    for part in parent:
        current = _model_inside(current)
        if current is None:
            return []
        if isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
    current = _model_inside(current)
    return sorted(current.model_fields) if current is not None else []


def _model_inside(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, looking through Optional, list[...] and dict[str, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_inside(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict, tuple):
        for arg in typing.get_args(annotation):
            found = _model_inside(arg)
            if found is not None:
                return found
    return None
