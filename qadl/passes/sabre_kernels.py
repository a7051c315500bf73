"""Numba kernel of one SABRE sweep (``route_sabre._sweep``) over integer arrays.

Imported lazily by ``route_sabre`` and only for routing-heavy circuits, so ``import qadl``,
``qadl check`` and small compiles never load Numba. The kernel makes exactly the decisions
of the Python sweep: the same ready-op order (passes over the sorted front), the same
look-ahead set (breadth first, first ``EXTENDED_SET_SIZE`` two-qubit ops), the same scores
(integer distance sums, then the same floating-point operations in the same order), the
same tie-breaks (Numba's ``Generator.integers`` draws NumPy's numbers from the shared bit
generator) and the same release valve (networkx's shortest paths, looked up in a table of
them built once per coupling map).
fastmath is off: scores must round as Python's do.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numba import njit

__all__ = [
    "BOUND",
    "DONE",
    "device_arrays",
    "problem_arrays",
    "refine",
    "refine_kernel",
    "sweep",
    "sweep_kernel",
    "valve_paths",
]

DONE = 0
"""Status: every op was emitted."""
BOUND = 1
"""Status: the SWAP bound was reached (the trial cannot beat the best one)."""

EXTENDED_SET_SIZE, EXTENDED_WEIGHT, DECAY_STEP, DECAY_RESET = 20, 0.5, 0.001, 5
"""SABRE's constants, as ``route_sabre`` defines them (a test checks they agree)."""

# scalars[]: emitted events, SWAPs, SWAPs since progress, front size
_EVENTS, _SWAPS, _SINCE, _FRONT = range(4)


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
def _endpoints(ops, count, pair_a, pair_b, l2p, dist, ps, rs):
    """Physical operands of ``ops[:count]`` into ``ps``, ``rs``; the sum of their distances."""
    total = 0
    for k in range(count):
        ps[k], rs[k] = l2p[pair_a[ops[k]]], l2p[pair_b[ops[k]]]
        total += dist[ps[k], rs[k]]
    return total


@njit(cache=True)
def _meetings(ps, rs, count, side, n, ptr, other, sides):
    """Who meets whom: for each physical qubit ``p``, ``other[ptr[p]:ptr[p + 1]]`` are the
    partners of its ops among ``ps[:count]``/``rs[:count]`` pairs (``sides``: their
    ``side[k]``, 0 front, 1 look-ahead); the CSR form of ``route_sabre._meetings``."""
    ptr[:] = 0
    for k in range(count):
        ptr[ps[k] + 1] += 1
        ptr[rs[k] + 1] += 1
    for p in range(n):
        ptr[p + 1] += ptr[p]
    fill = ptr[:n].copy()
    for k in range(count):
        for p, r in ((ps[k], rs[k]), (rs[k], ps[k])):
            other[fill[p]] = r
            sides[fill[p]] = side[k]
            fill[p] += 1


@njit(cache=True)
def _moved(here, there, ptr, other, sides, dist):
    """How the front and look-ahead sums change when the qubit at ``here`` moves to
    ``there`` (its ops with the qubit at ``there`` keep their distance)."""
    front = ahead = 0
    for s in range(ptr[here], ptr[here + 1]):
        r = other[s]
        if r != there:
            if sides[s]:
                ahead += dist[there, r] - dist[here, r]
            else:
                front += dist[there, r] - dist[here, r]
    return front, ahead


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
def _choose(
    front, f_len, ext, n_ext, pairs, l2p, decay, dist, cands, n_cands, n, work, scores, rng
):
    """The index into ``cands`` of the best SWAP (ties drawn from ``rng``); ``work`` (six
    rows of at least ``2·(f_len + n_ext)`` and ``n + 1``) and ``scores`` are scratch space."""
    pair_a, pair_b = pairs
    ps, rs, side, ptr, other, sides = work[0], work[1], work[2], work[3], work[4], work[5]
    f_sum = _endpoints(front, f_len, pair_a, pair_b, l2p, dist, ps, rs)
    e_sum = _endpoints(ext, n_ext, pair_a, pair_b, l2p, dist, ps[f_len:], rs[f_len:])
    side[:f_len] = 0
    side[f_len : f_len + n_ext] = 1
    _meetings(ps, rs, f_len + n_ext, side, n, ptr, other, sides)
    best = np.inf
    n_ties = 0
    for c in range(n_cands):
        a, b = cands[c] // n, cands[c] % n
        fa, ea = _moved(a, b, ptr, other, sides, dist)
        fb, eb = _moved(b, a, ptr, other, sides, dist)
        df, de = fa + fb, ea + eb
        # Integer sums (as the Python sweep's), then its floating-point steps in its order.
        h = (f_sum + df) / f_len
        if n_ext:
            h += EXTENDED_WEIGHT * (e_sum + de) / n_ext
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
def _start(layout, preds0):
    """The state of a sweep from ``layout``: l2p, p2l, preds, front, fpos, decay, scalars."""
    n, m = layout.shape[0], preds0.shape[0]
    l2p, p2l = layout.copy(), np.empty(n, np.int64)
    for v in range(n):
        p2l[l2p[v]] = v
    preds = preds0.copy()
    front, fpos = np.zeros(m, np.int64), np.zeros(m, np.int64)
    count = 0
    for i in range(m):
        if preds[i] == 0:
            front[count] = i
            fpos[i] = count
            count += 1
    scalars = np.zeros(4, np.int64)
    scalars[_FRONT] = count
    return l2p, p2l, preds, front, fpos, np.ones(n), scalars


