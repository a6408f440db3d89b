"""What changed between two sweeps, endpoint by endpoint.

Records are matched by target (host, port, SNI). Every facet is compared generically, so a
facet a later probe adds (versions, suites, policy match, OCSP, tickets...) is diffed without
code here: dicts key by key, lists of names as sets, lists of objects by their identity field
(``id``, ``rfc4514``, ``code``, ``name``...). The diff of two sweeps of unchanged servers is
empty: what differs on every run is left out, field by field, as ``IGNORED_FIELDS`` says
(timings, connection counts, transcripts, what we offered), the throwaway certificates the
enforcement probe generates are compared by what they stand for, not their serial and dates
(``GENERATED_VOLATILE``), lists are sets unless their order is the server's answer
(``ORDERED_LISTS``), and ``probe_errors`` is compared by what failed, not by which probe a
shared handshake's failure was filed under.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from scanner.results.identity import TargetKey, format_endpoint, target_key

# Fields never compared, wherever they occur, and why: each differs between two runs against
# an unchanged server, or repeats another field.
IGNORED_FIELDS: dict[str, str] = {
    "schema": "the record format version, not the endpoint",
    "target": "the key records are matched by",
    "started_at": "when the scan ran",
    "duration_ms": "timing (the target's, or one handshake's)",
    "wait_ms": "how long we waited for tickets (a timing)",
    "stats": "connection counts: they follow scheduling, first-contact trials and shared work",
    "connections": "connections one enumeration used",
    "offered": "how much we offered, not what the server chose",
    "offer": "what we offered",
    "transcript": "transcript details: message sizes, ticket counts, read timing",
    "transcript_truncated": "a transcript detail",
    "der_b64": "repeats the certificate's parsed fields",
}

# In an object marked ``"generated": true`` (a certificate the enforcement probe made for this
# run), the fields that differ on every run; its subject, issuer and kind are compared.
GENERATED_VOLATILE = frozenset({"sha256", "serial", "not_before", "not_after", "spki_sha256"})

# Lists whose order is the server's answer (its preference, the chain as sent): a new order is
# a ``reordered`` change. Every other list is a set: only items added or removed count.
ORDERED_LISTS = frozenset({"suites", "groups", "supported", "certificates", "observed"})

ChangeKind = Literal["changed", "added", "removed", "reordered"]


class SweepFileError(Exception):
    """A results file cannot be read; one line naming the file and line."""


@dataclass
class SweepFile:
    path: Path
    records: dict[TargetKey, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class EndpointDiff:
    key: TargetKey
    label: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class SweepDiff:
    old: SweepFile
    new: SweepFile
    only_in_old: tuple[tuple[TargetKey, str], ...]
    only_in_new: tuple[tuple[TargetKey, str], ...]
    changed: tuple[EndpointDiff, ...]
    unchanged: int

    @property
    def differs(self) -> bool:
        return bool(self.only_in_old or self.only_in_new or self.changed)


def read_sweep(path: Path) -> SweepFile:
    """Records of a ``--format jsonl`` (or ``json``) results file, last record per target.

    A last line that is not valid JSON (a sweep killed mid-write) is skipped with a warning;
    any other bad line is an error.
    """
    result = SweepFile(path)
    try:
        with path.open(encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        raise SweepFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise SweepFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SweepFileError(f"{path}: cannot read ({exc.strerror})") from None
    stripped = "".join(lines).lstrip()
    if stripped.startswith("["):
        entries = _json_document(path, stripped)
    else:
        entries = list(_json_lines(path, lines, result.warnings))
    replaced = 0
    for where, record in entries:
        key, _label = _target_of(path, where, record)
        replaced += key in result.records
        result.records[key] = record
    if replaced:
        result.warnings.append(
            f"{path}: {replaced} record(s) repeat a target seen earlier in the file (appended "
            "sweeps?); the last record of each target is compared"
        )
    return result


def _json_document(path: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise SweepFileError(f"{path}: JSON nested too deeply; not an mtlsweep results "
                             "file") from None
    except json.JSONDecodeError as exc:
        raise SweepFileError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise SweepFileError(f"{path}: expected a JSON list of records")
    return [(f"{path}: record {i + 1}", item) for i, item in enumerate(data)]


def _json_lines(path: Path, lines: Sequence[str],
                warnings: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except RecursionError:
            raise SweepFileError(f"{path}:{index + 1}: JSON nested too deeply; not an "
                                 "mtlsweep record") from None
        except json.JSONDecodeError as exc:
            if index == last:
                warnings.append(f"{path}:{index + 1}: the last line is not a complete JSON "
                                f"record ({len(line.rstrip())} bytes); a sweep was probably "
                                "interrupted while writing it; it is ignored")
                continue
            raise SweepFileError(f"{path}:{index + 1}: not a JSON record ({exc.msg})") from None
        yield f"{path}:{index + 1}", record


def _target_of(path: Path, where: str, record: Any) -> tuple[TargetKey, str]:
    target = record.get("target") if isinstance(record, dict) else None
    if not isinstance(target, dict) or not isinstance(target.get("host"), str) \
            or not isinstance(target.get("port"), int):
        raise SweepFileError(f"{where}: not an mtlsweep record (no target host and port)")
    host, port, sni = target["host"], target["port"], target.get("sni")
    address = target.get("address") if target.get("per_address") is True else None
    return target_key(host, port, sni, address if isinstance(address, str) else None), \
        target_label(target)


def target_label(target: Mapping[str, Any]) -> str:
    host, port, sni = target.get("host"), target.get("port"), target.get("sni")
    endpoint = format_endpoint(str(host), int(port or 0))
    label = f"{target['name']} ({endpoint})" if target.get("name") else endpoint
    if sni and sni != str(host).lower():
        label += f" sni={sni}"
    return label


def diff_sweeps(old: SweepFile, new: SweepFile) -> SweepDiff:
    changed = []
    unchanged = 0
    for key, new_record in new.records.items():
        old_record = old.records.get(key)
        if old_record is None:
            continue
        changes = tuple(diff_values(old_record, new_record, ""))
        if changes:
            changed.append(EndpointDiff(key, target_label(new_record["target"]), changes))
        else:
            unchanged += 1
    return SweepDiff(
        old=old, new=new,
        only_in_old=tuple((k, target_label(r["target"])) for k, r in old.records.items()
                          if k not in new.records),
        only_in_new=tuple((k, target_label(r["target"])) for k, r in new.records.items()
                          if k not in old.records),
        changed=tuple(changed), unchanged=unchanged,
    )


def diff_values(old: Any, new: Any, path: str) -> Iterator[Change]:
    """Changes from ``old`` to ``new`` (JSON values), with dotted paths."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        if path == "probe_errors":
            yield from _diff_lists(_failures(old), _failures(new), path)
            return
        generated = old.get("generated") is True and new.get("generated") is True
        for key in dict.fromkeys([*old, *new]):
            if key in IGNORED_FIELDS or (generated and key in GENERATED_VOLATILE):
                continue
            child = f"{path}.{key}" if path else str(key)
            if key not in new:
                if old[key] not in (None, [], {}):
                    yield Change(child, "removed", old=old[key])
            elif key not in old:
                if new[key] not in (None, [], {}):
                    yield Change(child, "added", new=new[key])
            else:
                yield from diff_values(old[key], new[key], child)
        return
    if isinstance(old, list) and isinstance(new, list):
        yield from _diff_lists(old, new, path)
        return
    if old is None:
        yield Change(path, "added", new=new)
    elif new is None:
        yield Change(path, "removed", old=old)
    else:
        yield Change(path, "changed", old=old, new=new)


