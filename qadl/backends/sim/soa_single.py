"""One large state in split real/imaginary arrays: cache-blocked forward pass and adjoint sweep.

A state of 2**n amplitudes is swept in chunks of 2**m, each chunk running a whole *run*
of blocks (``soa_plan.single_state_runs``) while it stays in a core's L2 cache. A low
run's chunks are contiguous (blocks on qubits < m, and diagonals); a high run's chunk is
2**h strided segments of 2**(m-h) amplitudes, worked on in place, in which a block on
one of up to h qubits ≥ m pairs segment with segment (``lanes.slices_m1``). One memory
pass per run instead of one per block: a W1 layer (a rotation on every qubit, a CZ
chain) is two passes for the forward pass and two for the adjoint sweep at any n.

The chunks of each run are shared by a thread team (``team``) that runs the whole pass:
each member claims the next chunk when it is free (so a member slowed by other work on
its core does fewer), and the team meets at a spinning barrier between runs. One thread
start per pass however many runs, no dependence on OpenMP's wait policy, and the same
bits whichever member ran a chunk.

The adjoint sweep un-applies each run to ψ and λ chunk by chunk and records every
block's overlap ``R = Σ conj(λ) ⊗ ψ`` per chunk (``soa_kernels._back_m1``, or
``lanes.back_slices_m1`` and ``soa_kernels._add_r`` on segment pairs); after the sweep,
the sums over chunks give the blocks' angle derivatives (``soa_kernels._grads_1q``), as
in the batch kernels. Arithmetic per amplitude is that of ``soa_kernels``.
"""

# Numba idioms (see kernels.py): chained == comparisons, full unpacking of the program.
# ruff: noqa: RUF059

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from qadl.backends.sim import kernels as K  # noqa: E402
from qadl.backends.sim import lanes, team  # noqa: E402
from qadl.backends.sim import soa_kernels as S  # noqa: E402
from qadl.backends.sim.jit import inner, leaf  # noqa: E402
from qadl.backends.sim.program import K_D1, K_M1  # noqa: E402
from qadl.backends.sim.team import barrier, claim  # noqa: E402

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


# ============================================================================ block matrices
@leaf()
def _block_mats(prog, ang, mats):
    """The single-qubit blocks' 2×2 matrices, into ``mats`` (blocks, 4)."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    for blk in range(kind.shape[0]):
        if kind[blk] == K_M1 or kind[blk] == K_D1:
            m00, m01, m10, m11 = K._block_mat1(fac_ptr[blk], fac_ptr[blk + 1], fac_code,
                                               fac_arg, ang, const1)
            mats[blk, 0] = m00
            mats[blk, 1] = m01
            mats[blk, 2] = m10
            mats[blk, 3] = m11


# ============================================================================ forward
@leaf()
def _apply_chunk(re, im, offset, m, blk, prog, mats, dtr, dti):
    """Apply a chunk-local block to the chunk ``[offset, offset + 2**m)`` given as slices."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    k = kind[blk]
    q0 = qubits[blk, 0]
    if k == K_M1:
        S._m1(re, im, q0, mats[blk, 0], mats[blk, 1], mats[blk, 2], mats[blk, 3])
    elif k == K_D1:
        if q0 < m:
            S._d1(re, im, q0, mats[blk, 0], mats[blk, 3])
        else:
            S._scale(re, im, mats[blk, 3] if (offset >> q0) & 1 else mats[blk, 0])
    elif aux[blk, 1]:  # tabled diagonal group
        n = re.shape[0]
        row = aux[blk, 0]
        S._table(re, im, dtr[row, offset : offset + n], dti[row, offset : offset + n], 1.0)
    else:  # cz distance masks
        S._cz_signs(re, im, offset, fac_ptr[blk], fac_ptr[blk + 1], fac_q)


