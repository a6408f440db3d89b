"""The CLI's exit: atexit handlers and buffered output kept, the interpreter's teardown skipped."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from scanner.cli.process_exit import exit_code

_PRELUDE = """
import atexit, sys, threading, time
from scanner.cli.process_exit import exit_now

class Noisy:
    def __del__(self):
        print("torn down", flush=True)

kept = Noisy()  # a module global: freed only by the interpreter's teardown
atexit.register(lambda: print("atexit ran"))
sys.stdout.write("buffered, no newline")
"""


def _run(body: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(_PRELUDE) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_teardown_is_skipped_and_nothing_written_is_lost() -> None:
    done = _run("exit_now(3)\n")
    assert done.returncode == 3
    assert done.stdout == "buffered, no newlineatexit ran\n"  # flushed after the handlers
    assert "torn down" not in done.stdout


def test_a_thread_still_working_gets_a_normal_exit() -> None:
    done = _run("""
        def late():
            time.sleep(0.2)
            print(" late thread done", flush=True)
        threading.Thread(target=late).start()
        exit_now(4)
        """)
    assert done.returncode == 4
    assert "late thread done" in done.stdout and "atexit ran" in done.stdout


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), ("bad input", 1)])
def test_exit_code_follows_system_exit(code: object, status: int,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(code) == status
    assert capsys.readouterr().err == ("bad input\n" if isinstance(code, str) else "")


def test_the_command_line_exits_with_its_codes() -> None:
    version = subprocess.run([sys.executable, "-m", "scanner", "--version"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert (version.returncode, version.stdout.strip().split()[0]) == (0, "mtlsweep")
    bad = subprocess.run([sys.executable, "-m", "scanner", "scan", "--no-such-option"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "No such option" in bad.stderr


def test_a_process_started_without_stdout_exits_cleanly() -> None:
    code = "from scanner.cli.process_exit import exit_now\nexit_now(5)\n"
    done = subprocess.run(["sh", "-c", f'exec "{sys.executable}" -c "$0" >&-', code],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (5, "")
