"""A rich progress bar for a benchmark run: one line per phase (model only, pipeline, accuracy)."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .suite import Progress as SuiteProgress


class BenchProgress(SuiteProgress):
    """Shows the phase being measured and its calls/frames done; a context manager."""

    def __init__(self) -> None:
        # stderr, like the CLI's error lines: stdout keeps only the summary table
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        self._task: Any = None

    def start(self, description: str, total: int | None) -> None:
        if self._task is not None:
            self._bar.update(self._task, total=self._bar.tasks[-1].completed or 1)
        self._task = self._bar.add_task(description, total=total)

    def warn(self, message: str) -> None:
        self._bar.console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)

    def advance(self) -> None:
        if self._task is not None:
            self._bar.advance(self._task)

    def __enter__(self) -> "BenchProgress":
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._bar.update(self._task, total=self._bar.tasks[-1].completed or 1)
        self._bar.stop()
