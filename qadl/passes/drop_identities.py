"""Remove ops that act as the identity (constant zero angles, identity gates)."""

from __future__ import annotations

from qadl.ir.circuit import Circuit
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.rules import is_identity

__all__ = ["drop_identities"]


@circuit_pass("drop-identities")
def drop_identities(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Remove every op whose angles are constant and whose matrix is a global phase times I.

    ``rz(0)``, ``rx(4π)``, ``cp(2π)`` and an angle that simplified to ``0`` all go;
    ``crz(2π)`` stays (it is ``diag(1, 1, -1, -1)``, not a phase).

    Precondition: none. Keeps: the operator up to global phase. Cost: O(ops).
    """
    kept = [op for op in circuit.ops if is_protected(op, ctx) or not is_identity(op, ctx.atol)]
    return circuit if len(kept) == len(circuit.ops) else circuit.with_ops(kept)
