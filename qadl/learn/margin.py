"""Certified-margin training: a loss plus λ times a hinge on a differentiable certified radius.

``margin_training`` minimises ``L(p, y) + λ·max(0, κ − r(p, y))`` per sample, where ``r`` is
the certified radius written as a smooth function of the class probabilities ``p``:

- ``fidelity``: ``r = (√(p_y + δ) − √(p_c + δ))/√2`` with ``c`` the best other class, the
  tight fidelity radius in ``√(1 − F)`` (``δ`` keeps the derivative of the square root
  finite at ``p = 0``; it changes ``r`` by less than ``√δ``).
- ``lipschitz``: ``r = (p_y − p_c)/L``, the global Lipschitz radius for a constant ``L``
  (the encoding's bound, which does not depend on θ when feature weights are fixed).

Unlike the certificates, ``r`` is signed: a misclassified sample has ``r < 0`` and the hinge
still pulls it towards the right class. The penalty is a function of ``p`` only, so its
gradient reaches θ through the classifier's adjoint exactly as a loss's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from qadl.learn.losses import LOSSES

__all__ = ["ROOT_FLOOR", "MarginLoss", "signed_radius"]

ROOT_FLOOR = 1e-6
"""``δ`` added under the square roots of the fidelity radius."""


def _rival(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Best class other than ``y`` per row (ties: the lowest index)."""
    others = np.array(probs, dtype=float)
    others[np.arange(y.size), y] = -np.inf
    return np.argmax(others, axis=1)


def signed_radius(
    probs: np.ndarray, y: np.ndarray, certify: str, lipschitz: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Signed radius ``r (B,)`` and ``dr/dprobs (B, C)`` (see the module doc)."""
    rows = np.arange(y.size)
    c = _rival(probs, y)
    grad = np.zeros_like(probs, dtype=float)
    if certify == "fidelity":
        root_y = np.sqrt(np.clip(probs[rows, y], 0.0, None) + ROOT_FLOOR)
        root_c = np.sqrt(np.clip(probs[rows, c], 0.0, None) + ROOT_FLOOR)
        r = (root_y - root_c) / np.sqrt(2.0)
        grad[rows, y] = 1.0 / (2.0 * np.sqrt(2.0) * root_y)
        grad[rows, c] -= 1.0 / (2.0 * np.sqrt(2.0) * root_c)
        return r, grad
    if certify == "lipschitz":
        r = (probs[rows, y] - probs[rows, c]) / lipschitz
        grad[rows, y] = 1.0 / lipschitz
        grad[rows, c] -= 1.0 / lipschitz
        return r, grad
    raise ValueError(f"unknown certificate {certify!r}; expected fidelity or lipschitz")


@dataclass(frozen=True)
class MarginLoss:
    """``base(p, y) + weight·max(0, margin − r(p, y))``; usable wherever a loss name is."""

    weight: float
    """λ, the penalty's weight."""
    margin: float
    """κ, the radius below which a sample is penalised (unit of the certificate)."""
    certify: Literal["fidelity", "lipschitz"] = "fidelity"
    lipschitz: float = 1.0
    """``L`` of the ``lipschitz`` radius (ignored by ``fidelity``)."""
    base: str = "cross_entropy"
    """The clean loss, a name in ``qadl.learn.losses.LOSSES``."""

    def __post_init__(self) -> None:
        if self.base not in LOSSES:
            raise ValueError(f"unknown loss {self.base!r}; expected one of {sorted(LOSSES)}")
        if self.certify not in ("fidelity", "lipschitz"):
            raise ValueError(f"unknown certificate {self.certify!r}")
        if not (self.weight >= 0.0 and self.margin > 0.0 and self.lipschitz > 0.0):
            raise ValueError("need weight >= 0, margin > 0 and a positive Lipschitz constant")

    def __call__(self, probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        loss, grad = LOSSES[self.base](probs, y)
        r, dr = signed_radius(probs, y, self.certify, self.lipschitz)
        active = (self.margin - r > 0.0).astype(float)
        penalty = np.maximum(self.margin - r, 0.0)
        return loss + self.weight * penalty, grad - self.weight * active[:, None] * dr
