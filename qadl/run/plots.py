"""The PNG plots of ``qadl run``'s evaluations, written under ``OUT/plots``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.evaluate import Evaluation
from qadl.adversary.figures import attack_norm
from qadl.adversary.report import FigureSlot, plot_accuracy_vs_epsilon, plot_image_grid

__all__ = ["PlottedStatement", "curve_norms", "plot_combined", "plot_curves", "plot_examples"]

Norms = dict[tuple[str, str], str | None]


@dataclass(frozen=True)
class PlottedStatement:
    """One ``evaluate`` statement's evaluations, for the figure combining statements."""

    index: int
    """Position of the statement among the program's ``evaluate`` statements (0-based)."""
    models: tuple[str, ...]
    evaluations: tuple[Evaluation, ...]
    norms: Mapping[tuple[str, str], str | None]


def curve_norms(evaluations: Sequence[Evaluation], plans: Mapping[str, Any]) -> Norms:
    """(model label, attack label) -> the norm its ε bounds, for every curve to draw.

    ``plans`` maps the statement's attack labels to their configs (a transfer: its crafting
    attack, the one whose ε it reports).
    """
    return {
        (ev.model, label): attack_norm(getattr(plan, "attack", plan))
        for ev in evaluations
        for label, plan in plans.items()
    }


def _swept(evaluations: Sequence[Evaluation]) -> bool:
    return any(p.epsilon is not None for e in evaluations for p in e.points)


def _suffix(index: int) -> str:
    return "" if index == 0 else f"_{index}"


def plot_curves(out_dir: Path, index: int, evaluations: Sequence[Evaluation], norms: Norms) -> None:
    """``accuracy_vs_epsilon[_N].png`` of one statement (nothing without an ε sweep)."""
    if _swept(evaluations):
        plot_accuracy_vs_epsilon(
            evaluations,
            out_dir / "plots" / f"accuracy_vs_epsilon{_suffix(index)}.png",
            norms=norms,
            title="robust accuracy vs ε",
        )


def plot_combined(out_dir: Path, statements: Sequence[PlottedStatement]) -> list[Path]:
    """One ``accuracy_vs_epsilon_combined[_N].png`` per set of models that several
    statements with ε sweeps evaluate (``_N``: the first such statement's index).

    Lines are labelled ``MODEL (evaluate K)``, K counting statements from 1.
    """
    groups: dict[frozenset[str], list[PlottedStatement]] = {}
    for st in statements:
        if _swept(st.evaluations):
            groups.setdefault(frozenset(st.models), []).append(st)
    written = []
    for group in groups.values():
        if len(group) < 2:
            continue
        evaluations: list[Evaluation] = []
        norms: Norms = {}
        for st in group:
            for ev in st.evaluations:
                label = f"{ev.model} (evaluate {st.index + 1})"
                evaluations.append(replace(ev, model=label))
                norms.update({
                    (label, attack): norm
                    for (model, attack), norm in st.norms.items()
                    if model == ev.model
                })
        path = out_dir / "plots" / f"accuracy_vs_epsilon_combined{_suffix(group[0].index)}.png"
        written.append(plot_accuracy_vs_epsilon(
            evaluations, path, norms=norms, title="robust accuracy vs ε (several evaluations)",
        ))
    return written


def plot_examples(
    out_dir: Path,
    name: str,
    data: Any,
    keep: Mapping[str, Any],
    clean_proba: Callable[[np.ndarray], np.ndarray],
    count: int = 6,
    slot: FigureSlot | None = None,
) -> None:
    """``MODEL_ATTACK_images.png``: clean / adversarial / difference images of each image
    attack's last ε, titled with true and predicted labels and class probabilities.

    ``clean_proba`` gives the model's class probabilities ``(B, C)`` of clean inputs;
    ``slot`` a figure to draw in, shared with other calls (default: one for this call).
    """
    slot = FigureSlot() if slot is None else slot
    if data.image_shape is None or data.x is None:
        return
    count = min(count, len(data))
    probs_clean = None
    for label, results in keep.items():
        result = results[-1] if results else None
        if result is None or result.x_adv is None:
            continue
        if probs_clean is None:
            probs_clean = np.asarray(clean_proba(data.x[:count]))
        plot_image_grid(
            data.x[:count],
            result.x_adv[:count],
            tuple(data.image_shape),
            out_dir / "plots" / f"{name}_{label}_images.png",
            y=np.asarray(data.y[:count]),
            pred_clean=np.asarray(result.pred_clean[:count]),
            probs_clean=probs_clean,
            pred_adv=np.asarray(result.pred_adv[:count]),
            probs_adv=np.asarray(result.probs_adv[:count]),
            max_images=count,
            slot=slot,
        )
