"""Place a circuit on a coupling graph and insert SWAPs (SABRE, Li, Ding & Xie, ASPLOS 2019).

The routed circuit acts on physical qubits; ``RoutedCircuit`` records where every
virtual qubit starts (``initial_layout``) and ends (``final_permutation``), and the
readout is rewritten to measure the physical qubits that hold the measured virtual
qubits at the end, so readout values are unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass
from qadl.passes.rules import WIRE_BASES

__all__ = ["RoutedCircuit", "RoutingError", "perfect_layout", "route", "route_sabre"]

EXTENDED_SET_SIZE = 20
"""How many upcoming two-qubit ops the look-ahead term sees (the SABRE paper's |E|)."""
EXTENDED_WEIGHT = 0.5
"""Weight W of the look-ahead term."""
DECAY_STEP = 0.001
"""Decay added to a qubit each time it is swapped (discourages serial swaps)."""
DECAY_RESET = 5
"""Decay is reset every this many swaps."""


class RoutingError(ValueError):
    """The circuit cannot be placed on the coupling graph (too many qubits, disconnected…)."""


@dataclass(frozen=True)
class RoutedCircuit:
    """A circuit on physical qubits plus the layout that relates it to the original.

    ``initial_layout[v]`` is the physical qubit that holds virtual qubit ``v`` at the start
    and ``final_permutation[v]`` the one that holds it at the end; both are permutations
    of ``0 … num_physical-1`` (virtual qubits at or beyond the original width are idle
    ancillas). A circuit with a state input must receive that state permuted by
    ``initial_layout``.
    """

    circuit: Circuit
    initial_layout: tuple[int, ...]
    final_permutation: tuple[int, ...]
    swaps: int


def _coupling_graph(coupling: Sequence[tuple[int, int]], num_physical: int) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(num_physical))
    graph.add_edges_from((int(a), int(b)) for a, b in coupling)
    return graph


def _interaction_graph(circuit: Circuit) -> nx.Graph:
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
    return not (sum(nx.triangles(small).values()) and not sum(nx.triangles(big).values()))


def perfect_layout(circuit: Circuit, coupling_graph: nx.Graph) -> dict[int, int] | None:
    """A virtual -> physical map under which every two-qubit op is on a coupled pair, or None.

    VF2 subgraph monomorphism (networkx) of the interaction graph into the coupling
    graph, as Qiskit's VF2Layout; the first match in networkx's deterministic order.
    """
    interaction = _interaction_graph(circuit)
    if interaction.number_of_edges() == 0 or not _could_embed(interaction, coupling_graph):
        return None
    matcher = nx.algorithms.isomorphism.GraphMatcher(coupling_graph, interaction)
    match = next(iter(matcher.subgraph_monomorphisms_iter()), None)
    return None if match is None else {v: p for p, v in match.items()}


def _complete_layout(partial: dict[int, int], num_physical: int) -> list[int]:
    """Extend ``partial`` (virtual -> physical) to a full permutation, filling in order."""
    free = iter(p for p in range(num_physical) if p not in set(partial.values()))
    return [partial[v] if v in partial else next(free) for v in range(num_physical)]


@dataclass
class _State:
    """Mutable routing state of one SABRE sweep (local to ``_sweep``)."""

    l2p: list[int]
    p2l: list[int]
    out: list[Op]
    swaps: int = 0

    def swap(self, a: int, b: int) -> None:
        va, vb = self.p2l[a], self.p2l[b]
        self.p2l[a], self.p2l[b] = vb, va
        self.l2p[va], self.l2p[vb] = b, a
        self.out.append(Op(Gate.SWAP, (a, b)))
        self.swaps += 1


def _dependencies(ops: Sequence[Op]) -> tuple[list[int], list[list[int]]]:
    """Number of predecessors and successor lists of every op, commutation-aware.

    On each wire the ops form maximal *runs* sharing one commutation basis on that wire
    (``rules.WIRE_BASES``: e.g. CX controls and RZs are all ``"z"``); ops of one run
    commute there, so an op depends only on every op of the run before its own. Ops that
    do not commute share a wire on which they sit in different runs, so one is always an
    ancestor of the other and the router never swaps them; commuting ones (the CXs of
    one control in a full-entanglement layer) may be routed in any order.
    """
    preds: list[set[int]] = [set() for _ in ops]
    wires: dict[int, tuple[str | None, list[int], list[int]]] = {}
    for i, op in enumerate(ops):
        for q, basis in zip(
            op.qubits, WIRE_BASES.get(op.gate, (None,) * len(op.qubits)), strict=True
        ):
            run_basis, current, previous = wires.get(q, (None, [], []))
            if current and basis is not None and basis == run_basis:
                current.append(i)
            else:
                previous, current = current, [i]
                wires[q] = (basis, current, previous)
            preds[i].update(previous)
    succs: list[list[int]] = [[] for _ in ops]
    for i, ps in enumerate(preds):
        for j in sorted(ps):
            succs[j].append(i)
    return [len(ps) for ps in preds], succs


