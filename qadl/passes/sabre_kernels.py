"""Numba kernel of one SABRE sweep (``route_sabre._sweep``) over integer arrays.

Imported lazily by ``route_sabre`` and only for routing-heavy circuits, so ``import qadl``,
``qadl check`` and small compiles never load Numba. The kernel makes exactly the decisions
of the Python sweep: the same ready-op order (passes over the sorted front), the same
look-ahead set (breadth first, first ``EXTENDED_SET_SIZE`` two-qubit ops), the same scores
(integer distance sums, then the same floating-point operations in the same order), and
the same tie-breaks (Numba's ``Generator.integers`` draws NumPy's numbers from the shared
bit generator). The shortest-path release valve is left to the caller (networkx's path
choice), so the kernel returns to Python when it is due and is called again to resume.
fastmath is off: scores must round as Python's do.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
from numba import njit

__all__ = ["BOUND", "DONE", "VALVE", "sweep", "sweep_kernel"]

DONE = 0
"""Status: every op was emitted."""
BOUND = 1
"""Status: the SWAP bound was reached (the trial cannot beat the best one)."""
VALVE = 2
"""Status: the release valve is due for virtual qubits ``scalars[4], scalars[5]``."""

EXTENDED_SET_SIZE, EXTENDED_WEIGHT, DECAY_STEP, DECAY_RESET = 20, 0.5, 0.001, 5
"""SABRE's constants, as ``route_sabre`` defines them (a test checks they agree)."""

# scalars[]: emitted events, SWAPs, SWAPs since progress, front size, valve pair (2)
_EVENTS, _SWAPS, _SINCE, _FRONT, _VA, _VB = range(6)


@njit(cache=True)
def _emit(events, count, value):
    """Append ``value`` at ``count``, growing the buffer when full; the buffer."""
    if count == events.shape[0]:
        grown = np.empty(2 * count + 16, np.int64)
        grown[:count] = events[:count]
        events = grown
    events[count] = value
    return events


@njit(cache=True)
def _extended_set(front, succ_ptr, succ_idx, pair_a, seen, stamp, size, queue, nxt):
    """The next ``size`` two-qubit ops after the sorted ``front``, breadth first; count."""
    for i in front:
        seen[i] = stamp
    nq = front.shape[0]
    queue[:nq] = front
    out = np.empty(size, np.int64)
    count = 0
    while nq:
        nn = 0
        for k in range(nq):
            i = queue[k]
            for s in range(succ_ptr[i], succ_ptr[i + 1]):
                j = succ_idx[s]
                if seen[j] != stamp:
                    seen[j] = stamp
                    nxt[nn] = j
                    nn += 1
                    if pair_a[j] >= 0:
                        out[count] = j
                        count += 1
                        if count == size:
                            return out, count
        queue[:nn] = nxt[:nn]
        nq = nn
    return out, count


@njit(cache=True)
def _distance_sum(ops, count, pair_a, pair_b, l2p, dist, a, b):
    """Σ distance of ``ops[:count]`` with the qubits at physical ``a`` and ``b`` traded."""
    total = 0
    for k in range(count):
        i = ops[k]
        p = l2p[pair_a[i]]
        r = l2p[pair_b[i]]
        if p == a:
            p = b
        elif p == b:
            p = a
        if r == a:
            r = b
        elif r == b:
            r = a
        total += dist[p, r]
    return total


@njit(cache=True)
def _insertion_sort(a, count):
    """Sort ``a[:count]`` in place (short arrays: no allocation, unlike ``np.sort``)."""
    for k in range(1, count):
        x = a[k]
        j = k - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit(cache=True)
def _candidates(front, f_len, pair_a, pair_b, l2p, edge_ptr, edge_idx, mark, stamp, out):
    """Coupled pairs ``a·n + b`` (a < b) touching a front op's qubit into ``out``, sorted,
    each once (``mark[pair] == stamp``: already taken); their count."""
    count = 0
    for k in range(f_len):
        i = front[k]
        for p in (l2p[pair_a[i]], l2p[pair_b[i]]):
            for s in range(edge_ptr[p], edge_ptr[p + 1]):
                e = edge_idx[s]
                if mark[e] != stamp:
                    mark[e] = stamp
                    out[count] = e
                    count += 1
    _insertion_sort(out, count)
    return count


