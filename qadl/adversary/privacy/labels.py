"""Label inference: the labels of a batch from its shared gradient, by linear algebra.

A client shares ``g = (1/B) Σ_b ∇θ ℓ(θ, x_b, y_b)``. An attacker who knows θ and the
inputs ``x_b`` (not the labels) computes, for every sample and class, the gradient
``G_bc = ∇θ ℓ(θ, x_b, c)`` the sample would give with label ``c``. With the one-hot
label matrix ``Y``, ``B·g = Σ_b Σ_c Y_bc G_bc``: the gradient is linear in ``Y``. Adding
``Σ_c Y_bc = 1`` for every sample gives ``P + B`` linear equations in ``B·C`` unknowns,
solved by least squares; each sample's label is its largest entry.

The solution is unique, and with an exact gradient equal to the true ``Y``, when the
stacked system has full column rank ``B·C``. For cross-entropy ``Σ_c p_bc G_bc = 0`` (the
probabilities sum to one), so the G's of a sample span at most ``C − 1`` directions and
``P ≥ B·(C − 1)`` is necessary. Without the inputs the ``G_bc`` are unknown and the
labels are not identifiable in general: this attack needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LabelResult", "identifiable", "infer_labels", "label_inference"]

RANK_TOLERANCE = 1e-9
"""Singular values below this fraction of the largest count as zero."""


def identifiable(num_params: int, batch: int, classes: int) -> bool:
    """The necessary count ``P ≥ B·(C − 1)``: below it the labels are never unique."""
    return num_params >= batch * (classes - 1)


@dataclass(frozen=True)
class Solved:
    """One batch: the inferred labels, the relaxed solution and whether it is unique."""

    labels: np.ndarray
    relaxed: np.ndarray
    """``(B, C)`` least-squares ``Y``; one-hot where the solution is exact."""
    unique: bool


def infer_labels(per_class: np.ndarray, g: np.ndarray) -> Solved:
    """Labels of a batch from ``per_class[b, c] = ∇θ ℓ(θ, x_b, c)`` ``(B, C, P)`` and the
    shared mean gradient ``g`` ``(P,)``."""
    batch, classes, _ = per_class.shape
    grads = per_class.reshape(batch * classes, -1).T  # columns G_bc, (P, B·C)
    sums = np.kron(np.eye(batch), np.ones((1, classes)))  # Σ_c Y_bc, (B, B·C)
    # the gradient rows are scaled to the sum rows: neither side dominates the fit
    scale = max(float(np.abs(grads).max()), 1e-300)
    system = np.vstack([grads / scale, sums])
    rhs = np.r_[batch * np.asarray(g, dtype=float) / scale, np.ones(batch)]
    solution, _, rank, sv = np.linalg.lstsq(system, rhs, rcond=None)
    unique = rank == batch * classes and sv[-1] > RANK_TOLERANCE * sv[0]
    relaxed = solution.reshape(batch, classes)
    return Solved(relaxed.argmax(axis=1), relaxed, bool(unique))


@dataclass(frozen=True)
class LabelResult:
    """Inferred against true labels over all attacked batches."""

    true: np.ndarray
    """``(S, B)``."""
    inferred: np.ndarray
    unique: np.ndarray
    """``(S,)``: whether each batch's system had a unique solution."""
    deviation: np.ndarray
    """``(S,)``: largest distance of the relaxed ``Y`` from its rounded one-hot matrix."""

    def to_json(self) -> dict[str, Any]:
        """Summary numbers for results.json."""
        right = self.inferred == self.true
        return {
            "batches": int(self.true.shape[0]),
            "recovered_fraction": float(np.mean(right)),
            "batches_recovered": float(np.mean(np.all(right, axis=1))),
            "unique_fraction": float(np.mean(self.unique)),
            "max_deviation": float(np.max(self.deviation)),
        }


def label_inference(
    gradient: Any, x: np.ndarray, y: np.ndarray, classes: int, *, shared: Any = None
) -> LabelResult:
    """Infer the labels of batches ``x`` ``(S, B, F)`` (or states) with true labels ``y``
    ``(S, B)`` from their shared gradients. ``gradient(inputs, labels)`` is the attacker's
    mean gradient (``GradientOracle.shared_gradient`` or the state oracle's); ``shared``
    the client's, where it differs (a noisy device; default: ``gradient``)."""
    shared = gradient if shared is None else shared
    inferred, unique, deviation = [], [], []
    for xs, ys in zip(x, y, strict=True):
        g = shared(xs, ys)
        per_class = np.stack(
            [
                [gradient(xs[b : b + 1], np.array([c])) for c in range(classes)]
                for b in range(len(ys))
            ]
        )
        solved = infer_labels(per_class, g)
        onehot = np.eye(classes)[solved.labels]
        inferred.append(solved.labels)
        unique.append(solved.unique)
        deviation.append(float(np.abs(solved.relaxed - onehot).max()))
    return LabelResult(
        np.asarray(y), np.asarray(inferred), np.asarray(unique), np.asarray(deviation)
    )
