"""The DAG view: round trip, wire structure, layers."""

from __future__ import annotations

import networkx as nx
from hypothesis import given

from qadl.ir.circuit import Circuit
from qadl.ir.dag import (
    from_dag,
    input_node,
    layers,
    output_node,
    sort_key_for_op,
    to_dag,
    wire_predecessor,
    wire_successor,
)
from qadl.ir.gates import Gate
from qadl.passes.analysis import circuit_stats

from .helpers import PROPERTY, op, random_case, seeds


@PROPERTY
@given(seeds)
def test_round_trip(seed):
    """from_dag(to_dag(c)) == c for random circuits."""
    c = random_case(seed, num_qubits=4, num_ops=30)
    assert from_dag(to_dag(c)) == c


@PROPERTY
@given(seeds)
def test_layers_count_is_depth(seed):
    """The number of topological generations equals the per-qubit-scan depth."""
    c = random_case(seed, num_qubits=4, num_ops=20)
    ls = layers(c)
    assert len(ls) == circuit_stats(c).depth
    assert sum(len(layer) for layer in ls) == len(c.ops)


def test_parallel_edges_for_repeated_pair():
    """Two CZs on the same pair are joined by two parallel edges keyed by qubit."""
    c = Circuit(2, (op(Gate.CZ, 0, 1), op(Gate.CZ, 0, 1)))
    g = to_dag(c)
    assert sorted(k for _, _, k in g.edges(0, keys=True)) == [0, 1]
    assert g.number_of_edges(0, 1) == 2
    assert wire_successor(g, input_node(1), 1) == 0
    assert wire_predecessor(g, output_node(0), 0) == 1


def test_inserted_node_keeps_stable_order():
    """A node inserted with a fractional position lands between its neighbours' positions.

    h q0; x q1  ==> (insert z q0 at 0.5 after h) ==> h q0; z q0; x q1
    """
    c = Circuit(2, (op(Gate.H, 0), op(Gate.X, 1)))
    g = to_dag(c)
    new = ("new", 0)
    g.add_node(new, op=op(Gate.Z, 0), sort=sort_key_for_op(0.5))
    g.remove_edge(0, output_node(0), key=0)
    g.add_edge(0, new, key=0)
    g.add_edge(new, output_node(0), key=0)
    assert nx.is_directed_acyclic_graph(g)
    assert from_dag(g).ops == (op(Gate.H, 0), op(Gate.Z, 0), op(Gate.X, 1))


def test_layers_hand_case():
    """h q0; h q1; cx q0,q1; x q2  ==>  [[h q0, h q1, x q2], [cx q0,q1]]."""
    c = Circuit(3, (op(Gate.H, 0), op(Gate.H, 1), op(Gate.CX, 0, 1), op(Gate.X, 2)))
    assert layers(c) == [(op(Gate.H, 0), op(Gate.H, 1), op(Gate.X, 2)), (op(Gate.CX, 0, 1),)]
