"""The value every attack returns: adversarial inputs, per-sample outcome, perturbation size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AttackResult"]


def _mean(values: np.ndarray | None) -> float | None:
    if values is None or values.size == 0:
        return None
    return float(np.mean(values))


@dataclass(frozen=True, eq=False)
class AttackResult:
    """Outcome of one attack at one epsilon on one batch.

    Arrays are per sample (length B). ``success`` means the adversary's goal was reached:
    the prediction differs from the label (untargeted) or equals the target (targeted).
    """

    method: str
    epsilon: float | None
    """Radius of the perturbation ball (``None`` for unbounded attacks such as Ren's)."""
    y: np.ndarray
    """True labels."""
    pred_clean: np.ndarray
    pred_adv: np.ndarray
    probs_adv: np.ndarray
    """Class probabilities of the adversarial inputs ``(B, C)``."""
    success: np.ndarray
    linf: np.ndarray
    """Per-sample L∞ norm of the perturbation (of the δ angles for quantum attacks)."""
    l2: np.ndarray
    steps: np.ndarray
    """Optimiser steps each sample took (early stopping makes them differ)."""
    x_adv: np.ndarray | None = None
    states_adv: np.ndarray | None = None
    """Adversarial input states ``(B, 2**n)`` for quantum data."""
    delta: np.ndarray | None = None
    """Perturbation angles ``(B, 3n)`` of a local-rotation attack."""
    fidelity: np.ndarray | None = None
    """|⟨ψ|ψ_adv⟩|² between clean and adversarial input states (quantum data, or amplitude-encoded
    features when an evaluation asks for it)."""
    objective_trace: np.ndarray | None = None
    """``(T, B)`` objective the attack maximised, before each step; NaN once a sample stopped."""

    @property
    def size(self) -> int:
        """Batch size."""
        return int(self.y.shape[0])

    @property
    def clean_accuracy(self) -> float:
        """Accuracy on the clean inputs."""
        return float(np.mean(self.pred_clean == self.y))

    @property
    def robust_accuracy(self) -> float:
        """Accuracy on the adversarial inputs."""
        return float(np.mean(self.pred_adv == self.y))

    @property
    def success_rate(self) -> float:
        """Fraction of clean-correct samples the untargeted attack made wrong.

        For targeted attacks: fraction of all samples now predicted as the target.
        """
        correct = self.pred_clean == self.y
        if not np.any(correct):
            return float(np.mean(self.success))
        return float(np.mean(self.success[correct]))

    def to_json(self) -> dict[str, object]:
        """Summary numbers (no arrays) as a JSON-ready dict."""
        return {
            "method": self.method,
            "epsilon": self.epsilon,
            "n": self.size,
            "clean_accuracy": self.clean_accuracy,
            "robust_accuracy": self.robust_accuracy,
            "success_rate": self.success_rate,
            "mean_linf": _mean(self.linf),
            "median_linf": float(np.median(self.linf)) if self.linf.size else None,
            "mean_l2": _mean(self.l2),
            "mean_steps": _mean(self.steps.astype(float)),
            "mean_fidelity": _mean(self.fidelity),
            "min_fidelity": None if self.fidelity is None else float(np.min(self.fidelity)),
        }
