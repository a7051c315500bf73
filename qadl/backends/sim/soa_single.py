"""One large state in split real/imaginary arrays: cache-blocked forward pass and adjoint sweep.

A state of 2**n amplitudes is swept in chunks of 2**m, each chunk running a whole *run*
of blocks (``soa_plan.single_state_runs``) while it stays in a core's L2 cache, the
chunks split over the threads. A low run's chunks are contiguous (blocks on qubits < m,
and diagonals); a high run's chunk is 2**h strided segments of 2**(m-h) amplitudes,
worked on in place, in which a block on one of up to h qubits ≥ m pairs segment with
segment. One memory pass per run instead of one per block: a W1 layer (a rotation on
every qubit, a CZ chain) is two passes for the forward pass and two for the adjoint
sweep at any n.

The adjoint sweep un-applies each run to ψ and λ chunk by chunk and accumulates every
block's overlap ``R = Σ conj(λ) ⊗ ψ`` per chunk (``soa_kernels._back_m1``, or
``_overlap_pairs`` and ``_add_r`` on segment pairs); the sums over chunks give the
block's angle derivatives (``soa_kernels._grads_1q``), as in the batch kernels.
Arithmetic per amplitude is that of ``soa_kernels``.
"""

# Numba idioms (see kernels.py): chained == comparisons, full unpacking of the program.
# ruff: noqa: SIM109, RUF059

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from qadl.backends.sim import kernels as K  # noqa: E402
from qadl.backends.sim import soa_kernels as S  # noqa: E402
from qadl.backends.sim.kernels import inner, leaf  # noqa: E402
from qadl.backends.sim.program import K_D1, K_M1  # noqa: E402

__all__ = ["backward_blocked", "forward_blocked", "readout_split", "seed_split"]


# ============================================================================ high-run layout
@inner()
def _high_layout(nq, m, mask):
    """Qubits of a high run (ascending) and the positions a chunk's index leaves free.

    A high chunk holds the amplitudes whose bits outside ``{0 … m-h-1} ∪ mask`` are
    fixed; those free positions take the bits of the chunk's number.
    """
    h = 0
    for q in range(nq):
        h += (mask >> q) & 1
    hq = np.empty(h, dtype=np.int64)
    free = np.empty(nq - m, dtype=np.int64)
    j = 0
    f = 0
    for q in range(m - h, nq):
        if (mask >> q) & 1:
            hq[j] = q
            j += 1
        else:
            free[f] = q
            f += 1
    return hq, free


@leaf()
def _deposit(value, positions):
    """The bits of ``value`` placed at ``positions`` (bit j at ``positions[j]``)."""
    out = 0
    for j in range(positions.shape[0]):
        out |= ((value >> j) & 1) << positions[j]
    return out


@leaf()
def _segment_offsets(task, hq, free, offs):
    """Start of each of the 2**h segments of high chunk ``task``, into ``offs``."""
    base = _deposit(task, free)
    for s in range(offs.shape[0]):
        offs[s] = base | _deposit(s, hq)


@leaf()
def _high_bit(q, hq):
    """The bit that selects qubit ``q``'s partner segment in a high chunk's offsets."""
    for j in range(hq.shape[0]):
        if hq[j] == q:
            return 1 << j
    return 0


# ============================================================================ forward
@leaf(fastmath={"contract"})
def _pair_slices(r0, i0, r1, i1, ar, ai, br, bi, cr, ci, dr, di):
    """Apply a 2×2 to matching entries of two non-overlapping slice pairs."""
    for j in range(r0.shape[0]):
        xr = r0[j]
        xi = i0[j]
        yr = r1[j]
        yi = i1[j]
        r0[j] = ar * xr - ai * xi + br * yr - bi * yi
        i0[j] = ar * xi + ai * xr + br * yi + bi * yr
        r1[j] = cr * xr - ci * xi + dr * yr - di * yi
        i1[j] = cr * xi + ci * xr + dr * yi + di * yr


