"""Small IR circuits built directly from ops, shared by the learn tests."""

from __future__ import annotations

import math

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate


def tiny_classifier(
    num_qubits: int = 2, layers: int = 2, readout: Readout | None = None
) -> Circuit:
    """Angle-encode x[q] with RY on each qubit, then ``layers`` of RY(θ)·RZ(θ) + CX chain.

    Features enter as ``ry(x[q])``; the readout defaults to the marginal of qubit 0.
    """
    ops = [Op(Gate.RY, (q,), (E.x(q),)) for q in range(num_qubits)]
    k = 0
    for _ in range(layers):
        for q in range(num_qubits):
            ops.append(Op(Gate.RY, (q,), (E.theta(k),)))
            ops.append(Op(Gate.RZ, (q,), (E.theta(k + 1) + 0.5 * E.x(q),)))
            k += 2
        ops += [Op(Gate.CX, (q, q + 1)) for q in range(num_qubits - 1)]
    ops.append(Op(Gate.RY, (0,), (E.theta(k),)))
    k += 1
    return Circuit(
        num_qubits,
        tuple(ops),
        num_params=k,
        num_features=num_qubits,
        readout=readout or Readout("probs", qubits=(0,), num_classes=2),
        name="tiny",
    )


def tiny_state_classifier(num_qubits: int = 2) -> Circuit:
    """A classifier of input states: RY(θ)/RX(θ+δ) on each qubit, CZ, readout qubit 0."""
    ops = []
    for q in range(num_qubits):
        ops.append(Op(Gate.RY, (q,), (E.theta(q),)))
        ops.append(Op(Gate.RX, (q,), (E.theta(num_qubits + q) + E.delta(q),)))
    ops += [Op(Gate.CZ, (q, q + 1)) for q in range(num_qubits - 1)]
    ops.append(Op(Gate.RY, (0,), (E.theta(2 * num_qubits),)))
    return Circuit(
        num_qubits,
        tuple(ops),
        num_params=2 * num_qubits + 1,
        num_deltas=num_qubits,
        readout=Readout("probs", qubits=(0,), num_classes=2),
        state_input=True,
        name="tiny_state",
    )


# 1-based (1→2), (3→4), …, (9→10), then (2→3), …, (8→9): Ren et al.'s brick-wall layer E.
BRICKWALL_10 = tuple((a, a + 1) for a in range(0, 9, 2)) + tuple((a, a + 1) for a in range(1, 8, 2))


def ren2022_image_circuit() -> Circuit:
    """Ren et al. 2022's image classifier (REFERENCE-ren2022.md §2), 10 qubits, 260 angles.

    Layer ``l`` (26 in all) applies ``rx`` (even ``l``) or ``rz`` (odd ``l``) to every
    qubit with angle ``θ_k + π + 2·x_k``, ``k = 10·l + q`` (``x_k`` only for
    ``k < 256``); a brick-wall CNOT layer follows layers 7, 13, 19 and 25; the
    readout is the Z marginal of qubit 4.
    """
    ops = []
    for layer in range(26):
        gate = Gate.RX if layer % 2 == 0 else Gate.RZ
        for q in range(10):
            k = 10 * layer + q
            angle = E.theta(k) + math.pi + (2 * E.x(k) if k < 256 else 0.0)
            ops.append(Op(gate, (q,), (angle,)))
        if layer in (7, 13, 19, 25):
            ops += [Op(Gate.CX, pair) for pair in BRICKWALL_10]
    return Circuit(
        10,
        tuple(ops),
        num_params=260,
        num_features=256,
        readout=Readout("probs", qubits=(4,), num_classes=2),
        name="ren2022_images",
    )


def ren2022_quantum_circuit(blocks: int = 5) -> Circuit:
    """A quantum-data classifier in the shape of Ren et al.'s: 10 qubits, 30 angles per block.

    Each block applies ``rz·rx·rz`` (Euler rotations, angles ``30·block + 3·q + 0, 1, 2``)
    to every qubit ``q``, then the brick-wall CNOT layer; it acts on an input state and
    reads qubit 4 (the same circuit as examples/ren2022_quantum_data.qadl).
    """
    ops = []
    k = 0
    for _ in range(blocks):
        for q in range(10):
            for gate in (Gate.RZ, Gate.RX, Gate.RZ):
                ops.append(Op(gate, (q,), (E.theta(k),)))
                k += 1
        ops += [Op(Gate.CX, pair) for pair in BRICKWALL_10]
    return Circuit(
        10,
        tuple(ops),
        num_params=k,
        state_input=True,
        readout=Readout("probs", qubits=(4,), num_classes=2),
        name="ren2022_quantum",
    )
