"""Place a circuit on a coupling graph and insert SWAPs (SABRE, Li, Ding & Xie, ASPLOS 2019).

The routed circuit acts on physical qubits; ``RoutedCircuit`` records where every
virtual qubit starts (``initial_layout``) and ends (``final_permutation``), and the
readout is rewritten to measure the physical qubits that hold the measured virtual
qubits at the end, so readout values are unchanged.
"""

from __future__ import annotations

import functools
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass
from qadl.passes.rules import WIRE_BASES
from qadl.passes.vf2_layout import perfect_layout

if TYPE_CHECKING:  # networkx loads only when a circuit is routed (about 0.15 s)
    import networkx as nx

__all__ = ["RoutedCircuit", "RoutingError", "perfect_layout", "route", "route_sabre"]

EXTENDED_SET_SIZE = 20
"""How many upcoming two-qubit ops the look-ahead term sees (the SABRE paper's |E|)."""
EXTENDED_WEIGHT = 0.5
"""Weight W of the look-ahead term."""
DECAY_STEP = 0.001
"""Decay added to a qubit each time it is swapped (discourages serial swaps)."""
DECAY_RESET = 5
"""Decay is reset every this many swaps."""
KERNEL_MIN_TWO_QUBIT = 40
"""Routing-heavy circuits (no perfect layout, at least this many two-qubit ops) may run
the compiled sweep (``sabre_kernels``); smaller ones always stay in Python."""
KERNEL_AFTER_SECONDS = 0.5
"""Routing-heavy circuits switch to the compiled sweep once Python sweeps of such circuits
took this long in the process (Numba's import and first call cost about 1 s, so a one-off
``qadl compile`` stays in Python), or at once when ``sabre_kernels`` is already imported
(import it to opt in)."""
TIE_DRAWS = 1024
"""Random draws handed to the compiled trials at first (four times as many while short)."""
_PYTHON_SWEEP_SECONDS = [0.0]
"""Seconds spent so far in Python sweeps of routing-heavy circuits (this process)."""


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
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(num_physical))
    graph.add_edges_from((int(a), int(b)) for a, b in coupling)
    return graph


def _complete_layout(partial: dict[int, int], num_physical: int) -> list[int]:
    """Extend ``partial`` (virtual -> physical) to a full permutation, filling in order."""
    free = iter(p for p in range(num_physical) if p not in set(partial.values()))
    return [partial[v] if v in partial else next(free) for v in range(num_physical)]


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
    wires: dict[int, tuple[str | None, list[int], list[int]]] = {}  # (basis, run, run before)
    for i, op in enumerate(ops):
        mine = preds[i]
        for q, basis in zip(
            op.qubits, WIRE_BASES.get(op.gate, (None,) * len(op.qubits)), strict=True
        ):
            wire = wires.get(q)
            if wire is not None and basis is not None and basis == wire[0]:
                wire[1].append(i)
                mine.update(wire[2])
            else:
                previous = [] if wire is None else wire[1]
                wires[q] = (basis, [i], previous)
                mine.update(previous)
    succs: list[list[int]] = [[] for _ in ops]
    for i, ps in enumerate(preds):  # each succs[j] gets its i in increasing order
        for j in ps:
            succs[j].append(i)
    return [len(ps) for ps in preds], succs


@dataclass(frozen=True)
class _Problem:
    """One op sequence prepared for routing: qubit pairs and dependencies, shared by sweeps.

    ``pairs[i]`` is ``(a, b)`` for a two-qubit op and None for a one-qubit op.
    """

    pairs: tuple[tuple[int, int] | None, ...]
    preds: tuple[int, ...]
    succs: tuple[tuple[int, ...], ...]

    @staticmethod
    def of(ops: Sequence[Op]) -> _Problem:
        """Dependencies (``_dependencies``) and operand pairs of ``ops``."""
        preds, succs = _dependencies(ops)
        pairs = tuple(op.qubits if len(op.qubits) == 2 else None for op in ops)
        return _Problem(pairs, tuple(preds), tuple(tuple(s) for s in succs))  # type: ignore[arg-type]


