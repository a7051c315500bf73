"""Human-facing robustness reports: a rich text table and PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.evaluate import Evaluation

__all__ = [
    "certified_table",
    "plot_accuracy_vs_epsilon",
    "plot_image_grid",
    "plot_training_curves",
    "robustness_table",
]


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


def _figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (6.0, 4.0)):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(nrows, ncols, figsize=size, squeeze=False)


def plot_accuracy_vs_epsilon(
    evaluations: Sequence[Evaluation],
    path: str | Path,
    *,
    attacks: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Robust accuracy against epsilon, one line per (model, attack), all in one figure.

    Certified accuracies (``evaluate { certify }``) are drawn dashed under the empirical
    curve of the same attack, with the gap between the two shaded.

    Args:
        evaluations: e.g. the clean model and the adversarially trained one.
        path: where to write the PNG.
        attacks: which attack labels to draw (default: every bounded one).
        title: figure title.
    """
    plt, fig, axes = _figure()
    ax = axes[0, 0]
    for ev in evaluations:
        for name in attacks or ev.attacks():
            eps, acc = ev.curve(name)
            if eps.size > 1:
                line = ax.plot(eps, acc, marker="o", label=f"{ev.model}: {name}")[0]
                _certified_curves(ax, ev, name, eps, acc, line.get_color())
    ax.set_xlabel("epsilon")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return _save(plt, fig, path)


def _certified_curves(ax: Any, ev: Evaluation, attack: str, eps, acc, color: str) -> None:
    """Dashed certified curves of one attack's budgets, the gap to ``acc`` shaded.

    The certified curve is drawn on a fine ε grid (the radii give it at every ε); the
    empirical one is known at the attack's ε only, and interpolated linearly for the shading.
    """
    styles = iter(("--", ":", "-."))
    for curve in ev.certified_curves:
        if curve.attack != attack:
            continue
        c_eps, c_acc = np.array(curve.epsilons), np.array(curve.accuracy)
        ax.plot(c_eps, c_acc, linestyle=next(styles, "--"), color=color,
                label=f"{ev.model}: {attack}, certified ({curve.method})")
        ax.fill_between(c_eps, c_acc, np.interp(c_eps, eps, acc), color=color, alpha=0.1)


def plot_image_grid(
    clean: np.ndarray,
    adversarial: np.ndarray,
    image_shape: tuple[int, int],
    path: str | Path,
    *,
    labels: Sequence[str] | None = None,
    max_images: int = 6,
) -> Path:
    """Rows of clean / adversarial / difference images for the first ``max_images`` samples."""
    k = min(max_images, len(clean))
    plt, fig, axes = _figure(ncols=k, nrows=3, size=(2.0 * k, 6.2))
    diff = adversarial - clean
    bound = float(np.max(np.abs(diff[:k]))) or 1.0
    for j in range(k):
        # clean and adversarial share one grey scale, so the eye sees the real change
        lo, hi = (
            float(min(clean[j].min(), adversarial[j].min())),
            float(max(clean[j].max(), adversarial[j].max())),
        )
        rows = (
            (clean[j], "gray", lo, hi),
            (adversarial[j], "gray", lo, hi),
            (diff[j], "bwr", -bound, bound),
        )
        for row, (img, cmap, vmin, vmax) in enumerate(rows):
            ax = axes[row, j]
            ax.imshow(np.asarray(img).reshape(image_shape), cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
        if labels is not None:
            axes[0, j].set_title(labels[j], fontsize=8)
    for row, name in enumerate(("clean", "adversarial", "difference")):
        axes[row, 0].set_ylabel(name)
    return _save(plt, fig, path)


def plot_training_curves(
    history: Mapping[str, Sequence[float]] | Any,
    path: str | Path,
    *,
    title: str = "adversarial training",
) -> Path:
    """Loss (left) and accuracy (right) curves against epoch.

    ``history`` maps series names to per-epoch values; names containing "loss" go left,
    the others (accuracies) right. An object with such attributes (or ``to_json()``) works too.
    """
    series = _series(history)
    plt, fig, axes = _figure(ncols=2, size=(10.0, 4.0))
    for name, values in series.items():
        ax = axes[0, 0] if "loss" in name else axes[0, 1]
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
    for ax, ylabel in zip(axes[0], ("loss", "accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(plt, fig, path)


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


def _save(plt: Any, fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
