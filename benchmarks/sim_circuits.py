"""The benchmark circuits W1 and W2, built directly as qadl IR (no front end needed)."""

from __future__ import annotations

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate


def layered(num_qubits: int, layers: int, *, encode: bool) -> Circuit:
    """RY(x_q) encoding (optional), then ``layers`` × (RZ·RY·RZ on every qubit + CZ chain).

    Parameters are numbered layer-major, qubit, then rotation (RZ, RY, RZ); the readout
    is ⟨Z0⟩.
    """
    ops: list[Op] = []
    if encode:
        ops += [Op(Gate.RY, (q,), (E.x(q),)) for q in range(num_qubits)]
    k = 0
    for _ in range(layers):
        for q in range(num_qubits):
            for gate in (Gate.RZ, Gate.RY, Gate.RZ):
                ops.append(Op(gate, (q,), (E.theta(k),)))
                k += 1
        ops += [Op(Gate.CZ, (q, q + 1)) for q in range(num_qubits - 1)]
    return Circuit(
        num_qubits,
        tuple(ops),
        num_params=k,
        num_features=num_qubits if encode else 0,
        readout=Readout("expval", observables=((("Z", 0),),)),
        name=f"layered{num_qubits}x{layers}",
    )


def gate_count(circuit: Circuit) -> int:
    """Number of gates (for ns-per-gate figures)."""
    return len(circuit.ops)
