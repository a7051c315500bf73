"""``qadl.passes.kak`` for many two-qubit unitaries at once, bit for bit.

The same steps on stacked (n, 4, 4) arrays: NumPy's stacked matmul, det and eigh run the
one-matrix BLAS/LAPACK routine on each matrix, and the elementwise steps are the same
loops, so every result is the one-by-one result bit for bit (tests check it), in far fewer
NumPy calls. On 4×4 matrices NumPy's per-call overhead, not arithmetic, is the cost.
"""

from __future__ import annotations

import cmath
import contextlib
import math
from dataclasses import dataclass

import numpy as np

from qadl.ir.circuit import Op
from qadl.passes.kak import (
    _CX,
    _CX_REVERSED,
    _EYE4,
    _I2,
    _MAGIC,
    _MAGIC_DAG,
    _MIX,
    _PATTERNS,
    _YY,
    SYNTH_TOL,
    TwoQubitSynthesis,
    _coordinates,
    _count,
    _det_complex,
    _det_real,
    _eigh_lower_vectors,
    _embedded,
    _greedy_order,
    _minus_identity,
    _pairing,
    _rx,
    _ry,
    _rz,
    _two_cx_pair,
    two_qubit_synthesis,
)
from qadl.passes.rules import phase_distance

__all__ = [
    "Templates",
    "block_unitaries",
    "min_cx_counts",
    "phase_distance_estimates",
    "products",
    "syntheses_of",
    "synthesis_counts",
    "templates",
    "two_qubit_syntheses",
    "within_phase",
]


def block_unitaries(blocks: list[tuple[list[Op], tuple[int, int]]]) -> np.ndarray:
    """``block_unitary`` of each ``(ops, pair)`` as one (n, 4, 4) stack, bit for bit."""
    mats = [[_embedded(op, op.qubits[0] == pair[0]) for op in ops] for ops, pair in blocks]
    return products(mats, 4)


def products(mats: list[list[np.ndarray]], size: int) -> np.ndarray:
    """``m[-1] @ … @ m[0] @ I`` for each list ``m`` of ``size``×``size`` matrices, stacked.

    The lists are taken longest first, so the ones that still have a matrix at position
    ``j`` are a prefix: one stacked matmul per position instead of one per matrix (each
    matrix's product is the same BLAS call as alone, so the result is bit for bit the
    one-by-one product).
    """
    order = sorted(range(len(mats)), key=lambda i: -len(mats[i]))
    ordered = [mats[i] for i in order]
    u = np.empty((len(mats), size, size), dtype=complex)
    u[:] = np.eye(size, dtype=complex)
    for j in range(len(ordered[0]) if ordered else 0):
        m = sum(len(row) > j for row in ordered)
        u[:m] = np.array([row[j] for row in ordered[:m]]) @ u[:m]
    out = np.empty_like(u)
    out[order] = u
    return out


def min_cx_counts(us: np.ndarray, atol: float = 1e-12) -> list[int]:
    """``min_cx_count`` of each matrix of a complex (n, 4, 4) stack, bit for bit."""
    v = us / (_det_complex(us) ** 0.25)[:, None, None]
    gamma = v @ _YY @ v.transpose(0, 2, 1) @ _YY
    plus = abs(gamma - _EYE4).max(axis=(1, 2))
    minus = abs(gamma + _EYE4).max(axis=(1, 2))
    traces = gamma.trace(axis1=1, axis2=2)
    # _count's tests on whole arrays: the same numbers and comparisons, except |tr γ|,
    # whose stacked abs may differ from the scalar one in the last bit; every row near
    # that test's bound takes _count's own test (its γ² = -I test computed in one call).
    tol = atol * 10
    counts = np.where(abs(traces.imag) <= tol, 2, 3)
    near = np.flatnonzero(abs(traces) <= 2 * tol)
    if len(near):
        g = gamma[near]
        squares = _minus_identity(g @ g, atol)
        for i, square in zip(near.tolist(), squares, strict=True):
            counts[i] = _count(gamma[i], traces[i], math.inf, atol, square)
    counts[np.where(minus < plus, minus, plus) <= tol] = 0  # min(plus, minus), as _count
    return counts.tolist()


