"""Combine result files (the shards of one sweep, or a run and its resumed tail) into one.

The merge indexes every record by target (file, offset, start time) without keeping the
records themselves, picks one record per target, and replays the chosen ones from disk in
inventory order (or first-seen order without an inventory), so memory stays flat however
large the sweep. It reports what a complete sweep must not have: targets recorded more than
once (the newest record wins), inventory targets with no record, records of targets outside
the inventory (kept), and torn last lines left by killed shards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from scanner.report.jsonl import JsonlError, JsonlReader, RawRecord, TornLine
from scanner.results import Record
from scanner.results.identity import TargetKey, endpoint_key, key_label

# Shard files kept open at once while replaying (a merge of thousands of shards must not run
# out of file descriptors).
_OPEN_FILES = 32


class ExpectedTarget(Protocol):
    """What a merge needs of an inventory target (the configuration's ``Target`` is one)."""

    @property
    def key(self) -> TargetKey: ...
    @property
    def label(self) -> str: ...
    @property
    def origin(self) -> str: ...


@dataclass(frozen=True)
class Location:
    path: Path
    line_number: int
    offset: int
    length: int
    started_at: datetime | None

    def __str__(self) -> str:
        return f"{self.path}:{self.line_number}"


@dataclass
class MergePlan:
    files: list[Path]
    chosen: dict[TargetKey, Location] = field(default_factory=dict)
    order: list[TargetKey] = field(default_factory=list)
    duplicates: dict[TargetKey, list[Location]] = field(default_factory=dict)
    missing: list[ExpectedTarget] = field(default_factory=list)
    unexpected: list[TargetKey] = field(default_factory=list)
    torn: list[TornLine] = field(default_factory=list)
    lines: int = 0

    @property
    def complete(self) -> bool:
        """No inventory target lacks a record and no record was lost to a torn line."""
        return not self.missing and not self.torn


def _started_at(line: RawRecord) -> datetime | None:
    value = line.data.get("started_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _newer(candidate: Location, current: Location) -> bool:
    """The newest scan wins; without comparable times the later file (or line) does."""
    if candidate.started_at is not None and current.started_at is not None \
            and candidate.started_at != current.started_at:
        return candidate.started_at > current.started_at
    return True  # files are read in the order given, so the candidate came later


def plan_merge(files: Sequence[Path], inventory: Sequence[ExpectedTarget] | None = None
               ) -> MergePlan:
    """Index ``files`` and decide which record represents each target.

    Raises JsonlError for an unreadable file or a corrupt line before a file's end.
    """
    plan = MergePlan(files=list(files))
    first_seen: list[TargetKey] = []
    for path in files:
        reader = JsonlReader(path)
        for line in reader:
            plan.lines += 1
            location = Location(path, line.line_number, line.offset, len(line.raw),
                                _started_at(line))
            key = line.key
            current = plan.chosen.get(key)
            if current is None:
                plan.chosen[key] = location
                first_seen.append(key)
                continue
            plan.duplicates.setdefault(key, [current]).append(location)
            if _newer(location, current):
                plan.chosen[key] = location
        if reader.torn is not None:
            plan.torn.append(reader.torn)
    if inventory is None:
        plan.order = first_seen
        return plan
    # A target scanned with --all-addresses has one record per address (keys with a 4th part).
    per_address: dict[TargetKey, list[TargetKey]] = {}
    for key in first_seen:
        if len(key) == 4:
            per_address.setdefault(endpoint_key(key), []).append(key)
    claimed: set[TargetKey] = set()
    for target in inventory:
        keys = [target.key] if target.key in plan.chosen else []
        keys += per_address.get(target.key, [])
        if not keys:
            plan.missing.append(target)
        plan.order += [key for key in keys if key not in claimed]
        claimed.update(keys)
    plan.unexpected = [key for key in first_seen if key not in claimed]
    plan.order += plan.unexpected
    return plan


class _Files:
    """Open result files on demand, keeping at most a few open."""

    def __init__(self) -> None:
        self._open: dict[Path, BinaryIO] = {}

    def read(self, location: Location) -> bytes:
        handle = self._open.pop(location.path, None)
        if handle is None:
            if len(self._open) >= _OPEN_FILES:
                oldest = next(iter(self._open))
                self._open.pop(oldest).close()
            handle = location.path.open("rb")
        self._open[location.path] = handle  # most recently used last
        handle.seek(location.offset)
        return handle.read(location.length)

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()


def chosen_raw(plan: MergePlan) -> Iterator[bytes]:
    """The chosen records' bytes, exactly as written, in the plan's order."""
    files = _Files()
    try:
        for key in plan.order:
            yield files.read(plan.chosen[key])
    finally:
        files.close()


class ChosenRecords:
    """The chosen records as models, re-iterable (JUnit and SARIF read them twice)."""

    def __init__(self, plan: MergePlan) -> None:
        self.plan = plan

    def __iter__(self) -> Iterator[Record]:
        for key, raw in zip(self.plan.order, chosen_raw(self.plan), strict=True):
            try:
                yield Record.model_validate_json(raw)
            except ValueError as exc:
                where = self.plan.chosen[key]
                summary = " ".join(str(exc).splitlines()[:3])
                raise JsonlError(f"{where}: not a valid mtlsweep record: {summary}") from None


def describe_plan(plan: MergePlan, *, inventory_given: bool, examples: int = 10) -> list[str]:
    """The merge report: one line of counts, then one line per kind of problem."""
    lines = [f"mtlsweep merge: {len(plan.order)} target(s) from {plan.lines} record(s) in "
             f"{len(plan.files)} file(s)"]
    if plan.duplicates:
        shown = "; ".join(
            f"{key_label(key)} ({', '.join(map(str, where))}; kept {plan.chosen[key]})"
            for key, where in list(plan.duplicates.items())[:examples])
        lines.append(f"  duplicates: {len(plan.duplicates)} target(s) recorded more than once, "
                     f"the newest record kept: {shown}{_more(len(plan.duplicates), examples)}")
    if plan.missing:
        shown = "; ".join(f"{target.label} ({target.origin})"
                          for target in plan.missing[:examples])
        lines.append(f"  missing: {len(plan.missing)} inventory target(s) have no record: "
                     f"{shown}{_more(len(plan.missing), examples)}")
    if plan.unexpected:
        shown = "; ".join(key_label(key) for key in plan.unexpected[:examples])
        lines.append(f"  not in the inventory: {len(plan.unexpected)} record(s), kept: "
                     f"{shown}{_more(len(plan.unexpected), examples)}")
    for torn in plan.torn:
        lines.append(f"  {torn.describe()}")
    if plan.torn and not inventory_given:
        lines.append("  give the inventory (--inventory) to learn which targets are missing")
    return lines


def _more(total: int, shown: int) -> str:
    return f" (and {total - shown} more)" if total > shown else ""