@functools.cache
def _wire_codes(gate: Gate) -> tuple[int, int]:
    """``WIRE_BASES`` of ``gate`` as ``sabre_kernels.op_table`` codes them (-1: none)."""
    names = sorted({b for bases in WIRE_BASES.values() for b in bases if b is not None})
    bases = [*WIRE_BASES.get(gate, ()), None, None][:2]
    return tuple(-1 if b is None else names.index(b) for b in bases)  # type: ignore[return-value]


@dataclass(frozen=True)
class _Device:
    """The coupling graph as plain lists for the inner loop.

    ``dist[a][b]``: hop distance; ``adjacent[a]``: neighbours of ``a`` as a set;
    ``edges_at[a]``: the coupled pairs ``(min, max)`` that touch ``a``.
    """

    graph: nx.Graph
    dist: tuple[tuple[int, ...], ...]
    adjacent: tuple[frozenset[int], ...]
    edges_at: tuple[tuple[tuple[int, int], ...], ...]

    @staticmethod
    def of(graph: nx.Graph, n: int) -> _Device:
        """Distances (breadth first; ``n·n`` between components) and neighbour tables."""
        import networkx as nx

        dist = [[n * n] * n for _ in range(n)]
        for a, lengths in nx.all_pairs_shortest_path_length(graph):
            for b, d in lengths.items():
                dist[a][b] = d
        adjacent = tuple(frozenset(graph.neighbors(p)) for p in range(n))
        edges_at = tuple(tuple((min(p, r), max(p, r)) for r in adjacent[p]) for p in range(n))
        return _Device(graph, tuple(map(tuple, dist)), adjacent, edges_at)

    @functools.cached_property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """The kernel's integer arrays (``sabre_kernels.device_arrays``)."""
        return _kernels().device_arrays(self.dist, self.adjacent, self.edges_at, self.graph)


@functools.lru_cache(maxsize=16)
def _device(coupling: tuple[tuple[int, int], ...], n: int) -> _Device:
    """The ``_Device`` of a coupling map, built once per map (compilations reuse targets).

    Nothing modifies the cached graph: VF2 and the release valve's shortest paths only read it.
    """
    return _Device.of(_coupling_graph(coupling, n), n)


@dataclass(frozen=True)
class _Sweep:
    """The result of one SABRE sweep.

    ``events`` lists what was emitted, in order: an op index ``i >= 0``, or a SWAP of
    physical ``(a, b)`` encoded as ``-1 - (a·n + b)``; ``l2p`` is the final layout.
    """

    l2p: list[int]
    events: list[int]
    swaps: int


def _extended_set(front: list[int], problem: _Problem) -> list[int]:
    """The next ``EXTENDED_SET_SIZE`` two-qubit ops after the front, breadth first."""
    succs, pairs = problem.succs, problem.pairs
    seen, queue, out = set(front), front, []
    while queue:
        nxt = []
        for i in queue:
            for j in succs[i]:
                if j not in seen:
                    seen.add(j)
                    nxt.append(j)
                    if pairs[j] is not None:
                        out.append(j)
                        if len(out) == EXTENDED_SET_SIZE:
                            return out
        queue = nxt
    return out


def _meetings(front: list[int], ext: list[int], pairs) -> dict[int, tuple[list[int], list[int]]]:
    """Virtual qubit -> (the qubits it meets in ``front`` ops, those it meets in ``ext`` ops)."""
    meets: dict[int, tuple[list[int], list[int]]] = {}
    for ops, side in ((front, 0), (ext, 1)):
        for i in ops:
            a, b = pairs[i]
            ma = meets.get(a)
            if ma is None:
                ma = meets[a] = ([], [])
            ma[side].append(b)
            mb = meets.get(b)
            if mb is None:
                mb = meets[b] = ([], [])
            mb[side].append(a)
    return meets


