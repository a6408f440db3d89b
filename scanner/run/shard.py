"""Split one inventory over N machines: a deterministic, balanced partition of the targets.

Every target gets a digest of its identity (host, port, SNI) with SHA-256, which is the same
on every machine and Python version (unlike ``hash()``). Targets are sorted by digest and the
sorted list is cut into N contiguous runs whose sizes differ by at most one. So:

* the N shards together hold every target exactly once, whatever the input order;
* a shard's targets depend only on the set of targets, not on where or when it runs;
* adding or removing one target moves at most N - 1 others to another shard (only the runs'
  boundaries shift), so a shard re-run with ``--resume`` after a small inventory change
  keeps almost all of its finished work.

Shards are numbered from 1 on the command line (``--shard 2/4``), like most CLI tools;
Kubernetes' ``JOB_COMPLETION_INDEX`` counts from 0 and is converted.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from scanner.results.identity import TargetKey

Item = TypeVar("Item")
Key = TargetKey

SHARD_ENV = "MTLSWEEP_SHARD"
SHARDS_ENV = "MTLSWEEP_SHARDS"
K8S_INDEX_ENV = "JOB_COMPLETION_INDEX"
MAX_SHARDS = 100_000


class ShardError(ValueError):
    """A shard specification that cannot be used; the message says what to write instead."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ShardError(f"the number of shards must be 1-{MAX_SHARDS}, got {self.count}")
        if not 1 <= self.index <= self.count:
            raise ShardError(
                f"shard {self.index} does not exist: shards are numbered 1 to {self.count}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``I/N`` with 1 <= I <= N."""
    index, slash, count = text.strip().partition("/")
    if not slash or not index.strip().isdigit() or not count.strip().isdigit():
        raise ShardError(f"shard {text!r} must look like I/N, e.g. 1/4 (the first of 4 shards)")
    return Shard(int(index), int(count))


def shard_from_settings(shard: str | None, shards: int | None,
                        environ: Mapping[str, str] = os.environ) -> Shard | None:
    """The shard to scan from ``--shard I/N``, or ``--shards N`` plus ``JOB_COMPLETION_INDEX``.

    ``--shard`` wins; giving both is fine only when they agree on N.
    """
    if shard is not None:
        chosen = parse_shard(shard)
        if shards is not None and shards != chosen.count:
            raise ShardError(f"--shard {chosen} and --shards {shards} disagree on the number "
                             "of shards; give one of them")
        return chosen
    if shards is None:
        return None
    index = environ.get(K8S_INDEX_ENV)
    if index is None:
        raise ShardError(f"--shards {shards} needs {K8S_INDEX_ENV} (set by a Kubernetes Indexed "
                         "Job) to pick this run's shard; elsewhere use --shard I/N")
    if not index.strip().isdigit():
        raise ShardError(f"{K8S_INDEX_ENV}={index!r} is not a shard index (0, 1, 2...)")
    if int(index) >= shards:
        raise ShardError(f"{K8S_INDEX_ENV}={index} is out of range for --shards {shards} "
                         f"(indexes 0-{shards - 1}): make the Job's completions equal --shards")
    return Shard(int(index) + 1, shards)


def key_digest(key: Key) -> bytes:
    """A stable digest of a target's identity: same bytes on every machine and run."""
    return hashlib.sha256(json.dumps(list(key), separators=(",", ":")).encode()).digest()


def shard_bounds(total: int, shard: Shard) -> tuple[int, int]:
    """The [start, end) run of the digest-sorted targets that belongs to ``shard``."""
    return ((shard.index - 1) * total // shard.count, shard.index * total // shard.count)


def select_shard(items: Sequence[Item], shard: Shard, key: Callable[[Item], Key]) -> list[Item]:
    """The items of ``shard``, in their input order (so shard output diffs like the whole)."""
    ranked = sorted(range(len(items)), key=lambda i: (key_digest(key(items[i])), i))
    start, end = shard_bounds(len(items), shard)
    chosen = set(ranked[start:end])
    return [item for i, item in enumerate(items) if i in chosen]


SHARD_PLACEHOLDER = "{shard}"


def output_for_shard(path: Path | None, shard: Shard | None) -> Path | None:
    """Fill ``{shard}`` in an output path with the shard number (1-based), e.g.
    ``results/shard-{shard}.jsonl``, so every pod of an Indexed Job writes its own file."""
    if path is None or SHARD_PLACEHOLDER not in str(path):
        return path
    if shard is None:
        raise ShardError(f"the output path {path} contains {SHARD_PLACEHOLDER} but no shard was "
                         "chosen (--shard I/N, or --shards N with JOB_COMPLETION_INDEX)")
    return Path(str(path).replace(SHARD_PLACEHOLDER, str(shard.index)))
