"""Drop diagonal gates that only precede a computational-basis (Z) readout."""

from __future__ import annotations

from qadl.ir.circuit import Circuit, Readout
from qadl.ir.gates import GATES
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected

__all__ = ["drop_diagonal_before_measure", "non_z_qubits"]


def non_z_qubits(readout: Readout) -> frozenset[int] | None:
    """Qubits the readout observes in a basis other than Z, or None when it is not Z-diagonal.

    ``probs`` readouts are Z-basis on every qubit (empty set). ``expval`` readouts return
    the qubits carrying an X or Y factor in some observable; a diagonal gate touching one
    of them can change that expectation value and must stay.
    """
    if readout.kind == "probs":
        return frozenset()
    return frozenset(q for obs in readout.observables for p, q in obs if p != "Z")


@circuit_pass("drop-diagonal-before-measure")
def drop_diagonal_before_measure(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Remove diagonal ops followed, on each of their qubits, only by diagonal ops.

    Why this is sound: such an op ``D`` commutes with every later op on its qubits (all
    diagonal), so it can be moved to the very end. A diagonal ``D`` multiplies each
    amplitude of the full register by a phase, so the *joint* computational-basis
    distribution of all qubits is unchanged, and with it every marginal: the ``probs``
    readout of any subset, whether ``D`` touches measured qubits, unmeasured ones or
    both. (The reduced density matrix of the measured qubits does change off its
    diagonal when ``D`` entangles them with unmeasured ones; only its diagonal is read.)
    For ``expval`` readouts ``D`` commutes with Z-products, so it may go unless one of its
    qubits carries an X or Y factor. Without a readout nothing is dropped.

    Precondition: none. Keeps: the readout values (not the operator). Cost: O(ops).
    """
    if circuit.readout is None:
        return circuit
    blocked = set(non_z_qubits(circuit.readout))
    keep = [True] * len(circuit.ops)
    for index in range(len(circuit.ops) - 1, -1, -1):
        op = circuit.ops[index]
        if not GATES[op.gate].diagonal:
            blocked.update(op.qubits)
        elif blocked.isdisjoint(op.qubits) and not is_protected(op, ctx):
            keep[index] = False
    ops = [op for op, k in zip(circuit.ops, keep, strict=True) if k]
    return circuit if len(ops) == len(circuit.ops) else circuit.with_ops(ops)