def _swap_scores(
    candidates, sums, sizes, meets, l2p, p2l, dist, decay
) -> tuple[list[float], list[tuple[int, int]]]:
    """SABRE's score of every candidate SWAP, and the change it makes to the two sums.

    Trading the qubits at ``a`` and ``b`` changes only the distances of ops on them (ops
    between the two keep theirs), so each score costs a few lookups. The arithmetic is
    the heuristic's own, ``max(decay) · (Σ_F / |F| + W · Σ_E / |E|)``, on exact integer sums;
    the returned ``(ΔΣ_F, ΔΣ_E)`` let the caller keep the sums without summing afresh.
    """
    f_sum, e_sum = sums
    f_len, e_len = sizes
    no_meets = ((), ())
    scores = []
    deltas = []
    for a, b in candidates:
        va, vb, da, db = p2l[a], p2l[b], dist[a], dist[b]
        (fa, ea), (fb, eb) = meets.get(va, no_meets), meets.get(vb, no_meets)
        # The front and extended deltas are written out rather than shared through a helper:
        # this is the router's hot path (about 1,500 swap decisions per heavy route).
        df = de = 0
        for u in fa:
            if u != vb:
                p = l2p[u]
                df += db[p] - da[p]
        for u in fb:
            if u != va:
                p = l2p[u]
                df += da[p] - db[p]
        h = (f_sum + df) / f_len
        if e_len:
            for u in ea:
                if u != vb:
                    p = l2p[u]
                    de += db[p] - da[p]
            for u in eb:
                if u != va:
                    p = l2p[u]
                    de += da[p] - db[p]
            h += EXTENDED_WEIGHT * (e_sum + de) / e_len
        da_, db_ = decay[a], decay[b]
        scores.append((da_ if da_ > db_ else db_) * h)
        deltas.append((df, de))
    return scores, deltas


def _sweep(
    problem: _Problem,
    layout: Sequence[int],
    device: _Device,
    rng: np.random.Generator,
    bound: int | None = None,
) -> _Sweep | None:
    """Route ``problem`` from ``layout`` (virtual -> physical) with SABRE's heuristic.

    Each step runs every front op that is executable (one-qubit ops, coupled pairs)
    until none is; otherwise it scores the SWAPs on edges touching the front,
    ``max(decay) · (Σ_front d / |F| + W · Σ_ext d / |E|)``, and applies the best one
    (ties broken by ``rng``). A candidate's sums are the current ones plus the change
    of the few ops it moves (``_swap_scores``): distances are integers, so the scores,
    and therefore the decisions, are exactly those of summing every op afresh.

    Args:
        bound: give up (return None) once this many SWAPs are reached; a trial that
            cannot beat the best one so far need not finish.
    """
    pairs, succs = problem.pairs, problem.succs
    dist, adjacent, edges_at = device.dist, device.adjacent, device.edges_at
    n = len(layout)
    l2p = list(layout)
    p2l = [0] * n
    for v, p in enumerate(l2p):
        p2l[p] = v
    preds = list(problem.preds)
    front = {i for i, c in enumerate(preds) if c == 0}
    events: list[int] = []
    decay = [1.0] * n
    swaps = since_progress = 0
    limit = 3 * n
    front_cache: tuple | None = None  # what scoring needs of the front, while it stands
    sums: tuple[int, int] | None = None  # (Σ_F d, Σ_E d) under the current layout

    def swap(a: int, b: int) -> None:
        va, vb = p2l[a], p2l[b]
        p2l[a], p2l[b] = vb, va
        l2p[va], l2p[vb] = b, a
        events.append(-1 - (a * n + b))

    while front:
        ran = False
        pending = sorted(front)
        while pending:  # run ready ops, pass after pass over the sorted front
            # The layout is fixed here, so an op found blocked stays blocked: a pass after
            # the first need only look at the ops the previous pass added (same order).
            added = []
            for i in pending:
                pair = pairs[i]
                if pair is not None and l2p[pair[1]] not in adjacent[l2p[pair[0]]]:
                    continue
                events.append(i)
                front.discard(i)
                for j in succs[i]:
                    preds[j] -= 1
                    if preds[j] == 0:
                        front.add(j)
                        added.append(j)
                ran = True
            pending = sorted(added)
        if ran:
            decay = [1.0] * n
            since_progress = 0
            front_cache = None
            continue
        if front_cache is None:
            ordered = sorted(front)
            ext = _extended_set(ordered, problem)
            front_pairs = [pairs[i] for i in ordered]
            ext_pairs = [pairs[i] for i in ext]
            meets = _meetings(ordered, ext, pairs)
            front_cache = (front_pairs, ext_pairs, meets, (len(front_pairs), len(ext_pairs)))
            sums = None
        front_pairs, ext_pairs, meets, sizes = front_cache
        if since_progress >= limit:
            a, b = front_pairs[0]
            from networkx import shortest_path

            path = shortest_path(device.graph, l2p[a], l2p[b])
            for p, r in itertools.pairwise(path[:-1]):
                swap(p, r)
                swaps += 1
            since_progress = 0
            sums = None
            if bound is not None and swaps >= bound:
                return None
            continue
        if sums is None:  # summed afresh only when the front or the layout jumped
            sums = (
                sum(dist[l2p[a]][l2p[b]] for a, b in front_pairs),
                sum(dist[l2p[a]][l2p[b]] for a, b in ext_pairs),
            )
        touched = {l2p[q] for pair in front_pairs for q in pair}
        candidates = sorted({e for p in touched for e in edges_at[p]})
        scores, deltas = _swap_scores(candidates, sums, sizes, meets, l2p, p2l, dist, decay)
        best = min(scores)
        ties = [k for k, s in enumerate(scores) if s <= best + 1e-12]
        k = ties[int(rng.integers(len(ties)))] if len(ties) > 1 else ties[0]
        a, b = candidates[k]
        df, de = deltas[k]
        sums = (sums[0] + df, sums[1] + de)
        swap(a, b)
        swaps += 1
        if bound is not None and swaps >= bound:
            return None
        decay[a] += DECAY_STEP
        decay[b] += DECAY_STEP
        since_progress += 1
        if swaps % DECAY_RESET == 0:
            decay = [1.0] * n
    return _Sweep(l2p, events, swaps)


