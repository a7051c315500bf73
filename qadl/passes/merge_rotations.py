"""Merge adjacent rotations about the same axis: RZ(θ1 + x2)·RZ(θ3) -> RZ(θ1 + θ3 + x2)."""

from __future__ import annotations

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES
from qadl.passes._stack import rebuild_adjacent
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.rules import merge_pair, same_operands

__all__ = ["add_angles", "merge_pair_fast", "merge_rotations"]

_INVERSE = {g: info.inverse_of for g, info in GATES.items()}
_ROTATION = {g: info.rotation_axis is not None for g, info in GATES.items()}
_SELF_MERGING = {g: info.self_inverse or _ROTATION[g] for g, info in GATES.items()}
"""Gates that ``merge_pair`` can combine with the same gate (self-inverse or rotation)."""


def add_angles(a: E.Expr, b: E.Expr) -> E.Expr:
    """``a + b``, the same ``Expr``, built without sorting when one side is a constant.

    Both are canonical (the ``Expr`` invariant: sorted monomials, each once, no zero
    coefficient), and the constant monomial sorts first, so adding a constant only
    changes or inserts the first term. Other sums go through ``Expr.__add__``.
    """
    if not b.terms:
        return a + b
    if len(b.terms) == 1 and not b.terms[0][0]:
        const, rest = b.terms[0][1], a.terms
    elif len(a.terms) == 1 and not a.terms[0][0]:
        const, rest = a.terms[0][1], b.terms
    else:
        return a + b
    if rest and not rest[0][0]:
        total = 0.0 + rest[0][1] + const
        rest = rest[1:]
    else:
        total = 0.0 + const
    return E.Expr((((), total), *rest) if total != 0.0 else rest)


def merge_pair_fast(first: Op, second: Op) -> tuple[Op, ...] | None:
    """``rules.merge_pair(first, second)`` (no families), with cheap early exits.

    It merges only one self-inverse or rotation gate with itself, or an inverse pair;
    two rotations on the same operands get ``add_angles`` sums.
    """
    if first.gate is second.gate:
        if not _SELF_MERGING[first.gate]:
            return None
        if _ROTATION[first.gate] and same_operands(first, second):
            fa, sa = first.angles, second.angles
            if len(fa) == 1 and len(sa) == 1:
                angles: tuple[E.Expr, ...] = (add_angles(fa[0], sa[0]),)
            else:
                angles = tuple([add_angles(a, b) for a, b in zip(fa, sa, strict=True)])
            return (Op(first.gate, first.qubits, angles, first.tags, span=first.span),)
    elif _INVERSE[first.gate] is not second.gate:
        return None
    return merge_pair(first, second)


def _zero_rotation(op: Op) -> bool:
    """True for a merged op whose angles are all exactly zero (it is removed)."""
    return bool(op.angles) and all(not angle.terms for angle in op.angles)


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
        merge_pair_fast,
        skip=(lambda op: is_protected(op, ctx)) if ctx.protected else None,
        drop=_zero_rotation,
    )
    return circuit if tuple(ops) == circuit.ops else circuit.with_ops(ops)
