"""Drop diagonal gates acting only on qubits still in |0⟩ (a global phase on the start state)."""

from __future__ import annotations

from qadl.ir.circuit import Circuit
from qadl.ir.gates import GATES
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected

__all__ = ["drop_initial_diagonal"]


@circuit_pass("drop-initial-diagonal")
def drop_initial_diagonal(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Remove diagonal ops all of whose qubits are still in ``|0⟩`` when they act.

    Why this is sound: a qubit in ``|0⟩`` stays in ``|0⟩`` under any diagonal op, since
    ``D(|0⟩ ⊗ |χ⟩) = |0⟩ ⊗ D₀|χ⟩``. So scanning forward, a qubit leaves the "still zero"
    set only at its first non-diagonal op. A diagonal op whose qubits are all still zero
    multiplies the state by its ``⟨0…0|D|0…0⟩`` entry, a global phase: ``rz``/``cz``/``rzz``
    right after the start (or after other such ops) go. Circuits with a state input start
    from an arbitrary state, so they are returned unchanged; so are circuits without a
    readout, whose operator the optimisation levels keep (as with ``lightcone``).

    Precondition: none. Keeps: the final state from ``|0…0⟩`` up to global phase (hence
    every readout), not the operator. Cost: O(ops).
    """
    if circuit.state_input or circuit.readout is None:
        return circuit
    zero = set(range(circuit.num_qubits))
    kept = []
    for op in circuit.ops:
        diagonal = GATES[op.gate].diagonal
        if diagonal and zero.issuperset(op.qubits) and not is_protected(op, ctx):
            continue
        if not diagonal:
            zero.difference_update(op.qubits)
        kept.append(op)
    return circuit if len(kept) == len(circuit.ops) else circuit.with_ops(kept)
