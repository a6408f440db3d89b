"""The fuzz targets (fuzz/targets.py) cover every wire parser, and their seeds are valid."""

from __future__ import annotations

import pytest

from fuzz import targets
from scanner import wire
from tests.support import tlsbytes as tb

_ENTRY_POINTS = ("decode_oid", "RecordTracker", "looks_like_tls", "describe_non_tls",
                 "Http1Exchange", "Http2Exchange")


def test_every_wire_parser_has_a_fuzz_target() -> None:
    parsers = {name for name in wire.__all__
               if name.startswith(("parse_", "split_")) or name in _ENTRY_POINTS}
    covered = {name for name in parsers
               if any(t.parser is getattr(wire, name) for t in targets.TARGETS.values())}
    assert parsers - covered == set(), "add these to fuzz/targets.py"


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_seeds_parse_cleanly(name: str) -> None:
    seeds = targets.seeds(name)
    assert seeds
    for seed in seeds:
        targets.TARGETS[name].run(seed)  # valid input: no WireError
        targets.run_one(name, seed)


def test_run_one_lets_anything_but_wire_error_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes) -> object:
        raise IndexError("a parser bug")

    monkeypatch.setitem(targets.TARGETS, "broken", targets.Target(broken, broken))
    with pytest.raises(IndexError):
        targets.run_one("broken", b"")


def test_lazy_properties_may_answer_wire_error() -> None:
    """A ServerHello whose ALPN, renegotiation_info and ec_point_formats extensions are
    malformed parses; reading those properties raises WireError, which is their documented
    answer, so the harness must not count it as a crash (found by fuzz.run_all)."""
    malformed = (tb.ext(wire.ExtensionType.application_layer_protocol_negotiation, b"\x00")
                 + tb.ext(wire.ExtensionType.renegotiation_info, b"\x05")
                 + tb.ext(wire.ExtensionType.ec_point_formats, b""))
    body = tb.server_hello(extensions=malformed)[4:]
    with pytest.raises(wire.WireError):
        _ = wire.parse_server_hello(body).alpn_protocols
    targets.run_one("server_hello", body)
