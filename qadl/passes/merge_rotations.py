"""Merge adjacent rotations about the same axis: RZ(θ1 + x2)·RZ(θ3) -> RZ(θ1 + θ3 + x2)."""

from __future__ import annotations

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES
from qadl.passes._stack import rebuild_adjacent
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.rules import merge_pair

__all__ = ["merge_rotations"]

_INVERSE = {g: info.inverse_of for g, info in GATES.items()}
_SELF_MERGING = {g: info.self_inverse or info.rotation_axis is not None for g, info in GATES.items()}
"""Gates that ``merge_pair`` can combine with the same gate (self-inverse or rotation)."""


def _merge(first: Op, second: Op) -> tuple[Op, ...] | None:
    """``rules.merge_pair``, skipped for gate pairs it can never merge.

    It merges only one self-inverse or rotation gate with itself, or an inverse pair.
    """
    if first.gate is second.gate:
        if not _SELF_MERGING[first.gate]:
            return None
    elif _INVERSE[first.gate] is not second.gate:
        return None
    return merge_pair(first, second)


@circuit_pass("merge-rotations")
def merge_rotations(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Replace two adjacent same-axis rotations on the same qubits by one with the summed angle.

    Applies to every gate with a ``rotation_axis`` in the gate table (``rx ry rz p``,
    ``cp crx cry crz``, ``rxx ryy rzz``), with symbolic angles: ``Expr`` addition keeps
    the canonical form. A merged angle that is exactly zero removes the op. Adjacent
    inverse pairs of fixed gates cancel too (a merge with the identity as result).

    Precondition: none. Keeps: the operator exactly. Cost: O(ops).
    """
    ops = rebuild_adjacent(
        circuit.ops,
        _merge,
        skip=(lambda op: is_protected(op, ctx)) if ctx.protected else None,
        drop=lambda op: bool(op.angles) and all(not a.terms for a in op.angles),
    )
    return circuit if tuple(ops) == circuit.ops else circuit.with_ops(ops)
