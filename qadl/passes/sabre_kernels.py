"""Numba kernels of SABRE routing (``route_sabre.route``'s trials) over integer arrays.

Imported lazily by ``route_sabre`` and only for routing-heavy circuits, so ``import qadl``,
``qadl check`` and small compiles never load Numba. ``route_trials`` runs every trial in
one call: the dependencies (``problem_kernel``), each start's forward-backward refinement
and each routing sweep (``sweep_kernel``). A sweep makes exactly the decisions of the
Python sweep (``route_sabre._sweep``): the same ready-op order (passes over the sorted
front), the same look-ahead set (breadth first, first ``EXTENDED_SET_SIZE`` two-qubit
ops), the same scores (integer distance sums, then the same floating-point operations in
the same order), the same tie-breaks (``_draw`` is NumPy's ``Generator.integers(0, k)``
on the 32-bit draws the generator would make, from a ``tie_stream`` of them) and the
same release valve (networkx's shortest paths, looked up in a table of them built once
per coupling map).
fastmath is off: scores must round as Python's do.
"""

from __future__ import annotations

import array
import functools

import networkx as nx
import numpy as np
from numba import njit

__all__ = [
    "BOUND",
    "DONE",
    "SHORT",
    "buffers",
    "device_arrays",
    "draws",
    "op_table",
    "problem_kernel",
    "route_trials",
    "sweep_kernel",
    "tie_stream",
    "trials_kernel",
    "valve_paths",
]

DONE = 0
"""Status: every op was emitted."""
BOUND = 1
"""Status: the SWAP bound was reached (the trial cannot beat the best one)."""
SHORT = 2
"""Status: the tie-break stream ran out (draw a longer one and start again)."""

EXTENDED_SET_SIZE, EXTENDED_WEIGHT, DECAY_STEP, DECAY_RESET = 20, 0.5, 0.001, 5
"""SABRE's constants, as ``route_sabre`` defines them (a test checks they agree)."""

_inlined = njit(cache=True, inline="always")
"""The sweep's helpers: inlined where they are called (Numba IR), about 25% faster sweeps."""

# scalars[]: emitted events, SWAPs, SWAPs since progress, front size; the stamp of
# ``seen``/``mark`` (kept across sweeps that share buffers); the tie stream's position
_EVENTS, _SWAPS, _SINCE, _FRONT, _STAMP, _TIE = range(6)
# rows of buffers()[0]: BFS queues, sorted front, ready passes, _choose's scratch (6), then
# per op: seen stamps, front, front positions, predecessor counts
_QUEUE, _NEXT, _ORDERED, _PENDING, _ADDED, _WORK, _SEEN, _FRONTS, _FPOS, _PREDS = (
    0, 1, 2, 3, 4, 5, 11, 12, 13, 14,
)  # fmt: skip


@_inlined
def _emit(events, count, value):
    """Append ``value`` at ``count``, growing the buffer when full; the buffer."""
    if count == events.shape[0]:
        grown = np.empty(2 * count + 16, np.int64)
        grown[:count] = events[:count]
        events = grown
    events[count] = value
    return events


@_inlined
def _extended_set(front, succ_ptr, succ_idx, pair_a, seen, stamp, out, queue, nxt):
    """The next two-qubit ops after the sorted ``front``, breadth first, into ``out`` (at
    most its length); their count."""
    for i in front:
        seen[i] = stamp
    nq, size = front.shape[0], out.shape[0]
    queue[:nq] = front
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
                            return count
        queue[:nn] = nxt[:nn]
        nq = nn
    return count


@_inlined
def _endpoints(ops, count, pair_a, pair_b, l2p, dist, ps, rs):
    """Physical operands of ``ops[:count]`` into ``ps``, ``rs``; the sum of their distances."""
    total = 0
    for k in range(count):
        ps[k], rs[k] = l2p[pair_a[ops[k]]], l2p[pair_b[ops[k]]]
        total += dist[ps[k], rs[k]]
    return total