@njit(cache=True)
def _release(path, l2p, p2l, events, scalars):
    """SWAPs along ``path`` (networkx's shortest path, as the Python sweep takes) but its
    last qubit, so the valve pair ends up adjacent; the events buffer."""
    n = l2p.shape[0]
    for k in range(path.shape[0] - 2):
        p, r = path[k], path[k + 1]
        vp, vr = p2l[p], p2l[r]
        p2l[p], p2l[r] = vr, vp
        l2p[vp], l2p[vr] = r, p
        events = _emit(events, scalars[_EVENTS], -1 - (p * n + r))
        scalars[_EVENTS] += 1
        scalars[_SWAPS] += 1
    scalars[_SINCE] = 0
    return events


@njit(cache=True)
def sweep_kernel(problem, device, layout, bound, rng):
    """One sweep from ``layout``: (status, final l2p, events, SWAPs); ``bound < 0``: none.

    ``problem`` is ``route_sabre._Problem.arrays`` (``pair_a/pair_b[i]``: virtual operands
    of op ``i``, ``-1`` for a one-qubit op; predecessor counts; successors in CSR form);
    ``device`` is ``route_sabre._Device.arrays`` (hop distances, coupling, the pairs
    ``a·n + b`` touching each qubit in CSR form, and the release valve's paths);
    ``events`` follow ``route_sabre._Sweep``.
    """
    pair_a, pair_b, preds0, succ_ptr, succ_idx = problem
    dist, adj, edge_ptr, edge_idx, paths, path_len = device
    l2p, p2l, preds, front, fpos, decay, scalars = _start(layout, preds0)
    n, m = l2p.shape[0], pair_a.shape[0]
    pairs, succs = (pair_a, pair_b), (succ_ptr, succ_idx)
    limit = 3 * n
    events = np.empty(m + 4 * n, np.int64)
    seen = np.zeros(m, np.int64)
    mark = np.zeros(n * n, np.int64)
    work = np.empty((11, 2 * (m + EXTENDED_SET_SIZE) + n + 1), np.int64)
    queue, nxt, ordered, pending, added = work[0], work[1], work[2], work[3], work[4]
    cands = np.empty(edge_idx.shape[0], np.int64)
    scores = np.empty(edge_idx.shape[0])
    stamp = 0
    cached = False  # the sorted front and its look-ahead set, while the front stands
    ext = np.empty(EXTENDED_SET_SIZE, np.int64)
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
                ordered[:f_len], succ_ptr, succ_idx, pair_a, seen, stamp, EXTENDED_SET_SIZE,
                queue, nxt,
            )  # fmt: skip
            cached = True
        if scalars[_SINCE] >= limit:
            s, t = l2p[pair_a[ordered[0]]], l2p[pair_b[ordered[0]]]
            events = _release(paths[s, t, : path_len[s, t]], l2p, p2l, events, scalars)
            if bound >= 0 and scalars[_SWAPS] >= bound:
                return BOUND, l2p, events[:0], scalars[_SWAPS]
            continue
        n_cands = _candidates(
            ordered, f_len, pair_a, pair_b, l2p, edge_ptr, edge_idx, mark, stamp, cands
        )
        c = _choose(
            ordered, f_len, ext, n_ext, pairs, l2p, decay, dist, cands, n_cands, n,
            work[5:], scores, rng,
        )  # fmt: skip
        a, b = cands[c] // n, cands[c] % n
        va, vb = p2l[a], p2l[b]
        p2l[a], p2l[b] = vb, va
        l2p[va], l2p[vb] = b, a
        events = _emit(events, scalars[_EVENTS], -1 - (a * n + b))
        scalars[_EVENTS] += 1
        scalars[_SWAPS] += 1
        if bound >= 0 and scalars[_SWAPS] >= bound:
            return BOUND, l2p, events[:0], scalars[_SWAPS]
        decay[a] += DECAY_STEP
        decay[b] += DECAY_STEP
        scalars[_SINCE] += 1
        if scalars[_SWAPS] % DECAY_RESET == 0:
            decay[:] = 1.0
    return DONE, l2p, events[: scalars[_EVENTS]], scalars[_SWAPS]