def _failures(errors: Mapping[str, Any]) -> list[str]:
    """``probe_errors`` as the set of what failed (kind and alert), whichever probe holds it."""
    return [f"{e.get('kind')}" + (f" ({e['alert']})" if e.get("alert") else "")
            for e in errors.values() if isinstance(e, dict)]


def _diff_lists(old: list[Any], new: list[Any], path: str) -> Iterator[Change]:
    matcher = next(m for m in _LIST_MATCHERS if m.fits(old, new))
    yield from matcher.diff(old, new, path, ordered=_list_name(path) in ORDERED_LISTS)


def _list_name(path: str) -> str:
    """The field a list is held in: ``cipher_suites.TLSv1.2.suites`` -> ``suites``."""
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def _canonical(value: Any) -> Any:
    """``value`` without what ``diff_values`` ignores, for comparing whole items."""
    if isinstance(value, dict):
        generated = value.get("generated") is True
        return {k: _canonical(v) for k, v in value.items() if k not in IGNORED_FIELDS
                and not (generated and k in GENERATED_VOLATILE)}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


class _ListMatcher(Protocol):
    """One way to pair up the items of two versions of a list and report what changed."""

    def fits(self, old: list[Any], new: list[Any]) -> bool:
        """Whether this way applies to these two lists."""

    def diff(self, old: list[Any], new: list[Any], path: str, *,
             ordered: bool) -> Iterator[Change]:
        """The changes from ``old`` to ``new``, at ``path`` (``ordered``: a new order of the
        same items is a change)."""