@_inlined
def _meetings(ps, rs, f_len, count, n, ptr, mid, fill, other):
    """Who meets whom: for each physical qubit ``p``, ``other[ptr[p]:mid[p]]`` are the
    partners of its front ops (the first ``f_len`` of the ``ps[:count]``/``rs[:count]``
    pairs) and ``other[mid[p]:ptr[p + 1]]`` those of its look-ahead ops; the CSR form of
    ``route_sabre._meetings``. ``fill`` is scratch space."""
    ptr[: n + 1] = 0
    for k in range(count):
        ptr[ps[k] + 1] += 1
        ptr[rs[k] + 1] += 1
    for p in range(n):
        ptr[p + 1] += ptr[p]
    fill[:n] = ptr[:n]
    for k in range(count):
        if k == f_len:
            mid[:n] = fill[:n]
        p, r = ps[k], rs[k]
        other[fill[p]] = r
        fill[p] += 1
        other[fill[r]] = p
        fill[r] += 1
    if count == f_len:
        mid[:n] = fill[:n]


@_inlined
def _moved(here, there, ptr, mid, other, dist):
    """How the front and look-ahead sums change when the qubit at ``here`` moves to
    ``there`` (its ops with the qubit at ``there`` keep their distance)."""
    to, fro = dist[there], dist[here]
    front = ahead = 0
    for s in range(ptr[here], mid[here]):
        r = other[s]
        if r != there:
            front += to[r] - fro[r]
    for s in range(mid[here], ptr[here + 1]):
        r = other[s]
        if r != there:
            ahead += to[r] - fro[r]
    return front, ahead


@_inlined
def _insertion_sort(a, count):
    """Sort ``a[:count]`` in place (short arrays: no allocation, unlike ``np.sort``)."""
    for k in range(1, count):
        x = a[k]
        j = k - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@_inlined
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


@_inlined
def _draw(ties, scalars, k):
    """NumPy's ``Generator.integers(0, k)`` (``0 < k < 2**32``): Lemire's method on the 32-bit
    draws ``ties[scalars[_TIE]:]``, the generator's own; -1 once they run out."""
    threshold = np.uint64((2**32 - k) % k)
    while scalars[_TIE] < ties.shape[0]:
        m = np.uint64(ties[scalars[_TIE]]) * np.uint64(k)
        scalars[_TIE] += 1
        if m & np.uint64(0xFFFFFFFF) >= threshold:
            return np.int64(m >> np.uint64(32))
    return -1


@_inlined
def _choose(
    front, f_len, ext, n_ext, pairs, l2p, decay, dist, cands, n_cands, n, work, scores, ties,
    scalars,
):  # fmt: skip
    """The index into ``cands`` of the best SWAP (ties broken by ``_draw``; -1 when its
    stream ran out); ``work`` (six rows of at least ``2·(f_len + n_ext)`` and ``n + 1``)
    and ``scores`` are scratch space."""
    pair_a, pair_b = pairs
    ps, rs, ptr, mid, fill, other = work[0], work[1], work[2], work[3], work[4], work[5]
    f_sum = _endpoints(front, f_len, pair_a, pair_b, l2p, dist, ps, rs)
    e_sum = _endpoints(ext, n_ext, pair_a, pair_b, l2p, dist, ps[f_len:], rs[f_len:])
    _meetings(ps, rs, f_len, f_len + n_ext, n, ptr, mid, fill, other)
    best = np.inf
    n_ties = 0
    for c in range(n_cands):
        a, b = cands[c] // n, cands[c] % n
        fa, ea = _moved(a, b, ptr, mid, other, dist)
        fb, eb = _moved(b, a, ptr, mid, other, dist)
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
    pick = _draw(ties, scalars, n_ties)
    if pick < 0:
        return -1
    for c in range(first, n_cands):
        if scores[c] <= best + 1e-12:
            if pick == 0:
                return c
            pick -= 1
    return first


