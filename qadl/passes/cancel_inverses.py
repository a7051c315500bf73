"""Cancel adjacent pairs whose product is the identity (H·H, CZ·CZ, S·Sdg, RZ(a)·RZ(-a))."""

from __future__ import annotations

import math

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES
from qadl.passes._stack import rebuild_adjacent
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.rules import is_inverse_pair, same_operands

__all__ = ["cancel_inverses"]

_INVERSE = {g: info.inverse_of for g, info in GATES.items()}
_ROTATION = {g: info.rotation_axis is not None for g, info in GATES.items()}
_SELF_MERGING = {g: info.self_inverse or _ROTATION[g] for g, info in GATES.items()}


def _sums_to_zero(a: E.Expr, b: E.Expr) -> bool:
    """Whether ``a + b`` has no terms, without building it.

    Both are canonical (each monomial once), so the sum is empty exactly when they have the
    same monomials with coefficients ``c`` and ``-c`` (finite: ``inf + -inf`` is NaN, kept).
    """
    if len(a.terms) != len(b.terms):
        return False
    negated = {mono: -coeff for mono, coeff in a.terms}
    for mono, coeff in b.terms:
        if negated.get(mono) != coeff or not math.isfinite(coeff):
            return False
    return True


def _cancel_only(first: Op, second: Op) -> tuple[Op, ...] | None:
    """``()`` when ``rules.merge_pair(first, second)`` is the identity exactly, else None."""
    if first.gate is second.gate:
        if not _SELF_MERGING[first.gate]:
            return None
    elif _INVERSE[first.gate] is not second.gate:
        return None  # neither one gate nor an inverse pair
    if not first.angles and not second.angles and is_inverse_pair(first, second):
        return ()  # (is_inverse_pair is False whenever either op has angles)
    # Rotations cancel only when the summed angles are exactly zero (RZ(a)·RZ(-a)).
    if _ROTATION[first.gate] and same_operands(first, second):
        for a, b in zip(first.angles, second.angles, strict=True):
            if not _sums_to_zero(a, b):
                return None
        return ()
    return None


@circuit_pass("cancel-inverses")
def cancel_inverses(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Remove adjacent inverse pairs acting on the same qubits.

    Two ops are adjacent when no op between them touches any of their qubits. Pairs:
    self-inverse gates (``h x y z cx cy cz ch swap ccx``; symmetric ones in either
    qubit order), ``s/sdg``, ``t/tdg``, ``sx/sxdg``, and rotations whose angles add up
    to exactly zero (symbolic ones included: ``rz(θ0)·rz(-θ0)``).

    Precondition: none. Keeps: the operator exactly. Cost: O(ops) with per-qubit stacks.
    """
    ops = rebuild_adjacent(
        circuit.ops,
        _cancel_only,
        skip=(lambda op: is_protected(op, ctx)) if ctx.protected else None,
        drop=lambda op: False,
    )
    return circuit if len(ops) == len(circuit.ops) else circuit.with_ops(ops)
