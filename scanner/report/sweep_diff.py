"""What changed between two sweeps, endpoint by endpoint.

Records are matched by target (host, port, SNI). Every facet is compared generically, so a
facet a later probe adds (versions, suites, policy match, OCSP, tickets...) is diffed without
code here: dicts key by key, lists of names as sets, lists of objects by their identity field
(``id``, ``rfc4514``, ``code``, ``name``...). Fields that differ on every run (timings, the
transcript, what we offered) are left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from scanner.results.identity import TargetKey, format_endpoint, target_key

# Fields that change on every run or repeat another field; never reported.
IGNORED_FIELDS = frozenset({
    "schema", "started_at", "duration_ms", "stats", "transcript", "offer", "der_b64", "target",
})
# Fields that identify an item inside a list of objects, most specific first.
_IDENTITY_FIELDS = ("id", "rfc4514", "code", "name", "version", "oid", "path")

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
    return target_key(host, port, sni), target_label(target)


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
        for key in dict.fromkeys([*old, *new]):
            if key in IGNORED_FIELDS:
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


def _diff_lists(old: list[Any], new: list[Any], path: str) -> Iterator[Change]:
    identity = _identity_of(old, new)
    if identity is None:
        if all(not isinstance(x, dict | list) for x in old + new):
            keys_old, keys_new = [json.dumps(x) for x in old], [json.dumps(x) for x in new]
            if sorted(keys_old) == sorted(keys_new):
                yield Change(path, "reordered", old=old, new=new)
                return
            for item, key in zip(old, keys_old, strict=True):
                if key not in keys_new:
                    yield Change(path, "removed", old=item)
            for item, key in zip(new, keys_new, strict=True):
                if key not in keys_old:
                    yield Change(path, "added", new=item)
            return
        yield Change(path, "changed", old=old, new=new)
        return
    by_old = {identity(x): x for x in old}
    by_new = {identity(x): x for x in new}
    for key, item in by_old.items():
        if key not in by_new:
            yield Change(f"{path}[{key}]", "removed", old=item)
    for key, item in by_new.items():
        if key not in by_old:
            yield Change(f"{path}[{key}]", "added", new=item)
        else:
            yield from diff_values(by_old[key], item, f"{path}[{key}]")
    common_old = [k for k in by_old if k in by_new]
    common_new = [k for k in by_new if k in by_old]
    if common_old != common_new:
        yield Change(path, "reordered", old=common_old, new=common_new)


def _identity_of(old: list[Any], new: list[Any]) -> Callable[[dict[str, Any]], str] | None:
    """A function naming each dict item uniquely (e.g. a finding by id and version), or None."""
    items = old + new
    if not items or not all(isinstance(x, dict) for x in items):
        return None
    candidates: list[Callable[[dict[str, Any]], str]] = []
    if all("id" in x and "version" in x for x in items):
        candidates.append(lambda x: f"{x['id']}@{x['version']}" if x["version"] else str(x["id"]))
    for name in _IDENTITY_FIELDS:
        if all(name in x for x in items):
            candidates.append(lambda x, name=name: str(x[name]))  # type: ignore[misc]
    for candidate in candidates:
        for side in (old, new):
            keys = [candidate(x) for x in side]
            if len(set(keys)) != len(keys):
                break
        else:
            return candidate
    return None


def diff_as_json(diff: SweepDiff) -> dict[str, Any]:
    def target(key: TargetKey, label: str) -> dict[str, Any]:
        return {"host": key[0], "port": key[1], "sni": key[2], "label": label}

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
