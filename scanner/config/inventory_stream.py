"""A YAML inventory too large to hold: its ``targets:`` read entry by entry.

``load_inventory`` composes the whole document (about 3.4 KB per target), so a million-target
file would need gigabytes; it refuses files over ``MAX_INVENTORY_BYTES``. Such a file is read
here instead, with libyaml's event parser: the top-level keys other than ``targets:`` are read
once (a header pass that skips the targets' events), then each call of ``stream_inventory``
composes, converts and validates one entry at a time with the same models, the same bounds
(depth, alias expansion counted over the whole file) and the same one-line errors (file, line,
key). Duplicates are left to the caller (``scanner.run.streamed`` keeps sorted digests).

Not supported in this form: an inventory-level ``policies:`` section (named policies go in a
``--policy-file``), which is refused with a message saying so.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml
from pydantic import ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from scanner.config.inventory import (
    Credentials,
    InventoryFile,
    TargetEntry,
    _Settings,
    ca_bundle_of,
    resolve_entry,
)
from scanner.config.inventory_files import (
    MAX_INVENTORY_BYTES,
    InventoryError,
)
from scanner.config.targets import Target
from scanner.policy.catalog import Catalog, builtin_catalog
from scanner.yamlsource import (
    MAX_YAML_DEPTH,
    NodeConverter,
    Positions,
    YamlPath,
    allowed_keys,
    describe_yaml_error,
    first_validation_error,
)


def _loader_class() -> Any:
    """libyaml's event parser under PyYAML's composer, so that nodes are composed one at a
    time; PyYAML's own (slower) parser when it was built without libyaml."""
    try:
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        return yaml.SafeLoader

    class EventLoader(CParser, Composer, SafeConstructor, Resolver):
        def __init__(self, stream: IO[str]) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return EventLoader


_EventLoader: Any = _loader_class()




@dataclass
class _Header:
    defaults: _Settings
    marks: dict[YamlPath, str]
    has_targets: bool


class _Reader:
    """One pass over the file; ``convert`` keeps the alias budget over the whole pass."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self.loader: Any = _EventLoader(handle)
        self.marks: dict[YamlPath, str] = {}
        self.converter = NodeConverter(self.loader, self.marks, path, InventoryError)
        self._anchors_seen = 0
        self._anchor_ids: set[int] = set()

    def convert(self, node: yaml.Node, at: YamlPath, marks: dict[YamlPath, str]) -> Any:
        """Plain data of one node; a node anchored earlier in the file counts as an alias
        (its first use here is an expansion), and nothing converted before is kept."""
        if len(self.loader.anchors) != self._anchors_seen:
            self._anchors_seen = len(self.loader.anchors)
            self._anchor_ids = {id(n) for n in self.loader.anchors.values()}
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
        loader.get_event()  # document start
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
def _opened(path: Path) -> Iterator[_Reader]:
    """A reader over the file; YAML errors in the block become one-line InventoryErrors."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        try:
            yield _Reader(path, handle)
        except RecursionError:
            raise InventoryError(f"{path}: nested too deeply to read (over {MAX_YAML_DEPTH} "
                                 "levels); write it flatter") from None
        except yaml.MarkedYAMLError as exc:
            raise InventoryError(describe_yaml_error(path, exc, "")) from None
        except yaml.YAMLError as exc:
            raise InventoryError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
        except UnicodeDecodeError as exc:
            raise InventoryError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") \
                from None


