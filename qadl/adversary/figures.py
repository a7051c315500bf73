"""Matplotlib figures of the reports, built without pyplot so callers (and tests) get the object.

Each ``*_figure`` function returns a ``matplotlib.figure.Figure``; ``qadl.adversary.report``
saves them as PNG files. Accuracy-vs-ε curves get one panel per perturbation norm, since an
ε of 0.1 in L∞, in L2 and as a rotation angle are three different budgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.evaluate import Evaluation

__all__ = [
    "NORM_AXIS",
    "accuracy_figure",
    "attack_norm",
    "image_figure",
    "training_figure",
]

NORM_AXIS = {
    "linf": "ε (L∞ norm of the input perturbation)",
    "l2": "ε (L2 norm of the input perturbation)",
    "angle": "ε (local-rotation angle bound, rad)",
}
"""x-axis label of each norm's panel, in panel order; an unknown norm gets plain ``ε``."""

# 10 colours and 7 markers: the (colour, marker) pair of line i repeats only after 70 lines,
# and neither repeats within the first 7
_COLOURS = tuple(f"C{i}" for i in range(10))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def attack_norm(config: Any) -> str | None:
    """The norm an attack's ε bounds: ``linf``/``l2``, ``angle`` (local rotations), or None."""
    if isinstance(config, QuantumAttackConfig):
        return "angle"
    if isinstance(config, AttackConfig) and config.bounded:
        return config.norm
    return None


@dataclass(frozen=True)
class _Curve:
    label: str
    norm: str | None
    evaluation: Evaluation
    attack: str


def _curves(
    evaluations: Sequence[Evaluation],
    norms: Mapping[tuple[str, str], str | None],
    attacks: Sequence[str] | None,
) -> list[_Curve]:
    """Every (model, attack) curve with at least one ε > 0, labelled uniquely."""
    datasets = {ev.dataset for ev in evaluations}
    out: list[_Curve] = []
    for ev in evaluations:
        where = f" on {ev.dataset}" if len(datasets) > 1 else ""
        for name in attacks or ev.attacks():
            if ev.curve(name)[0].size > 1:
                norm = norms.get((ev.model, name))
                out.append(_Curve(f"{ev.model}{where}: {name}", norm, ev, name))
    return out


def _panel_order(curves: list[_Curve]) -> list[str | None]:
    present = list(dict.fromkeys(c.norm for c in curves))
    known = [n for n in NORM_AXIS if n in present]
    return known + [n for n in present if n not in NORM_AXIS]


def _new_figure(size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=size)