@leaf()
def _forward_high(re, im, offs, seg, b0, b1, hq, qubits, mats):
    """Apply blocks ``b0 … b1-1`` of a high run to one chunk (segments at ``offs``)."""
    for blk in range(b0, b1):
        m00, m01, m10, m11 = mats[blk, 0], mats[blk, 1], mats[blk, 2], mats[blk, 3]
        bit = _high_bit(qubits[blk, 0], hq)
        for s in range(offs.shape[0]):
            if not s & bit:
                o0 = offs[s]
                o1 = offs[s | bit]
                lanes.slices_m1(re[o0 : o0 + seg], im[o0 : o0 + seg], re[o1 : o1 + seg],
                                im[o1 : o1 + seg], m00.real, m00.imag, m01.real, m01.imag,
                                m10.real, m10.imag, m11.real, m11.imag)


@njit(cache=True, nogil=True)
def forward_member(member, size, sync, nq, prog, ang, re, im, m, runs, dtr, dti, mats):
    """Member ``member`` of a ``size``-thread team (``team.run``) applying the program to
    one state (``re``, ``im``, 2**nq each) in place.

    ``runs`` from ``soa_plan.single_state_runs(program, m, h_max)``, ``m < nq``; ``mats``
    (team size, blocks, 4) complex work space, a row per member (each computes the
    block matrices itself rather than wait for a share computed by the others).
    """
    qubits = prog[1]
    own = mats[member]
    _block_mats(prog, ang, own)
    size_m = 1 << m
    tasks = 1 << (nq - m)
    for r in range(runs.shape[0]):
        if r:  # run r - 1 done by every member
            barrier(sync, size, r)
        b0 = runs[r, 1]
        b1 = runs[r, 2]
        if runs[r, 0] == 0:
            c = claim(sync, 1 + r)
            while c < tasks:
                lo = c * size_m
                for blk in range(b0, b1):
                    _apply_chunk(re[lo : lo + size_m], im[lo : lo + size_m], lo, m, blk, prog,
                                 own, dtr, dti)
                c = claim(sync, 1 + r)
        else:
            hq, free = _high_layout(nq, m, runs[r, 3])
            offs = np.empty(1 << hq.shape[0], dtype=np.int64)
            t = claim(sync, 1 + r)
            while t < tasks:
                _segment_offsets(t, hq, free, offs)
                _forward_high(re, im, offs, size_m >> hq.shape[0], b0, b1, hq, qubits, own)
                t = claim(sync, 1 + r)


# ============================================================================ adjoint sweep
@leaf()
def _back_low(pr, pi, lr, li, lo, m, b0, b1, prog, mats, dtr, dti, racc):
    """Un-apply blocks ``b1-1 … b0`` to one contiguous chunk of ψ and λ starting at ``lo``;
    each single-qubit block's overlap into ``racc[blk]``."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    n = pr.shape[0]
    for blk in range(b1 - 1, b0 - 1, -1):
        k = kind[blk]
        q = qubits[blk, 0]
        acc = racc[blk]
        acc[:] = 0j
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


@leaf()
def _back_high(re, im, lre, lim, offs, seg, b0, b1, hq, qubits, mats, racc):
    """Un-apply blocks ``b1-1 … b0`` of a high run to one chunk of ψ and λ (segments at
    ``offs``), in place; each block's overlap into ``racc[blk]``."""
    for blk in range(b1 - 1, b0 - 1, -1):
        bit = _high_bit(qubits[blk, 0], hq)
        a00, a01 = mats[blk, 0].conjugate(), mats[blk, 2].conjugate()
        a10, a11 = mats[blk, 1].conjugate(), mats[blk, 3].conjugate()
        t = S.ZERO8
        for s in range(offs.shape[0]):  # overlaps before un-applying: R = T·(M†)ᵀ
            if not s & bit:
                o0 = offs[s]
                o1 = offs[s | bit]
                t = S.add8(t, lanes.back_slices_m1(
                    re[o0 : o0 + seg], im[o0 : o0 + seg], re[o1 : o1 + seg], im[o1 : o1 + seg],
                    lre[o0 : o0 + seg], lim[o0 : o0 + seg], lre[o1 : o1 + seg],
                    lim[o1 : o1 + seg], a00.real, a00.imag, a01.real, a01.imag, a10.real,
                    a10.imag, a11.real, a11.imag))
        acc = racc[blk]
        acc[:] = 0j
        S._add_r(t, a00, a01, a10, a11, acc)


