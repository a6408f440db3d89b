"""Nothing of a finished target stays alive: a long sweep's memory is flat because every
object a target's scan made (its session, shared work, enumerator, handshakes) is freed
once its record is written. Checked with weak references, not an RSS threshold."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
import trio

from scanner.config.targets import Target
from scanner.engine.handshake import HandshakeResult, TLSConnection
from scanner.engine.session import EndpointSession
from scanner.probes import DEFAULT_PROBES, ProbeOptions
from scanner.probes.shared.enumeration import Enumerator
from scanner.probes.shared.work import SharedWork
from scanner.run.sweep import SweepOptions, sweep
from tests.support.sinks import RecordList

pytestmark = pytest.mark.servers

_TRACKED = (EndpointSession, SharedWork, Enumerator, TLSConnection, HandshakeResult)


@pytest.mark.parametrize("collector", ["cyclic collector", "reference counts alone"])
def test_a_finished_targets_objects_are_collected(
        nginx_server, pki, monkeypatch: pytest.MonkeyPatch, collector: str) -> None:
    # "reference counts alone": with the cyclic collector off, a finished target must still
    # be freed at once. A reference cycle (a stored exception's traceback holding the frames
    # that hold its connection; the session's budget callback holding the record builder)
    # kept every target's results until the collector happened to run: tens of MB of a
    # sweep's peak.
    server = nginx_server(mode="ca_names")
    made: dict[str, list[weakref.ref[Any]]] = {cls.__name__: [] for cls in _TRACKED}
    for cls in _TRACKED:
        original = cls.__init__

        def tracking_init(self: Any, *args: Any, __original: Any = original,
                          **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            made[type(self).__name__].append(weakref.ref(self))

        monkeypatch.setattr(cls, "__init__", tracking_init)

    targets = [Target(host="127.0.0.1", port=server.port, sni=f"s{i}.localhost")
               for i in range(3)]
    sink = RecordList()
    options = SweepOptions(probes=DEFAULT_PROBES, timeout=5.0,
                           probe_options=ProbeOptions(ca_bundle=pki.server_ca_file))
    if collector == "reference counts alone":
        gc.disable()
    try:
        trio.run(sweep, targets, options, sink)
        if collector == "cyclic collector":
            gc.collect()
        # counted before the collector is on again: enabling it may run it at once
        alive = {name: sum(ref() is not None for ref in refs) for name, refs in made.items()}
    finally:
        gc.enable()
    assert [r.status for r in sink.records] == ["ok"] * 3
    assert all(made[cls.__name__] for cls in _TRACKED), made  # the tracking saw each kind
    assert alive == dict.fromkeys(alive, 0)
