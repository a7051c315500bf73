"""The Lipschitz certificate for classical features entering through gate angles.

A decision score difference ``m(x) = Tr(M ρ(x))`` (``M = Π_y − Π_c`` for probabilities,
``O`` for one observable, ``O_y − O_c`` for one observable per class) moves with a gate
angle ``a_j = exp(−i a_j G_j)`` by ``|∂m/∂a_j| = |Tr([M', G_j] σ)| ≤ 2·h(M)·h(G_j)``,
where ``h`` is half the spread ``(λ_max − λ_min)/2`` of an operator (the commutator does
not see multiples of the identity; ``M'`` is ``M`` pulled back through the rest of the
circuit, a unital map that keeps its spread). Every parametrised gate qadl has is
``exp(−i a G)`` with ``h(G) = 1/2``. When each angle is affine in the features,
``a_j(x) = w_j·x + b_j`` (``w_j`` may depend on the trained θ), the chain rule bounds
the gradient in the dual norm, and integrating along the segment gives

    |m(x + δ) − m(x)| ≤ L_p·‖δ‖_p,   L_p = h(M)·Σ_j ‖w_j‖_q   (1/p + 1/q = 1),

and, for L2, also ``L_2 ≤ h(M)·√J·σ_max(W)`` (J angles, W their weight rows), which is
far smaller when features enter disjoint gates (Ren et al.'s classifier: 32 instead of 512).

Berberich et al.'s ``L ≤ 2‖M‖ Σ_j ‖w_j‖‖H_j‖`` with the spread in place of the norm. A
decision with margin ``m`` cannot change within ``‖δ‖_p < m / L_p``.

Per sample, a second-order bound is often larger: second derivatives obey
``|∂²m/∂a_j∂a_k| ≤ ‖[[M', G_j], G_k]‖ ≤ 4·h(M)·h(G_j)·h(G_k)``, so
``δᵀ∇²m δ ≤ Q_p‖δ‖_p²`` with ``Q_p = L_p²/h(M)``, and with ``g = ‖∇m(x)‖_q`` (exact,
by the adjoint method) ``m(x + δ) ≥ m − g‖δ‖ − Q_p‖δ‖²/2``: the decision holds within the
positive root ``(√(g² + 2·Q_p·m) − g)/Q_p``. The radius is the larger of the two.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qadl.adversary.certify_fidelity import decision_scores, is_povm, predictions
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.expr import Expr
from qadl.ir.gates import Gate

__all__ = ["GENERATOR_HALF_SPREAD", "lipschitz_constants", "lipschitz_problem", "lipschitz_radii"]

GENERATOR_HALF_SPREAD: dict[Gate, float] = {
    g: 0.5
    for g in (
        Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.U, Gate.CP,
        Gate.CRX, Gate.CRY, Gate.CRZ, Gate.RXX, Gate.RYY, Gate.RZZ,
    )
}
"""Half the spread of ``i·U†·dU/da`` for each angle of each parametrised gate."""


def _feature_ops(circuit: Circuit) -> list[Op]:
    return [op for op in circuit.ops if any(a.depends_on("x") for a in op.angles)]


def _is_affine(angle: Expr) -> bool:
    return all(sum(s.kind == "x" for s in mono) <= 1 for mono, _ in angle.terms)


def lipschitz_problem(circuit: Circuit) -> str | None:
    """Why no Lipschitz bound can be derived for ``circuit``'s features, or None."""
    if circuit.state_input or circuit.num_features == 0:
        return "the model takes no classical features"
    for op in _feature_ops(circuit):
        if op.gate not in GENERATOR_HALF_SPREAD:
            return (
                f"its features set a `{op.gate.value}` op, which is not a rotation "
                "exp(−i·a·G) with a known generator"
            )
        for angle in op.angles:
            if not _is_affine(angle):
                return (
                    f"the angle of a `{op.gate.value}` gate multiplies features, so it is not "
                    f"affine in them: `{angle}`"
                )
    return None


def _weights(angle: Expr, theta: np.ndarray, num_features: int) -> np.ndarray:
    """``∂angle/∂x`` (constant in x for affine angles), with θ bound to its values."""
    w = np.zeros(num_features)
    for mono, coeff in angle.terms:
        xs = [s for s in mono if s.kind == "x"]
        if len(xs) == 1:
            value = coeff
            for s in mono:
                if s.kind == "theta":
                    value *= float(theta[s.index])
            w[xs[0].index] += value
    return w