@_inlined
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
def buffers(m, n, n_edges):
    """Scratch space for sweeps of at most ``m`` ops on ``n`` qubits with ``n_edges``
    directed couplings, shared by the sweeps of one call: (rows, mark, scores, decay,
    scalars, events); ``rows`` as ``_QUEUE`` … ``_PREDS`` name them."""
    rows = np.zeros((15, 2 * (m + EXTENDED_SET_SIZE) + n + 1), np.int64)
    events = np.empty(m + 4 * n, np.int64)
    return (
        rows,
        np.zeros(n * n, np.int64),
        np.empty(n_edges),
        np.ones(n),
        np.zeros(6, np.int64),
        events,
    )


@_inlined
def _start(l2p, preds0, p2l, preds, front, fpos, decay, scalars):
    """Set up a sweep from the layout ``l2p``: p2l, preds, the front and its positions,
    decay and the counters (the stamp and tie position carry on)."""
    for v in range(l2p.shape[0]):
        p2l[l2p[v]] = v
    count = 0
    for i in range(preds0.shape[0]):
        preds[i] = preds0[i]
        if preds[i] == 0:
            front[count] = i
            fpos[i] = count
            count += 1
    decay[:] = 1.0
    scalars[_EVENTS] = scalars[_SWAPS] = scalars[_SINCE] = 0
    scalars[_FRONT] = count


@_inlined
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
def sweep_kernel(problem, device, l2p, bound, ties, buf):
    """One sweep from the layout ``l2p`` (updated in place to the final one): (status,
    events buffer); ``bound < 0``: none. ``buf`` is ``buffers``'s: its scalars then hold
    the event count and SWAPs, and its tie position moves on by the draws made.

    ``problem`` is ``problem_kernel``'s (``pair_a/pair_b[i]``: virtual operands of op
    ``i``, ``-1`` for a one-qubit op; predecessor counts; successors in CSR form);
    ``device`` is ``route_sabre._Device.arrays`` (hop distances, coupling, the pairs
    ``a·n + b`` touching each qubit in CSR form, and the release valve's paths);
    events follow ``route_sabre._Sweep``; ``ties`` is a ``tie_stream``.
    """
    pair_a, pair_b, preds0, succ_ptr, succ_idx = problem
    dist, adj, edge_ptr, edge_idx, paths, path_len = device
    rows, mark, scores, decay, scalars, events = buf
    n = l2p.shape[0]
    p2l = np.empty(n, np.int64)
    seen, front, fpos, preds = rows[_SEEN], rows[_FRONTS], rows[_FPOS], rows[_PREDS]
    _start(l2p, preds0, p2l, preds, front, fpos, decay, scalars)
    pairs, succs = (pair_a, pair_b), (succ_ptr, succ_idx)
    limit = 3 * n
    queue, nxt, ordered, pending, added = (
        rows[_QUEUE], rows[_NEXT], rows[_ORDERED], rows[_PENDING], rows[_ADDED],
    )  # fmt: skip
    cands = np.empty(edge_idx.shape[0], np.int64)
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
        scalars[_STAMP] += 1
        stamp = scalars[_STAMP]
        if not cached:
            f_len = scalars[_FRONT]
            ordered[:f_len] = front[:f_len]
            _insertion_sort(ordered, f_len)
            n_ext = _extended_set(
                ordered[:f_len], succ_ptr, succ_idx, pair_a, seen, stamp, ext, queue, nxt
            )
            cached = True
        if scalars[_SINCE] >= limit:
            s, t = l2p[pair_a[ordered[0]]], l2p[pair_b[ordered[0]]]
            events = _release(paths[s, t, : path_len[s, t]], l2p, p2l, events, scalars)
            if bound >= 0 and scalars[_SWAPS] >= bound:
                return BOUND, events
            continue
        n_cands = _candidates(
            ordered, f_len, pair_a, pair_b, l2p, edge_ptr, edge_idx, mark, stamp, cands
        )
        c = _choose(
            ordered, f_len, ext, n_ext, pairs, l2p, decay, dist, cands, n_cands, n,
            rows[_WORK:_SEEN], scores, ties, scalars,
        )  # fmt: skip
        if c < 0:
            return SHORT, events
        a, b = cands[c] // n, cands[c] % n
        va, vb = p2l[a], p2l[b]
        p2l[a], p2l[b] = vb, va
        l2p[va], l2p[vb] = b, a
        events = _emit(events, scalars[_EVENTS], -1 - (a * n + b))
        scalars[_EVENTS] += 1
        scalars[_SWAPS] += 1
        if bound >= 0 and scalars[_SWAPS] >= bound:
            return BOUND, events
        decay[a] += DECAY_STEP
        decay[b] += DECAY_STEP
        scalars[_SINCE] += 1
        if scalars[_SWAPS] % DECAY_RESET == 0:
            decay[:] = 1.0
    return DONE, events


