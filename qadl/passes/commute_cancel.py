"""Commutation-aware cancellation and merging: look back past ops that commute with an op."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.merge_rotations import merge_pair_fast
from qadl.passes.rules import FAMILY_CONST, FAMILY_ROT, WIRE_BASES, merge_pair, same_operands

__all__ = ["commute_cancel"]

Bases = dict[int, str | None]
"""Qubit -> the Pauli basis an op is block-diagonal in on it (``rules.WIRE_BASES``)."""

_AXIS = {g: FAMILY_ROT[g] for g in FAMILY_ROT} | {g: a for g, (a, _) in FAMILY_CONST.items()}
"""Single-qubit gates equal to ``R_axis(angle)`` up to phase -> axis (``rules.family_angle``)."""
_INVERSE = {g: info.inverse_of for g, info in GATES.items()}
_SELF_MERGING = {
    g: info.self_inverse or info.rotation_axis is not None or g in FAMILY_ROT
    for g, info in GATES.items()
}
"""Gates ``merge_pair`` can combine with the same gate (self-inverse, rotation, family rotation)."""


def _bases(op: Op) -> Bases | None:
    """``op``'s basis per qubit, or None for ``amplitude`` (commutes with nothing it touches)."""
    if op.gate is Gate.AMPLITUDE:
        return None
    return dict(zip(op.qubits, WIRE_BASES.get(op.gate, (None,) * len(op.qubits)), strict=True))


def _facts_memo() -> Callable[[Op], tuple[Bases | None, Kind]]:
    """``(_bases(op), _KIND[op.gate])`` remembered by (gate, qubits) for one pass run.

    The bases dicts are shared between ops and never mutated.
    """
    seen: dict[tuple[Gate, tuple[int, ...]], tuple[Bases | None, Kind]] = {}

    def facts(op: Op) -> tuple[Bases | None, Kind]:
        key = (op.gate, op.qubits)
        found = seen.get(key)
        if found is None:
            found = seen[key] = (_bases(op), _KIND[op.gate])
        return found

    return facts


def _merge(earlier: Op, op: Op, ko: Kind) -> tuple[Op, ...] | None:
    """``merge_pair(earlier, op, families=True)``; same-gate rotations via ``merge_pair_fast``."""
    if earlier.gate is op.gate and ko[4] and same_operands(earlier, op):
        return merge_pair_fast(earlier, op)
    return merge_pair(earlier, op, families=True)


def _commute(ba: Bases | None, bb: Bases | None) -> bool:
    """``rules.commute`` for two ops known to share a qubit, from their precomputed bases."""
    if ba is None or bb is None:
        return False
    return all(q not in bb or (basis is not None and basis == bb[q]) for q, basis in ba.items())


Kind = tuple[bool, Gate | None, str | None, bool, bool]
"""Per-gate facts for the merge prefilter: (merges with itself, inverse gate, family axis,
family rotation, has a rotation axis)."""

_KIND: dict[Gate, Kind] = {
    g: (
        _SELF_MERGING[g],
        _INVERSE[g],
        _AXIS.get(g),
        g in FAMILY_ROT,
        info.rotation_axis is not None,
    )
    for g, info in GATES.items()
}


def _may_merge(earlier: Op, ke: Kind, op: Op, ko: Kind) -> bool:
    """False only when ``merge_pair(earlier, op, families=True)`` is surely None (cheap).

    ``merge_pair`` needs one gate, an inverse pair, or two single-qubit gates of one
    rotation axis of which at least one is a rotation (``rules._merge_family``).
    ``ke``/``ko`` are the gates' ``_KIND`` entries (no enum hashing in the hot loop).
    """
    b = op.gate
    if earlier.gate is b:
        return ke[0]
    if ke[1] is b:
        return True
    axis = ke[2]
    return axis is not None and axis == ko[2] and (ke[3] or ko[3]) and len(op.qubits) == 1


def _earlier_on_wires(op: Op, stacks: dict[int, list[int]], out: list[Op | None]) -> Iterator[int]:
    """Live indices of earlier ops touching ``op``'s qubits, latest first (each once)."""
    if len(op.qubits) == 1:
        for i in reversed(stacks.get(op.qubits[0], ())):
            if out[i] is not None:
                yield i
        return
    previous = -1
    walks = [reversed(stacks.get(q, ())) for q in op.qubits]
    for i in heapq.merge(*walks, reverse=True):
        if i != previous and out[i] is not None:
            yield i
        previous = i


def _earlier_on_pair(op: Op, stacks: dict[int, list[int]], out: list[Op | None]) -> Iterator[int]:
    """``_earlier_on_wires`` for a two-qubit ``op``: its two stacks merged by two cursors."""
    qa, qb = op.qubits
    a, b = stacks.get(qa, ()), stacks.get(qb, ())
    i, j = len(a) - 1, len(b) - 1
    while i >= 0 or j >= 0:
        if j < 0 or (i >= 0 and a[i] > b[j]):
            k, i = a[i], i - 1
        elif i < 0 or b[j] > a[i]:
            k, j = b[j], j - 1
        else:  # an op on both wires
            k, i, j = a[i], i - 1, j - 1
        if out[k] is not None:
            yield k


