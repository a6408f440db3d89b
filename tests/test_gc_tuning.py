"""The collector pause around a command's start-up always ends, even when the start-up fails."""

from __future__ import annotations

import gc

import pytest

from scanner.run import gc_tuning


def test_startup_pauses_the_collector_and_freezes_what_it_built() -> None:
    assert gc.isenabled()
    try:
        with gc_tuning.startup():
            assert not gc.isenabled()
            built = [[] for _ in range(10)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(built)
    finally:
        gc.unfreeze()


def test_startup_enables_the_collector_again_after_a_failure() -> None:
    frozen = gc.get_freeze_count()
    with pytest.raises(RuntimeError), gc_tuning.startup():
        raise RuntimeError("usage error")
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # nothing frozen on the way out of a failure


def test_the_command_line_enables_the_collector_again_after_parsing() -> None:
    from typer.testing import CliRunner

    from scanner.cli.app import app

    runner = CliRunner()
    try:
        assert runner.invoke(app, ["scan", "--no-such-option"]).exit_code == 2
        assert gc.isenabled()
        assert runner.invoke(app, ["schema"]).exit_code == 0
        assert gc.isenabled()
    finally:
        gc.unfreeze()