def _score_half_spread(readout: Readout) -> float:
    """``h(M)`` of a difference of two decision scores."""
    return 1.0 if is_povm(readout) else 2.0


def lipschitz_constants(circuit: Circuit, theta: np.ndarray) -> dict[str, float]:
    """``{"l2": L_2, "linf": L_∞}`` of every score difference (see the module doc).

    Raises:
        ValueError: ``lipschitz_problem(circuit)`` is not None.
    """
    problem = lipschitz_problem(circuit)
    if problem is not None:
        raise ValueError(f"no Lipschitz bound: {problem}")
    theta = np.asarray(theta, dtype=float)
    h_m = _score_half_spread(circuit.readout)
    rows = [
        2.0 * GENERATOR_HALF_SPREAD[op.gate] * _weights(angle, theta, circuit.num_features)
        for op in _feature_ops(circuit)
        for angle in op.angles
    ]
    w = np.array([r for r in rows if np.any(r)]).reshape(-1, circuit.num_features)
    if w.shape[0] == 0:
        return {"l2": 0.0, "linf": 0.0}
    # |∇m·δ| ≤ h(M)·‖Wδ‖₁ (every angle's slope is at most h(M)); ‖Wδ‖₁ is bounded by
    # Σ_j ‖w_j‖_q·‖δ‖_p, and for L2 also by √J·σ_max(W)·‖δ‖₂, often far smaller
    spectral = float(np.sqrt(w.shape[0]) * np.linalg.norm(w, 2))
    l2 = min(float(np.linalg.norm(w, axis=1).sum()), spectral)
    linf = float(np.abs(w).sum())  # dual of L∞ is L1
    return {"l2": h_m * l2, "linf": h_m * linf}


def _score_cotangent(readout: Readout, y: np.ndarray, c: int, width: int) -> np.ndarray:
    """Cotangent on the simulator outputs whose vjp is ``∇(s_y − s_c)``."""
    rows = np.arange(len(y))
    cot = np.zeros((len(y), width))
    if readout.kind == "expval" and is_povm(readout):  # s_0 − s_1 = e
        cot[:, 0] = np.where(y == 0, 1.0, -1.0)
        return cot
    cot[rows, y] += 1.0
    cot[rows, c] -= 1.0
    return cot


def _root(margin: np.ndarray, slope: np.ndarray, curvature: float) -> np.ndarray:
    """Positive root of ``curvature·r²/2 + slope·r − margin``."""
    return (np.sqrt(slope**2 + 2.0 * curvature * margin) - slope) / curvature


def lipschitz_radii(
    readout: Readout,
    outputs: np.ndarray,
    y: np.ndarray,
    constants: dict[str, float],
    gradient: Any = None,
) -> dict[str, np.ndarray]:
    """Per-sample radii per input norm (0 where the decision is not ``y``).

    Args:
        readout: the circuit's readout.
        outputs: exact simulator outputs at the clean inputs ``(B, K)``.
        y: labels.
        constants: ``lipschitz_constants`` of the circuit.
        gradient: ``cotangent -> (B, F)``, the input gradient of ``Σ cotangent·outputs``
            at the clean inputs; with it each radius is the larger of the global
            ``margin/L_p`` and the second-order local one (module doc).
    """
    scores = decision_scores(readout, outputs)
    y = np.asarray(y, dtype=int)
    rows = np.arange(len(y))
    correct = predictions(scores) == y
    radius = {norm: np.full(len(y), np.inf) for norm in constants}
    h_m = _score_half_spread(readout)
    for c in range(scores.shape[1]):
        live = y != c
        if not np.any(live):
            continue
        margin = np.clip(scores[rows, y] - scores[:, c], 0.0, None)
        grad = None
        if gradient is not None:
            grad = gradient(_score_cotangent(readout, y, c, np.shape(outputs)[1]))
        for norm, lip in constants.items():
            if lip == 0.0:  # the features move nothing
                continue
            r = margin / lip
            if grad is not None:
                dual = np.linalg.norm(grad, 2 if norm == "l2" else 1, axis=1)
                r = np.maximum(r, _root(margin, dual, lip**2 / h_m))
            radius[norm] = np.where(live, np.minimum(radius[norm], r), radius[norm])
    return {n: np.where(correct, r, 0.0) for n, r in radius.items()}
