"""Reference circuits the stdlib templates are compared against.

Two kinds of yardstick, both independent of the qadl front end:

* Qiskit's circuit library (``zz_feature_map``, ``efficient_su2``, ``real_amplitudes``),
  turned into a dense operator with ``qiskit.quantum_info.Operator``. Qiskit's qubit
  order is little-endian, like qadl's, so no permutation is needed.
* Hand-built qadl IR (``qadl.ir.circuit.Op`` lists) for the templates Qiskit does not
  have, written straight from the papers: PennyLane's ``StronglyEntanglingLayers``
  (Schuld et al. 2020) and the hardware-efficient ansatz (Kandala et al. 2017).
"""

from __future__ import annotations

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate

__all__ = [
    "entangler_pairs",
    "hardware_efficient_reference",
    "qiskit_operator",
    "strongly_entangling_reference",
]

_ROTATIONS = {"rx": Gate.RX, "ry": Gate.RY, "rz": Gate.RZ}
_ENTANGLERS = {"cx": Gate.CX, "cz": Gate.CZ}


def entangler_pairs(n: int, pattern: str) -> list[tuple[int, int]]:
    """Qubit pairs of an entangling layer, in Qiskit's ``n_local`` order.

    Args:
        n: number of qubits.
        pattern: ``linear``, ``reverse_linear``, ``circular`` or ``full``.

    Returns:
        ``(control, target)`` pairs in application order.
    """
    linear = [(i, i + 1) for i in range(n - 1)]
    if pattern == "linear":
        return linear
    if pattern == "reverse_linear":
        return linear[::-1]
    if pattern == "circular":
        # Qiskit puts the wrap-around pair first; a 2-qubit ring has no extra pair.
        return ([(n - 1, 0)] if n > 2 else []) + linear
    if pattern == "full":
        return [(i, j) for i in range(n) for j in range(i + 1, n)]
    if pattern == "brickwall":
        return linear[0::2] + linear[1::2]
    raise ValueError(f"unknown entanglement pattern {pattern!r}")


def qiskit_operator(circuit, values: np.ndarray) -> np.ndarray:
    """Dense little-endian operator of a Qiskit circuit with its parameters bound in order.

    Args:
        circuit: a parameterised ``QuantumCircuit``.
        values: one value per parameter, in ``circuit.parameters`` order (which is the
            numeric order of a ``ParameterVector``).

    Returns:
        The ``2^n × 2^n`` unitary.
    """
    from qiskit.quantum_info import Operator

    bound = circuit.assign_parameters(list(map(float, values)))
    return np.asarray(Operator(bound).data)


def strongly_entangling_reference(n: int, layers: int, ranges: list[int] | None = None) -> Circuit:
    """PennyLane's ``StronglyEntanglingLayers`` as a hand-built IR circuit.

    Layer ``l``: on every qubit ``i`` the rotation ``Rot(φ, θ, ω) = RZ(ω)·RY(θ)·RZ(φ)``
    (so RZ(φ) acts first) with ``(φ, θ, ω) = θ[3(n·l + i) + 0..2]`` (PennyLane's weight
    tensor ``(layers, n, 3)`` flattened row-major), then, when ``n > 1``, CNOTs
    ``(i, (i + r) mod n)`` for ``i = 0 … n-1`` with range ``r = l mod (n-1) + 1``.

    Args:
        n: number of qubits.
        layers: number of layers.
        ranges: the CNOT range of each layer; PennyLane's default when None.

    Returns:
        A circuit with ``3·n·layers`` trainable parameters.
    """
    if ranges is None:
        ranges = [(layer % (n - 1)) + 1 if n > 1 else 0 for layer in range(layers)]
    ops: list[Op] = []
    for layer in range(layers):
        for i in range(n):
            base = 3 * (n * layer + i)
            ops.append(Op(Gate.RZ, (i,), (E.theta(base),)))
            ops.append(Op(Gate.RY, (i,), (E.theta(base + 1),)))
            ops.append(Op(Gate.RZ, (i,), (E.theta(base + 2),)))
        if n > 1:
            ops += [Op(Gate.CX, (i, (i + ranges[layer]) % n)) for i in range(n)]
    return Circuit(n, tuple(ops), num_params=3 * n * layers)


def hardware_efficient_reference(
    n: int,
    layers: int,
    rotations: tuple[str, ...] = ("ry", "rz"),
    entangler: str = "cz",
    pattern: str = "linear",
) -> Circuit:
    """The hardware-efficient ansatz as a hand-built IR circuit.

    Each of ``layers`` layers applies, for each rotation kind ``r`` in ``rotations`` and
    each qubit ``i``, ``r(θ[k])`` with ``k`` counted in that order (layer, rotation,
    qubit), then the entangler on every pair of ``pattern``. No final rotation layer.

    Args:
        n: number of qubits.
        layers: number of rotation + entangler layers.
        rotations: rotation gates applied per layer, in order.
        entangler: ``cx`` or ``cz``.
        pattern: pair pattern (see ``entangler_pairs``).

    Returns:
        A circuit with ``layers · len(rotations) · n`` trainable parameters.
    """
    ops: list[Op] = []
    k = 0
    for _ in range(layers):
        for r in rotations:
            for i in range(n):
                ops.append(Op(_ROTATIONS[r], (i,), (E.theta(k),)))
                k += 1
        ops += [Op(_ENTANGLERS[entangler], pair) for pair in entangler_pairs(n, pattern)]
    return Circuit(n, tuple(ops), num_params=k)
