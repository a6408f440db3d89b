"""The ``--keylog`` file: TLS secrets for Wireshark, private to the user, failures reported.

The file is opened before the first connection (so a bad path stops the sweep before it
starts) and created 0600: it decrypts every captured session. OpenSSL calls the writer from
its own callback, where an exception cannot go anywhere, so a write error is kept and
reported when the sweep ends instead of being lost with the lines it dropped.
"""

from __future__ import annotations

import os
from pathlib import Path

from scanner.report.sinks import OutputError


class KeylogFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self.lost = 0
        self.error: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise OutputError(f"--keylog {path}: cannot write ({exc.strerror or exc})") from None

    def write(self, line: bytes) -> None:
        """Append one key log line (one ``write``); never raises (see the module docstring)."""
        if self._fd is None or self.error is not None:
            self.lost += 1
            return
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            self.error = exc.strerror or str(exc)
            self.lost += 1
            return
        self.written += 1

    def failure(self) -> str | None:
        """One line saying what went wrong, if anything did."""
        if self.error is None:
            return None
        return (f"--keylog {self.path}: cannot write ({self.error}); {self.lost} key log "
                f"line(s) lost, the {self.written} before them are kept")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
