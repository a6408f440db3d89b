"""The per-target memo's failure policy (probes/shared/memo.py), without timing: tasks are
ordered with events and ``wait_all_tasks_blocked``."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from scanner.probes.shared.memo import TargetMemo


class _Computation:
    """A computation that blocks until released, counting how often it ran."""

    def __init__(self, result: object = "answer", error: Exception | None = None) -> None:
        self.result = result
        self.error = error
        self.runs = 0
        self.release = trio.Event()

    async def __call__(self) -> object:
        self.runs += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.result


def test_concurrent_callers_share_one_computation() -> None:
    async def main() -> None:
        memo, compute = TargetMemo(), _Computation()
        answers: list[object] = []

        async def ask() -> None:
            answers.append(await memo.get("key", compute))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            nursery.start_soon(ask)
            await trio.testing.wait_all_tasks_blocked()
            compute.release.set()
        assert answers == ["answer", "answer"]
        assert compute.runs == 1
        assert await memo.get("key", compute) == "answer" and compute.runs == 1
        assert "key" in memo

    trio.run(main)


def test_distinct_keys_are_computed_apart() -> None:
    async def main() -> None:
        memo = TargetMemo()

        async def value(v: int) -> int:
            return v

        assert await memo.get(("a", 1), lambda: value(1)) == 1
        assert await memo.get(("a", 2), lambda: value(2)) == 2

    trio.run(main)


def test_an_exception_is_shared_with_every_caller_and_not_recomputed() -> None:
    async def main() -> None:
        memo = TargetMemo()
        compute = _Computation(error=ValueError("bug"))
        errors: list[BaseException] = []

        async def ask() -> None:
            try:
                await memo.get("key", compute)
            except ValueError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            await trio.testing.wait_all_tasks_blocked()  # the first is computing
            nursery.start_soon(ask)
            await trio.testing.wait_all_tasks_blocked()  # the second is waiting
            compute.release.set()
        assert [str(e) for e in errors] == ["bug", "bug"]
        with pytest.raises(ValueError, match="bug"):
            await memo.get("key", compute)  # a later caller too
        assert compute.runs == 1

    trio.run(main)


def test_a_cancelled_computation_leaves_nothing_and_a_waiter_recomputes() -> None:
    async def main() -> None:
        memo, compute = TargetMemo(), _Computation()
        answers: list[object] = []

        async def waiter() -> None:
            answers.append(await memo.get("key", compute))

        async with trio.open_nursery() as nursery:
            first = trio.CancelScope()

            async def first_caller() -> None:
                with first:
                    await memo.get("key", compute)

            nursery.start_soon(first_caller)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            assert compute.runs == 1 and "key" not in memo
            first.cancel()  # the computing task goes away before finishing
            await trio.testing.wait_all_tasks_blocked()
            assert compute.runs == 2  # the waiter did not hang: it computes afresh
            compute.release.set()
        assert answers == ["answer"]
        assert await memo.get("key", compute) == "answer" and compute.runs == 2

    trio.run(main)
