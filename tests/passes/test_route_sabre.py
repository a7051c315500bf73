"""route-sabre: coupled pairs only, same operator up to the recorded layouts, deterministic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given

from qadl.ir.circuit import Circuit, Readout
from qadl.ir.gates import GATES, Gate
from qadl.passes import route, route_sabre
from qadl.passes.devices import FALCON_27_EDGES
from qadl.passes.route_sabre import RoutingError, _coupling_graph, perfect_layout
from qadl.testing import assert_equivalent

from .helpers import PROPERTY_SMALL, assert_same_outputs, compact, op, random_case, relabel, seeds

TWO_Q = tuple(g for g in GATES if GATES[g].num_qubits in (1, 2) and g is not Gate.AMPLITUDE)

GRAPHS = {
    "line5": (5, tuple(itertools.pairwise(range(5)))),
    "ring6": (6, (*itertools.pairwise(range(6)), (0, 5))),
    "star5": (5, ((0, 1), (0, 2), (0, 3), (0, 4))),
    "heavyhex-fragment7": (7, ((0, 1), (1, 2), (1, 3), (3, 4), (4, 5), (4, 6))),
}


def assert_routed_equivalent(routed, original: Circuit, seed: int) -> None:
    """actual ≡ original placed by initial_layout, read back through final_permutation."""
    n = routed.circuit.num_qubits
    placed = relabel(original, routed.initial_layout, n)
    inverse = {p: v for v, p in enumerate(routed.initial_layout)}
    permutation = tuple(routed.final_permutation[inverse[p]] for p in range(n))
    assert_equivalent(
        routed.circuit, placed, permutation=permutation, rng=np.random.default_rng(seed)
    )


def assert_coupled(circuit: Circuit, coupling) -> None:
    pairs = {frozenset(e) for e in coupling}
    for o in circuit.ops:
        assert len(o.qubits) <= 2
        if len(o.qubits) == 2:
            assert frozenset(o.qubits) in pairs, o


@pytest.mark.parametrize("graph", sorted(GRAPHS))
@PROPERTY_SMALL
@given(seed=seeds)
def test_random_circuits_route(graph, seed):
    """Random circuits on 4-5 qubits: every 2q op coupled; operator kept up to the layouts."""
    n, coupling = GRAPHS[graph]
    c = random_case(seed, num_qubits=min(5, n), num_ops=20, gates=TWO_Q)
    routed = route(c, coupling, n, seed=seed % 7)
    assert_coupled(routed.circuit, coupling)
    assert sorted(routed.initial_layout) == list(range(n)) == sorted(routed.final_permutation)
    assert routed.swaps == sum(o.gate is Gate.SWAP for o in routed.circuit.ops) - sum(
        o.gate is Gate.SWAP for o in c.ops
    )
    assert_routed_equivalent(routed, c, seed)
    assert route(c, coupling, n, seed=seed % 7) == routed


@PROPERTY_SMALL
@given(seed=seeds)
def test_heavy_hex_27_restricted_check(seed):
    """On the 27-qubit Falcon graph: coupled, and equivalent on the qubits actually used."""
    c = random_case(seed, num_qubits=5, num_ops=16, gates=TWO_Q)
    routed = route(c, FALCON_27_EDGES, 27, seed=1)
    assert_coupled(routed.circuit, FALCON_27_EDGES)
    used = {q for o in routed.circuit.ops for q in o.qubits} | {
        routed.initial_layout[v] for v in range(5)
    }
    used |= {routed.final_permutation[v] for v in range(5)}
    if len(used) > 10:
        return  # too wide for a dense check; coupling was still verified above
    small, index = compact(routed.circuit, used)
    width = len(used)
    inv_final = {p: v for v, p in enumerate(routed.final_permutation)}
    # Virtual qubits that hold no original qubit are idle |0⟩ ancillas: place the original
    # on the compacted register and compare through the layouts restricted to `used`.
    placed = relabel(c, {v: index[routed.initial_layout[v]] for v in range(5)}, width)
    start = {
        index[routed.initial_layout[v]]: v for v in range(27) if routed.initial_layout[v] in used
    }
    perm = []
    for p_small in range(width):
        v = start[p_small]
        perm.append(index[routed.final_permutation[v]])
    assert all(inv_final[routed.final_permutation[v]] == v for v in range(27))
    assert_equivalent(small, placed, permutation=tuple(perm), rng=np.random.default_rng(seed))


def test_perfect_layout_needs_no_swaps():
    """A 10-qubit brick-wall CNOT chain embeds in the heavy-hex graph: zero SWAPs."""
    chain = tuple(op(Gate.CX, i, i + 1) for i in (0, 2, 4, 6, 8, 1, 3, 5, 7))
    c = Circuit(10, chain)
    routed = route(c, FALCON_27_EDGES, 27)
    assert routed.swaps == 0
    assert_coupled(routed.circuit, FALCON_27_EDGES)
    assert perfect_layout(c, _coupling_graph(FALCON_27_EDGES, 27)) is not None


def test_triangle_on_line_needs_a_swap_and_keeps_readout():
    """cx q0,q1; cx q1,q2; cx q0,q2 on a line of 3  ==>  one SWAP; probs readout unchanged."""
    c = Circuit(
        3,
        (
            op(Gate.H, 0),
            op(Gate.CX, 0, 1),
            op(Gate.CX, 1, 2),
            op(Gate.CX, 0, 2),
            op(Gate.RX, 2, angles=(0.3,)),
        ),
        readout=Readout("probs", (2, 0), num_classes=4),
    )
    coupling = ((0, 1), (1, 2))
    routed = route(c, coupling, 3)
    assert routed.swaps == 1
    assert_coupled(routed.circuit, coupling)
    assert_routed_equivalent(routed, c, 0)
    assert_same_outputs(routed.circuit, c, states=0)
    assert route_sabre(c, coupling=coupling, num_physical=3) == routed.circuit


def test_routing_errors():
    """Too many qubits, 3-qubit ops and disconnected graphs are refused."""
    with pytest.raises(RoutingError, match="needs 3 qubits"):
        route(Circuit(3, ()), ((0, 1),), 2)
    with pytest.raises(RoutingError, match="translate"):
        route(Circuit(3, (op(Gate.CCX, 0, 1, 2),)), ((0, 1), (1, 2)), 3)
    with pytest.raises(RoutingError, match="not connected"):
        route(Circuit(4, (op(Gate.CX, 0, 3),)), ((0, 1), (2, 3)), 4)


def test_dependencies_let_commuting_ops_reorder():
    """cx q0,q1; cx q0,q2; rz q0; h q0; cx q2,q1  ==>  predecessor counts [0, 0, 0, 3, 1].

    The two CX sharing control q0 and the RZ form one "z" run on q0: none waits for
    another. H waits for all three. cx q2,q1 waits for cx q0,q2 (q2 goes from X-target to
    Z-control) but not for cx q0,q1 (both are X-targets on q1).
    """
    from qadl.passes.route_sabre import _dependencies

    ops = [
        op(Gate.CX, 0, 1),
        op(Gate.CX, 0, 2),
        op(Gate.RZ, 0, angles=(0.3,)),
        op(Gate.H, 0),
        op(Gate.CX, 2, 1),
    ]
    preds, succs = _dependencies(ops)
    assert preds == [0, 0, 0, 3, 1]
    assert succs[1] == [3, 4] and succs[0] == [3]
