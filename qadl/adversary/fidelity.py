"""Fidelity of amplitude-encoded inputs: |⟨φ(x)|φ(x_adv)⟩|² without simulating the circuit.

An ``amplitude`` op prepares ``a(x)/‖a(x)‖`` from |0…0⟩ on its register, and the
registers of different ``amplitude`` ops are disjoint, so when the features enter the
circuit only through such ops the encoded state is a product and its fidelity is the
product of squared cosines of the amplitude vectors. Features that also feed ordinary
rotation angles (angle encoding, Ren et al.'s shared data/weight gates) have no
encoded state separate from the model: ``encoding_problem`` says so.
"""

from __future__ import annotations

import numpy as np

from qadl.ir.circuit import Circuit, Op
from qadl.ir.expr import X
from qadl.ir.gates import Gate

__all__ = ["amplitude_fidelity", "encoding_problem"]


def _amplitude_ops(circuit: Circuit) -> list[Op]:
    return [op for op in circuit.ops if op.gate is Gate.AMPLITUDE]


def encoding_problem(circuit: Circuit) -> str | None:
    """Why the encoded-state fidelity of ``circuit``'s inputs cannot be computed, or None."""
    if circuit.num_features == 0:
        return "the model takes no classical features"
    if not _amplitude_ops(circuit):
        return "its features are not amplitude-encoded (no `amplitude` op)"
    mixed = [op for op in circuit.ops if op.gate is not Gate.AMPLITUDE and _uses_x(op)]
    if mixed:
        return (
            f"its features also set the angle of a `{mixed[0].gate.value}` gate, so the "
            "encoded state is not separate from the model"
        )
    return None


def _uses_x(op: Op) -> bool:
    return any(a.depends_on(X) for a in op.angles)


def _amplitudes(op: Op, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``(B, 2**k)`` real amplitudes of one ``amplitude`` op for every row of ``x``."""
    return np.array([[a.evaluate(theta=theta, x=row) for a in op.angles] for row in x])


def _squared_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    dot = np.einsum("ij,ij->i", a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = dot / (na * nb)
    # an all-zero amplitude vector prepares nothing defined: report NaN, not a number
    return np.where((na > 0) & (nb > 0), np.clip(cos**2, 0.0, 1.0), np.nan)


def amplitude_fidelity(
    circuit: Circuit, theta: np.ndarray, x: np.ndarray, x_adv: np.ndarray
) -> np.ndarray:
    """|⟨φ(x)|φ(x_adv)⟩|² per sample for a circuit whose features are amplitude-encoded.

    Args:
        circuit: the model circuit (``encoding_problem(circuit)`` must be None).
        theta: its parameters (amplitudes may in principle depend on them).
        x: clean features ``(B, F)``.
        x_adv: adversarial features ``(B, F)``.

    Returns:
        ``(B,)`` fidelities in [0, 1] (NaN for an all-zero amplitude vector).

    Raises:
        ValueError: the features are not (only) amplitude-encoded.
    """
    problem = encoding_problem(circuit)
    if problem is not None:
        raise ValueError(f"no encoded-state fidelity: {problem}")
    x = np.atleast_2d(np.asarray(x, dtype=float))
    x_adv = np.atleast_2d(np.asarray(x_adv, dtype=float))
    out = np.ones(x.shape[0])
    for op in _amplitude_ops(circuit):
        out *= _squared_cosine(_amplitudes(op, theta, x), _amplitudes(op, theta, x_adv))
    return out