def phase_distance_estimates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``phase_distance(a[i], b[i])`` for stacks ``a`` and ``b`` (``b`` may broadcast), to rounding.

    Not bit for bit: the phase is ``tr/|tr|`` rather than ``exp(i·phase(tr))``. Where the
    distance is below 1, ``|tr(b†a)|`` is near its maximum and both phases are within a
    few ulps of the best one, so the two results differ by about 1e-15.
    """
    b = np.broadcast_to(b, a.shape)
    tr = (b.conj() * a).sum(axis=(1, 2))
    mag = abs(tr)
    phase = np.divide(tr, mag, out=np.ones_like(tr), where=mag > 0)
    diff = a - phase[:, None, None] * b
    return np.sqrt((diff.real**2 + diff.imag**2).sum(axis=(1, 2)))


def within_phase(a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    """``phase_distance(a[i], b[i]) <= tol`` for stacks, the same decisions in a few calls.

    For unitary-sized matrices (entries at most 1) and ``tol`` ≤ 0.1, the estimate
    (``phase_distance_estimates``) is within about 2e-14 of
    ``phase_distance`` near ``tol``, and decides wherever it is clear of ``tol`` by
    ``tol/2 + 1e-13``; ``phase_distance`` itself decides the rest (every row for a
    larger ``tol``).
    """
    b = np.broadcast_to(b, a.shape)
    dist = phase_distance_estimates(a, b)
    out = dist <= tol
    near = abs(dist - tol) <= tol / 2 + 1e-13 if tol <= 0.1 else np.ones(len(a), dtype=bool)
    for i in np.flatnonzero(near):
        out[i] = phase_distance(a[i], b[i]) <= tol
    return out


def _kron_stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``_kron(a[i], b[i])`` for every ``i`` (the same elementwise products)."""
    return (a[:, :, None, :, None] * b[:, None, :, None, :]).reshape(-1, 4, 4)


def _special_stack(u: np.ndarray) -> np.ndarray:
    return u / (_det_complex(u) ** 0.25)[:, None, None]


def _magic_square_stack(u: np.ndarray) -> np.ndarray:
    um = _MAGIC_DAG @ u @ _MAGIC
    return um.transpose(0, 2, 1) @ um


