"""The fidelity certificate: how far (in state fidelity) an input must move to flip a decision.

Every readout qadl supports decides by the largest of C *decision scores* read from the
final state (``decision_scores``):

- ``probs`` over k qubits: the raw outcome probabilities ``p_c = Tr(Π_c ρ)`` of classes
  ``0 … C−1``. When ``C < 2**k`` the class probabilities are these divided by their sum
  (outcomes ``≥ C`` are discarded); a common positive factor does not change the argmax,
  so the decision, and therefore its certificate, is that of the raw ``p_c``. The
  discarded outcomes are one more orthogonal part of the state, which the bound allows.
- ``expval`` of one observable with two classes: ``((1 + e)/2, (1 − e)/2)``, the
  probabilities of the two eigenspaces of a Pauli product.
- ``expval`` of one observable per class (softmax): the expectation values ``e_c``
  (the softmax is monotone, so the argmax is that of ``e``).

The first two are probabilities of a measurement (a POVM once the circuit's noise is
included); for them the certified radius is tight (``povm_radius``). For the third only a
trace-distance bound holds (``observable_radius``).

Radii are in the unit ``√(1 − F)`` of the clean and perturbed input states (the sine of
their Bures angle); for pure states this is their trace distance, and it always bounds
the trace distance from above, so a radius in this unit also certifies against every
state within that trace distance.
"""

from __future__ import annotations

import numpy as np

from qadl.ir.circuit import Circuit, Readout
from qadl.ir.expr import THETA, X
from qadl.ir.gates import Gate

__all__ = [
    "amplitude_input_radii",
    "amplitude_problem",
    "decision_scores",
    "fidelity_radius",
    "is_povm",
    "observable_radius",
    "povm_radius",
    "predictions",
]

OBSERVABLE_SPREAD = 4.0
"""Bound on λ_max − λ_min of ``O_y − O_c`` for two Pauli products (each has spectrum ±1)."""


def is_povm(readout: Readout) -> bool:
    """True when the decision scores are probabilities of one measurement."""
    return readout.kind == "probs" or (
        len(readout.observables) == 1 and readout.num_classes == 2
    )


def decision_scores(readout: Readout, outputs: np.ndarray) -> np.ndarray:
    """``(B, C)`` scores whose argmax (ties: lowest class) is the classifier's decision.

    Args:
        readout: the circuit's readout.
        outputs: exact simulator outputs ``(B, K)`` (raw marginals or expectation values).
    """
    outputs = np.asarray(outputs, dtype=float)
    if readout.kind == "probs":
        return outputs[:, : readout.num_classes]
    if is_povm(readout):
        e = outputs[:, 0]
        return np.column_stack([(1.0 + e) / 2.0, (1.0 - e) / 2.0])
    return outputs


def predictions(scores: np.ndarray) -> np.ndarray:
    """Argmax per row, ties to the lowest class (as ``numpy.argmax`` and the classifier)."""
    return np.argmax(scores, axis=1)


