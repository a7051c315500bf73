"""The global Lipschitz constant ``L₂(θ)`` as a function of θ, with its exact gradient.

``lipschitz_constants`` bounds every decision-score difference by ``L₂·‖δ‖₂`` with

    L₂(θ) = h(M)·min(Σ_j ‖w_j(θ)‖₂,  √J·σ_max(W(θ)))

where ``w_j`` is the feature gradient of the j-th feature-dependent gate angle (scaled by
twice its generator's half spread) and ``W`` stacks the J nonzero rows. When a feature's
weight is a trained parameter (data re-uploading ``Rot(θ + w∘x)``), ``w_j`` is a polynomial
in θ and ``L₂`` moves with training; ``lipschitz_regularisation`` adds ``λ·L₂(θ)`` to the
loss. Both terms of the ``min`` are differentiable wherever no row vanishes and the top
singular value is simple; the gradient is that of the term attaining the minimum (the
bound itself is what the certificate uses, so the penalty is on exactly that number).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qadl.adversary.certify_lipschitz import (
    GENERATOR_HALF_SPREAD,
    _feature_ops,
    _score_half_spread,
    lipschitz_problem,
)
from qadl.ir.circuit import Circuit
from qadl.ir.expr import Expr

__all__ = ["LipschitzPenalty", "trained_feature_weight", "weight_rows"]


def trained_feature_weight(circuit: Circuit) -> bool:
    """True when some feature's weight in a gate angle involves θ (so L moves with training)."""
    return any(
        {"x", "theta"} <= {s.kind for s in mono}
        for op in circuit.ops
        for angle in op.angles
        for mono, _ in angle.terms
    )


def _row(angle: Expr, theta: np.ndarray, features: int) -> tuple[np.ndarray, np.ndarray]:
    """``w = ∂angle/∂x (F,)`` and ``∂w/∂θ (F, P)`` of an angle affine in the features."""
    w = np.zeros(features)
    dw = np.zeros((features, theta.size))
    for mono, coeff in angle.terms:
        xs = [s for s in mono if s.kind == "x"]
        if len(xs) != 1:
            continue
        ts = [s.index for s in mono if s.kind == "theta"]
        w[xs[0].index] += coeff * np.prod(theta[ts]) if ts else coeff
        for i, k in enumerate(ts):  # product rule over the θ factors (repeats included)
            rest = ts[:i] + ts[i + 1:]
            dw[xs[0].index, k] += coeff * (np.prod(theta[rest]) if rest else 1.0)
    return w, dw


def weight_rows(circuit: Circuit, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero rows ``W (J, F)`` of ``lipschitz_constants`` and ``∂W/∂θ (J, F, P)``."""
    theta = np.asarray(theta, dtype=float)
    rows, grads = [], []
    for op in _feature_ops(circuit):
        scale = 2.0 * GENERATOR_HALF_SPREAD[op.gate]
        for angle in op.angles:
            w, dw = _row(angle, theta, circuit.num_features)
            if np.any(w):
                rows.append(scale * w)
                grads.append(scale * dw)
    features, params = circuit.num_features, theta.size
    if not rows:
        return np.zeros((0, features)), np.zeros((0, features, params))
    return np.array(rows), np.array(grads)


@dataclass(frozen=True)
class LipschitzPenalty:
    """``θ -> (λ·L₂(θ), λ·∇L₂(θ))``: the regulariser of ``lipschitz_regularisation``."""

    circuit: Circuit = field(repr=False)
    weight: float = 1.0
    """λ."""

    def __post_init__(self) -> None:
        problem = lipschitz_problem(self.circuit)
        if problem is not None:
            raise ValueError(f"no Lipschitz bound: {problem}")
        if not self.weight > 0.0:
            raise ValueError("the penalty's weight must be > 0")

    def constant(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """``L₂(θ)`` (equal to ``lipschitz_constants(...)["l2"]``) and its gradient."""
        w, dw = weight_rows(self.circuit, theta)
        h_m = _score_half_spread(self.circuit.readout)
        if w.shape[0] == 0:
            return 0.0, np.zeros(np.size(theta))
        norms = np.linalg.norm(w, axis=1)
        total = float(norms.sum())
        u, s, vt = np.linalg.svd(w)
        spectral = float(np.sqrt(w.shape[0]) * s[0])
        if total <= spectral:
            grad = np.einsum("jf,jfp->p", w / norms[:, None], dw)
            return h_m * total, h_m * grad
        grad = np.sqrt(w.shape[0]) * np.einsum("j,jfp,f->p", u[:, 0], dw, vt[0])
        return h_m * spectral, h_m * grad

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = self.constant(theta)
        return self.weight * value, self.weight * grad

