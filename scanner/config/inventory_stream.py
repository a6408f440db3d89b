"""The one YAML inventory reader: libyaml's event parser, one ``targets:`` entry composed at
a time.

A header pass reads every top-level key but ``targets:`` (``defaults:`` and ``policies:``,
validated before any target, so the inventory's own policy names are known) and skips the
targets' events; a second pass composes, converts, validates and resolves each entry with the
same models and the same bounds (depth, alias expansion counted over the whole file), and
raises the same one-line errors (file, line, key). No pass holds more than one entry's YAML
nodes, so what a load keeps is the resolved ``Target`` objects, and a sweep that streams them
(``scanner.run.streamed``) keeps nothing per target but a digest.

``load_inventory`` (``read_inventory`` here) reads a file of up to ``MAX_INVENTORY_BYTES``
into memory once (a bounded read: FIFOs, devices) and runs both passes over that text,
collecting the targets and refusing duplicates; ``stream_inventory`` reads a file of up to
``MAX_STREAMED_INVENTORY_BYTES`` from disk on each pass and leaves duplicates to its caller.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import ValidationError
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from scanner.config.inventory import (
    Credentials,
    Inventory,
    InventoryFile,
    InventoryHeader,
    TargetEntry,
    _Settings,
    ca_bundle_of,
    resolve_entry,
)
from scanner.config.inventory_files import (
    MAX_INVENTORY_BYTES,
    InventoryError,
    duplicate_message,
    too_large,
)
from scanner.config.targets import Target
from scanner.policy.catalog import (
    Catalog,
    Policy,
    PolicyFileError,
    builtin_catalog,
    policies_from_entries,
)
from scanner.results.identity import TargetKey
from scanner.yamlsource import (
    MAX_YAML_DEPTH,
    NodeConverter,
    Positions,
    YamlPath,
    describe_yaml_error,
    first_validation_error,
    read_bounded,
)


def _loader_class() -> Any:
    """libyaml's event parser under PyYAML's composer, so that nodes are composed one at a
    time; PyYAML's own (slower) parser when it was built without libyaml."""
    try:
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return yaml.SafeLoader

    class EventLoader(CParser, Composer, SafeConstructor, Resolver):
        def __init__(self, stream: IO[str] | str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return EventLoader


_EventLoader: Any = _loader_class()


@dataclass
class _Header:
    defaults: _Settings
    policies: tuple[Policy, ...]  # the inventory's own
    catalog: Catalog | None  # the given one, extended with ``policies`` when there are any
    marks: dict[YamlPath, str]
    has_targets: bool


class _Reader:
    """One pass over the file; ``convert`` keeps the alias budget over the whole pass."""

    def __init__(self, path: Path, stream: IO[str] | str) -> None:
        self.path = path
        self.loader: Any = _EventLoader(stream)
        self.marks: dict[YamlPath, str] = {}
        self.converter = NodeConverter(self.loader, self.marks, path, InventoryError)
        self._anchors_seen = 0
        self._anchor_ids: set[int] = set()

    def compose(self, index: int | None = None) -> yaml.Node:
        """The next node; the nodes anchored before it are noted first (see ``convert``)."""
        if len(self.loader.anchors) != self._anchors_seen:
            self._anchors_seen = len(self.loader.anchors)
            self._anchor_ids = {id(n) for n in self.loader.anchors.values()}
        node: yaml.Node = self.loader.compose_node(None, index)
        return node

    def convert(self, node: yaml.Node, at: YamlPath, marks: dict[YamlPath, str]) -> Any:
        """Plain data of the node ``compose`` just gave; a node anchored before it counts as
        an alias (its use here is an expansion, as in a whole-document load), and nothing
        converted before is kept."""
        self.converter.marks = marks
        self.converter.seen = set(self._anchor_ids)
        try:
            return self.converter.convert(node, at)
        finally:
            self.loader.constructed_objects = {}
            self.loader.recursive_objects = {}

    def fail(self, line: int, message: str) -> InventoryError:
        return InventoryError(f"{self.path}:{line}: {message}")

    def top_keys(self) -> Iterator[tuple[str, yaml.Node]]:
        """Each top-level key; the caller must consume its value before the next."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            raise self.fail(1, "the file is empty; it needs a 'targets:' list")
        document = loader.get_event()
        if not loader.check_event(yaml.MappingStartEvent):
            node = loader.compose_node(None, None)
            got = "NoneType" if node.tag.endswith(":null") else (
                "list" if isinstance(node, yaml.SequenceNode) else "str")
            raise self.fail(1, "the inventory must be a mapping with a 'targets:' list "
                            f"(got {got})")
        start = loader.get_event()
        self.marks[()] = f"{start.start_mark.line + 1}:{start.start_mark.column + 1}"
        given: set[str] = set()
        while not loader.check_event(yaml.MappingEndEvent):
            key_node = loader.compose_node(None, None)
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise self.fail(line, "keys must be strings")
            if key in given:
                raise self.fail(line, f"{key} is given twice")
            given.add(key)
            self.marks[(key,)] = f"{line}:{key_node.start_mark.column + 1}"
            yield key, key_node
        loader.get_event()  # mapping end
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            # As PyYAML's composer says it for a whole-document load.
            raise ComposerError("expected a single document in the stream",
                                document.start_mark, "but found another document",
                                loader.get_event().start_mark)

    def skip_value(self) -> None:
        """Consume one value's events without composing it."""
        depth = 0
        while True:
            event = self.loader.get_event()
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
            if depth == 0:
                return
            if depth > MAX_YAML_DEPTH:
                raise self.fail(event.start_mark.line + 1, f"nested more than {MAX_YAML_DEPTH} "
                                "levels deep; write it flatter")


@contextmanager
def _opened(path: Path, text: str | None) -> Iterator[_Reader]:
    """A reader over ``text`` (already read) or else the file; YAML errors in the block
    become one-line InventoryErrors."""
    if text is not None:
        yield from _reading(path, text, text)
        return
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        yield from _reading(path, handle, None)


def _reading(path: Path, stream: IO[str] | str, text: str | None) -> Iterator[_Reader]:
    try:
        yield _Reader(path, stream)
    except RecursionError:
        raise InventoryError(f"{path}: nested too deeply to read (over {MAX_YAML_DEPTH} "
                             "levels); write it flatter") from None
    except yaml.MarkedYAMLError as exc:
        if text is None:  # the lines up to the error, for its hint (a tab there?)
            mark = exc.problem_mark or exc.context_mark
            text = _lines_up_to(path, mark.line if mark else 0)
        raise InventoryError(describe_yaml_error(path, exc, text)) from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    except UnicodeDecodeError as exc:
        raise InventoryError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") \
            from None


def _lines_up_to(path: Path, last: int) -> str:
    """Lines ``0..last`` of the file (read 64 KiB at most at a time), or "" if it cannot be
    read."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return "".join(islice(iter(lambda: handle.readline(65536), ""), last + 1))
    except OSError:
        return ""


def _read_header(path: Path, text: str | None, catalog: Catalog | None) -> _Header:
    """``defaults:`` and ``policies:`` validated, every other top-level key checked, the
    targets skipped."""
    with _opened(path, text) as reader:
        data: dict[str, Any] = {}
        has_targets = False
        for key, _ in reader.top_keys():
            if key == "targets":
                has_targets = True
                reader.skip_value()
                continue
            # Unknown keys too: their aliases count, and pydantic names them as a
            # whole-document validation would.
            node = reader.compose()
            data[key] = reader.convert(node, (key,), reader.marks)
        positions = Positions(path, reader.marks)
        try:
            if not has_targets:  # the whole model's errors, in its order
                InventoryFile.model_validate(data)
            header = InventoryHeader.model_validate(data)
        except ValidationError as exc:
            # A whole-document load converts every value before validating any: an error in
            # converting the targets (an alias bomb, a key given twice) comes first.
            _convert_targets(path, text)
            raise InventoryError(first_validation_error(exc, positions, InventoryFile)) \
                from None
        own: list[Policy] = []
        if header.policies:
            try:
                own = policies_from_entries(header.policies, provider="custom", sources=(),
                                            positions=positions, prefix=("policies",))
                catalog = (catalog or builtin_catalog()).extended(own)
            except PolicyFileError as exc:
                raise InventoryError(str(exc)) from None
        return _Header(header.defaults, tuple(own), catalog, dict(reader.marks), has_targets)


def _convert_targets(path: Path, text: str | None) -> None:
    """Convert the targets' entries (and drop them), for the conversion errors alone."""
    with _opened(path, text) as reader:
        for key, _ in reader.top_keys():
            if key != "targets" or not reader.loader.check_event(yaml.SequenceStartEvent):
                reader.convert(reader.compose(), (key,), {})
                continue
            reader.loader.get_event()
            index = 0
            while not reader.loader.check_event(yaml.SequenceEndEvent):
                node = reader.compose(index)
                reader.convert(node, ("targets", index), {})
                index += 1
            reader.loader.get_event()


def inventory_catalog(path: Path, catalog: Catalog | None) -> Catalog | None:
    """``catalog`` extended with the inventory's own ``policies:`` (a header pass only), for
    a sweep that evaluates the streamed targets' expectations."""
    return _read_header(path, None, catalog).catalog


def stream_inventory(path: Path, *, known_probes: Collection[str],
                     catalog: Catalog | None = None) -> Iterator[Target]:
    """Every target of the inventory, resolved as ``load_inventory`` resolves it, one entry
    in memory at a time (InventoryError at the first bad entry, naming its line); duplicates
    are the caller's to find."""
    header = _read_header(path, None, catalog)
    yield from _targets(path, None, header, known_probes, _PolicyNames(header.catalog))


def read_inventory(path: Path, text: str, *, known_probes: Collection[str],
                   catalog: Catalog | None = None) -> Inventory:
    """``load_inventory`` over the file's ``text``: every target, duplicates refused."""
    header = _read_header(path, text, catalog)
    names = _PolicyNames(header.catalog)
    targets = list(_targets(path, text, header, known_probes, names))
    _reject_duplicates(targets)
    checked = header.catalog if header.policies else names.used or catalog
    return Inventory(path=path, targets=targets, policies=header.policies, catalog=checked)


def _targets(path: Path, text: str | None, header: _Header, known_probes: Collection[str],
             policies: _PolicyNames) -> Iterator[Target]:
    where_missing = f"{path}:{header.marks[()]}"
    if not header.has_targets:
        raise InventoryError(f"{where_missing}: targets: required key is missing")
    positions = Positions(path, header.marks)
    defaults = header.defaults
    _check_probes(defaults, positions, ("defaults",), known_probes)
    default_bundle = ca_bundle_of(path, positions, defaults.ca_bundle, ("defaults", "ca_bundle"))
    credentials = Credentials(path, positions)
    policies.check(defaults, positions, ("defaults",))
    with _opened(path, text) as reader:
        for key, _ in reader.top_keys():
            if key != "targets":
                reader.skip_value()
                continue
            loader = reader.loader
            if not loader.check_event(yaml.SequenceStartEvent):
                raise InventoryError(f"{path}:{header.marks[('targets',)]}: targets: Input "
                                     "should be a valid list")
            start = loader.get_event()
            if start.anchor is not None:
                # An alias to the list from inside it: a node being converted, as in a
                # whole-document load ("contains itself").
                itself = yaml.SequenceNode("tag:yaml.org,2002:seq", [], start.start_mark,
                                           start.end_mark)
                loader.anchors[start.anchor] = itself
                reader.converter.open.add(id(itself))
            index = 0
            while not loader.check_event(yaml.SequenceEndEvent):
                node = reader.compose(index)
                at: YamlPath = ("targets", index)
                marks = dict(header.marks)
                data = reader.convert(node, at, marks)
                del node  # only anchored nodes outlive their entry
                positions = Positions(path, marks)
                credentials.positions = positions
                try:
                    entry = TargetEntry.model_validate(data)
                except ValidationError as exc:
                    raise InventoryError(first_validation_error(exc, positions, TargetEntry,
                                                                prefix=at)) from None
                bundle = ca_bundle_of(path, positions, entry.ca_bundle, (*at, "ca_bundle"))
                target = resolve_entry(entry, defaults, positions.at(at),
                                       bundle or default_bundle, credentials, index)
                _check_probes(entry, positions, at, known_probes)
                policies.check(entry, positions, at)
                yield target
                index += 1
            loader.get_event()
            if index == 0:
                raise InventoryError(f"{path}:{header.marks[('targets',)]}: targets: List "
                                     "should have at least 1 item after validation, not 0")


def _check_probes(settings: _Settings, positions: Positions, at: YamlPath,
                  known_probes: Collection[str]) -> None:
    for probe in settings.probes or ():
        if probe not in known_probes:
            raise InventoryError(f"{positions.at((*at, 'probes'))}: unknown probe {probe!r}; "
                                 f"known probes: {', '.join(sorted(known_probes))}")


class _PolicyNames:
    """``expect.policy`` names checked against the catalog (the given one extended with the
    inventory's own policies), the shipped one loaded only when a name needs it."""

    def __init__(self, catalog: Catalog | None) -> None:
        self._given = catalog
        self.used: Catalog | None = None  # set once a name was checked

    def check(self, settings: _Settings, positions: Positions, at: YamlPath) -> None:
        if settings.expect is None:
            return
        for n, name in enumerate(settings.expect.policy or ()):
            if self.used is None:
                self.used = self._given or builtin_catalog()
            if not self.used.find(name):
                where = positions.at((*at, "expect", "policy", n))
                raise InventoryError(f"{where}: {self.used.unknown_message(name)}")


def _reject_duplicates(targets: list[Target]) -> None:
    seen: dict[TargetKey, int] = {}
    for index, target in enumerate(targets):
        first = seen.setdefault(target.key, index)
        if first != index:
            raise InventoryError(duplicate_message(target, first, targets[first]))


def load_inventory(path: Path, *, known_probes: Collection[str],
                   catalog: Catalog | None = None) -> Inventory:
    """Read, validate and resolve an inventory file, or raise InventoryError.

    ``catalog`` (default: the shipped one, loaded only when needed) is what ``expect.policy``
    names are checked against, together with the inventory's own ``policies:``. The file is
    read (bounded) once and parsed entry by entry (``inventory_stream``): the YAML nodes of
    one entry at a time, never the whole document's.
    """
    refused = too_large(path)
    if refused is not None:
        raise InventoryError(refused)
    text = read_bounded(path, max_bytes=MAX_INVENTORY_BYTES, what="an inventory",
                        error=InventoryError)
    return read_inventory(path, text, known_probes=known_probes, catalog=catalog)