def _others(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    others = np.array(scores, dtype=float)
    others[np.arange(len(y)), y] = -np.inf
    return others


def povm_radius(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tight radius ``min_{c≠y} (√p_y − √p_c)/√2`` (0 where the decision is not ``y``).

    The smallest ``1 − F`` of a state whose decision can differ is ``(√p_y − √p_c)²/2``:
    with ``s = ‖P_y φ‖ ≤ t = ‖P_c φ‖``, ``|⟨ψ|φ⟩| ≤ √p_y·s + √p_c·t + √r·√(1−s²−t²)``
    (``r`` the rest of ψ), a concave function whose maximum under ``s ≤ t`` lies on
    ``s = t`` and equals ``√((√p_y + √p_c)²/2 + r)`` by Cauchy–Schwarz; the state reaching
    it exists in the span of the three parts. Mixed inputs and noisy circuits reduce to
    this by purification (Uhlmann) and Naimark dilation. Two classes give Guan, Fang and
    Ying's bound ``(√p − √(1−p))² > 2(1 − F)``.
    """
    scores = np.clip(np.asarray(scores, dtype=float), 0.0, None)
    rows = np.arange(len(y))
    root = np.sqrt(scores)
    gap = root[rows, y] - np.max(np.sqrt(np.clip(_others(scores, y), 0.0, None)), axis=1)
    radius = np.clip(gap / np.sqrt(2.0), 0.0, 1.0)
    return np.where(predictions(scores) == y, radius, 0.0)


def observable_radius(scores: np.ndarray, y: np.ndarray, spread: float = OBSERVABLE_SPREAD):
    """Trace-distance radius ``(e_y − max_{c≠y} e_c)/spread`` of a softmax-over-observables readout.

    ``|Tr(A(ρ − σ))| ≤ (λ_max − λ_min)(A)·D(ρ, σ)`` with ``A = O_y − O_c``.
    """
    rows = np.arange(len(y))
    margin = scores[rows, y] - np.max(_others(scores, y), axis=1)
    radius = np.clip(margin / spread, 0.0, 1.0)
    return np.where(predictions(scores) == y, radius, 0.0)


def fidelity_radius(readout: Readout, outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-sample certified radius in ``√(1 − F)`` for any readout (see the module doc)."""
    scores = decision_scores(readout, outputs)
    y = np.asarray(y, dtype=int)
    return povm_radius(scores, y) if is_povm(readout) else observable_radius(scores, y)


# -- amplitude-encoded features ----------------------------------------------------------------


def _amplitude_ops(circuit: Circuit):
    return [op for op in circuit.ops if op.gate is Gate.AMPLITUDE]


def amplitude_problem(circuit: Circuit) -> str | None:
    """Why input radii cannot be mapped exactly to state fidelity, or None.

    The map needs every amplitude to be ``c·x[i]`` (one feature, one common factor ``c``
    per register) or ``0``: then the encoded register is ``x_S/‖x_S‖`` for a set ``S``
    of features, whatever ``c``.
    """
    for op in _amplitude_ops(circuit):
        factors, seen = set(), set()
        for amp in op.angles:
            if amp.is_constant and amp.constant_value == 0.0:
                continue
            if amp.depends_on(THETA) or len(amp.terms) != 1 or amp.degree != 1:
                return f"an amplitude `{amp}` is not a plain feature (c·x[i]) or 0"
            index = amp.terms[0][0][0].index
            if index in seen:
                return f"feature x[{index}] fills two amplitudes of one register"
            seen.add(index)
            factors.add(amp.terms[0][1])
        if len(factors) > 1:
            return "the amplitudes of one register scale the features by different factors"
    return None


def _feature_sets(circuit: Circuit) -> list[list[int]]:
    sets = []
    for op in _amplitude_ops(circuit):
        sets.append(
            [next(iter(a.symbols())).index for a in op.angles if a.depends_on(X)]
        )
    return sets


def amplitude_input_radii(
    circuit: Circuit, x: np.ndarray, radius: np.ndarray
) -> dict[str, np.ndarray]:
    """Certified radii in the input's L2 and L∞ norms from state radii ``√(1 − F)``.

    One register holding ``x_S/‖x_S‖``: an L2 step ``δ`` turns it by at most an angle
    whose sine is ``‖δ‖/‖x_S‖``, and exactly that much for ``δ ⊥ x_S``, so the L2 radius
    is ``radius·‖x_S‖`` (exact). Several registers form a product state, and
    ``1 − ∏(1 − s_k²) ≤ Σ s_k²`` gives ``radius / max_k(1/‖x_k‖)`` (L2) and
    ``radius / √(Σ_k |S_k|/‖x_k‖²)`` (L∞, from ``‖δ_k‖₂ ≤ √|S_k|·‖δ‖∞``). An all-zero
    register prepares no state: its radius is 0.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    inv_sq = []
    for features in _feature_sets(circuit):
        norm = np.linalg.norm(x[:, features], axis=1)
        with np.errstate(divide="ignore"):
            inv_sq.append((np.where(norm > 0, 1.0 / norm**2, np.inf), len(features)))
    worst = np.max([v for v, _ in inv_sq], axis=0)
    total = np.sum([v * k for v, k in inv_sq], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        l2 = np.where(np.isfinite(worst), radius / np.sqrt(worst), 0.0)
        linf = np.where(np.isfinite(total), radius / np.sqrt(total), 0.0)
    return {"l2": l2, "linf": linf}