@njit(cache=True)
def _choose(front, f_len, ext, n_ext, pairs, l2p, decay, dist, cands, n_cands, n, weight, rng):
    """The index into ``cands`` of the best SWAP (ties drawn from ``rng``)."""
    pair_a, pair_b = pairs
    best = np.inf
    n_ties = 0
    scores = np.empty(n_cands)
    for c in range(n_cands):
        a, b = cands[c] // n, cands[c] % n
        h = _distance_sum(front, f_len, pair_a, pair_b, l2p, dist, a, b) / f_len
        if n_ext:
            h += weight * _distance_sum(ext, n_ext, pair_a, pair_b, l2p, dist, a, b) / n_ext
        scores[c] = max(decay[a], decay[b]) * h
        best = min(best, scores[c])
    first = -1
    for c in range(n_cands):
        if scores[c] <= best + 1e-12:
            if first < 0:
                first = c
            n_ties += 1
    if n_ties == 1:
        return first
    pick = rng.integers(0, n_ties)
    for c in range(first, n_cands):
        if scores[c] <= best + 1e-12:
            if pick == 0:
                return c
            pick -= 1
    return first


@njit(cache=True)
def _run_ready(front, fpos, scalars, preds, succs, pairs, l2p, adj, events, pending, added):
    """Emit every executable front op, pass after pass; (events, whether any ran)."""
    succ_ptr, succ_idx = succs
    pair_a, pair_b = pairs
    ran = False
    n_pending = scalars[_FRONT]
    pending[:n_pending] = front[:n_pending]
    _insertion_sort(pending, n_pending)
    while n_pending:
        n_added = 0
        for k in range(n_pending):
            i = pending[k]
            if pair_a[i] >= 0 and not adj[l2p[pair_a[i]], l2p[pair_b[i]]]:
                continue
            events = _emit(events, scalars[_EVENTS], i)
            scalars[_EVENTS] += 1
            last = front[scalars[_FRONT] - 1]  # remove i: move the last entry into its slot
            front[fpos[i]] = last
            fpos[last] = fpos[i]
            scalars[_FRONT] -= 1
            for s in range(succ_ptr[i], succ_ptr[i + 1]):
                j = succ_idx[s]
                preds[j] -= 1
                if preds[j] == 0:
                    front[scalars[_FRONT]] = j
                    fpos[j] = scalars[_FRONT]
                    scalars[_FRONT] += 1
                    added[n_added] = j
                    n_added += 1
            ran = True
        _insertion_sort(added, n_added)
        pending[:n_added] = added[:n_added]
        n_pending = n_added
    return events, ran


@njit(cache=True)
def sweep_kernel(
    pair_a, pair_b, succ_ptr, succ_idx, dist, adj, edge_ptr, edge_idx,
    l2p, p2l, preds, front, fpos, decay, events, scalars,
    bound, ext_size, weight, decay_step, decay_reset, rng,
):  # fmt: skip
    """Run (or resume) one sweep in place; (status, events buffer).

    ``pair_a/pair_b[i]``: virtual operands of op ``i`` (``-1``: a one-qubit op);
    ``succ_ptr/succ_idx``: successors (CSR); ``dist``/``adj``: hop distances and coupling
    (``n × n``); ``edge_ptr/edge_idx``: coupled pairs ``a·n + b`` touching each physical
    qubit (CSR). ``l2p``, ``p2l``, ``preds``, the unordered ``front`` (``fpos``: positions),
    ``decay`` and ``scalars`` are the sweep's state, updated in place; ``events`` follow
    ``route_sabre._Sweep``. ``bound < 0``: no bound.
    """
    n, m = l2p.shape[0], pair_a.shape[0]
    pairs, succs = (pair_a, pair_b), (succ_ptr, succ_idx)
    limit = 3 * n
    seen = np.zeros(m, np.int64)
    mark = np.zeros(n * n, np.int64)
    work = np.empty((5, m), np.int64)
    queue, nxt, ordered, pending, added = work[0], work[1], work[2], work[3], work[4]
    cands = np.empty(edge_idx.shape[0], np.int64)
    stamp = 0
    cached = False  # the sorted front and its look-ahead set, while the front stands
    ext = np.empty(ext_size, np.int64)
    n_ext = f_len = 0
    while scalars[_FRONT]:
        events, ran = _run_ready(
            front, fpos, scalars, preds, succs, pairs, l2p, adj, events, pending, added
        )
        if ran:
            decay[:] = 1.0
            scalars[_SINCE] = 0
            cached = False
            continue
        stamp += 1
        if not cached:
            f_len = scalars[_FRONT]
            ordered[:f_len] = front[:f_len]
            _insertion_sort(ordered, f_len)
            ext, n_ext = _extended_set(
                ordered[:f_len], succ_ptr, succ_idx, pair_a, seen, stamp, ext_size, queue, nxt
            )
            cached = True
        if scalars[_SINCE] >= limit:
            scalars[_VA] = pair_a[ordered[0]]
            scalars[_VB] = pair_b[ordered[0]]
            return VALVE, events
        n_cands = _candidates(
            ordered, f_len, pair_a, pair_b, l2p, edge_ptr, edge_idx, mark, stamp, cands
        )
        c = _choose(
            ordered, f_len, ext, n_ext, pairs, l2p, decay, dist, cands, n_cands, n, weight, rng
        )
        a, b = cands[c] // n, cands[c] % n
        va, vb = p2l[a], p2l[b]
        p2l[a], p2l[b] = vb, va
        l2p[va], l2p[vb] = b, a
        events = _emit(events, scalars[_EVENTS], -1 - (a * n + b))
        scalars[_EVENTS] += 1
        scalars[_SWAPS] += 1
        if bound >= 0 and scalars[_SWAPS] >= bound:
            return BOUND, events
        decay[a] += decay_step
        decay[b] += decay_step
        scalars[_SINCE] += 1
        if scalars[_SWAPS] % decay_reset == 0:
            decay[:] = 1.0
    return DONE, events


