"""The classification metrics of evaluations as a text table and confusion-matrix figures."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qadl.adversary.evaluate import Evaluation
from qadl.adversary.metrics import ClassMetrics
from qadl.adversary.report import PNG_OPTIONS

__all__ = ["metrics_table", "plot_confusion", "plot_confusions"]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def metrics_table(evaluations: Sequence[Evaluation], *, width: int = 120) -> str:
    """One row per model (clean decisions): accuracy, macro precision/recall/F1, ROC-AUC,
    and F1 per class."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="clean metrics (macro averages)", show_lines=False)
    for col in ("model", "n", "accuracy", "precision", "recall", "F1", "ROC-AUC", "F1 per class"):
        table.add_column(col, justify="left" if col in ("model", "F1 per class") else "right")
    for ev in evaluations:
        m = ev.metrics
        if m is None:
            continue
        per_class = " ".join(f"{c}:{v:.2f}" for c, v in enumerate(m.f1))
        table.add_row(
            ev.model, str(ev.n), _fmt(m.accuracy), _fmt(m.precision_macro), _fmt(m.recall_macro),
            _fmt(m.f1_macro), _fmt(m.roc_auc), per_class,
        )
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(table)
    return buf.getvalue()


def plot_confusion(metrics: ClassMetrics, path: str | Path, *, title: str) -> Path:
    """A confusion-matrix heat map with the count (and row fraction) in every cell."""
    from matplotlib.figure import Figure  # not pyplot: no global figure, no backend switch

    counts = np.array(metrics.confusion, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = max(3.5, 0.6 * len(counts) + 2.5)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.subplots()
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, label="fraction of the true class")
    for i, j in np.ndindex(counts.shape):
        colour = "white" if fractions[i, j] > 0.5 else "black"
        ax.text(j, i, f"{int(counts[i, j])}\n{fractions[i, j]:.2f}", ha="center", va="center",
                color=colour, fontsize=8)
    ticks = np.arange(len(counts))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, pil_kwargs=PNG_OPTIONS)
    return Path(path)


def plot_confusions(evaluations: Sequence[Evaluation], directory: Path, suffix: str) -> None:
    """``directory/<model>_confusion<suffix>.png`` for every evaluation with metrics."""
    for ev in evaluations:
        if ev.metrics is None:
            continue
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", ev.model)  # `m [zne]` labels are not file names
        plot_confusion(
            ev.metrics,
            directory / f"{stem}_confusion{suffix}.png",
            title=f"{ev.model} on {ev.dataset} ({ev.n} samples)",
        )