@leaf()
def _apply_chunk(re, im, offset, m, blk, prog, ang, dtr, dti):
    """Apply a chunk-local block to the chunk ``[offset, offset + 2**m)`` given as slices."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    k = kind[blk]
    q0 = qubits[blk, 0]
    if k == K_M1 or k == K_D1:
        m00, m01, m10, m11 = K._block_mat1(fac_ptr[blk], fac_ptr[blk + 1], fac_code, fac_arg,
                                           ang, const1)
        if k == K_M1:
            S._m1(re, im, q0, m00, m01, m10, m11)
        elif q0 < m:
            S._d1(re, im, q0, m00, m11)
        else:
            S._scale(re, im, m11 if (offset >> q0) & 1 else m00)
    elif aux[blk, 1]:  # tabled diagonal group
        n = re.shape[0]
        row = aux[blk, 0]
        S._table(re, im, dtr[row, offset : offset + n], dti[row, offset : offset + n], 1.0)
    else:  # cz distance masks
        S._cz_signs(re, im, offset, fac_ptr[blk], fac_ptr[blk + 1], fac_q)


@njit(cache=True, parallel=True)
def forward_blocked(nq, prog, ang, re, im, m, runs, dtr, dti):
    """Apply the program to one state (``re``, ``im``, 2**nq each) in place.

    ``runs`` from ``soa_plan.single_state_runs(program, m, h_max)``; ``m < nq``.
    """
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    size = 1 << m
    for r in range(runs.shape[0]):
        b0 = runs[r, 1]
        b1 = runs[r, 2]
        if runs[r, 0] == 0:
            for c in prange(1 << (nq - m)):
                lo = c * size
                for blk in range(b0, b1):
                    _apply_chunk(re[lo : lo + size], im[lo : lo + size], lo, m, blk, prog,
                                 ang, dtr, dti)
        else:
            hq, free = _high_layout(nq, m, runs[r, 3])
            for t in prange(1 << (nq - m)):
                offs = np.empty(1 << hq.shape[0], dtype=np.int64)
                _segment_offsets(t, hq, free, offs)
                seg = size >> hq.shape[0]
                for blk in range(b0, b1):
                    m00, m01, m10, m11 = K._block_mat1(fac_ptr[blk], fac_ptr[blk + 1], fac_code,
                                                       fac_arg, ang, const1)
                    bit = _high_bit(qubits[blk, 0], hq)
                    for s in range(offs.shape[0]):
                        if s & bit:
                            continue
                        o0 = offs[s]
                        o1 = offs[s | bit]
                        _pair_slices(re[o0 : o0 + seg], im[o0 : o0 + seg], re[o1 : o1 + seg],
                                     im[o1 : o1 + seg], m00.real, m00.imag, m01.real,
                                     m01.imag, m10.real, m10.imag, m11.real, m11.imag)


# ============================================================================ adjoint sweep
@leaf()
def _back_low(pr, pi, lr, li, lo, m, b0, b1, prog, mats, dtr, dti, racc):
    """Un-apply blocks ``b1-1 … b0`` to one contiguous chunk of ψ and λ starting at ``lo``."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    n = pr.shape[0]
    for blk in range(b1 - 1, b0 - 1, -1):
        k = kind[blk]
        q = qubits[blk, 0]
        acc = racc[blk - b0]
        if k == K_M1:
            S._back_m1(pr, pi, lr, li, q, mats[blk, 0], mats[blk, 1], mats[blk, 2],
                       mats[blk, 3], acc)
        elif k == K_D1:
            if q < m:
                S._back_d1(pr, pi, lr, li, q, mats[blk, 0], mats[blk, 3], acc)
            elif (lo >> q) & 1:
                acc[3] += S._back_scale(pr, pi, lr, li, mats[blk, 3])
            else:
                acc[0] += S._back_scale(pr, pi, lr, li, mats[blk, 0])
        elif aux[blk, 1]:  # tabled diagonal group
            row = aux[blk, 0]
            S._table(pr, pi, dtr[row, lo : lo + n], dti[row, lo : lo + n], -1.0)
            S._table(lr, li, dtr[row, lo : lo + n], dti[row, lo : lo + n], -1.0)
        else:  # cz distance masks: their own inverse
            S._cz_signs(pr, pi, lo, fac_ptr[blk], fac_ptr[blk + 1], fac_q)
            S._cz_signs(lr, li, lo, fac_ptr[blk], fac_ptr[blk + 1], fac_q)


