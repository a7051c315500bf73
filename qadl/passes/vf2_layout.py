"""A perfect initial layout for routing: VF2 subgraph monomorphism of the interaction graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qadl.ir.circuit import Circuit

if TYPE_CHECKING:  # networkx loads with the first layout search
    import networkx as nx

__all__ = ["perfect_layout"]


def _interaction_graph(circuit: Circuit) -> nx.Graph:
    import networkx as nx

    graph = nx.Graph()
    for op in circuit.ops:
        if len(op.qubits) == 2:
            graph.add_edge(*op.qubits)
    return graph


def _could_embed(small: nx.Graph, big: nx.Graph) -> bool:
    """Cheap necessary conditions, so VF2 is only run when an embedding may exist."""
    if (
        small.number_of_nodes() > big.number_of_nodes()
        or small.number_of_edges() > big.number_of_edges()
    ):
        return False
    small_deg = sorted((d for _, d in small.degree()), reverse=True)
    big_deg = sorted((d for _, d in big.degree()), reverse=True)
    if any(s > b for s, b in zip(small_deg, big_deg, strict=False)):
        return False
    from networkx import triangles

    return not (sum(triangles(small).values()) and not sum(triangles(big).values()))


def perfect_layout(circuit: Circuit, coupling_graph: nx.Graph) -> dict[int, int] | None:
    """A virtual -> physical map under which every two-qubit op is on a coupled pair, or None.

    VF2 subgraph monomorphism (networkx) of the interaction graph into the coupling
    graph, as Qiskit's VF2Layout; the first match in networkx's deterministic order.
    """
    interaction = _interaction_graph(circuit)
    if interaction.number_of_edges() == 0 or not _could_embed(interaction, coupling_graph):
        return None
    from networkx.algorithms.isomorphism import GraphMatcher

    matcher = GraphMatcher(coupling_graph, interaction)
    match = next(iter(matcher.subgraph_monomorphisms_iter()), None)
    return None if match is None else {v: p for p, v in match.items()}
