"""The DAG view of a circuit: ``to_dag``/``from_dag`` on networkx, stable order, wire helpers.

The op tuple of a :class:`~qadl.ir.circuit.Circuit` is the truth; this module derives
a ``networkx.MultiDiGraph`` from it for passes that need dependency structure
(routing, layers). Nodes are op indices ``0 … n-1`` plus ``("in", q)`` and
``("out", q)`` for every qubit; there is one edge per wire segment, keyed by the
qubit, so two CZs on the same pair are joined by two parallel edges.

Every node carries two attributes: ``op`` (the :class:`Op`, or None for wire ends)
and ``sort`` (a comparable key). ``from_dag`` walks the graph with
``nx.lexicographical_topological_sort`` on that key, so ``from_dag(to_dag(c)) == c``
and a pass that inserts a node with a fractional position gets a stable order.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

import networkx as nx

from qadl.ir.circuit import Circuit, Op

__all__ = [
    "from_dag",
    "input_node",
    "layers",
    "op_nodes",
    "output_node",
    "sort_key_for_op",
    "to_dag",
    "wire_predecessor",
    "wire_successor",
]


def input_node(qubit: int) -> tuple[str, int]:
    """The node where wire ``qubit`` starts."""
    return ("in", qubit)


def output_node(qubit: int) -> tuple[str, int]:
    """The node where wire ``qubit`` ends."""
    return ("out", qubit)


def sort_key_for_op(position: float) -> tuple[int, float, int]:
    """Sort key of an op node at (possibly fractional) ``position`` in the op order."""
    return (1, float(position), 0)


def to_dag(circuit: Circuit) -> nx.MultiDiGraph:
    """Build the dependency DAG of ``circuit``.

    Args:
        circuit: any circuit; ``circuit`` itself (with its ops) is kept in
            ``graph.graph["circuit"]`` so ``from_dag`` can rebuild the non-op fields.

    Returns:
        A ``MultiDiGraph`` with one edge per wire segment, keyed by qubit. Cost O(ops + qubits).
    """
    g = nx.MultiDiGraph(circuit=circuit)
    last: list[Hashable] = []
    for q in range(circuit.num_qubits):
        g.add_node(input_node(q), op=None, sort=(0, 0.0, q))
        last.append(input_node(q))
    for index, op in enumerate(circuit.ops):
        g.add_node(index, op=op, sort=sort_key_for_op(index))
        for q in op.qubits:
            g.add_edge(last[q], index, key=q)
            last[q] = index
    for q in range(circuit.num_qubits):
        g.add_node(output_node(q), op=None, sort=(2, 0.0, q))
        g.add_edge(last[q], output_node(q), key=q)
    return g


def from_dag(graph: nx.MultiDiGraph) -> Circuit:
    """Linearise a DAG built by ``to_dag`` (possibly edited) back into a circuit.

    Ops come out in the lexicographic topological order of their ``sort`` keys, so the
    result is deterministic and equal to the original circuit when the graph was not
    changed.
    """
    template: Circuit = graph.graph["circuit"]
    order = nx.lexicographical_topological_sort(graph, key=lambda n: graph.nodes[n]["sort"])
    ops = [graph.nodes[n]["op"] for n in order]
    return template.with_ops(tuple(op for op in ops if op is not None))


def op_nodes(graph: nx.MultiDiGraph) -> Iterator[Hashable]:
    """The op nodes of ``graph`` (wire ends excluded), in insertion order."""
    return (n for n, data in graph.nodes(data=True) if data["op"] is not None)


def wire_successor(graph: nx.MultiDiGraph, node: Hashable, qubit: int) -> Hashable:
    """The next node on wire ``qubit`` after ``node`` (an op or ``("out", qubit)``)."""
    for _, v, key in graph.out_edges(node, keys=True):
        if key == qubit:
            return v
    raise KeyError(f"node {node!r} has no wire {qubit}")


def wire_predecessor(graph: nx.MultiDiGraph, node: Hashable, qubit: int) -> Hashable:
    """The previous node on wire ``qubit`` before ``node`` (an op or ``("in", qubit)``)."""
    for u, _, key in graph.in_edges(node, keys=True):
        if key == qubit:
            return u
    raise KeyError(f"node {node!r} has no wire {qubit}")


def layers(circuit: Circuit) -> list[tuple[Op, ...]]:
    """The ops grouped into ASAP layers (``nx.topological_generations``), each in op order.

    Layer ``k`` holds the ops whose longest dependency chain from the inputs has
    ``k`` ops before them; ``len(layers(c))`` is the circuit depth.
    """
    graph = to_dag(circuit)
    out: list[tuple[Op, ...]] = []
    for generation in nx.topological_generations(graph):
        indices = sorted(n for n in generation if isinstance(n, int))
        if indices:
            out.append(tuple(circuit.ops[i] for i in indices))
    return out