def _extended_set(front: list[int], ops: Sequence[Op], succs: list[list[int]]) -> list[int]:
    """The next ``EXTENDED_SET_SIZE`` two-qubit ops after the front, breadth first."""
    seen, queue, out = set(front), list(front), []
    while queue and len(out) < EXTENDED_SET_SIZE:
        nxt = []
        for i in queue:
            for j in succs[i]:
                if j not in seen:
                    seen.add(j)
                    nxt.append(j)
                    if len(ops[j].qubits) == 2:
                        out.append(j)
        queue = nxt
    return out[:EXTENDED_SET_SIZE]


def _score(
    swap: tuple[int, int],
    state: _State,
    front2: list[Op],
    ext: list[Op],
    dist: np.ndarray,
    decay: np.ndarray,
) -> float:
    a, b = swap
    l2p = state.l2p

    def pos(v: int) -> int:
        p = l2p[v]
        return b if p == a else a if p == b else p

    h = sum(dist[pos(o.qubits[0]), pos(o.qubits[1])] for o in front2) / len(front2)
    if ext:
        h += EXTENDED_WEIGHT * sum(dist[pos(o.qubits[0]), pos(o.qubits[1])] for o in ext) / len(ext)
    return float(max(decay[a], decay[b]) * h)


def _execute_ready(ops, front, preds, succs, state, graph) -> bool:
    """Emit every front op that can run now (repeatedly); True when something ran."""
    progressed = False
    changed = True
    while changed:
        changed = False
        for i in sorted(front):
            op = ops[i]
            phys = tuple(state.l2p[q] for q in op.qubits)
            if len(phys) == 2 and not graph.has_edge(*phys):
                continue
            state.out.append(Op(op.gate, phys, op.angles, op.tags, span=op.span))
            front.remove(i)
            for j in succs[i]:
                preds[j] -= 1
                if preds[j] == 0:
                    front.add(j)
            changed = progressed = True
    return progressed


def _force_route(op: Op, state: _State, graph: nx.Graph) -> None:
    """Release valve: swap the first qubit of ``op`` along a shortest path to the second."""
    path = nx.shortest_path(graph, state.l2p[op.qubits[0]], state.l2p[op.qubits[1]])
    for a, b in itertools.pairwise(path[:-1]):
        state.swap(a, b)


def _sweep(ops: Sequence[Op], layout: list[int], graph: nx.Graph, dist: np.ndarray, rng) -> _State:
    """Route ``ops`` (virtual qubits) from ``layout``; the state holds output and final layout."""
    n = len(layout)
    p2l = [0] * n
    for v, p in enumerate(layout):
        p2l[p] = v
    state = _State(list(layout), p2l, [])
    preds, succs = _dependencies(ops)
    front = {i for i, c in enumerate(preds) if c == 0}
    decay = np.ones(n)
    since_progress = 0
    limit = 3 * n
    while front:
        if _execute_ready(ops, front, preds, succs, state, graph):
            decay[:] = 1.0
            since_progress = 0
            continue
        front_ops = [ops[i] for i in sorted(front)]
        if since_progress >= limit:
            _force_route(front_ops[0], state, graph)
            since_progress = 0
            continue
        ext = [ops[j] for j in _extended_set(sorted(front), ops, succs)]
        best = _best_swap(front_ops, ext, state, graph, dist, decay, rng)
        state.swap(*best)
        decay[list(best)] += DECAY_STEP
        since_progress += 1
        if state.swaps % DECAY_RESET == 0:
            decay[:] = 1.0
    return state


def _best_swap(front_ops, ext, state, graph, dist, decay, rng) -> tuple[int, int]:
    touched = {state.l2p[q] for o in front_ops for q in o.qubits}
    candidates = sorted({(min(p, r), max(p, r)) for p in touched for r in graph.neighbors(p)})
    scores = [_score(c, state, front_ops, ext, dist, decay) for c in candidates]
    best = min(scores)
    ties = [c for c, s in zip(candidates, scores, strict=True) if s <= best + 1e-12]
    return ties[int(rng.integers(len(ties)))] if rng is not None else ties[0]


def _reversed_ops(ops: Sequence[Op]) -> list[Op]:
    return [op for op in reversed(ops) if len(op.qubits) == 2]


def _sabre_layout(ops, start, graph, dist, rng, iterations: int) -> list[int]:
    """Forward-backward SABRE passes refine ``start`` (only two-qubit ops matter here)."""
    two = [op for op in ops if len(op.qubits) == 2]
    back = _reversed_ops(ops)
    layout = list(start)
    for _ in range(iterations):
        layout = _sweep(two, layout, graph, dist, rng).l2p
        layout = _sweep(back, layout, graph, dist, rng).l2p
    return layout


