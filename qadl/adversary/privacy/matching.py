"""The gradient-matching objective of gradient inversion and its exact gradient in x.

A client shares ``g = (1/B) Σ_b ∇θ ℓ(θ, x_b, y_b)``. The attacker looks for inputs ``x'``
whose gradient ``D(x')`` matches it: ``M = ‖D − g‖²`` ("Deep Leakage from Gradients") or
``M = 1 − cos(D, g)`` ("Inverting Gradients"). With ``u = ∂M/∂D``,

    ∇_{x'_b} M = (1/B) ∂/∂x [u · ∇θ ℓ(θ, x, y_b)]  at x = x'_b,

a mixed Hessian-vector product. Writing ``a(θ, x)`` for the angle tape and ``w = J_θ u``:

    ∂/∂x [u · ∇θ ℓ] = J_xᵀ (H_a w) + Σ_a (∇_a ℓ)_a · ∂w_a/∂x,
    H_a = Σ_k c_k ∇²_a f_k + J_fᵀ (∂²ℓ/∂f²) J_f,      c = ∂ℓ/∂f,

where ``∇²_a f`` comes from parameter shifts of the adjoint gradient
(``qadl.backends.sim.hessian``, exact for the simulator's rotation gates), ``∂²ℓ/∂f²``
in closed form (``curvature``) and ``∂w/∂x`` from the tape's polynomials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.adversary.privacy.curvature import loss_curvature
from qadl.backends.sim.hessian import angle_hessian_rows, output_jacobian, tape_derivatives

__all__ = ["MATCHING_LOSSES", "GradientOracle", "match", "objective"]

MATCHING_LOSSES = ("l2", "cosine")
"""Gradient-matching losses: squared distance, or one minus the cosine similarity."""


@dataclass(frozen=True)
class GradientOracle:
    """The victim's loss gradients at fixed parameters, and their derivatives in x.

    ``classifier`` is a ``qadl.learn.Classifier`` over a noiseless ``Simulator``.
    """

    classifier: Any
    theta: np.ndarray
    loss: str = "cross_entropy"

    @property
    def num_features(self) -> int:
        """F."""
        return int(self.classifier.sim.num_features)

    def shared_gradient(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(1/B) Σ_b ∇θ ℓ(θ, x_b, y_b)`` (P,): what a client shares for a batch."""
        _, grads = self.classifier.loss_and_grads(
            self.theta, np.asarray(y), x=np.atleast_2d(x), loss=self.loss
        )
        return grads.theta

    def shot_gradient(
        self, x: np.ndarray, y: np.ndarray, shots: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Like ``shared_gradient``, estimated from ``shots`` measurements per sample (an
        unbiased estimate: ``qadl.learn.shots``), as a client on a device would share it."""
        _, grads = self.classifier.shot_loss_and_grads(
            self.theta, np.asarray(y), shots, rng, x=np.atleast_2d(x), loss=self.loss
        )
        return grads.theta

    def mixed_hvp(self, x: np.ndarray, y: int, u: np.ndarray) -> np.ndarray:
        """``∂/∂x [u · ∇θ ℓ(θ, x, y)]`` (F,) for one sample, without finite differences in x."""
        sim = self.classifier.sim
        program = sim.program
        x = np.asarray(x, dtype=np.float64)
        angles = sim.angles(self.theta, x[None, :])[0]
        outputs, jac_f = output_jacobian(program, angles)
        c, hess_out = loss_curvature(
            self.classifier.readout, outputs, int(y), self.loss, scale=self.classifier.scale
        )
        tape = tape_derivatives(program.tape, self.theta, x, self.num_features)
        w = tape.jac_theta @ u
        rows = np.flatnonzero(np.any(tape.jac_x != 0.0, axis=1))
        h_w = angle_hessian_rows(program, angles, c, rows, w)
        h_w = h_w + jac_f[:, rows].T @ (hess_out @ (jac_f @ w))
        return tape.jac_x[rows].T @ h_w + tape.mixed_contract(c @ jac_f, u)


def match(kind: str, d: np.ndarray, g: np.ndarray) -> tuple[float, np.ndarray]:
    """The matching loss ``M(D)`` and ``∂M/∂D`` for ``kind`` in ``MATCHING_LOSSES``."""
    if kind == "l2":
        diff = d - g
        return float(diff @ diff), 2.0 * diff
    nd, ng = float(np.linalg.norm(d)), float(np.linalg.norm(g))
    if nd == 0.0 or ng == 0.0:
        return 1.0, np.zeros_like(d)
    cos = float(d @ g) / (nd * ng)
    return 1.0 - cos, -(g / (nd * ng) - cos * d / nd**2)


def objective(
    oracle: GradientOracle, g: np.ndarray, y: np.ndarray, kind: str, *, gradient: bool = True
) -> Any:
    """``flat x' -> (M, ∇M)`` for a batch with labels ``y`` (scipy's ``jac=True`` form),
    or ``flat x' -> M`` when ``gradient`` is false (gradient-free optimizers)."""
    batch = len(y)

    def value(flat: np.ndarray) -> float:
        return match(kind, oracle.shared_gradient(flat.reshape(batch, -1), y), g)[0]

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        xs = flat.reshape(batch, oracle.num_features)
        value, u = match(kind, oracle.shared_gradient(xs, y), g)
        grad = np.stack([oracle.mixed_hvp(xs[b], int(y[b]), u) for b in range(batch)]) / batch
        return value, grad.ravel()

    return fun if gradient else value
