"""The compile path's fast paths agree exactly with the general definitions they stand for."""

from __future__ import annotations

import heapq

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.ir.circuit import Op
from qadl.ir.gates import Gate
from qadl.passes._stack import _adjacent_index
from qadl.passes.commute_cancel import _earlier_on_pair, _earlier_on_wires
from qadl.passes.kak import _kron
from qadl.passes.route_sabre import _dependencies

GATES = {1: [Gate.H, Gate.RZ, Gate.SX], 2: [Gate.CX, Gate.CZ, Gate.SWAP], 3: [Gate.CCX]}


@st.composite
def walks(draw) -> tuple[Op, dict[int, list[int]], list[Op | None]]:
    """Earlier ops on 4 wires (some removed: None) with their per-wire stacks, and a 2q op."""
    out: list[Op | None] = []
    stacks: dict[int, list[int]] = {}
    for _ in range(draw(st.integers(0, 12))):
        arity = draw(st.sampled_from([1, 2, 2, 3]))
        qubits = tuple(draw(st.permutations(range(4)))[:arity])
        out.append(Op(draw(st.sampled_from(GATES[arity])), qubits) if draw(st.booleans()) else None)
        for q in qubits:
            stacks.setdefault(q, []).append(len(out) - 1)
    a, b = draw(st.permutations(range(4)))[:2]
    return Op(Gate.CX, (a, b)), stacks, out


def _heap_walk(op: Op, stacks: dict[int, list[int]], out: list[Op | None]) -> list[int]:
    """The general walk: every wire's stack merged latest first, each live index once."""
    merged = heapq.merge(*(reversed(stacks.get(q, ())) for q in op.qubits), reverse=True)
    return [i for i in dict.fromkeys(merged) if out[i] is not None]


@settings(max_examples=400, deadline=None)
@given(walks())
def test_pair_walk_is_the_merged_wire_walk(walk):
    op, stacks, out = walk
    assert list(_earlier_on_pair(op, stacks, out)) == _heap_walk(op, stacks, out)
    assert list(_earlier_on_wires(op, stacks, out)) == _heap_walk(op, stacks, out)


def _adjacent_by_sets(op: Op, out: list[Op | None], stacks: dict[int, list[int]]) -> int | None:
    """The op directly below ``op`` on all its wires when it acts on exactly those wires."""
    tops = {stacks[q][-1] if stacks.get(q) else None for q in op.qubits}
    j = tops.pop() if len(tops) == 1 else None
    if j is None or out[j] is None or set(out[j].qubits) != set(op.qubits):
        return None
    return j


@settings(max_examples=400, deadline=None)
@given(walks())
def test_two_qubit_adjacent_index_is_the_set_definition(walk):
    op, stacks, out = walk
    assert _adjacent_index(op, out, stacks) == _adjacent_by_sets(op, out, stacks)


@settings(max_examples=200, deadline=None)
@given(walks())
def test_dependency_successors_are_sorted_predecessor_inverses(walk):
    _, _, out = walk
    ops = [op for op in out if op is not None]
    counts, succs = _dependencies(ops)
    preds = [[j for j in range(len(ops)) if i in succs[j]] for i in range(len(ops))]
    assert counts == [len(p) for p in preds]
    assert all(s == sorted(s) and len(set(s)) == len(s) for s in succs)


SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, float("inf"), float("-inf"), float("nan")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SPECIAL), min_size=16, max_size=16), st.booleans(), st.booleans())
def test_kron_is_numpy_kron_bit_for_bit(values, real_left, transposed):
    """Signed zeros, infinities and NaNs included; real or complex, contiguous or not."""
    part = [np.array(values[k : k + 4]).reshape(2, 2) for k in range(0, 16, 4)]
    with np.errstate(invalid="ignore"):
        a = part[0] if real_left else part[0] + 1j * part[1]
        b = part[2] - 1j * part[3]
        if transposed:
            a, b = a.T, b.T
        want, got = np.kron(a, b), _kron(a, b)
    assert got.dtype == want.dtype and got.strides == want.strides
    assert got.tobytes() == want.tobytes()
