"""Training progress: a rich bar on a terminal, one plain flushed line per epoch in a log.

Off a terminal (CI, ``| tee``, ``nohup``) a bar would print nothing useful for minutes, so
each finished epoch is written to stdout as one line instead.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

_NAMES = {
    "train_acc": "train accuracy",
    "test_acc": "test accuracy",
    "test_loss": "test loss",
    "val_acc": "validation accuracy",
    "val_loss": "validation loss",
}

__all__ = ["TrainProgress", "epoch_line"]


class TrainProgress:
    """Context manager around a ``rich`` progress bar over all mini-batches of a run.

    The bar needs stderr to be a terminal, so logs and tests never see control
    characters. When stdout is not a terminal, every finished epoch is also printed there
    as ``epoch k/N: loss …, train accuracy …, … (s)``, flushed at once. ``enabled=False``
    silences both.
    """

    def __init__(
        self, total_batches: int, *, enabled: bool = True, done: int = 0, epochs: int | None = None
    ) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        # the stream as it is now: rich redirects sys.stdout to stderr while the bar shows
        self._log = sys.stdout if enabled and not _isatty(sys.stdout) else None
        self._epochs = epochs
        self._total = total_batches
        self._done = done
        self._bar: Any = None
        self._task: Any = None
        self._since = time.perf_counter()

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
        """Epoch ``epoch`` finished; show its summary metrics (NaN ones are left out)."""
        if self._bar is not None:
            text = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if v == v)  # skip NaN
            self._bar.update(self._task, epoch=epoch, metrics=text)
        if self._log is not None:
            now = time.perf_counter()
            print(epoch_line(epoch, self._epochs, metrics, now - self._since), file=self._log,
                  flush=True)
            self._since = now


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def epoch_line(epoch: int, epochs: int | None, metrics: dict[str, float], seconds: float) -> str:
    """``epoch 3/20: loss 0.4123, train accuracy 0.812, test accuracy 0.790 (1.3 s)``."""
    parts = [
        f"{_NAMES.get(k, k.replace('_', ' '))} {v:.4f}"
        for k, v in metrics.items()
        if isinstance(v, int | float) and not math.isnan(v)
    ]
    of = f"/{epochs}" if epochs else ""
    return f"epoch {epoch}{of}: {', '.join(parts)} ({seconds:.1f} s)"
