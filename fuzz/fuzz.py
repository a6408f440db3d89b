"""Coverage-guided fuzzing of one ``scanner.wire`` parser with atheris (libFuzzer).

    python -m fuzz.fuzz TARGET [CORPUS_DIR ...] [-runs=N] [-max_total_time=S] [libFuzzer flags]
    python -m fuzz.fuzz --list

Run from the repository root, as a module, so that ``scanner`` and ``tests.support`` (whose
byte builders make the seeds) import without any path set-up.

Without a corpus directory the target's seeds are written to a temporary one. A crash (any
exception other than WireError) stops the run and writes the input to ``crash-*``; libFuzzer
prints ``Done N runs in S second(s)`` when a run ends cleanly.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["scanner"]):
    from fuzz import targets


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        names = "\n  ".join(targets.TARGETS)
        print("usage: python -m fuzz.fuzz TARGET [CORPUS_DIR] [libFuzzer flags]\n"
              f"targets:\n  {names}")
        sys.exit(0 if "--list" in sys.argv else 2)
    name, rest = sys.argv[1], sys.argv[2:]
    if not any(not arg.startswith("-") for arg in rest):
        corpus = Path(tempfile.mkdtemp(prefix=f"mtlsweep-fuzz-{name}-"))
        for index, seed in enumerate(targets.seeds(name)):
            (corpus / f"seed-{index}").write_bytes(seed)
        rest = [*rest, str(corpus)]

    def one_input(data: bytes) -> None:
        targets.run_one(name, data)

    atheris.Setup([sys.argv[0], *rest], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