@inner()
def _run_grads(b0, b1, prog, ang, racc, g):
    """Angle derivatives of a run's single-qubit blocks from their per-chunk overlaps
    (``racc`` (chunks, blocks, 4))."""
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
                r[j] += racc[c, blk, j]
        f0 = fac_ptr[blk]
        f1 = fac_ptr[blk + 1]
        fm = np.empty((f1 - f0, 4), dtype=np.complex128)
        m00, m01, m10, m11 = S._factor_mats(f0, f1, fac_code, fac_arg, ang, const1, fm)
        S._grads_1q(f0, f1, fac_code, fac_arg, ang, fm, m00, m01, m10, m11, r, g)


@njit(cache=True, nogil=True)
def backward_member(member, size, sync, nq, prog, ang, re, im, lre, lim, m, runs, dtr, dti,
                    mats, racc, g):
    """Member ``member`` of a ``size``-thread team (``team.run``) running the adjoint sweep
    of one state from its final ψ (``re``, ``im``) and λ (``lre``, ``lim``).

    Overwrites both with their values before the circuit; member 0 adds dL/d(tape) into
    ``g``. ``mats`` (team size, blocks, 4) as in ``forward_member``; ``racc``
    (2**(nq-m), blocks, 4) complex work space shared by the team.
    """
    qubits = prog[1]
    own = mats[member]
    _block_mats(prog, ang, own)
    size_m = 1 << m
    tasks = 1 << (nq - m)
    for r in range(runs.shape[0] - 1, -1, -1):
        b0 = runs[r, 1]
        b1 = runs[r, 2]
        if runs[r, 0] == 0:
            c = claim(sync, 1 + r)
            while c < tasks:
                lo = c * size_m
                _back_low(re[lo : lo + size_m], im[lo : lo + size_m], lre[lo : lo + size_m],
                          lim[lo : lo + size_m], lo, m, b0, b1, prog, own, dtr, dti, racc[c])
                c = claim(sync, 1 + r)
        else:
            hq, free = _high_layout(nq, m, runs[r, 3])
            offs = np.empty(1 << hq.shape[0], dtype=np.int64)
            t = claim(sync, 1 + r)
            while t < tasks:
                _segment_offsets(t, hq, free, offs)
                _back_high(re, im, lre, lim, offs, size_m >> hq.shape[0], b0, b1, hq, qubits,
                           own, racc[t])
                t = claim(sync, 1 + r)
        barrier(sync, size, runs.shape[0] - r)  # run r done by every member
    if member == 0:
        for r in range(runs.shape[0] - 1, -1, -1):
            _run_grads(runs[r, 1], runs[r, 2], prog, ang, racc, g)


# ============================================================================ one state
def forward_blocked(nq, prog, ang, re, im, m, runs, dtr, dti) -> None:
    """Apply the program to one state (``re``, ``im``, 2**nq each) in place, its chunks
    split over a thread team.

    ``runs`` from ``soa_plan.single_state_runs(program, m, h_max)``; ``m < nq``.
    """
    size = team.team_size(1 << (nq - m))
    mats = np.empty((size, prog[0].shape[0], 4), dtype=np.complex128)
    team.run(forward_member, size, nq, prog, ang, re, im, m, runs, dtr, dti, mats,
             counters=runs.shape[0])


def backward_blocked(nq, prog, ang, re, im, lre, lim, m, runs, dtr, dti, g) -> None:
    """Adjoint sweep of one state from its final ψ (``re``, ``im``) and λ (``lre``, ``lim``),
    its chunks split over a thread team.

    Overwrites both with their values before the circuit; adds dL/d(tape) into ``g``.
    """
    size = team.team_size(1 << (nq - m))
    blocks = prog[0].shape[0]
    mats = np.empty((size, blocks, 4), dtype=np.complex128)
    racc = np.empty((1 << (nq - m), blocks, 4), dtype=np.complex128)
    team.run(backward_member, size, nq, prog, ang, re, im, lre, lim, m, runs, dtr, dti, mats,
             racc, g, counters=runs.shape[0])


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