def _check(circuit: Circuit, graph: nx.Graph, num_physical: int) -> None:
    if circuit.num_qubits > num_physical:
        raise RoutingError(f"circuit needs {circuit.num_qubits} qubits, target has {num_physical}")
    for op in circuit.ops:
        if len(op.qubits) > 2:
            raise RoutingError(
                f"{op.gate.value} acts on {len(op.qubits)} qubits; "
                "translate it to 2-qubit gates first"
            )
    has_two = any(len(op.qubits) == 2 for op in circuit.ops)
    if has_two and not nx.is_connected(graph):
        parts = sorted(sorted(c) for c in nx.connected_components(graph))
        raise RoutingError(f"the coupling graph is not connected (parts {parts})")


def _remap_readout(readout: Readout | None, l2p: list[int]) -> Readout | None:
    if readout is None:
        return None
    obs = tuple(tuple((p, l2p[q]) for p, q in o) for o in readout.observables)
    return replace(readout, qubits=tuple(l2p[q] for q in readout.qubits), observables=obs)


def route(
    circuit: Circuit,
    coupling: Sequence[tuple[int, int]],
    num_physical: int,
    *,
    seed: int = 11,
    trials: int = 4,
    layout_iterations: int = 2,
) -> RoutedCircuit:
    """Choose an initial layout and insert SWAPs so every two-qubit op is on a coupled pair.

    Layout: a perfect VF2 embedding of the interaction graph when one exists (no SWAPs);
    otherwise ``trials`` SABRE layouts (the identity plus random starts from a seeded
    generator), each refined by ``layout_iterations`` forward-backward sweeps, keeping
    the one whose routing needs the fewest SWAPs (ties: fewer ops). Routing: SABRE's
    front layer / look-ahead heuristic with decay, and a shortest-path release valve
    after ``3·num_physical`` SWAPs without progress, so it always terminates.

    Args:
        circuit: ops on at most two qubits each, ``circuit.num_qubits <= num_physical``.
        coupling: undirected coupled pairs of physical qubits.
        num_physical: number of physical qubits.
        seed: seeds the random layouts and tie-breaks (the result is deterministic).
        trials: number of layouts tried when no perfect layout exists.
        layout_iterations: forward-backward refinement sweeps per trial.

    Returns:
        The routed circuit (``num_qubits == num_physical``, readout remapped) and layouts.

    Raises:
        RoutingError: for too-wide circuits, 3-qubit ops, or a too-small connected graph.
    """
    graph = _coupling_graph(coupling, num_physical)
    _check(circuit, graph, num_physical)
    dist = _distances(graph, num_physical)
    perfect = perfect_layout(circuit, graph)
    if perfect is not None:
        starts = [_complete_layout(perfect, num_physical)]
    else:
        rng = np.random.default_rng(seed)
        starts = [list(range(num_physical))] + [
            list(rng.permutation(num_physical)) for _ in range(trials - 1)
        ]
        starts = [
            _sabre_layout(circuit.ops, s, graph, dist, rng, layout_iterations) for s in starts
        ]
    best: tuple[tuple[int, int], list[int], _State] | None = None
    for start in starts:
        state = _sweep(circuit.ops, start, graph, dist, np.random.default_rng(seed))
        key = (state.swaps, len(state.out))
        if best is None or key < best[0]:
            best = (key, start, state)
    assert best is not None
    _, start, state = best
    routed = replace(
        circuit,
        num_qubits=num_physical,
        ops=tuple(state.out),
        readout=_remap_readout(circuit.readout, state.l2p),
    )
    return RoutedCircuit(routed, tuple(int(p) for p in start), tuple(state.l2p), state.swaps)


def _distances(graph: nx.Graph, n: int) -> np.ndarray:
    dist = np.full((n, n), float(n * n))
    for a, lengths in nx.all_pairs_shortest_path_length(graph):
        for b, d in lengths.items():
            dist[a, b] = d
    return dist


@circuit_pass("route-sabre")
def route_sabre(
    circuit: Circuit,
    /,
    *,
    ctx: PassContext = DEFAULT,
    coupling: tuple[tuple[int, int], ...] = (),
    num_physical: int = 0,
    seed: int = 11,
) -> Circuit:
    """Route onto ``coupling`` (see ``route``); return the physical circuit only.

    The readout is remapped to the final positions, so readout values are kept even
    though the layout is dropped; use ``route`` (or ``compile_for_target``) to keep
    ``initial_layout`` and ``final_permutation``.

    Precondition: ops on at most 2 qubits. Keeps: readout values; the operator up to the
    recorded qubit permutations. Cost: O(ops · swaps-candidates · |extended set|) per trial.
    """
    if not coupling:
        raise RoutingError("route-sabre needs coupling=((a, b), ...) and num_physical=N")
    return route(circuit, coupling, num_physical or circuit.num_qubits, seed=seed).circuit
