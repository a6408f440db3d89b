"""A progress bar on stderr for long sweeps: targets done/total, rate, errors, time left.

Only for a terminal: when stderr is a file or a pipe (CI logs, Kubernetes), a bar would be
noise, so the CLI does not create one there.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _RateColumn(ProgressColumn):
    """Targets per second over the whole run (rich's own speed column is for bytes)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        done = task.completed - task.fields.get("resumed", 0)
        rate = done / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:6.1f}/s", style="progress.data.speed")


class _ErrorsColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        errors = int(task.fields.get("errors", 0))
        return Text(f"{errors} error(s)", style="red" if errors else "dim")


class SweepProgress:
    """A ``SweepObserver`` drawing a rich progress bar."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(),
            TextColumn("targets"), _RateColumn(), _ErrorsColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=self.console, transient=False, refresh_per_second=4,
        )
        self._task: TaskID | None = None
        self._errors = 0

    def started(self, total: int, done: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("sweep", total=total, completed=done,
                                             resumed=done, errors=0)

    def finished(self, status: str) -> None:
        if self._task is None:
            return
        self._errors += status == "error"
        self._progress.update(self._task, advance=1, errors=self._errors)

    def stopped(self) -> None:
        self._progress.stop()