@functools.cache
def _kernels():
    """``sabre_kernels`` (imports Numba), or None where it cannot load (no Numba, no cache)."""
    try:
        from qadl.passes import sabre_kernels
    except (ImportError, RuntimeError, OSError):
        return None
    return sabre_kernels


def _starts(rng: np.random.Generator, n: int, trials: int) -> list[list[int]]:
    """The trials' initial layouts: the identity, then ``trials - 1`` draws from ``rng``."""
    return [list(range(n)), *([int(p) for p in rng.permutation(n)] for _ in range(trials - 1))]


def _timed_sweep(*args) -> _Sweep | None:
    """``_sweep``, adding its time to ``_PYTHON_SWEEP_SECONDS``."""
    start = time.perf_counter()
    try:
        return _sweep(*args)
    finally:
        _PYTHON_SWEEP_SECONDS[0] += time.perf_counter() - start


def _sweep_for(two_qubit_ops: int):
    """The sweep for a circuit with this many two-qubit ops (``KERNEL_AFTER_SECONDS``);
    None: every trial compiled (``sabre_kernels.route_trials``)."""
    if two_qubit_ops < KERNEL_MIN_TWO_QUBIT:
        return _sweep
    warm = "qadl.passes.sabre_kernels" in sys.modules
    if (warm or _PYTHON_SWEEP_SECONDS[0] >= KERNEL_AFTER_SECONDS) and _kernels() is not None:
        return None
    return _timed_sweep


def _sabre_layout(
    forward: _Problem, backward: _Problem, start, device, rng, iterations, sweep=_sweep
) -> list[int]:
    """Forward-backward SABRE passes refine ``start`` (only two-qubit ops matter here)."""
    layout = list(start)
    for _ in range(iterations):
        layout = sweep(forward, layout, device, rng).l2p
        layout = sweep(backward, layout, device, rng).l2p
    return layout


def _replay(ops: Sequence[Op], start: Sequence[int], events: list[int]) -> list[Op]:
    """The physical ops of a sweep: ``events`` replayed from the initial layout ``start``."""
    n, l2p, out = len(start), list(start), []
    p2l = [0] * n
    for v, p in enumerate(l2p):
        p2l[p] = v
    for e in events:
        if e < 0:
            a, b = divmod(-1 - e, n)
            va, vb = p2l[a], p2l[b]
            p2l[a], p2l[b], l2p[va], l2p[vb] = vb, va, b, a
            out.append(Op(Gate.SWAP, (a, b)))
            continue
        op = ops[e]
        q = op.qubits
        at = (l2p[q[0]],) if len(q) == 1 else (l2p[q[0]], l2p[q[1]]) if q else ()
        out.append(op if at == q else Op(op.gate, at, op.angles, op.tags, span=op.span))
    return out