def _read_header(path: Path) -> _Header:
    """``defaults:`` validated, every other top-level key checked, the targets skipped."""
    with _opened(path) as reader:
        defaults_data: Any = {}
        has_targets = False
        for key, key_node in reader.top_keys():
            if key == "targets":
                has_targets = True
                reader.skip_value()
                continue
            node = reader.loader.compose_node(None, None)
            if key == "defaults":
                defaults_data = reader.convert(node, ("defaults",), reader.marks)
            elif key == "policies":
                raise reader.fail(key_node.start_mark.line + 1, "policies: is not read in an "
                                  f"inventory over {MAX_INVENTORY_BYTES // 2**20} MiB (read "
                                  "entry by entry); put the policies in a --policy-file")
            else:
                allowed = allowed_keys(InventoryFile, ())
                raise InventoryError(f"{path}:{reader.marks[(key,)]}: unknown key {key!r}; "
                                     f"allowed here: {', '.join(allowed)}")
        positions = Positions(path, reader.marks)
        try:
            defaults = _Settings.model_validate(defaults_data)
        except ValidationError as exc:
            raise InventoryError(first_validation_error(exc, positions, _Settings,
                                                        prefix=("defaults",))) from None
        return _Header(defaults, dict(reader.marks), has_targets)


def stream_inventory(path: Path, *, known_probes: Collection[str],
                     catalog: Catalog | None = None) -> Iterator[Target]:
    """Every target of the inventory, resolved as ``load_inventory`` resolves it, one entry
    in memory at a time (InventoryError at the first bad entry, naming its line)."""
    header = _read_header(path)
    where_missing = f"{path}:{header.marks[()]}"
    if not header.has_targets:
        raise InventoryError(f"{where_missing}: targets: required key is missing")
    positions = Positions(path, header.marks)
    defaults = header.defaults
    _check_probes(defaults, positions, ("defaults",), known_probes)
    default_bundle = ca_bundle_of(path, positions, defaults.ca_bundle, ("defaults", "ca_bundle"))
    credentials = Credentials(path, positions)
    policies = _PolicyNames(catalog)
    policies.check(defaults, positions, ("defaults",))
    with _opened(path) as reader:
        for key, _ in reader.top_keys():
            if key != "targets":
                reader.skip_value()
                continue
            loader = reader.loader
            if not loader.check_event(yaml.SequenceStartEvent):
                raise InventoryError(f"{path}:{header.marks[('targets',)]}: targets: Input "
                                     "should be a valid list")
            loader.get_event()
            index = 0
            while not loader.check_event(yaml.SequenceEndEvent):
                node = loader.compose_node(None, index)
                at: YamlPath = ("targets", index)
                marks = dict(header.marks)
                data = reader.convert(node, at, marks)
                positions = Positions(path, marks)
                credentials.positions = positions
                try:
                    entry = TargetEntry.model_validate(data)
                except ValidationError as exc:
                    raise InventoryError(first_validation_error(exc, positions, TargetEntry,
                                                                prefix=at)) from None
                bundle = ca_bundle_of(path, positions, entry.ca_bundle, (*at, "ca_bundle"))
                target = resolve_entry(entry, defaults, positions.at(at), bundle or default_bundle,
                                  credentials, index)
                _check_probes(entry, positions, at, known_probes)
                policies.check(entry, positions, at)
                yield target
                index += 1
            loader.get_event()
            if index == 0:
                raise InventoryError(f"{path}:{header.marks[('targets',)]}: targets: List "
                                     "should have at least 1 item after validation, not 0")
            positions = Positions(path, header.marks)


def _check_probes(settings: _Settings, positions: Positions, at: YamlPath,
                  known_probes: Collection[str]) -> None:
    for probe in settings.probes or ():
        if probe not in known_probes:
            raise InventoryError(f"{positions.at((*at, 'probes'))}: unknown probe {probe!r}; "
                                 f"known probes: {', '.join(sorted(known_probes))}")


class _PolicyNames:
    """``expect.policy`` names checked against the catalog, loaded only when one is named."""

    def __init__(self, catalog: Catalog | None) -> None:
        self._given = catalog
        self._catalog: Catalog | None = None

    def check(self, settings: _Settings, positions: Positions, at: YamlPath) -> None:
        if settings.expect is None:
            return
        for n, name in enumerate(settings.expect.policy or ()):
            if self._catalog is None:
                self._catalog = self._given or builtin_catalog()
            if not self._catalog.find(name):
                where = positions.at((*at, "expect", "policy", n))
                raise InventoryError(f"{where}: {self._catalog.unknown_message(name)}")