@njit(cache=True)
def problem_kernel(table):
    """``route_sabre._Problem.of`` for the ops in ``table`` (``op_table``'s): the operands
    ``pair_a``, ``pair_b`` (-1 for a one-qubit op), predecessor counts and successors in
    CSR form (``succ_ptr``, ``succ_idx``), the dependencies ``route_sabre._dependencies`` finds.

    On each wire an op joins the current run when it has the run's basis (-1: none, never
    joins) and depends on the run before it; otherwise it starts a run and depends on the
    one it ends. Predecessors are counted once; each op's successors come in order.
    """
    m = table.shape[0]
    n = table[:, :2].max() + 1 if m else 0
    pos, begin, before, basis = np.zeros((4, n), np.int64)
    wire_ptr = np.zeros(n + 1, np.int64)
    for i in range(m):
        for w in range(2):
            if table[i, w] >= 0:
                wire_ptr[table[i, w] + 1] += 1
    wire_ptr = np.cumsum(wire_ptr)
    wire_ops = np.empty(wire_ptr[-1], np.int64)
    mark, preds = np.full(m, -1), np.zeros(m, np.int64)
    edges, n_edges = np.empty(4 * m + 16, np.int64), 0  # (op, predecessor) pairs
    for i in range(m):
        for w in range(2):
            q = table[i, w]
            if q < 0:
                continue
            k = pos[q]
            wire_ops[wire_ptr[q] + k] = i
            pos[q] += 1
            if k == 0 or table[i, 2 + w] < 0 or table[i, 2 + w] != basis[q]:
                before[q], begin[q], basis[q] = begin[q], k, table[i, 2 + w]
            for s in range(wire_ptr[q] + before[q], wire_ptr[q] + begin[q]):
                j = wire_ops[s]
                if mark[j] != i:
                    mark[j] = i
                    preds[i] += 1
                    edges = _emit(edges, n_edges, j)
                    edges = _emit(edges, n_edges + 1, i)
                    n_edges += 2
    succ_ptr = np.zeros(m + 1, np.int64)
    for e in range(0, n_edges, 2):
        succ_ptr[edges[e] + 1] += 1
    succ_ptr = np.cumsum(succ_ptr)
    succ_idx, fill = np.empty(n_edges // 2, np.int64), succ_ptr[:m].copy()
    for e in range(0, n_edges, 2):  # pairs come in op order: each list is sorted
        succ_idx[fill[edges[e]]] = edges[e + 1]
        fill[edges[e]] += 1
    pair_a = np.where(table[:, 1] >= 0, table[:, 0], -1)
    return pair_a, table[:, 1].copy(), preds, succ_ptr, succ_idx


@njit(cache=True)
def trials_kernel(table, device, iterations, starts, refine_ties, ties):
    """``route_sabre.route``'s SABRE trials in one call: (status, the winner's refined
    layout, final layout, events and SWAPs).

    Trial ``t`` refines ``starts[t]`` by ``iterations`` forward-backward sweeps over the
    two-qubit ops of ``table`` (``problem_kernel``'s; tie-breaks from ``refine_ties``, one
    stream through every trial in order), then routes all its ops from it (tie-breaks from
    the start of ``ties``, a fresh generator's) with the best SWAP count so far as bound;
    none runs after a SWAP-free trial.
    """
    problem = problem_kernel(table)
    two = table[table[:, 1] >= 0]
    forward, backward = problem_kernel(two), problem_kernel(two[::-1].copy())
    n = starts.shape[1]
    m = max(problem[0].shape[0], forward[0].shape[0])
    refine_buf = buffers(m, n, device[3].shape[0])
    buf = buffers(m, n, device[3].shape[0])
    best_swaps, best_start = -1, starts[0].copy()
    best_l2p, best_events = best_start.copy(), buf[5][:0]
    for t in range(starts.shape[0]):
        layout = starts[t].copy()
        for _ in range(iterations):
            there = sweep_kernel(forward, device, layout, -1, refine_ties, refine_buf)[0]
            back = sweep_kernel(backward, device, layout, -1, refine_ties, refine_buf)[0]
            if there == SHORT or back == SHORT:
                return SHORT, best_start, best_l2p, best_events, best_swaps
        l2p = layout.copy()
        buf[4][_TIE] = 0
        status, events = sweep_kernel(problem, device, l2p, best_swaps, ties, buf)
        if status == SHORT:
            return SHORT, best_start, best_l2p, best_events, best_swaps
        if status == DONE:
            best_swaps, best_start, best_l2p = buf[4][_SWAPS], layout, l2p
            best_events = events[: buf[4][_EVENTS]].copy()
            if best_swaps == 0:
                break
    return DONE, best_start, best_l2p, best_events, best_swaps


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


def op_table(ops, wire_codes) -> np.ndarray:
    """The ops as ``problem_kernel`` reads them: rows of (qubit, second qubit, and
    ``wire_codes(gate)``: the bases of its wires as integers; -1 for none)."""
    flat: list[int] = []
    add = flat.extend
    for op in ops:
        q = op.qubits
        add(q if len(q) == 2 else (q[0] if q else -1, -1))
        add(wire_codes(op.gate))
    return np.frombuffer(array.array("q", flat), np.int64).reshape(-1, 4)  # faster than np.array


def tie_stream(state: dict, size: int) -> np.ndarray:
    """The next ``size`` 32-bit draws of a ``PCG64`` in ``state`` (a ``bit_generator.state``),
    as ``Generator.integers`` makes them: a cached half first, then each 64-bit output's
    low and high halves."""
    bits = np.random.PCG64()
    bits.state = state
    raw = bits.random_raw((size + 1) // 2).astype("<u8").view("<u4")
    head = [state["uinteger"]] if state["has_uint32"] else []
    return np.concatenate([np.array(head, np.uint32), raw])[:size]


@functools.lru_cache(maxsize=64)
def draws(starts, seed: int, n: int, trials: int, size: int) -> tuple[np.ndarray, ...]:
    """What ``trials_kernel`` draws (never modified): ``starts(rng, n, trials)`` from
    ``rng = default_rng(seed)``, then ``size`` 32-bit draws (``tie_stream``) of ``rng``
    (the refinements') and of a fresh one (every routing sweep starts them again)."""
    rng = np.random.default_rng(seed)
    fresh = rng.bit_generator.state
    layouts = np.array(starts(rng, n, trials), np.int64)
    return layouts, tie_stream(rng.bit_generator.state, size), tie_stream(fresh, size)


def route_trials(ops, wire_codes, device, starts, seed, trials, iterations, size):
    """``route_sabre.route``'s SABRE trials in one compiled call (``trials_kernel``): the
    winner's refined layout, final layout, events and SWAPs, as lists and ints.

    ``op_table(ops, wire_codes)`` gives the kernel's ops, ``device`` is
    ``route_sabre._Device.arrays``; ``draws(starts, seed, …, size)`` gives the starts and
    tie streams, drawn again four times longer while a stream runs out.
    """
    table, n = op_table(ops, wire_codes), device[0].shape[0]
    while True:
        status, start, l2p, events, swaps = trials_kernel(
            table, device, iterations, *draws(starts, seed, n, trials, size)
        )
        if status != SHORT:
            return start.tolist(), l2p.tolist(), events.tolist(), int(swaps)
        size *= 4
