"""Sharding: N shards partition any target list exactly, evenly and the same way everywhere."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.run.shard import (
    Shard,
    ShardError,
    key_digest,
    output_for_shard,
    parse_shard,
    select_shard,
    shard_from_settings,
)

Key = tuple[str, int, str | None]

hosts = st.builds(
    lambda label, domain: f"{label}.{domain}",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10),
    st.sampled_from(["example.com", "corp.internal", "test"]),
) | st.builds(lambda a, b: f"10.{a}.{b}.1", st.integers(0, 255), st.integers(0, 255))
keys = st.tuples(hosts, st.integers(1, 65535), st.none() | hosts)
key_lists = st.lists(keys, unique=True, max_size=200)


def identity(key: Key) -> Key:
    return key


def shards_of(items: list[Key], count: int) -> list[list[Key]]:
    return [select_shard(items, Shard(i, count), identity) for i in range(1, count + 1)]


@settings(max_examples=200, deadline=None)
@given(items=key_lists, count=st.integers(1, 40))
def test_shards_partition_the_targets_evenly(items: list[Key], count: int) -> None:
    parts = shards_of(items, count)
    union = [key for part in parts for key in part]
    assert sorted(union, key=repr) == sorted(items, key=repr), "no target lost or duplicated"
    assert len(union) == len(set(union))
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1, f"unbalanced shards {sizes}"
    where = {key: i for i, key in enumerate(items)}
    for part in parts:  # each shard keeps the input order, so its output diffs like the whole
        positions = [where[key] for key in part]
        assert positions == sorted(positions)


@settings(max_examples=100, deadline=None)
@given(items=key_lists, count=st.integers(1, 20), seed=st.integers())
def test_assignment_does_not_depend_on_input_order(items: list[Key], count: int,
                                                    seed: int) -> None:
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    for original, reordered in zip(shards_of(items, count), shards_of(shuffled, count),
                                   strict=True):
        assert set(original) == set(reordered)


@settings(max_examples=100, deadline=None)
@given(items=key_lists.filter(bool), extra=keys, count=st.integers(1, 20))
def test_adding_a_target_moves_at_most_one_target_per_shard_boundary(
        items: list[Key], extra: Key, count: int) -> None:
    if extra in items:
        return
    before = {key: i for i, part in enumerate(shards_of(items, count)) for key in part}
    after = {key: i for i, part in enumerate(shards_of([*items, extra], count)) for key in part}
    moved = [key for key in items if before[key] != after[key]]
    assert len(moved) <= count - 1


def test_digest_is_the_same_on_every_machine() -> None:
    # SHA-256 of the JSON key, not Python's per-process hash(): golden values pin it, so a
    # change of the partition (which would strand resumed shard files) cannot go unnoticed.
    digest = key_digest(("api.example.com", 443, "api.example.com")).hex()
    assert digest == GOLDEN_DIGEST
    items = [(f"host{i}.example.com", 443, None) for i in range(10)]
    assert select_shard(items, Shard(2, 3), identity) == GOLDEN_SHARD_2_OF_3


GOLDEN_DIGEST = "463a941e70c69b0583431134493b29667fcf2d573d91e6c872a2aebc0a324089"
GOLDEN_SHARD_2_OF_3: list[Key] = [("host3.example.com", 443, None),
                                  ("host4.example.com", 443, None),
                                  ("host6.example.com", 443, None)]


@pytest.mark.parametrize(("text", "expected"), [("1/4", Shard(1, 4)), (" 4/4 ", Shard(4, 4)),
                                                ("1/1", Shard(1, 1))])
def test_parse_shard(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("0/4", "numbered 1 to 4"), ("5/4", "numbered 1 to 4"), ("2", "must look like I/N"),
    ("a/b", "must look like I/N"), ("1/0", "must be 1-"),
])
def test_bad_shards_are_explained(text: str, message: str) -> None:
    with pytest.raises(ShardError, match=message):
        parse_shard(text)


def test_kubernetes_index_is_zero_based() -> None:
    assert shard_from_settings(None, 4, {"JOB_COMPLETION_INDEX": "0"}) == Shard(1, 4)
    assert shard_from_settings(None, 4, {"JOB_COMPLETION_INDEX": "3"}) == Shard(4, 4)
    assert shard_from_settings(None, None, {"JOB_COMPLETION_INDEX": "3"}) is None
    assert shard_from_settings("2/4", 4, {}) == Shard(2, 4)
    with pytest.raises(ShardError, match="out of range for --shards 4"):
        shard_from_settings(None, 4, {"JOB_COMPLETION_INDEX": "4"})
    with pytest.raises(ShardError, match="needs JOB_COMPLETION_INDEX"):
        shard_from_settings(None, 4, {})
    with pytest.raises(ShardError, match="disagree"):
        shard_from_settings("1/3", 4, {})


def test_output_path_gets_the_shard_number(tmp_path) -> None:
    template = tmp_path / "shard-{shard}.jsonl"
    assert output_for_shard(template, Shard(3, 8)) == tmp_path / "shard-3.jsonl"
    assert output_for_shard(tmp_path / "all.jsonl", None) == tmp_path / "all.jsonl"
    with pytest.raises(ShardError, match="no shard was chosen"):
        output_for_shard(template, None)
