"""The sweep's scheduler: listener and address bounds, admission, first contact, --rate.

The bounds are checked on trio's virtual clock (exact, no timing); the first-contact rule and
the target budget against real listeners and the hostile peers of tests.support.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
import trio
from trio.testing import MockClock

from scanner.config.targets import Target
from scanner.engine.contexts import ContextFactory
from scanner.engine.session import ConnectionLimits, limit_key
from scanner.lab.server import LabServer, ListenerConfig
from scanner.probes import DEFAULT_PROBES
from scanner.results import ErrorKind
from scanner.run.runner import run_all
from scanner.run.scan import Scanner, ScanSettings
from tests.conftest import scan_targets
from tests.support import hostile as h
from tests.support.processes import free_port, http_400, tarpit


def test_ipv4_mapped_addresses_are_one_address() -> None:
    assert limit_key("::ffff:127.0.0.1") == "127.0.0.1" == limit_key("127.0.0.1")
    assert limit_key("::FFFF:7f00:1") == "127.0.0.1"
    assert limit_key("2001:DB8::1") == "2001:db8::1"
    assert limit_key("Example.ORG") == "example.org"


def run_virtual(limits: ConnectionLimits, who: list[tuple[str, int]]) -> tuple[
        Counter[str], Counter[tuple[str, int]]]:
    """Hold a slot for each (ip, port) for one virtual second; the peaks per address/listener."""
    now: Counter[str] = Counter()
    listeners: Counter[tuple[str, int]] = Counter()
    peak: Counter[str] = Counter()
    peak_listener: Counter[tuple[str, int]] = Counter()

    async def connect(ip: str, port: int) -> None:
        async with limits.slot(ip, port):
            address, listener = limit_key(ip), (limit_key(ip), port)
            now[address] += 1
            listeners[listener] += 1
            peak[address] = max(peak[address], now[address])
            peak_listener[listener] = max(peak_listener[listener], listeners[listener])
            await trio.sleep(1)
            now[address] -= 1
            listeners[listener] -= 1

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for ip, port in who:
                nursery.start_soon(connect, ip, port)

    trio.run(main, clock=MockClock(autojump_threshold=0))
    return peak, peak_listener


def test_per_address_bound_counts_both_spellings_of_one_address() -> None:
    spellings = ["127.0.0.1", "::ffff:127.0.0.1"] * 10
    peak, _ = run_virtual(ConnectionLimits(100, 2), [(ip, 443) for ip in spellings])
    assert peak == {"127.0.0.1": 2}


def test_listeners_are_bounded_apart_within_their_address() -> None:
    who = [("192.0.2.1", port) for port in range(1000, 1010) for _ in range(6)]
    peak, per_listener = run_virtual(ConnectionLimits(100, 16, per_listener=3), who)
    # Each listener within its own bound (how many reach it depends on the order trio runs
    # the tasks in, which is shuffled once hypothesis is imported: trio registers with it) ...
    assert max(per_listener.values()) <= 3
    assert peak == {"192.0.2.1": 16}  # ... and together at the address's


def test_rate_never_exceeds_n_starts_in_any_one_second_window() -> None:
    """Even spacing alone put 51 starts in a closed 1-s window at --rate 50."""

    async def main() -> list[float]:
        limits = ConnectionLimits(1000, 1000, rate=50)
        starts: list[float] = []

        async def connect(index: int) -> None:
            async with limits.slot(f"192.0.2.{index % 7}", 443):
                starts.append(trio.current_time())
                await trio.sleep(3)

        async with trio.open_nursery() as nursery:
            for index in range(300):
                nursery.start_soon(connect, index)
        return starts

    starts = sorted(trio.run(main, clock=MockClock(autojump_threshold=0)))
    assert len(starts) == 300
    busiest = max(sum(1 for t in starts if s <= t <= s + 1.0) for s in starts)
    assert busiest == 50
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) > 0.0  # still spread out, not bursts


def test_runner_admits_by_key_without_head_of_line_blocking() -> None:
    """Items of a full key wait while later items of other keys start; no key is over
    capacity; the input is read only a bounded distance ahead."""
    items = ["busy"] * 6 + ["free"] * 4 + ["busy"] * 2 + ["other"] * 3
    pulled = 0

    def source():  # type: ignore[no-untyped-def]
        nonlocal pulled
        for item in items:
            pulled += 1
            yield item

    running: Counter[str] = Counter()
    started: list[tuple[float, str]] = []
    most_ahead = 0

    async def scan(item: str) -> str:
        nonlocal most_ahead
        running[item] += 1
        assert running[item] <= (1 if item == "busy" else 2)
        started.append((trio.current_time(), item))
        most_ahead = max(most_ahead, pulled - len(started))
        await trio.sleep(1)
        running[item] -= 1
        return item

    done: list[str] = []

    async def main() -> None:
        await run_all(source(), scan, workers=4, sink=lambda item, result: done.append(result),
                      fallback=lambda item, exc: "failed",
                      admission=lambda item: [(item, 1 if item == "busy" else 2)],
                      lookahead=8)

    trio.run(main, clock=MockClock(autojump_threshold=0))
    assert sorted(done) == sorted(items)
    at_start = Counter(item for when, item in started if when == 0)
    assert at_start == {"busy": 1, "free": 2}, started  # 'free' did not wait behind 'busy'
    assert most_ahead <= 8 + 4


@pytest.mark.parametrize("probes", [DEFAULT_PROBES, ("protocols", "cipher_suites")],
                         ids=["every probe", "raw hellos only"])
def test_a_target_that_speaks_no_tls_costs_at_most_two_connections(
        probes: tuple[str, ...]) -> None:
    """Refused, silent (tarpit) and plain-HTTP peers: two connections each, then given up
    (they used to make 15-18 connections); full handshakes and raw hellos alike."""
    closed = free_port()
    with tarpit() as silent, http_400() as plain:
        targets = [Target(host="127.0.0.1", port=port, sni="localhost", name=name)
                   for name, port in (("refused", closed), ("tarpit", silent.port),
                                      ("http", plain.port))]
        records = scan_targets(targets, timeout=1.0, probes=probes)
    by_name = {record.target.name: record for record in records}
    assert by_name["refused"].error is not None
    assert by_name["refused"].error.kind is ErrorKind.connection_refused
    assert by_name["tarpit"].error is not None
    assert by_name["tarpit"].error.kind is ErrorKind.timeout
    assert by_name["http"].error is not None
    assert by_name["http"].error.kind is ErrorKind.not_tls
    assert {name: r.stats.connections for name, r in by_name.items()} == {
        "refused": 2, "tarpit": 2, "http": 2}


def test_the_target_budget_starts_with_its_first_connection() -> None:
    """A target that waits for its listener's only slot longer than its whole budget still
    finishes: queueing is not the target's time, and duration_ms leaves it out."""
    budget, held_for = 3.0, 4.0
    with LabServer(ListenerConfig(certificate=h.lab_certificate())) as server:
        target = Target(host=server.host, port=server.port, sni="localhost")
        limits = ConnectionLimits(8, 8, per_listener=1)
        scanner = Scanner(ScanSettings(probes=("client_auth",), timeout=5.0,
                                       target_timeout=budget),
                          limits=limits, contexts=ContextFactory())

        async def main() -> object:
            holding = trio.Event()

            async def occupy() -> None:
                async with limits.slot(server.host, server.port):
                    holding.set()
                    await trio.sleep(held_for)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(occupy)
                await holding.wait()
                return await scanner.scan(target)

        record = trio.run(main)
    assert record.status == "ok", record.error  # type: ignore[attr-defined]
    assert record.duration_ms < held_for * 1000  # type: ignore[attr-defined]