def _check(circuit: Circuit, graph: nx.Graph, num_physical: int) -> None:
    if circuit.num_qubits > num_physical:
        raise RoutingError(f"circuit needs {circuit.num_qubits} qubits, target has {num_physical}")
    for op in circuit.ops:
        if len(op.qubits) > 2:
            raise RoutingError(
                f"{op.gate.value} acts on {len(op.qubits)} qubits; "
                "translate it to 2-qubit gates first"
            )
    import networkx as nx

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
    the one whose routing needs the fewest SWAPs (ties: the first). Routing: SABRE's
    front layer / look-ahead heuristic with decay, and a shortest-path release valve
    after ``3·num_physical`` SWAPs without progress, so it always terminates.

    Speed without changing the result: candidate SWAPs are scored from running integer
    sums plus the few distances a SWAP changes; a trial's routing stops as soon as it
    cannot beat the best one so far, and no trial runs after a SWAP-free one; the
    physical ops are built once, for the winner. Routing-heavy circuits may run every
    trial in one Numba kernel call with the same decisions (``KERNEL_AFTER_SECONDS``).

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
    device = _device(tuple((int(a), int(b)) for a, b in coupling), num_physical)
    graph = device.graph
    _check(circuit, graph, num_physical)
    perfect = perfect_layout(circuit, graph)
    sweep = _sweep
    if perfect is not None:
        starts = iter([_complete_layout(perfect, num_physical)])
    else:
        two = [op for op in circuit.ops if len(op.qubits) == 2]
        sweep = _sweep_for(len(two))
        if sweep is None:  # every trial in one compiled call: the same draws and decisions
            trial = (_starts, seed, trials, layout_iterations, TIE_DRAWS)
            start, *won = _kernels().route_trials(circuit.ops, _wire_codes, device.arrays, *trial)
            return _routed(circuit, num_physical, start, _Sweep(*won))
        rng = np.random.default_rng(seed)
        forward, backward = _Problem.of(two), _Problem.of(two[::-1])
        # Refined lazily, in trial order: the shared generator is drawn from in the same
        # order as refining every start first, and trials after a SWAP-free one are skipped.
        starts = (
            _sabre_layout(forward, backward, s, device, rng, layout_iterations, sweep)
            for s in _starts(rng, num_physical, trials)
        )
    problem = _Problem.of(circuit.ops)
    best: tuple[list[int], _Sweep] | None = None
    for start in starts:
        # Trials are compared by SWAP count (every one emits all ops, so fewer SWAPs is
        # also fewer ops); the first best wins, so a later trial stops once it ties.
        bound = None if best is None else best[1].swaps
        result = sweep(problem, start, device, np.random.default_rng(seed), bound)
        if result is not None:
            best = (start, result)
            if result.swaps == 0:
                break
    assert best is not None
    return _routed(circuit, num_physical, *best)


def _routed(circuit: Circuit, num_physical: int, start, won: _Sweep) -> RoutedCircuit:
    """The ``RoutedCircuit`` of the winning trial: ``won`` routed from ``start``."""
    routed = replace(
        circuit,
        num_qubits=num_physical,
        ops=tuple(_replay(circuit.ops, start, won.events)),
        readout=_remap_readout(circuit.readout, won.l2p),
    )
    return RoutedCircuit(routed, tuple(int(p) for p in start), tuple(won.l2p), won.swaps)


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
    recorded qubit permutations. Cost per trial: O(ops + SWAPs · candidates · d), d the
    number of front and look-ahead ops on a candidate's two qubits.
    """
    if not coupling:
        raise RoutingError("route-sabre needs coupling=((a, b), ...) and num_physical=N")
    return route(circuit, coupling, num_physical or circuit.num_qubits, seed=seed).circuit