def accuracy_figure(
    evaluations: Sequence[Evaluation],
    norms: Mapping[tuple[str, str], str | None] | None = None,
    *,
    attacks: Sequence[str] | None = None,
    title: str = "",
) -> Any:
    """Robust accuracy against ε: one panel per norm, one line per (model, attack).

    Every line has its own colour and marker (kept in every panel); each panel's legend
    sits to the right of its data. Certified accuracies are drawn dashed in the colour of
    their attack, the gap to the empirical curve shaded.

    Args:
        evaluations: the evaluations to draw (several ``evaluate`` statements may be mixed;
            lines then name their data set when the data sets differ).
        norms: (model, attack label) -> ``linf``, ``l2`` or ``angle`` (``attack_norm``);
            keyed by model too, since two evaluations may reuse a label for different
            attacks. A curve missing here goes to a panel of its own with a plain ε axis.
        attacks: which attack labels to draw (default: every one with an ε sweep).
        title: figure title.
    """
    curves = _curves(evaluations, norms or {}, attacks)
    panels = _panel_order(curves) or [None]
    fig = _new_figure((8.0, 3.4 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, norm in zip(axes, panels, strict=True):
        for i, curve in enumerate(curves):
            if curve.norm != norm:
                continue
            colour, marker = _COLOURS[i % len(_COLOURS)], _MARKERS[i % len(_MARKERS)]
            eps, acc = curve.evaluation.curve(curve.attack)
            ax.plot(eps, acc, marker=marker, color=colour, label=curve.label)
            _certified(ax, curve, eps, acc, colour)
        ax.set_xlabel(NORM_AXIS.get(norm or "", "ε"))
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    if title:
        fig.suptitle(title)
    fig.set_layout_engine("constrained")
    return fig


def _certified(ax: Any, curve: _Curve, eps: np.ndarray, acc: np.ndarray, colour: str) -> None:
    """Dashed certified curves of one attack's budgets, the gap to ``acc`` shaded.

    The certified curve is drawn on a fine ε grid (the radii give it at every ε); the
    empirical one is known at the attack's ε only, and interpolated linearly for the shading.
    """
    styles = iter(("--", ":", "-."))
    for cert in curve.evaluation.certified_curves:
        if cert.attack != curve.attack:
            continue
        c_eps, c_acc = np.array(cert.epsilons), np.array(cert.accuracy)
        ax.plot(c_eps, c_acc, linestyle=next(styles, "--"), color=colour,
                label=f"{curve.label}, certified ({cert.method})")
        ax.fill_between(c_eps, c_acc, np.interp(c_eps, eps, acc), color=colour, alpha=0.1)


def _caption(
    row: str, j: int, y: np.ndarray | None, pred: np.ndarray | None, probs: np.ndarray | None
) -> str:
    """``clean: y=3 ŷ=5`` and, with probabilities, ``p(ŷ)=0.62 p(y)=0.20``."""
    parts = [row + ":"]
    if y is not None:
        parts.append(f"y={int(y[j])}")
    if pred is not None:
        parts.append(f"ŷ={int(pred[j])}")
    text = " ".join(parts)
    if probs is not None and pred is not None:
        shown = dict.fromkeys([int(pred[j])] + ([int(y[j])] if y is not None else []))
        text += "\n" + " ".join(f"p({k})={float(probs[j, k]):.2f}" for k in shown)
    return text


def image_figure(
    clean: np.ndarray,
    adversarial: np.ndarray,
    image_shape: tuple[int, int],
    *,
    y: np.ndarray | None = None,
    pred_clean: np.ndarray | None = None,
    probs_clean: np.ndarray | None = None,
    pred_adv: np.ndarray | None = None,
    probs_adv: np.ndarray | None = None,
    max_images: int = 6,
    reuse: Any = None,
) -> Any:
    """Columns of clean / adversarial / difference images for the first ``max_images`` samples.

    Titles give the true label ``y``, the prediction ``ŷ`` and the probabilities of the
    predicted and the true class. Clean and adversarial images share one grey scale (one
    colour bar), so the eye sees the real change; the difference uses a diverging map
    symmetric about 0 (its own colour bar).

    ``reuse``: a figure this function returned for as many images of the same shape; its
    images, colour scales and titles are replaced and it is returned (building the axes is
    a third of a grid's cost). Any other figure is left alone and a new one built.
    """
    k = min(max_images, len(clean))
    clean, adversarial = np.asarray(clean[:k], float), np.asarray(adversarial[:k], float)
    diff = adversarial - clean
    bound = float(np.max(np.abs(diff))) if diff.size else 0.0
    bound = bound or 1.0
    lo = float(min(clean.min(), adversarial.min()))
    hi = float(max(clean.max(), adversarial.max()))
    rows = (
        ("clean", clean, "gray", lo, hi, pred_clean, probs_clean),
        ("adversarial", adversarial, "gray", lo, hi, pred_adv, probs_adv),
        ("difference", diff, "RdBu_r", -bound, bound, None, None),
    )
    layout = (k, tuple(image_shape))
    if reuse is not None and getattr(reuse, "_qadl_grid", None) == layout:
        _refill(reuse, rows, layout, y)
        return reuse
    fig = _grid_figure(rows, layout, y)
    fig._qadl_grid = layout  # what ``reuse`` may refill
    return fig


def _grid_figure(rows: tuple, layout: tuple[int, tuple[int, int]], y: np.ndarray | None) -> Any:
    """A new figure of the image grid: 3 rows of ``k`` images, two colour bars."""
    k, image_shape = layout
    width, height = 2.1 * k + 1.2, 7.0
    fig = _new_figure((width, height))
    # a fixed layout in inches, not the constrained engine: the texts have fixed sizes, so
    # the margins are known in advance, and the engine's solve was half of each save
    left, right, bottom, top, gap = 0.45, 1.3, 0.1, 0.4, 0.45
    axes = fig.subplots(3, k, squeeze=False, gridspec_kw={
        "left": left / width, "right": 1.0 - right / width,
        "bottom": bottom / height, "top": 1.0 - top / height,
        "wspace": 0.08, "hspace": gap / ((height - top - bottom - 2 * gap) / 3),
    })
    images = []
    for r, (name, imgs, cmap, vmin, vmax, pred, probs) in enumerate(rows):
        for j in range(k):
            ax = axes[r, j]
            im = ax.imshow(imgs[j].reshape(image_shape), cmap=cmap, vmin=vmin, vmax=vmax)
            # no ticks: the axis objects draw nothing but the first column's row name, and a
            # title at a fixed height skips the search for tick labels above the image
            ax.xaxis.set_visible(False)
            ax.yaxis.set_visible(j == 0)
            ax.set_yticks([])
            if r < 2:
                ax.set_title(_caption(name, j, y, pred, probs), fontsize=7, y=1.0)
        axes[r, 0].set_ylabel(name)
        images.append(im)
    x0 = 1.0 - right / width + 0.15 / width
    for rows_, im, label in (
        ((0, 1), images[0], "pixel value"), ((2,), images[2], "adversarial − clean")
    ):
        y1 = axes[rows_[0], 0].get_position().y1
        y0 = axes[rows_[-1], 0].get_position().y0
        pad = 0.1 * (y1 - y0)  # the 0.8 shrink of a default colour bar
        cax = fig.add_axes((x0, y0 + pad, 0.15 / width, y1 - y0 - 2 * pad))
        fig.colorbar(im, cax=cax, label=label)
    return fig


def _refill(fig: Any, rows: tuple, layout: tuple[int, tuple[int, int]], y: np.ndarray | None):
    """Put ``rows`` into a figure of ``_grid_figure`` with the same layout: image data,
    colour limits (the colour bars follow their images) and titles."""
    k, image_shape = layout
    for r, (name, imgs, _, vmin, vmax, pred, probs) in enumerate(rows):
        for j in range(k):
            ax = fig.axes[r * k + j]
            im = ax.images[0]
            im.set_data(imgs[j].reshape(image_shape))
            im.set_clim(vmin, vmax)
            if r < 2:
                ax.title.set_text(_caption(name, j, y, pred, probs))


def training_figure(series: Mapping[str, Sequence[float]], *, title: str = "") -> Any:
    """Loss (left) and accuracy (right) against epoch, with integer epoch ticks.

    ``series`` maps names to per-epoch values; names containing "loss" go left.
    """
    from matplotlib.ticker import MaxNLocator

    fig = _new_figure((10.0, 4.0))
    axes = fig.subplots(1, 2, squeeze=False)[0]
    for i, (name, values) in enumerate(series.items()):
        ax = axes[0] if "loss" in name else axes[1]
        ax.plot(np.arange(1, len(values) + 1), values, marker=_MARKERS[i % len(_MARKERS)],
                markersize=3, color=_COLOURS[i % len(_COLOURS)], label=name)
    for ax, ylabel in zip(axes, ("loss", "accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10], min_n_ticks=1))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.set_layout_engine("constrained")
    return fig