def _find_partner(
    op: Op,
    out: list[Op | None],
    bases: list[Bases | None],
    stacks: dict[int, list[int]],
    ctx: PassContext,
    window: int,
    mine: Bases | None,
    kinds: list[Kind],
) -> tuple[int, tuple[Op, ...]] | None:
    ko = _KIND[op.gate]
    walk = _earlier_on_pair if len(op.qubits) == 2 else _earlier_on_wires
    for steps, i in enumerate(walk(op, stacks, out)):
        earlier = out[i]
        assert earlier is not None
        if steps >= window:
            return None
        if _may_merge(earlier, kinds[i], op, ko) and not is_protected(earlier, ctx):
            merged = _merge(earlier, op, ko)
            if merged is not None:
                return i, merged
        if not _commute(bases[i], mine):
            return None
    return None


def _find_partner_1q(
    op: Op,
    out: list[Op | None],
    bases: list[Bases | None],
    stack: list[int],
    ctx: PassContext,
    window: int,
    mine: Bases | None,
    ko: Kind,
    kinds: list[Kind],
) -> tuple[int, tuple[Op, ...]] | None:
    """``_find_partner`` for a single-qubit ``op`` whose wire holds the indices ``stack``."""
    q = op.qubits[0]
    basis = None if mine is None else mine[q]
    steps = 0
    for i in reversed(stack):
        earlier = out[i]
        if earlier is None:
            continue
        if steps >= window:
            return None
        steps += 1
        if _may_merge(earlier, kinds[i], op, ko) and not is_protected(earlier, ctx):
            merged = _merge(earlier, op, ko)
            if merged is not None:
                return i, merged
        theirs = bases[i]  # rules.commute on the one shared qubit
        if theirs is None or basis is None or theirs[q] != basis:
            return None
    return None


def _is_zero(op: Op) -> bool:
    return bool(op.angles) and all(not a.terms for a in op.angles)


@circuit_pass("commute-cancel")
def commute_cancel(circuit: Circuit, /, *, ctx: PassContext = DEFAULT, window: int = 64) -> Circuit:
    """Cancel or merge each op with an earlier partner it can commute back to.

    Walking back from an op over the earlier ops on its qubits, every op passed must
    commute with it (``rules.commute``: diagonals through diagonals and controls, RZ
    through a CX/CZ control, X rotations through a CX target…). The first op that
    merges with it (inverse pair, same-axis rotation, or a fixed gate of the same axis
    such as ``rz(a)·s``) absorbs it in place; a merged zero angle removes both.

    Args:
        circuit: the circuit to simplify.
        ctx: pass options (protected ops are passed over but never merged).
        window: at most this many earlier ops are examined per op (bounds the cost).

    Precondition: none. Keeps: the operator up to global phase (family merges such as
    ``rz·s`` drop a phase). Cost: O(ops · window); each op's per-qubit bases are computed
    once and a gate-pair prefilter skips ``merge_pair`` for pairs that cannot merge.

    Raises:
        ValueError: when ``window`` is not a non-negative integer (0 examines nothing).
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        raise ValueError(f"commute-cancel window must be an integer >= 0, got {window!r}")
    out: list[Op | None] = []
    bases: list[Bases | None] = []
    kinds: list[Kind] = []
    stacks: dict[int, list[int]] = {}
    facts = _facts_memo()
    protected = ctx.protected
    for op in circuit.ops:
        mine, kind = facts(op)
        if protected and op.tags & protected:  # is_protected(op, ctx), inline
            found = None
        elif len(op.qubits) == 1:
            stack = stacks.get(op.qubits[0])
            if stack is None:
                found = None
            else:
                # Most walks end at the top op of the wire: it neither merges nor commutes.
                top = stack[-1]
                earlier = out[top]
                theirs = bases[top]
                q = op.qubits[0]
                if (
                    earlier is not None
                    and window > 0
                    and not _may_merge(earlier, kinds[top], op, kind)
                    and (theirs is None or mine is None or theirs[q] != mine[q])
                ):
                    found = None
                else:
                    found = _find_partner_1q(op, out, bases, stack, ctx, window, mine, kind, kinds)
        else:
            found = _find_partner(op, out, bases, stacks, ctx, window, mine, kinds)
        if found is None:
            index = len(out)
            out.append(op)
            bases.append(mine)
            kinds.append(kind)
            for q in op.qubits:
                stack = stacks.get(q)
                if stack is None:
                    stacks[q] = [index]
                else:
                    stack.append(index)
            continue
        i, merged = found
        if merged and not _is_zero(merged[0]):
            out[i] = merged[0]
            bases[i], kinds[i] = facts(merged[0])
        else:
            out[i] = None
    ops = tuple([op for op in out if op is not None])
    return circuit if ops == circuit.ops else circuit.with_ops(ops)
