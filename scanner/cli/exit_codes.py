"""Exit codes of ``mtlsweep`` and the help text that lists them: a module of its own so the
help is built without importing what the commands do."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_OUTPUT = 0, 1, 2, 3, 4
EXIT_SIGNALLED = 128  # plus the signal's number, as shells report a process a signal stopped

SCAN_EXIT_CODES_HELP = """\
Exit codes: 0 every target was scanned and every expectation met; 1 an expectation failed or
could not be evaluated (unless --allow-unevaluated), or a finding is at or above --fail-on;
2 usage, inventory or policy-file error (nothing was scanned); 3 some targets could not be
scanned (DNS, refused, timeout, not TLS...) or only partly (status partial: some probes
failed) unless --allow-unreachable (or, for partial ones, --allow-partial) is given; 4 the
output or the --keylog file could not be written (checked before the first connection; a
failure mid-sweep keeps every record already written and names the file). With --resume, the
code speaks for every record of the sweep's targets in the file, not only the new ones. When
several apply: 4, then 1, then 3. 130 / 143: stopped by SIGINT / SIGTERM (finished records
are kept: run again with --resume).
"""