def _real_eigh_stack(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_real_eigh`` of each matrix with the first coefficient, and where that sufficed."""
    p = _eigh_lower_vectors(m.real + _MIX[0] * m.imag)
    diag = p.transpose(0, 2, 1) @ m @ p
    d = diag.diagonal(axis1=1, axis2=2).copy()
    off = diag.copy()
    off.reshape(-1, 16)[:, ::5] = 0.0  # diag - np.diag(d): the diagonal cancels exactly
    flip = _det_real(p) < 0
    p[flip, :, 0] = -p[flip, :, 0]
    return d, p, abs(off).max(axis=(1, 2)) <= 1e-10


def _local_factors_stack(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_local_factors`` of each matrix."""
    blocks = k.reshape(-1, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4)
    norms = np.sqrt(np.add.reduce((blocks.conj() * blocks).real, axis=(3, 4)))
    best = norms.reshape(-1, 4).argmax(axis=1)
    chosen = blocks[np.arange(len(k)), best // 2, best % 2]
    dets = _det_complex(chosen)
    low = chosen / np.array([cmath.sqrt(d) for d in dets])[:, None, None]
    return low, np.einsum("nab,nijab->nij", low.conj(), blocks) / 2.0


def _stack_layer(layers: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One layer of many circuits as ``(low[n], high[n])`` stacks."""
    return np.array([low for low, _ in layers]), np.array([high for _, high in layers])


def _layers_matrix_stack(layers: list[tuple[np.ndarray, np.ndarray]], cx) -> np.ndarray:
    """``TwoQubitSynthesis.matrix`` of each circuit: stacked layers, one CX pattern."""
    low, high = layers[0]
    u = _kron_stack(high, low)
    for (control, _), (low, high) in zip(cx, layers[1:], strict=True):
        u = _kron_stack(high, low) @ (_CX if control == 0 else _CX_REVERSED) @ u
    return u


_TEMPLATE_CX = {1: ((0, 1),), 2: ((0, 1), (0, 1)), 3: ((1, 0), (0, 1), (1, 0))}
"""The CX of ``_template(k, ·)``."""


def _coordinates_stack(d: np.ndarray) -> list[tuple[float, float, float]]:
    """``_coordinates`` of each row of ``d``, bit for bit.

    NumPy's stacked angle and ``(3, 4) @ (4, 1)`` products are the one-row calls on
    each row. The sum of a row only picks the branch: it is a multiple of π to rounding,
    so a row whose stacked sum is not within π/4 of one takes the one-row path.
    """
    theta = np.angle(d) / 2.0
    turns = theta.sum(axis=1) / math.pi
    rounded = np.round(turns)
    theta[rounded % 2 == 1, 0] += math.pi
    coords = (np.matmul(_PATTERNS, theta[:, :, None])[:, :, 0] / 4.0).tolist()
    for i in np.flatnonzero(~(abs(turns - rounded) <= 0.25)):
        coords[i] = _coordinates(d[i])
    return [tuple(c) for c in coords]


def _template_layers(k: int, coords: list[tuple[float, float, float]]) -> list:
    """``_template(k, c).layers`` for each ``c`` in ``coords``, as ``(low[n], high[n])`` stacks."""
    n = len(coords)
    eye = np.repeat(_I2[None], n, axis=0)
    if k == 1:
        return [(eye, eye.copy()), (eye.copy(), eye.copy())]
    if k == 2:
        keep = [_two_cx_pair(c) for c in coords]
        middle = (
            np.array([_rx(-2.0 * a) for a, _ in keep]),
            np.array([_rz(-2.0 * b) for _, b in keep]),
        )
        return [(eye, eye.copy()), middle, (eye.copy(), eye.copy())]
    half = math.pi / 2
    return [
        (eye, np.repeat(_rz(half)[None], n, axis=0)),
        _stack_layer([(_rz(2.0 * a - half), _ry(2.0 * b - half)) for a, b, _ in coords]),
        (eye.copy(), np.array([_ry(2.0 * c - half) for _, _, c in coords])),
        (np.repeat(_rz(-half)[None], n, axis=0), eye.copy()),
    ]


def _pairings(d_target: np.ndarray, d: np.ndarray, rows: list[int]) -> dict[int, list[int] | None]:
    """``_pairing(d_target[i], d[i])`` for each of ``rows``.

    The spectra are compared in one stacked call; a row whose largest difference lies
    near ``_pairing``'s bound (where a stacked abs might round otherwise) takes its test.
    """
    if not rows:
        return {}
    orders = np.array([_greedy_order(d_target[i], d[i]) for i in rows])
    gap = np.abs(d[np.array(rows)[:, None], orders] - d_target[rows]).max(axis=1)
    out = {}
    for i, order, diff in zip(rows, orders.tolist(), gap.tolist(), strict=True):
        if 0.5e-7 <= diff <= 2e-7:
            out[i] = _pairing(d_target[i], d[i])
        else:
            out[i] = order if diff <= 1e-7 else None
    return out


def _matched_stack(d: np.ndarray, t: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_matched_eigenbasis`` of each row before its sign fix; ``t`` becomes ``t'`` in place.

    Returns the reordered eigenbases and where the common path held.
    """
    squares = _magic_square_stack(t)
    # A template whose square's trace is not that of the target's (within far more than
    # its rounding) cannot pair: its spectrum is the target's times -1, so it is paired as
    # i·t (whose square is minus t's) at once, as it would be after the failed pairing.
    flipped = np.flatnonzero(abs(squares.trace(axis1=1, axis2=2) - d.sum(axis=1)) > 1e-3)
    t[flipped] = 1j * t[flipped]
    squares[flipped] = _magic_square_stack(t[flipped])
    dt, q, ok_t = _real_eigh_stack(squares)
    ok = ok & ok_t
    orders = _pairings(d, dt, np.flatnonzero(ok).tolist())
    done = set(flipped.tolist())
    again = [i for i, order in orders.items() if order is None and i not in done]
    if again:  # the template's spectrum is the target's times -1: pair i·t instead
        t[again] = 1j * t[again]
        dt[again], q[again], ok[again] = _real_eigh_stack(_magic_square_stack(t[again]))
        orders.update(_pairings(d, dt, [i for i in again if ok[i]]))
        orders.update((i, None) for i in again if not ok[i])
    ok[:] = False
    paired = [i for i, order in orders.items() if order is not None]
    if paired:
        ok[paired] = True
        index = np.array([orders[i] for i in paired])
        q[paired] = q[
            np.array(paired)[:, None, None], np.arange(4)[None, :, None], index[:, None, :]
        ]
    return q, ok


def _with_k_cx_stack(t: Templates, rows: list[int]) -> list[TwoQubitSynthesis | None]:
    """``_with_k_cx(su, count)`` of ``t``'s ``rows`` (counts ≥ 1) where it passes the error check.

    None where a step leaves the common path (a tie in the eigenbasis, a spectrum that
    pairs with neither the template's nor its negative, an error above ``SYNTH_TOL``):
    those take the one-by-one path. Only the templates differ between CX counts.
    """
    su = t.su[rows]
    n = len(su)
    d, p, ok_u = _real_eigh_stack(_magic_square_stack(su))
    ok = np.array([t.ok[i] for i in rows]) & ok_u
    groups: dict[int, list[int]] = {}
    for r, i in enumerate(rows):
        groups.setdefault(t.counts[i], []).append(r)
    stacked = {k: t.layers_of(k, [rows[r] for r in index]) for k, index in groups.items()}
    tm = np.empty_like(su)
    for k, index in groups.items():
        tm[index] = _layers_matrix_stack(stacked[k], _TEMPLATE_CX[k])
    tm = _special_stack(tm)
    q, ok = _matched_stack(d, tm, ok)
    flip = _det_real(q) < 0
    q[flip, :, 0] = -q[flip, :, 0]
    inv_half = np.exp(-0.5j * np.angle(d))[:, None, :]
    o1 = (_MAGIC_DAG @ su @ _MAGIC) @ p * inv_half
    q1 = (_MAGIC_DAG @ tm @ _MAGIC) @ q * inv_half
    left = _MAGIC @ (o1 @ q1.transpose(0, 2, 1)).real @ _MAGIC_DAG
    right = _MAGIC @ (q @ p.transpose(0, 2, 1)) @ _MAGIC_DAG
    lows, highs = _local_factors_stack(np.concatenate([left, right]))  # both in one call
    l_low, l_high, r_low, r_high = lows[:n], highs[:n], lows[n:], highs[n:]
    found = np.empty_like(su)
    for k, index in groups.items():
        layers = stacked[k]
        layers[0] = (layers[0][0] @ r_low[index], layers[0][1] @ r_high[index])
        layers[-1] = (l_low[index] @ layers[-1][0], l_high[index] @ layers[-1][1])
        found[index] = _layers_matrix_stack(layers, _TEMPLATE_CX[k])
    close = within_phase(found, su, SYNTH_TOL)  # _error(found[i], su[i]) ≤ SYNTH_TOL
    out: list[TwoQubitSynthesis | None] = [None] * n
    for k, index in groups.items():
        layers = stacked[k]
        for row, i in enumerate(index):
            if ok[i] and close[i]:
                circuit = tuple((low[row], high[row]) for low, high in layers)
                out[i] = TwoQubitSynthesis(circuit, _TEMPLATE_CX[k])
    return out


@dataclass(frozen=True)
class Templates:
    """The first steps of ``two_qubit_syntheses`` for a stack of unitaries ``us``: each
    scaled into SU(4), the CX count its synthesis tries first, and its template's layers."""

    us: np.ndarray
    su: np.ndarray
    counts: list[int]
    ok: list[bool]
    """Per row: its KAK coordinates came from the first eigenbasis (no tie), as one by one."""
    layers: dict[int, list[tuple[np.ndarray, np.ndarray]]]
    """By CX count ≥ 1: ``_template_layers`` of the rows with that count, in row order."""
    position: list[int]
    """Each row's place in its count's layer stacks."""

    def layers_of(self, k: int, rows: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The ``k``-CX template layers of ``rows`` (all of count ``k``), as new stacks."""
        at = [self.position[i] for i in rows]
        return [(low[at], high[at]) for low, high in self.layers[k]]


def templates(us: np.ndarray) -> Templates:
    """``Templates`` of a complex (n, 4, 4) stack: the coordinates in one stacked call."""
    su, counts = synthesis_counts(us)
    n = len(su)
    ok = [True] * n
    position = [0] * n
    layers = {}
    entangled = [i for i, k in enumerate(counts) if k > 0]
    if entangled:  # the coordinates as kak_coordinates computes them (su scaled again)
        d0, _, good = _real_eigh_stack(_magic_square_stack(_special_stack(su[entangled])))
        coords = dict(zip(entangled, _coordinates_stack(d0), strict=True))
        for i, g in zip(entangled, good.tolist(), strict=True):
            ok[i] = g
        for k in (1, 2, 3):
            index = [i for i in entangled if counts[i] == k]
            for at, i in enumerate(index):
                position[i] = at
            if index:
                layers[k] = _template_layers(k, [coords[i] for i in index])
    return Templates(us, su, counts, ok, layers, position)


def synthesis_counts(us: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """A (n, 4, 4) stack scaled into SU(4), and the CX count ``two_qubit_synthesis`` tries
    first for each matrix (``min_cx_count`` of the scaled matrix), bit for bit."""
    su = _special_stack(us)
    return su, min_cx_counts(su)


def two_qubit_syntheses(us: list[np.ndarray]) -> list[TwoQubitSynthesis | None]:
    """``two_qubit_synthesis`` of each 4×4 unitary (None where it raises), bit for bit.

    The common path runs on stacked arrays: on 4×4 matrices NumPy's per-call overhead,
    not arithmetic, is the cost. A unitary that leaves it (0 CX, a tie, a failed first
    try), or is the only one with CX, is synthesised alone.
    """
    if len(us) < 2:  # one unitary always takes the one-by-one path
        return syntheses_of(None, list(range(len(us))), us)
    return syntheses_of(templates(np.array(us, dtype=complex)), list(range(len(us))))


def syntheses_of(
    t: Templates | None, rows: list[int], us: list[np.ndarray] | None = None
) -> list[TwoQubitSynthesis | None]:
    """``two_qubit_syntheses`` of ``t``'s ``rows`` (of ``us`` one by one where ``t`` is None)."""
    out: list[TwoQubitSynthesis | None] = [None] * len(rows)
    index = [] if t is None else [r for r, i in enumerate(rows) if t.counts[i] > 0]
    if len(index) > 1:  # for one unitary, the stacked path costs more than it saves
        found = _with_k_cx_stack(t, [rows[r] for r in index])
        for r, synth in zip(index, found, strict=True):
            out[r] = synth
    for r, synth in enumerate(out):
        if synth is None:
            with contextlib.suppress(ArithmeticError):  # None, as documented
                out[r] = two_qubit_synthesis(us[rows[r]] if t is None else t.us[rows[r]])
    return out
