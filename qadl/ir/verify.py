"""``verify(circuit)``: the IR invariants every pass must keep."""

from __future__ import annotations

from qadl.errors import InternalError
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate

__all__ = ["verify"]


def _op_problem(op: Op, circuit: Circuit) -> str | None:
    info = GATES[op.gate]
    if op.gate is Gate.AMPLITUDE:
        if len(op.angles) != 1 << len(op.qubits):
            return f"amplitude on {len(op.qubits)} qubits needs {1 << len(op.qubits)} amplitudes"
    else:
        if len(op.qubits) != info.num_qubits:
            return f"{info.name} takes {info.num_qubits} qubits, got {len(op.qubits)}"
        if len(op.angles) != info.num_angles:
            return f"{info.name} takes {info.num_angles} angles, got {len(op.angles)}"
    qubits = op.qubits
    if len(qubits) > 1 and len(set(qubits)) != len(qubits):
        return f"repeated qubit operand in {op}"
    for q in qubits:
        if not 0 <= q < circuit.num_qubits:
            return f"qubit out of range 0..{circuit.num_qubits - 1} in {op}"
    for angle in op.angles:
        for mono, _ in angle.terms:  # the symbols, without building ``symbols()``'s set
            for sym in mono:
                if not 0 <= sym.index < circuit.num_symbols(sym.kind):
                    return f"symbol {sym} not declared (length {circuit.num_symbols(sym.kind)})"
    return None


def verify(circuit: Circuit) -> Circuit:
    """Check arity, qubit ranges, declared symbols and the readout; return the circuit.

    Raises:
        InternalError: naming the first broken invariant (a compiler bug, never user error).
    """
    touched: set[int] = set()
    for index, op in enumerate(circuit.ops):
        problem = _op_problem(op, circuit)
        if problem is None and op.gate is Gate.AMPLITUDE and touched & set(op.qubits):
            problem = "amplitude preparation after other ops on its qubits"
        if problem is not None:
            raise InternalError(f"invalid IR at op {index}: {problem}")
        touched.update(op.qubits)
    readout = circuit.readout
    if readout is not None:
        bad = [q for q in readout.measured_qubits() if not 0 <= q < circuit.num_qubits]
        if bad:
            raise InternalError(f"invalid IR: readout qubits {bad} out of range")
        if readout.kind == "probs" and readout.num_classes > 1 << len(readout.qubits):
            raise InternalError("invalid IR: more classes than readout outcomes")
    return circuit