@njit(cache=True)
def refine_kernel(forward, backward, device, start, iterations, rng):
    """``route_sabre._sabre_layout`` in one call: forward-backward sweeps from ``start``."""
    layout = start
    for _ in range(iterations):
        layout = sweep_kernel(forward, device, layout, -1, rng)[1]
        layout = sweep_kernel(backward, device, layout, -1, rng)[1]
    return layout


def problem_arrays(pairs, preds, succs) -> tuple[np.ndarray, ...]:
    """``(pair_a, pair_b, preds, succ_ptr, succ_idx)`` of a ``route_sabre._Problem``.

    ``pair_a[i] = pair_b[i] = -1`` for a one-qubit op; successors in CSR form.
    """
    pair_a = np.array([-1 if p is None else p[0] for p in pairs], np.int64)
    pair_b = np.array([-1 if p is None else p[1] for p in pairs], np.int64)
    succ_ptr = np.zeros(len(succs) + 1, np.int64)
    np.cumsum([len(s) for s in succs], out=succ_ptr[1:])
    succ_idx = np.array([j for s in succs for j in s], np.int64)
    return pair_a, pair_b, np.array(preds, np.int64), succ_ptr, succ_idx


def device_arrays(dist, adjacent, edges_at, graph: nx.Graph) -> tuple[np.ndarray, ...]:
    """A ``route_sabre._Device`` for the kernel: ``n × n`` distances and coupling, the pairs
    ``a·n + b`` touching each qubit (CSR), and the release valve's paths and lengths."""
    n = len(dist)
    adj = np.zeros((n, n), np.bool_)
    for p, neighbours in enumerate(adjacent):
        adj[p, sorted(neighbours)] = True
    edge_ptr = np.zeros(n + 1, np.int64)
    np.cumsum([len(e) for e in edges_at], out=edge_ptr[1:])
    edge_idx = np.array([a * n + b for e in edges_at for a, b in e], np.int64)
    paths, lengths = valve_paths(graph, n)
    return np.array(dist, np.int64), adj, edge_ptr, edge_idx, paths, lengths


def valve_paths(graph: nx.Graph, n: int) -> tuple[np.ndarray, np.ndarray]:
    """networkx's shortest path for every ordered pair (``-1`` padded) and its length.

    The Python sweep's release valve asks ``nx.shortest_path`` at the moment; the kernel
    looks the same paths up (a pair in different components gets length 0, never used).
    """
    paths = np.full((n, n, n), -1, np.int64)
    length = np.zeros((n, n), np.int64)
    for s in range(n):
        for t in range(n):
            try:
                path = nx.shortest_path(graph, s, t)
            except nx.NetworkXNoPath:
                continue
            paths[s, t, : len(path)] = path
            length[s, t] = len(path)
    return paths, length


def sweep(problem_arrays, layout, device_arrays, rng, bound=None):
    """One SABRE sweep, compiled: ``(l2p, events, swaps)`` as ``route_sabre._sweep``'s.

    Args:
        problem_arrays: ``route_sabre._Problem.arrays``.
        layout: the starting layout (virtual -> physical).
        device_arrays: ``route_sabre._Device.arrays``.
        rng: tie-breaks, drawn as the Python sweep draws them.
        bound: give up (return None) once this many SWAPs are reached.

    Returns:
        The final layout, the emitted events and the SWAP count, or None at the bound.
    """
    start = np.asarray(layout, np.int64)
    status, l2p, events, swaps = sweep_kernel(
        problem_arrays, device_arrays, start, -1 if bound is None else bound, rng
    )
    if status == BOUND:
        return None
    return l2p.tolist(), events.tolist(), int(swaps)


def refine(forward_arrays, backward_arrays, start, device_arrays, rng, iterations) -> list[int]:
    """``route_sabre._sabre_layout``, compiled: the refined layout."""
    layout = np.asarray(start, np.int64)
    return refine_kernel(
        forward_arrays, backward_arrays, device_arrays, layout, iterations, rng
    ).tolist()
