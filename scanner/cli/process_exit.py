"""Leave the process without tearing the interpreter down, once the command is done.

After a scan, Python's own exit spent 0.1-0.2 s freeing every module, result model, schema
and certificate object one by one: a sixth of a one-host scan, and the tail of every sweep,
for memory the kernel takes back at once. Nothing of ours needs that teardown: records and
key logs are written through file descriptors (``os.write``) and every other output file is
closed by its ``with`` block before the command returns. What a normal exit does that does
matter still happens here: the ``atexit`` handlers run (logging, ``weakref.finalize``,
coverage in tests), then stdout and stderr are flushed.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

# What Python's exit reports when its last flush of stdout fails (a closed pipe).
_FLUSH_FAILED = 120


def exit_code(code: object) -> int:
    """The status ``SystemExit(code)`` ends a process with (a message means 1; Python
    prints it, and so does ``exit_now``)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_now(code: int) -> None:
    """End the process with ``code``, skipping the interpreter's teardown.

    While another non-daemon thread still runs, a normal exit is taken instead: Python
    waits for such threads, and they may have work to finish.
    """
    if any(thread is not threading.main_thread() and not thread.daemon
           for thread in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: the process started with that descriptor closed
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: the output is lost anyway
            code = code or _FLUSH_FAILED
    os._exit(code)
