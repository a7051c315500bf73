"""Small IR circuits built directly from ops, shared by the learn tests."""

from __future__ import annotations

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
        num_qubits, tuple(ops), num_params=2 * num_qubits + 1, num_deltas=num_qubits,
        readout=Readout("probs", qubits=(0,), num_classes=2), state_input=True, name="tiny_state",
    )
