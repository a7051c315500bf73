"""Remove ops that act as the identity (constant zero angles, identity gates)."""

from __future__ import annotations

import functools
import math

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass
from qadl.passes.rules import is_identity

__all__ = ["drop_identities"]


_SIN_HALF = frozenset({Gate.RX, Gate.RY, Gate.RZ, Gate.P})
"""Gates at distance ``2√2·min(|sin(a/4)|, |cos(a/4)|) ≥ √2·|sin(a/2)|`` from the nearest
phase times I (``rules.phase_distance``)."""


def _surely_not_identity(op: Op, atol: float) -> bool:
    """True when ``is_identity(op, atol)`` is certainly False, decided without a matrix.

    ``rx ry rz p`` by ``a`` are at least ``√2·|sin(a/2)|`` from every phase times I; when
    ``|sin(a/2)| > atol`` that is above ``1.4·atol``, a margin far wider than the rounding
    of the matrix entries. Large angles are left to the matrix.
    """
    a = op.angles[0].constant_value
    if not abs(a) < 1e6:
        return False
    return abs(math.sin(a / 2)) > atol


@functools.cache
def _fixed_identity(gate: Gate, atol: float) -> bool:
    """``is_identity`` of an op of the angle-free ``gate``: a fact of the gate table, once each."""
    return is_identity(Op(gate, tuple(range(GATES[gate].num_qubits))), atol)


def _identity_test(atol: float):
    """``is_identity(op, atol)`` with its verdicts remembered by gate and exact angle terms.

    Symbolic angles are rejected before any matrix is built; a constant op's verdict
    depends only on its gate and angle values, so each distinct one is computed once
    (once per process for gates without angles).
    """
    seen: dict[tuple, bool] = {}

    def test(op: Op) -> bool:
        angles = op.angles
        if angles:
            for a in angles:
                for mono, _ in a.terms:
                    if mono:
                        return False
            if op.gate in _SIN_HALF and _surely_not_identity(op, atol):
                return False
        elif op.gate is Gate.AMPLITUDE:
            return False
        else:
            return _fixed_identity(op.gate, atol)
        key = (op.gate, len(op.qubits), tuple([a.terms for a in angles]))
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
    protected = ctx.protected
    kept = [op for op in circuit.ops if not identity(op) or (protected and op.tags & protected)]
    return circuit if len(kept) == len(circuit.ops) else circuit.with_ops(kept)