@inner()
def _back_high(re, im, lre, lim, task, hq, free, m, b0, b1, prog, mats, racc):
    """Un-apply blocks ``b1-1 … b0`` of a high run to one chunk of ψ and λ, in place."""
    qubits = prog[1]
    seg = (1 << m) >> hq.shape[0]
    offs = np.empty(1 << hq.shape[0], dtype=np.int64)
    _segment_offsets(task, hq, free, offs)
    t = np.empty(8)
    for blk in range(b1 - 1, b0 - 1, -1):
        bit = _high_bit(qubits[blk, 0], hq)
        t[:] = 0.0
        for s in range(offs.shape[0]):  # overlaps first: R = T·(M†)ᵀ (soa_kernels._add_r)
            if not s & bit:
                o0 = offs[s]
                o1 = offs[s | bit]
                pair = S._overlap_pairs(
                    re[o0 : o0 + seg], im[o0 : o0 + seg], re[o1 : o1 + seg], im[o1 : o1 + seg],
                    lre[o0 : o0 + seg], lim[o0 : o0 + seg], lre[o1 : o1 + seg],
                    lim[o1 : o1 + seg])
                for k in range(8):  # no temporary array per segment pair
                    t[k] += pair[k]
        a00, a01 = mats[blk, 0].conjugate(), mats[blk, 2].conjugate()
        a10, a11 = mats[blk, 1].conjugate(), mats[blk, 3].conjugate()
        for s in range(offs.shape[0]):
            if not s & bit:
                o0 = offs[s]
                o1 = offs[s | bit]
                _pair_slices(re[o0 : o0 + seg], im[o0 : o0 + seg], re[o1 : o1 + seg],
                             im[o1 : o1 + seg], a00.real, a00.imag, a01.real, a01.imag,
                             a10.real, a10.imag, a11.real, a11.imag)
                _pair_slices(lre[o0 : o0 + seg], lim[o0 : o0 + seg], lre[o1 : o1 + seg],
                             lim[o1 : o1 + seg], a00.real, a00.imag, a01.real, a01.imag,
                             a10.real, a10.imag, a11.real, a11.imag)
        S._add_r(t, a00, a01, a10, a11, racc[blk - b0])


@inner()
def _run_grads(b0, b1, prog, ang, racc, g):
    """Angle derivatives of a run's single-qubit blocks from their per-chunk overlaps."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    r = np.zeros(4, dtype=np.complex128)
    for blk in range(b0, b1):
        k = kind[blk]
        if k != K_M1 and k != K_D1:
            continue
        r[:] = 0j
        for c in range(racc.shape[0]):
            for j in range(4):
                r[j] += racc[c, blk - b0, j]
        f0 = fac_ptr[blk]
        f1 = fac_ptr[blk + 1]
        fm = np.empty((f1 - f0, 4), dtype=np.complex128)
        m00, m01, m10, m11 = S._factor_mats(f0, f1, fac_code, fac_arg, ang, const1, fm)
        S._grads_1q(f0, f1, fac_code, fac_arg, ang, fm, m00, m01, m10, m11, r, g)


@njit(cache=True, parallel=True)
def backward_blocked(nq, prog, ang, re, im, lre, lim, m, runs, dtr, dti, g):
    """Adjoint sweep of one state from its final ψ (``re``, ``im``) and λ (``lre``, ``lim``).

    Overwrites both with their values before the circuit; adds dL/d(tape) into ``g``.
    """
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    mats = np.zeros((kind.shape[0], 4), dtype=np.complex128)
    for blk in range(kind.shape[0]):
        if kind[blk] == K_M1 or kind[blk] == K_D1:
            m00, m01, m10, m11 = K._block_mat1(fac_ptr[blk], fac_ptr[blk + 1], fac_code,
                                               fac_arg, ang, const1)
            mats[blk, 0] = m00
            mats[blk, 1] = m01
            mats[blk, 2] = m10
            mats[blk, 3] = m11
    size = 1 << m
    ntasks = 1 << (nq - m)
    for r in range(runs.shape[0] - 1, -1, -1):
        b0 = runs[r, 1]
        b1 = runs[r, 2]
        racc = np.zeros((ntasks, b1 - b0, 4), dtype=np.complex128)
        if runs[r, 0] == 0:
            for c in prange(ntasks):
                lo = c * size
                _back_low(re[lo : lo + size], im[lo : lo + size], lre[lo : lo + size],
                          lim[lo : lo + size], lo, m, b0, b1, prog, mats, dtr, dti, racc[c])
        else:
            hq, free = _high_layout(nq, m, runs[r, 3])
            for t in prange(ntasks):
                _back_high(re, im, lre, lim, t, hq, free, m, b0, b1, prog, mats, racc[t])
        _run_grads(b0, b1, prog, ang, racc, g)


# ============================================================================ readout
@njit(cache=True)
def readout_split(re, im, ro, out):
    """Readout values of one split state into ``out`` (K,) (``soa_kernels._readout_split``)."""
    S._readout_split(re, im, ro, out)


@njit(cache=True)
def seed_split(re, im, ro, cot, lre, lim):
    """λ = Σ_k cot_k M_k ψ of one split state into (``lre``, ``lim``)
    (``soa_kernels._seed_split``)."""
    S._seed_split(re, im, ro, cot, lre, lim)
