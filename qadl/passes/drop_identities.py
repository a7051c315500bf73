"""Remove ops that act as the identity (constant zero angles, identity gates)."""

from __future__ import annotations

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.rules import is_identity

__all__ = ["drop_identities"]


def _identity_test(atol: float):
    """``is_identity(op, atol)`` with its verdicts remembered by gate and exact angle terms.

    Symbolic angles are rejected before any matrix is built; a constant op's verdict
    depends only on its gate and angle values, so each distinct one is computed once.
    """
    seen: dict[tuple, bool] = {}

    def test(op: Op) -> bool:
        if op.gate is Gate.AMPLITUDE:
            return False
        for a in op.angles:
            for mono, _ in a.terms:
                if mono:
                    return False
        key = (op.gate, len(op.qubits), tuple(a.terms for a in op.angles))
        verdict = seen.get(key)
        if verdict is None:
            verdict = seen[key] = is_identity(op, atol)
        return verdict

    return test


@circuit_pass("drop-identities")
def drop_identities(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Remove every op whose angles are constant and whose matrix is a global phase times I.

    ``rz(0)``, ``rx(4π)``, ``cp(2π)`` and an angle that simplified to ``0`` all go;
    ``crz(2π)`` stays (it is ``diag(1, 1, -1, -1)``, not a phase).

    Precondition: none. Keeps: the operator up to global phase. Cost: O(ops), one matrix
    per distinct constant (gate, angles).
    """
    identity = _identity_test(ctx.atol)
    kept = [op for op in circuit.ops if is_protected(op, ctx) or not identity(op)]
    return circuit if len(kept) == len(circuit.ops) else circuit.with_ops(kept)
