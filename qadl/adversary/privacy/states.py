"""Gradient inversion for quantum-data models: recover the input *state* from ∇θ L(θ, ψ, y).

A candidate state is ``ψ(w) = (w_re + i·w_im)/‖w‖`` for an unconstrained real vector ``w``
(2·2ⁿ numbers); the attacker minimises ``M = ‖D(ψ) − g‖²`` (or ``1 − cos``) over ``w``
from random starts with L-BFGS-B, and a reconstruction is scored by its fidelity
``|⟨ψ|ψ'⟩|²`` with the true state (global phase does not count).

``∇_w M`` needs ``∂/∂ψ [u · ∇θ L(θ, ψ)]`` with ``u = ∂M/∂D``. The simulator gives the
exact gradient of L with respect to the input state (one adjoint sweep); the mixed
derivative is its derivative along θ in the direction u, taken here by a central
difference of step ``STEP`` in θ (not in ψ): its error is O(STEP²)·‖u‖, far below the
matching losses that matter. Features have an exact mixed product instead
(``matching``); states enter no rotation angle, so no shift rule applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment, minimize

from qadl.adversary.privacy.inversion import InversionConfig, InversionResult, aggregated_gradient
from qadl.adversary.privacy.matching import match

__all__ = ["STEP", "StateOracle", "fidelities", "invert_states"]

STEP = 1e-5
"""Step in θ of the central difference that gives the mixed derivative."""


@dataclass(frozen=True)
class StateOracle:
    """Gradients of a quantum-data classifier's loss at fixed θ, as functions of the states."""

    classifier: Any
    theta: np.ndarray
    loss: str = "cross_entropy"

    def shared_gradient(self, states: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``(1/B) Σ_b ∇θ ℓ(θ, ψ_b, y_b)`` (P,)."""
        _, grads = self.classifier.loss_and_grads(
            self.theta, np.asarray(y), state=np.atleast_2d(states), loss=self.loss
        )
        return grads.theta

    def shot_gradient(self, states, y, shots: int, rng: np.random.Generator) -> np.ndarray:
        """Like ``shared_gradient``, estimated from ``shots`` measurements per sample."""
        _, grads = self.classifier.shot_loss_and_grads(
            self.theta, np.asarray(y), shots, rng, state=np.atleast_2d(states), loss=self.loss
        )
        return grads.theta

    def state_gradients(self, theta: np.ndarray, states: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``∂(mean loss)/∂(Re ψ_b, Im ψ_b)`` (B, 2·2ⁿ) at ``theta``."""
        _, grads = self.classifier.loss_and_grads(
            theta, np.asarray(y), state=states, loss=self.loss
        )
        return np.concatenate([grads.state.real, grads.state.imag], axis=1)


def _states(w: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ψ (B, d) complex, real unit vectors (B, 2d), norms (B,))`` of ``w``."""
    w = w.reshape(batch, -1)
    norms = np.linalg.norm(w, axis=1)
    unit = w / norms[:, None]
    d = w.shape[1] // 2
    return unit[:, :d] + 1j * unit[:, d:], unit, norms


def state_objective(oracle: StateOracle, g: np.ndarray, y: np.ndarray, kind: str) -> Any:
    """``flat w -> (M, ∇_w M)`` for a batch of candidate states with labels ``y``."""
    batch = len(y)

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        psi, unit, norms = _states(flat, batch)
        value, u = match(kind, oracle.shared_gradient(psi, y), g)
        plus = oracle.state_gradients(oracle.theta + STEP * u, psi, y)
        minus = oracle.state_gradients(oracle.theta - STEP * u, psi, y)
        d_unit = (plus - minus) / (2.0 * STEP)
        # through the normalisation ψ = w/‖w‖: project out the radial part, divide by ‖w‖
        grad = (d_unit - unit * np.sum(unit * d_unit, axis=1, keepdims=True)) / norms[:, None]
        return value, grad.ravel()

    return fun


def fidelities(guess: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``|⟨ψ_i|φ_j⟩|²`` (B, B) between reconstructions and true states."""
    return np.abs(np.conj(guess) @ truth.T) ** 2


def invert_states(
    oracle: StateOracle,
    states: np.ndarray,
    y: np.ndarray,
    config: InversionConfig,
    *,
    client: StateOracle | None = None,
) -> InversionResult:
    """Attack ``config.samples`` shared gradients of the input states (as
    ``invert_gradients`` does features, labels known); ``errors`` are infidelities
    ``1 − |⟨ψ|ψ'⟩|²``, ``relative`` the trace distances ``√(1 − F)``."""
    from threadpoolctl import threadpool_limits  # lazy: only attacks need it

    from qadl.backends.sim.hessian import serial

    with serial(), threadpool_limits(1):
        return _invert_states(oracle, client or oracle, states, y, config)


def _invert_states(oracle, client, states, y, config: InversionConfig) -> InversionResult:
    rng = np.random.default_rng(config.seed)
    noise_rng = np.random.default_rng([config.seed, 1])
    n = config.clients * config.batch
    shape = (config.samples, config.restarts, n)
    errors, relative, matching = np.zeros(shape), np.zeros(shape), np.zeros(shape[:2])
    for s in range(config.samples):
        truth = np.asarray(states[s * n : (s + 1) * n], dtype=np.complex128)
        ys = np.asarray(y[s * n : (s + 1) * n], dtype=np.int64)
        g = aggregated_gradient(client, truth, ys, config, noise_rng)
        fun = state_objective(oracle, g, ys, config.loss)
        for r in range(config.restarts):
            start = rng.normal(size=(n, 2 * truth.shape[1])).ravel()
            res = minimize(
                fun,
                start,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": config.steps, "ftol": 0.0, "gtol": 1e-14},
            )
            matching[s, r] = float(res.fun)
            guess, _, _ = _states(res.x, n)
            errors[s, r], relative[s, r] = _paired(guess, truth, ys)
    return InversionResult(errors, matching, relative, config.tolerance)


def _paired(guess: np.ndarray, truth: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Infidelities and trace distances after pairing each reconstruction with a true
    state of its label (the most faithful assignment)."""
    fid = fidelities(guess, truth)
    cost = np.where(y[:, None] == y[None, :], 1.0 - fid, np.inf)
    row, col = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e300))
    infidelity = np.clip(1.0 - fid[row, col], 0.0, 1.0)
    return infidelity, np.sqrt(infidelity)
