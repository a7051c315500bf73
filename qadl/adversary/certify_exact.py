"""Exact verification for small noiseless quantum-data models: the closest state that flips.

For a pure input ψ, a noiseless circuit U and a projective readout (``probs``, or one
Pauli product read as two classes), the smallest ``1 − F`` of a state whose decision
leaves y is ``min_c (√p_y − √p_c)²/2`` (``certify_fidelity.povm_radius``), and the
minimiser is known in closed form: with ``χ = Uψ = u·â + v·ĉ + r`` (â, ĉ the normalised
parts of χ in the class-y and class-c eigenspaces, r the rest),

    φ* ∝ ((u + v)/2)·â + ((u + v)/2)·ĉ + r

reaches the tie ``p_y = p_c`` at exactly that infidelity. No SDP or search is needed:
the verification is exact, and the state itself is returned. Going a hair further along
the geodesic from χ through φ* (``PUSH`` radians) makes the flip strict, whatever the
tie-breaking; ``U†`` maps it back to an input state.

The circuit's unitary is built from its action on the ``2**n`` basis states, so the
method is limited to ``MAX_EXACT_QUBITS`` qubits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qadl.adversary.certify_fidelity import is_povm
from qadl.ir.circuit import Circuit, Readout

__all__ = ["MAX_EXACT_QUBITS", "PUSH", "ClosestFlips", "closest_flips", "exact_problem"]

MAX_EXACT_QUBITS = 6
PUSH = 1e-6
"""Radians past the tie along the geodesic: the returned state flips strictly."""

_PAULI = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def exact_problem(circuit: Circuit) -> str | None:
    """Why exact verification does not apply to ``circuit`` (noise aside), or None."""
    if not circuit.state_input:
        return "exact verification is for quantum-data models (its inputs are features)"
    if circuit.num_qubits > MAX_EXACT_QUBITS:
        return (
            f"it has {circuit.num_qubits} qubits; exact verification builds the circuit's "
            f"unitary and stops at {MAX_EXACT_QUBITS}"
        )
    if not is_povm(circuit.readout):
        return "its readout is a softmax over several observables, not one measurement"
    return None


def _projectors(readout: Readout, num_qubits: int) -> list[np.ndarray]:
    """Class projectors ``(d, d)`` in the output frame (little-endian qubit order)."""
    d = 1 << num_qubits
    if readout.kind == "probs":
        idx = np.arange(d)
        outcome = sum(((idx >> q) & 1) << k for k, q in enumerate(readout.qubits))
        return [np.diag((outcome == c).astype(complex)) for c in range(readout.num_classes)]
    factors = [np.eye(2, dtype=complex)] * num_qubits
    for pauli, qubit in readout.observables[0]:
        factors[num_qubits - 1 - qubit] = _PAULI[pauli]
    obs = factors[0]
    for f in factors[1:]:
        obs = np.kron(obs, f)
    eye = np.eye(d, dtype=complex)
    return [(eye + obs) / 2, (eye - obs) / 2]


@dataclass(frozen=True, eq=False)
class ClosestFlips:
    """Per sample: the exact radius ``√(1 − F*)`` and the closest input state that flips."""

    radius: np.ndarray
    """``(B,)``; 0 where the decision is already wrong."""
    states: np.ndarray
    """``(B, d)`` input states whose decision is not the label (the clean state where wrong)."""
    fidelity: np.ndarray
    """``(B,)`` |⟨ψ|φ⟩|² of each returned state to the clean one."""


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _any_in(proj: np.ndarray) -> np.ndarray:
    """A unit vector in the range of a projector (its largest column)."""
    return _unit(proj[:, int(np.argmax(np.linalg.norm(proj, axis=0)))])


def _closest(chi: np.ndarray, projectors: list[np.ndarray], y: int) -> tuple[float, np.ndarray]:
    """Smallest flipping ``√(1 − F)`` and the output-frame state just past the tie."""
    best = (np.inf, chi)
    pa = projectors[y] @ chi
    u = np.linalg.norm(pa)
    for c, proj in enumerate(projectors):
        if c == y:
            continue
        pb = proj @ chi
        v = np.linalg.norm(pb)
        radius = (u - v) / np.sqrt(2.0)
        if radius >= best[0]:
            continue
        a_hat = pa / u if u > 0 else _any_in(projectors[y])
        b_hat = pb / v if v > 0 else _any_in(proj)
        tie = _unit((u + v) / 2 * (a_hat + b_hat) + (chi - pa - pb))
        overlap = np.vdot(chi, tie)
        theta = float(np.arccos(np.clip(abs(overlap), 0.0, 1.0)))
        away = tie - overlap * chi
        if np.linalg.norm(away) < 1e-15:  # already at the tie: move towards class c
            away = b_hat - np.vdot(chi, b_hat) * chi
        xi = _unit(away)
        # the geodesic from χ through the tie (tie/phase = |⟨χ|tie⟩|·χ + away/phase)
        phase = overlap / abs(overlap) if abs(overlap) > 0 else 1.0
        angle = theta + PUSH
        best = (max(radius, 0.0), np.cos(angle) * chi + np.sin(angle) * xi / phase)
    return best


def closest_flips(sim, readout: Readout, theta: np.ndarray, states: np.ndarray, y) -> ClosestFlips:
    """Exact verification of every sample (see the module doc).

    Args:
        sim: a noiseless state-vector simulator of the model (``states`` method).
        readout: the circuit's readout (``probs`` or one Pauli product, two classes).
        theta: the model's parameters.
        states: clean input states ``(B, d)``.
        y: labels ``(B,)``.
    """
    states = np.asarray(states, dtype=complex)
    d = states.shape[1]
    num_qubits = d.bit_length() - 1
    unitary = np.asarray(sim.states(theta, state=np.eye(d, dtype=complex))).T  # U e_b columns
    projectors = _projectors(readout, num_qubits)
    radius, out = np.zeros(len(states)), states.copy()
    for i, psi in enumerate(states):
        chi = unitary @ psi
        scores = [np.real(np.vdot(chi, p @ chi)) for p in projectors]
        if int(np.argmax(scores)) != int(y[i]):
            continue  # already wrong: radius 0, the clean state is its own flip
        r, phi = _closest(chi, projectors, int(y[i]))
        radius[i], out[i] = r, unitary.conj().T @ phi
    fidelity = np.abs(np.einsum("bi,bi->b", states.conj(), out)) ** 2
    return ClosestFlips(radius, out, fidelity)
