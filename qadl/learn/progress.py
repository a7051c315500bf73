"""A training progress bar (rich) that shows loss and accuracy, and stays silent off a terminal."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["TrainProgress"]


class TrainProgress:
    """Context manager around a ``rich`` progress bar over all mini-batches of a run.

    Disabled (every method a no-op) when ``enabled`` is False or stderr is not a
    terminal, so logs and tests never see control characters.
    """

    def __init__(self, total_batches: int, *, enabled: bool = True, done: int = 0) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._total = total_batches
        self._done = done
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> TrainProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]train[/] epoch {task.fields[epoch]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(
                "train", total=self._total, completed=self._done, epoch="-", metrics=""
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def batch(self, epoch: int, loss: float) -> None:
        """One mini-batch of ``epoch`` finished with mean loss ``loss``."""
        if self._bar is not None:
            self._bar.update(self._task, advance=1, epoch=epoch, metrics=f"loss {loss:.4f}")

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Epoch ``epoch`` finished; show its summary metrics."""
        if self._bar is not None:
            text = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if v == v)  # skip NaN
            self._bar.update(self._task, epoch=epoch, metrics=text)
