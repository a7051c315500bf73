"""Randomised smoothing computed exactly: a depolarising channel on the encoded input state.

The smoothed classifier decides on ``D_p(ρ) = (1 − p)·ρ + p·I/d`` instead of the input
state ρ (``d = 2**n``, all n qubits). Its decision scores are linear in the state, so

    s̃(ρ) = (1 − p)·s(ρ) + p·s(I/d)

exactly, with no sampling: ``s(ρ)`` are the classifier's own exact scores and ``s(I/d)``
is one run of the density-matrix simulator on the maximally mixed state (the same for
every sample: the circuit after the encoding does not depend on the input).

Two radii hold for every σ within trace distance τ of ρ, and the larger is reported:

- linear: a score difference ``s̃_y − s̃_c = (1 − p)·Tr(A ρ) + const`` moves by at most
  ``(1 − p)·spread(A)·τ``, so the decision stays while
  ``τ < (s̃_y − max s̃_c) / (spread·(1 − p))`` (``spread`` = 2 for measurement
  probabilities, 4 for one observable per class);
- differential privacy (Zhou and Ying 2017, as used by Du et al. 2021): ``D_p`` makes
  every outcome probability ``(ε, 0)``-private with ``e^ε = 1 + d(1 − p)τ/p``, so the
  decision stays while ``(1 + d(1 − p)τ/p)² < s̃_y / max s̃_c`` (measurement
  probabilities only).

The certificate is about the smoothed classifier, whose decisions may differ from the
base classifier's; radii are trace distances, so (``D ≤ √(1 − F)``) also radii in
``√(1 − F)``.
"""

from __future__ import annotations

import numpy as np

from qadl.adversary.certify_fidelity import decision_scores, is_povm, predictions
from qadl.backends.sim.density import NOISELESS, DensityMatrixSimulator
from qadl.ir.circuit import Circuit, Readout

__all__ = ["mixed_scores", "smoothed_scores", "smoothing_radius"]


def mixed_scores(circuit: Circuit, theta: np.ndarray, noise=NOISELESS) -> np.ndarray:
    """Decision scores ``(C,)`` of the circuit (after its encoding) run on ``I/d``."""
    sim = DensityMatrixSimulator(circuit, noise, shots=0)
    dim = 1 << circuit.num_qubits
    rho = np.eye(dim, dtype=complex)[None] / dim
    x = np.zeros((1, circuit.num_features)) if circuit.num_features else None
    outputs = sim.outputs_from_density(theta, rho, x=x)
    return decision_scores(circuit.readout, outputs)[0]


def smoothed_scores(scores: np.ndarray, mixed: np.ndarray, p: float) -> np.ndarray:
    """``(1 − p)·scores + p·mixed``: the exact scores of the smoothed classifier."""
    return (1.0 - p) * np.asarray(scores, dtype=float) + p * np.asarray(mixed, dtype=float)[None]


def smoothing_radius(
    readout: Readout, smoothed: np.ndarray, y: np.ndarray, p: float, num_qubits: int
) -> np.ndarray:
    """Per-sample trace-distance radius of the smoothed classifier (0 where it errs)."""
    y = np.asarray(y, dtype=int)
    rows = np.arange(len(y))
    others = np.array(smoothed, dtype=float)
    others[rows, y] = -np.inf
    top, rival = smoothed[rows, y], others.max(axis=1)
    spread = 2.0 if is_povm(readout) else 4.0
    radius = (top - rival) / (spread * (1.0 - p))
    if is_povm(readout):
        kappa = (1 << num_qubits) * (1.0 - p) / p
        with np.errstate(divide="ignore", invalid="ignore"):
            private = (np.sqrt(top / np.clip(rival, 0.0, None)) - 1.0) / kappa
        radius = np.maximum(radius, np.nan_to_num(private, nan=0.0, posinf=1.0))
    radius = np.clip(radius, 0.0, 1.0)
    return np.where(predictions(smoothed) == y, radius, 0.0)
