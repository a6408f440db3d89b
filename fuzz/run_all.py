"""Fuzz every ``scanner.wire`` target in turn and report how many executions ran clean.

    python -m fuzz.run_all [--runs N] [--jobs J] [TARGET ...]     # from the repository root

Each target runs in its own ``python -m fuzz.fuzz`` process (atheris) for ``--runs`` executions. The
summary lists executions per target; the exit status is 1 if any target crashed (its
``crash-*`` input is left in the current directory).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from fuzz import targets

_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def fuzz(name: str, runs: int) -> tuple[str, int, float, str | None]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "fuzz.fuzz", name, f"-runs={runs}",
                           "-print_final_stats=0"], capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    match = _DONE.search(done.stderr)
    if done.returncode != 0 or match is None:
        return name, 0, elapsed, done.stderr[-3000:]
    return name, int(match.group(1)), elapsed, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="executions per target")
    parser.add_argument("--jobs", type=int, default=1, help="targets fuzzed in parallel")
    parser.add_argument("names", nargs="*", help="targets (default: all)")
    options = parser.parse_args()
    names = options.names or list(targets.TARGETS)
    total = 0
    crashed = []
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for name, runs, elapsed, failure in pool.map(lambda n: fuzz(n, options.runs), names):
            if failure is not None:
                crashed.append(name)
                print(f"{name:26} CRASHED after {elapsed:.0f}s\n{failure}")
                continue
            total += runs
            print(f"{name:26} {runs:>10,} executions, no crash ({elapsed:.0f}s)", flush=True)
    print(f"total: {total:,} executions over {len(names) - len(crashed)} target(s) without a "
          f"crash" + (f"; crashed: {', '.join(crashed)}" if crashed else ""))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
