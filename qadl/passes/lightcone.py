"""Remove every op outside the backward light cone of the readout's measured qubits."""

from __future__ import annotations

from qadl.ir.circuit import Circuit
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected

__all__ = ["backward_lightcone", "lightcone"]


def backward_lightcone(circuit: Circuit, seed: frozenset[int]) -> tuple[bool, ...]:
    """For each op, whether it lies in the backward light cone of the qubits ``seed``.

    Scanning from the end, a qubit is *live* once it is in ``seed`` or shares an op with
    a live qubit; an op is in the cone when it touches a live qubit, and then all its
    qubits become live. Cost: O(ops · arity).
    """
    live = set(seed)
    ops = circuit.ops
    keep = [False] * len(ops)
    for index in range(len(ops) - 1, -1, -1):
        qubits = ops[index].qubits
        if len(qubits) == 1:  # the common case, without a set intersection
            if qubits[0] in live:
                keep[index] = True
        elif not live.isdisjoint(qubits):
            keep[index] = True
            live.update(qubits)
    return tuple(keep)


@circuit_pass("lightcone")
def lightcone(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Drop the ops that cannot influence the readout.

    An op outside the backward light cone touches only qubits that never again share an
    op with a measured qubit; it commutes to the end and acts on qubits the readout traces
    out, so the reduced state of the measured qubits, hence every readout value, is
    unchanged (for ``|0…0⟩`` and for any input state). Without a readout nothing is dropped.

    Precondition: none. Keeps: the readout values (not the full operator). Cost: O(ops).
    """
    if circuit.readout is None:
        return circuit
    keep = backward_lightcone(circuit, circuit.readout.measured_qubits())
    if all(keep):
        return circuit
    ops = [op for op, k in zip(circuit.ops, keep, strict=True) if k or is_protected(op, ctx)]
    return circuit if len(ops) == len(circuit.ops) else circuit.with_ops(ops)