class _ByIdentity(ABC):
    """Objects paired by a name built from fields every object carries, unique on each side.

    Items only on one side are removed or added; paired items are diffed field by field; a
    change in the order of the paired items is one ``reordered`` change.
    """

    fields: tuple[str, ...]

    @abstractmethod
    def name(self, item: Mapping[str, Any]) -> str:
        """This item's name, shown in the change's path (``findings[id@version]``)."""

    def fits(self, old: list[Any], new: list[Any]) -> bool:
        items = old + new
        return (bool(items)
                and all(isinstance(x, dict) and all(f in x for f in self.fields) for x in items)
                and self._names_unique(old) and self._names_unique(new))

    def _names_unique(self, items: list[dict[str, Any]]) -> bool:
        names = [self.name(x) for x in items]
        return len(set(names)) == len(names)

    def diff(self, old: list[Any], new: list[Any], path: str, *,
             ordered: bool) -> Iterator[Change]:
        by_old = {self.name(x): x for x in old}
        by_new = {self.name(x): x for x in new}
        yield from (Change(f"{path}[{key}]", "removed", old=item)
                    for key, item in by_old.items() if key not in by_new)
        for key, item in by_new.items():
            if key not in by_old:
                yield Change(f"{path}[{key}]", "added", new=item)
            else:
                yield from diff_values(by_old[key], item, f"{path}[{key}]")
        if ordered:
            yield from _reordering(list(by_old), list(by_new), path)


def _reordering(old_names: list[str], new_names: list[str], path: str) -> Iterator[Change]:
    """One ``reordered`` change if the names on both sides are not in the same order."""
    common_old = [k for k in old_names if k in new_names]
    common_new = [k for k in new_names if k in old_names]
    if common_old != common_new:
        yield Change(path, "reordered", old=common_old, new=common_new)


class _ByIdAndVersion(_ByIdentity):
    """A finding is named by its id and, when it has one, the version it was seen on."""

    fields = ("id", "version")

    def name(self, item: Mapping[str, Any]) -> str:
        return f"{item['id']}@{item['version']}" if item["version"] else str(item["id"])


class _ByField(_ByIdentity):
    """Objects named by the value of one field (``rfc4514`` for CA names, ``code`` for suites)."""

    def __init__(self, field_name: str) -> None:
        self.fields = (field_name,)

    def name(self, item: Mapping[str, Any]) -> str:
        return str(item[self.fields[0]])


class _AsSetOfValues:
    """Scalars (names, codes, flags) compared as a set: items removed and added, or, when both
    sides hold the same items, one ``reordered`` change.

    Items are compared by their JSON text, so ``1``, ``"1"`` and ``true`` stay distinct; a
    value repeated more often on one side is not a change.
    """

    def fits(self, old: list[Any], new: list[Any]) -> bool:
        return all(not isinstance(x, dict | list) for x in old + new)

    def diff(self, old: list[Any], new: list[Any], path: str, *,
             ordered: bool) -> Iterator[Change]:
        keys_old, keys_new = [json.dumps(x) for x in old], [json.dumps(x) for x in new]
        if set(keys_old) == set(keys_new):
            if ordered and keys_old != keys_new:
                yield Change(path, "reordered", old=old, new=new)
            return
        for item, key in zip(old, keys_old, strict=True):
            if key not in keys_new:
                yield Change(path, "removed", old=item)
        for item, key in zip(new, keys_new, strict=True):
            if key not in keys_old:
                yield Change(path, "added", new=item)


class _AsAWhole:
    """Anything else (objects with no unique name, nested lists, a mix): the list changed,
    unless it holds the same items (in any order when it is a set) once ignored fields are
    left out."""

    def fits(self, old: list[Any], new: list[Any]) -> bool:
        return True

    def diff(self, old: list[Any], new: list[Any], path: str, *,
             ordered: bool) -> Iterator[Change]:
        keys_old = [json.dumps(_canonical(x), sort_keys=True) for x in old]
        keys_new = [json.dumps(_canonical(x), sort_keys=True) for x in new]
        same = keys_old == keys_new if ordered else sorted(keys_old) == sorted(keys_new)
        if not same:
            yield Change(path, "changed", old=old, new=new)


# How to pair list items, first that fits wins: objects by their most specific unique name,
# then scalars as a set, else the whole list.
_LIST_MATCHERS: tuple[_ListMatcher, ...] = (
    _ByIdAndVersion(),
    *(_ByField(name) for name in ("id", "rfc4514", "code", "name", "version", "oid", "path",
                                  "certificate")),
    _AsSetOfValues(),
    _AsAWhole(),
)


def diff_as_json(diff: SweepDiff) -> dict[str, Any]:
    def target(key: TargetKey, label: str) -> dict[str, Any]:
        found = {"host": key[0], "port": key[1], "sni": key[2], "label": label}
        return found if len(key) == 3 else {**found, "address": key[3]}

    return {
        "old": {"file": str(diff.old.path), "records": len(diff.old.records),
                "warnings": diff.old.warnings},
        "new": {"file": str(diff.new.path), "records": len(diff.new.records),
                "warnings": diff.new.warnings},
        "only_in_old": [target(k, label) for k, label in diff.only_in_old],
        "only_in_new": [target(k, label) for k, label in diff.only_in_new],
        "changed": [
            {"target": target(e.key, e.label),
             "changes": [{"path": c.path, "kind": c.kind, "old": c.old, "new": c.new}
                         for c in e.changes]}
            for e in diff.changed
        ],
        "unchanged": diff.unchanged,
    }
