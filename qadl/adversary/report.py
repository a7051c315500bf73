"""Human-facing robustness reports: rich text tables, and the figures of ``figures`` as PNG."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.evaluate import Evaluation
from qadl.adversary.figures import accuracy_figure, image_figure, training_figure

__all__ = [
    "FigureSlot",
    "certified_table",
    "plot_accuracy_vs_epsilon",
    "plot_image_grid",
    "plot_training_curves",
    "robustness_table",
]


PNG_OPTIONS = {"compress_level": 3}
"""Pillow's PNG options: zlib level 3 instead of 6 encodes the run's plots in half the time,
into files about 12% larger, with the same pixels."""


@dataclass
class FigureSlot:
    """The figure of one ``plot_image_grid`` call, kept for the next to refill.

    Grids of as many images of the same shape then share one figure (its axes are built
    once: a third of a grid's cost); a grid of another layout replaces the figure.
    """

    figure: Any = None


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def robustness_table(evaluations: Sequence[Evaluation], *, width: int = 120) -> str:
    """One row per (model, attack, epsilon), rendered by rich as plain text.

    Columns: model, attack, ε, accuracy, attack success rate, mean L∞, mean L2,
    mean and min fidelity (asked for by ``fidelity true``). The clean row of each model
    has attack "clean".
    """
    from rich.console import Console
    from rich.table import Table

    table = Table(title="robustness", show_lines=False)
    for col in ("model", "attack", "eps", "accuracy", "success", "L_inf", "L2", "fid", "min fid"):
        table.add_column(col, justify="left" if col in ("model", "attack") else "right")
    for ev in evaluations:
        table.add_row(ev.model, "clean", "0", _fmt(ev.clean_accuracy), "-", "-", "-", "-", "-")
        for p in ev.points:
            table.add_row(
                ev.model,
                p.attack,
                _fmt(p.epsilon),
                _fmt(p.robust_accuracy),
                _fmt(p.success_rate),
                _fmt(p.mean_linf, 4),
                _fmt(p.mean_l2, 4),
                _fmt(p.mean_fidelity, 4),
                _fmt(p.min_fidelity, 4),
            )
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(table)
    return buf.getvalue()


def certified_table(evaluations: Sequence[Evaluation], *, width: int = 120) -> str:
    """One row per (model, certify method, attack, ε): certified next to empirical accuracy.

    ``gap`` is empirical minus certified accuracy: the samples neither proven safe nor
    broken by the attack. For ``smoothing`` the certified classifier is the smoothed one,
    the empirical accuracy that of the attacked base classifier.
    """
    from rich.console import Console
    from rich.table import Table

    table = Table(title="certified robustness", show_lines=False)
    for col in ("model", "method", "attack", "eps", "unit", "certified", "empirical", "gap"):
        table.add_column(col, justify="left" if col in ("model", "method", "attack") else "right")
    for ev in evaluations:
        empirical = {(p.attack, p.epsilon): p.robust_accuracy for p in ev.points}
        for cert in ev.certificates:
            table.add_row(ev.model, cert.method, "clean", "0", "-", _fmt(cert.accuracy),
                          _fmt(ev.clean_accuracy), "-")
        for c in ev.certified:
            emp = empirical.get((c.attack, c.epsilon))
            gap = None if emp is None else emp - c.certified_accuracy
            table.add_row(ev.model, c.method, c.attack, _fmt(c.epsilon), c.unit,
                          _fmt(c.certified_accuracy), _fmt(emp), _fmt(gap))
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(table)
    return buf.getvalue()


def plot_accuracy_vs_epsilon(
    evaluations: Sequence[Evaluation],
    path: str | Path,
    *,
    norms: Mapping[tuple[str, str], str | None] | None = None,
    attacks: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Robust accuracy against ε, one panel per norm (``figures.accuracy_figure``), as PNG.

    Args:
        evaluations: e.g. the clean model and the adversarially trained one.
        path: where to write the PNG.
        norms: (model, attack label) -> norm its ε bounds (``figures.attack_norm``).
        attacks: which attack labels to draw (default: every bounded one).
        title: figure title.
    """
    return _save(accuracy_figure(evaluations, norms, attacks=attacks, title=title), path)


def plot_image_grid(
    clean: np.ndarray,
    adversarial: np.ndarray,
    image_shape: tuple[int, int],
    path: str | Path,
    *,
    y: np.ndarray | None = None,
    pred_clean: np.ndarray | None = None,
    probs_clean: np.ndarray | None = None,
    pred_adv: np.ndarray | None = None,
    probs_adv: np.ndarray | None = None,
    max_images: int = 6,
    slot: FigureSlot | None = None,
) -> Path:
    """Clean / adversarial / difference images with labels and probabilities
    (``figures.image_figure``), as PNG; drawn in ``slot``'s figure where it fits."""
    fig = image_figure(
        clean, adversarial, image_shape, y=y, pred_clean=pred_clean, probs_clean=probs_clean,
        pred_adv=pred_adv, probs_adv=probs_adv, max_images=max_images,
        reuse=None if slot is None else slot.figure,
    )
    if slot is not None:
        slot.figure = fig
    # the grid's fixed layout keeps every text inside the canvas: saving without "tight"
    # draws the figure once instead of twice
    return _save(fig, path, tight=False)


def plot_training_curves(
    history: Mapping[str, Sequence[float]] | Any,
    path: str | Path,
    *,
    title: str = "adversarial training",
) -> Path:
    """Loss (left) and accuracy (right) curves against integer epochs, as PNG.

    ``history`` maps series names to per-epoch values; names containing "loss" go left,
    the others (accuracies) right. An object with such attributes (or ``to_json()``) works too.
    """
    # legends sit inside the axes, which the constrained layout fits to the canvas: no
    # second, "tight" draw needed
    return _save(training_figure(_series(history), title=title), path, tight=False)


def _series(history: Any) -> dict[str, list[float]]:
    if hasattr(history, "to_json"):
        history = history.to_json()
    elif not isinstance(history, Mapping):
        history = vars(history)
    out: dict[str, list[float]] = {}
    for name, values in history.items():
        if name in ("epoch", "seconds"):
            continue
        if (
            isinstance(values, (list, tuple, np.ndarray))
            and len(values)
            and all(
                isinstance(v, (int, float, np.floating, np.integer)) and v is not None
                for v in values
            )
        ):
            out[name] = [float(v) for v in values]
    return out


def _save(fig: Any, path: str | Path, *, tight: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "tight" keeps the legends drawn outside the axes inside the image
    fig.savefig(path, dpi=100, bbox_inches="tight" if tight else None, pil_kwargs=PNG_OPTIONS)
    return path