def _start(problem_arrays, layout):
    """The kernel's state arrays at the start of a sweep from ``layout``."""
    pair_a, _, preds, _, _ = problem_arrays
    m, n = pair_a.shape[0], len(layout)
    l2p = np.array(layout, np.int64)
    p2l = np.empty(n, np.int64)
    p2l[l2p] = np.arange(n)
    ready = np.flatnonzero(preds == 0)
    front = np.zeros(m, np.int64)
    front[: ready.shape[0]] = ready
    fpos = np.zeros(m, np.int64)
    fpos[ready] = np.arange(ready.shape[0])
    scalars = np.array([0, 0, 0, ready.shape[0], 0, 0], np.int64)
    events = np.empty(m + 4 * n, np.int64)
    return l2p, p2l, preds.copy(), front, fpos, np.ones(n), events, scalars


def _release(graph, l2p, p2l, events, scalars):
    """SWAPs along networkx's shortest path between the valve pair (as the Python sweep)."""
    n = l2p.shape[0]
    path = nx.shortest_path(graph, int(l2p[scalars[_VA]]), int(l2p[scalars[_VB]]))
    for p, r in itertools.pairwise(path[:-1]):
        vp, vr = p2l[p], p2l[r]
        p2l[p], p2l[r] = vr, vp
        l2p[vp], l2p[vr] = r, p
        events = _emit(events, scalars[_EVENTS], -1 - (p * n + r))
        scalars[_EVENTS] += 1
        scalars[_SWAPS] += 1
    scalars[_SINCE] = 0
    return events


def sweep(problem_arrays, layout, device_arrays, graph, rng, bound=None):
    """One SABRE sweep, compiled: ``(l2p, events, swaps)`` as ``route_sabre._sweep``'s.

    Args:
        problem_arrays: ``route_sabre._Problem.arrays``.
        layout: the starting layout (virtual -> physical).
        device_arrays: ``route_sabre._Device.arrays``.
        graph: the coupling graph (for the release valve's shortest paths).
        rng: tie-breaks, drawn as the Python sweep draws them.
        bound: give up (return None) once this many SWAPs are reached.

    Returns:
        The final layout, the emitted events and the SWAP count, or None at the bound.
    """
    pair_a, pair_b, _, succ_ptr, succ_idx = problem_arrays
    dist, adj, edge_ptr, edge_idx = device_arrays
    l2p, p2l, preds, front, fpos, decay, events, scalars = _start(problem_arrays, layout)
    while True:
        status, events = sweep_kernel(
            pair_a, pair_b, succ_ptr, succ_idx, dist, adj, edge_ptr, edge_idx,
            l2p, p2l, preds, front, fpos, decay, events, scalars,
            -1 if bound is None else bound,
            EXTENDED_SET_SIZE, EXTENDED_WEIGHT, DECAY_STEP, DECAY_RESET, rng,
        )  # fmt: skip
        if status == DONE:
            return l2p.tolist(), events[: scalars[_EVENTS]].tolist(), int(scalars[_SWAPS])
        if status == BOUND:
            return None
        events = _release(graph, l2p, p2l, events, scalars)
        if bound is not None and scalars[_SWAPS] >= bound:
            return None
