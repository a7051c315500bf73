"""Per-qubit stacks over an op list being rebuilt: the shared engine of the adjacency passes."""

from __future__ import annotations

from collections.abc import Callable

from qadl.ir.circuit import Op

__all__ = ["rebuild_adjacent"]

Combine = Callable[[Op, Op], tuple[Op, ...] | None]
"""``combine(earlier, later)`` -> replacement ops (``()`` cancels both), or None to keep both."""


def rebuild_adjacent(
    ops: tuple[Op, ...],
    combine: Combine,
    skip: Callable[[Op], bool] | None,
    drop: Callable[[Op], bool],
) -> list[Op]:
    """Rebuild ``ops``, combining each op with the op directly before it on all its qubits.

    Two ops are adjacent when the later one's qubit set equals the earlier one's and no op
    in between touches any of them. After a cancellation the op below becomes the top
    again, so ``H X X H`` vanishes in one sweep. ``skip(op)`` ops are never combined;
    ``drop(op)`` results (e.g. ``rz(0)``) are removed; ``skip=None`` skips nothing.
    Cost: O(ops · arity).
    """
    out: list[Op | None] = []
    stacks: dict[int, list[int]] = {}
    for op in ops:
        qubits = op.qubits
        if len(qubits) == 1:  # _adjacent_index's common case, inline
            stack = stacks.get(qubits[0])
            if stack is None:
                stack = stacks[qubits[0]] = []
            j = stack[-1] if stack else None
            if j is not None:
                earlier = out[j]
                if earlier is None or len(earlier.qubits) != 1:
                    j = None
        else:
            stack = None
            j = _adjacent_index(op, out, stacks)
        replaced = None
        if j is not None and (skip is None or not (skip(op) or skip(out[j]))):  # type: ignore[arg-type]
            replaced = combine(out[j], op)  # type: ignore[arg-type]
        if replaced is None:
            if stack is not None:  # a one-qubit op: its wire's stack is at hand
                stack.append(len(out))
                out.append(op)
            else:
                _push(op, out, stacks)
            continue
        if len(replaced) == 1 and not drop(replaced[0]):
            out[j] = replaced[0]  # type: ignore[index]
        else:
            out[j] = None  # type: ignore[index]
            for q in op.qubits:
                stacks[q].pop()
            for extra in replaced:
                if not drop(extra):
                    _push(extra, out, stacks)
    return [op for op in out if op is not None]


def _adjacent_index(op: Op, out: list[Op | None], stacks: dict[int, list[int]]) -> int | None:
    qubits = op.qubits
    if len(qubits) == 2:  # the common case, without building sets
        below, other = stacks.get(qubits[0]), stacks.get(qubits[1])
        if not below or not other or below[-1] != other[-1]:
            return None
        j = below[-1]
        earlier = out[j]  # on top of both wires: its qubits include both of op's
        return j if earlier is not None and len(earlier.qubits) == 2 else None
    tops = {stacks[q][-1] if stacks.get(q) else None for q in qubits}
    if len(tops) != 1:
        return None
    j = tops.pop()
    if j is None:
        return None
    earlier = out[j]
    if earlier is None or set(earlier.qubits) != set(qubits):
        return None
    return j


def _push(op: Op, out: list[Op | None], stacks: dict[int, list[int]]) -> None:
    out.append(op)
    for q in op.qubits:
        stacks.setdefault(q, []).append(len(out) - 1)
