"""Numba kernels of the noisy simulators: dense matrices on chosen bits of batched vectors.

One primitive does all the work: multiply a ``2^m × 2^m`` matrix into the amplitudes of
a vector whose index bits ``pos`` vary (little-endian: matrix bit ``i`` is vector bit
``pos[i]``). On a statevector it applies a gate (trajectories); on a flattened density
matrix (``2n`` virtual qubits, see ``noise_program``) it applies a superoperator, i.e.
the gate as a left and a right action together with its noise channels.

The density-matrix simulator runs in the Pauli basis (``pauli_transfer``): real vectors
and real transfer matrices, applied by ``_apply_real`` eight index groups at a time so the
multiply-adds vectorise across groups. Statevectors (trajectories) stay complex.

A whole circuit runs in one compiled call per range of samples: serial ``nogil`` range
kernels, the batch's ranges on the row threads of ``threads.run_rows`` (no OpenMP, and
no ``parallel=True`` lowering to compile). The adjoint sweep
keeps checkpoints every ``K`` ops (``K ≈ √L``) and recomputes each segment, so memory
is ``O((L/K + K)·4^n)`` per sample instead of ``O(L·4^n)``.
"""

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from qadl.backends.sim.threads import run_rows  # noqa: E402

__all__ = [
    "apply_transfer",
    "change_basis",
    "density_adjoint",
    "trajectory_forward",
    "transfer_backward",
    "transfer_checkpoints",
]

_TILE = 8
"""Index groups per step of the real kernels (the unrolled accumulators below)."""


@njit(cache=True)
def _copy(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[:] = src`` for 1-D arrays of one size, as a plain loop.

    Numba's array-to-array assignment checks shapes and builds its error message (string
    formatting of the shapes) in compiled code, which adds seconds to each kernel's first
    compile; sizes here match by construction.
    """
    for i in range(src.size):
        dst[i] = src[i]


@njit(cache=True)
def _offsets(pos: np.ndarray, start: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit offsets of each matrix index, and the positions sorted ascending."""
    dim = 1 << m
    off = np.zeros(dim, dtype=np.int64)
    for r in range(dim):
        o = 0
        for i in range(m):
            if (r >> i) & 1:
                o |= np.int64(1) << pos[start + i]
        off[r] = o
    srt = pos[start : start + m].copy()
    for i in range(1, m):  # insertion sort of the few positions (np.sort compiles quicksort)
        v, k = srt[i], i
        while k > 0 and srt[k - 1] > v:
            srt[k] = srt[k - 1]
            k -= 1
        srt[k] = v
    return off, srt


@njit(cache=True)
def _base(g: int, srt: np.ndarray) -> int:
    """The ``g``-th index whose bits at ``srt`` (ascending) are zero."""
    b = g
    for s in srt:
        b = ((b >> s) << (s + 1)) | (b & ((np.int64(1) << s) - 1))
    return b


@njit(cache=True)
def _apply(
    vec: np.ndarray, mats: np.ndarray, moff: int, pos: np.ndarray, poff: int, m: int
) -> None:
    """In place: the matrix stored row-major at ``mats[moff:]`` on bits ``pos[poff:poff+m]``."""
    dim = 1 << m
    off, srt = _offsets(pos, poff, m)
    buf = np.empty(dim, dtype=np.complex128)
    for g in range(vec.size >> m):
        base = _base(g, srt)
        for c in range(dim):
            buf[c] = vec[base + off[c]]
        for r in range(dim):
            acc = 0j
            row = moff + r * dim
            for c in range(dim):
                acc += mats[row + c] * buf[c]
            vec[base + off[r]] = acc


@njit(cache=True)
def _gather_tile(vec, off, b0, toff, contiguous, buf) -> None:
    """``buf[c, t] = vec[b0 + toff[t] + off[c]]``: the ``_TILE`` index groups of one tile.

    A tile is groups ``g0 … g0 + 7`` (``g0`` a multiple of 8): their bases are
    ``base(g0) + base(t)``, with ``toff[t] = base(t)`` the same for every tile, and
    ``toff[t] = t`` (``contiguous``) when no matrix bit is below bit 3.
    """
    for c in range(off.size):
        s0 = b0 + off[c]
        if contiguous:
            for t in range(_TILE):
                buf[c, t] = vec[s0 + t]
        else:
            for t in range(_TILE):
                buf[c, t] = vec[s0 + toff[t]]


@njit(cache=True)
def _tiles(vec: np.ndarray, pos: np.ndarray, poff: int, m: int):
    """Offsets of one op's matrix indices and of a tile's groups, and whether tiles are dense.

    With fewer than ``_TILE`` groups in all, the one tile repeats them (``t mod groups``):
    a repeated group reads the same inputs and writes the same outputs.
    """
    off, srt = _offsets(pos, poff, m)
    toff = np.empty(_TILE, dtype=np.int64)
    for t in range(_TILE):
        toff[t] = _base(t % (vec.size >> m), srt)
    return off, srt, toff, srt[0] >= 3


@njit(cache=True)
def _apply_real(
    vec: np.ndarray, mats: np.ndarray, moff: int, pos: np.ndarray, poff: int, m: int
) -> None:
    """``_apply`` for real vectors and matrices, ``_TILE`` index groups per step.

    Eight scalar accumulators (not an array) keep the row sums in registers; a tile's
    reads all precede its writes, and tiles touch disjoint indices, so it works in place.
    """
    dim = 1 << m
    off, srt, toff, contiguous = _tiles(vec, pos, poff, m)
    buf = np.empty((dim, _TILE))
    for g0 in range(0, vec.size >> m, _TILE):
        b0 = _base(g0, srt)
        _gather_tile(vec, off, b0, toff, contiguous, buf)
        for r in range(dim):
            a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
            row = moff + r * dim
            for c in range(dim):
                w = mats[row + c]
                a0 += w * buf[c, 0]
                a1 += w * buf[c, 1]
                a2 += w * buf[c, 2]
                a3 += w * buf[c, 3]
                a4 += w * buf[c, 4]
                a5 += w * buf[c, 5]
                a6 += w * buf[c, 6]
                a7 += w * buf[c, 7]
            s0 = b0 + off[r]
            if contiguous:
                vec[s0] = a0
                vec[s0 + 1] = a1
                vec[s0 + 2] = a2
                vec[s0 + 3] = a3
                vec[s0 + 4] = a4
                vec[s0 + 5] = a5
                vec[s0 + 6] = a6
                vec[s0 + 7] = a7
            else:
                vec[s0 + toff[0]] = a0
                vec[s0 + toff[1]] = a1
                vec[s0 + toff[2]] = a2
                vec[s0 + toff[3]] = a3
                vec[s0 + toff[4]] = a4
                vec[s0 + toff[5]] = a5
                vec[s0 + toff[6]] = a6
                vec[s0 + toff[7]] = a7


@njit(cache=True)
def _reduced_real(
    lam: np.ndarray, vec: np.ndarray, pos: np.ndarray, poff: int, m: int, out: np.ndarray
) -> None:
    """``_reduced`` for real vectors: ``out[r, c] = Σ_g lam[g ⊕ r]·vec[g ⊕ c]``."""
    dim = 1 << m
    off, srt, toff, contiguous = _tiles(vec, pos, poff, m)
    distinct = min(_TILE, vec.size >> m)  # a lone short tile repeats its groups
    lb = np.empty((dim, _TILE))
    vb = np.empty((dim, _TILE))
    out[:, :] = 0.0
    for g0 in range(0, vec.size >> m, _TILE):
        b0 = _base(g0, srt)
        _gather_tile(vec, off, b0, toff, contiguous, vb)
        _gather_tile(lam, off, b0, toff, contiguous, lb)
        for r in range(dim):
            for c in range(dim):
                acc = 0.0
                for t in range(distinct):
                    acc += lb[r, t] * vb[c, t]
                out[r, c] += acc


@njit(cache=True)
def _reduced(
    lam: np.ndarray, vec: np.ndarray, pos: np.ndarray, poff: int, m: int, out: np.ndarray
) -> None:
    """``out[r, c] = Σ_g conj(lam[g ⊕ r])·vec[g ⊕ c]`` over the bits ``pos``.

    ``out`` is a ``2^m × 2^m`` matrix.

    Then ``Re⟨lam, M·vec⟩ = Re Σ_{r,c} M[r, c]·out[r, c]`` for any ``M`` on those bits, so
    one pass serves every angle derivative of an op.
    """
    dim = 1 << m
    off, srt = _offsets(pos, poff, m)
    lb = np.empty(dim, dtype=np.complex128)
    vb = np.empty(dim, dtype=np.complex128)
    out[:, :] = 0.0
    for g in range(vec.size >> m):
        base = _base(g, srt)
        for c in range(dim):
            vb[c] = vec[base + off[c]]
            lb[c] = lam[base + off[c]].conjugate()
        for r in range(dim):
            lr = lb[r]
            for c in range(dim):
                out[r, c] += lr * vb[c]


@njit(cache=True)
def _run(
    vec: np.ndarray,
    mats: np.ndarray,
    moffs: np.ndarray,
    pos: np.ndarray,
    poffs: np.ndarray,
    nbits: np.ndarray,
    lo: int,
    hi: int,
) -> None:
    for j in range(lo, hi):
        _apply(vec, mats, moffs[j], pos, poffs[j], nbits[j])


@njit(cache=True, nogil=True)
def _density_adjoint_rows(
    lo: int,
    hi: int,
    rho0: np.ndarray,
    lam: np.ndarray,
    mats: np.ndarray,
    hmats: np.ndarray,
    dmats: np.ndarray,
    moffs: np.ndarray,
    pos: np.ndarray,
    poffs: np.ndarray,
    nbits: np.ndarray,
    dslot: np.ndarray,
    dmoffs: np.ndarray,
    dstart: np.ndarray,
    grads: np.ndarray,
    final: np.ndarray,
    every: int,
) -> None:
    """Forward with checkpoints, then the adjoint sweep, for each sample in parallel.

    With ``ρ_j = S_j ρ_{j−1}`` and ``L = Re⟨Λ, ρ_L⟩``: ``∂L/∂a = Re⟨Λ_j, (∂S_j/∂a) ρ_{j−1}⟩``
    and ``Λ_{j−1} = S_j† Λ_j`` (the adjoint channel applied to the cotangent operator).

    Args:
        rho0: ``(B, N)`` initial flattened density matrices (read only).
        lam: ``(B, N)`` cotangent operator ``∂L/∂ρ_final``; overwritten with ``∂L/∂ρ_0``.
        mats: ``(B, T)`` superoperators ``S_j``.
        hmats: ``(B, T)`` their conjugate transposes, same offsets.
        dmats: ``(B, TD)`` derivative superoperators, one per angle slot of each op.
        moffs, pos, poffs, nbits: op layout as in ``apply_transfer``.
        dslot: ``(D,)`` angle slot of each derivative matrix.
        dmoffs: ``(D,)`` offset of each derivative matrix in ``dmats``.
        dstart: ``(L + 1,)`` op ``j`` owns derivative matrices ``dstart[j] … dstart[j+1]−1``.
        grads: ``(B, A)`` output ``∂L/∂(angle slot)`` (accumulated into).
        final: ``(B, N)`` output final density matrices.
        every: checkpoint interval ``K``.
    """
    num_ops = moffs.size
    n_vec = rho0.shape[1]
    nck = (num_ops + every - 1) // every
    for b in range(lo, hi):
        ck = np.empty((max(nck, 1), n_vec), dtype=np.complex128)
        cur = rho0[b].copy()
        for c in range(nck):
            _copy(ck[c], cur)
            _run(cur, mats[b], moffs, pos, poffs, nbits, c * every, min(num_ops, (c + 1) * every))
        _copy(final[b], cur)
        seg = np.empty((every, n_vec), dtype=np.complex128)
        lb = lam[b]
        for c in range(nck - 1, -1, -1):
            lo = c * every
            hi = min(num_ops, lo + every)
            _copy(seg[0], ck[c])
            for t in range(1, hi - lo):
                _copy(seg[t], seg[t - 1])
                _apply(
                    seg[t], mats[b], moffs[lo + t - 1], pos, poffs[lo + t - 1], nbits[lo + t - 1]
                )
            for j in range(hi - 1, lo - 1, -1):
                if dstart[j + 1] > dstart[j]:
                    dim = 1 << nbits[j]
                    red = np.empty((dim, dim), dtype=np.complex128)
                    _reduced(lb, seg[j - lo], pos, poffs[j], nbits[j], red)
                    for d in range(dstart[j], dstart[j + 1]):
                        acc = 0.0
                        for r in range(dim):
                            for c in range(dim):
                                z = dmats[b, dmoffs[d] + r * dim + c] * red[r, c]
                                acc += z.real
                        grads[b, dslot[d]] += acc
                _apply(lb, hmats[b], moffs[j], pos, poffs[j], nbits[j])


@njit(cache=True)
def _run_real(vec, mats, moffs, pos, poffs, nbits, lo: int, hi: int) -> None:
    for j in range(lo, hi):
        _apply_real(vec, mats, moffs[j], pos, poffs[j], nbits[j])


@njit(cache=True, nogil=True)
def _apply_transfer_rows(
    lo: int,
    hi: int,
    vecs: np.ndarray,
    mats: np.ndarray,
    moffs: np.ndarray,
    pos: np.ndarray,
    poffs: np.ndarray,
    nbits: np.ndarray,
) -> None:
    """In place, for every row ``b``: apply all ops in order, op ``j``'s matrix from ``mats[b]``.

    Args:
        vecs: ``(B, N)`` real Pauli vectors (``pauli_transfer``).
        mats: ``(B, T)`` flat row-major real transfer matrices; op ``j``'s starts at
            ``moffs[j]``.
        moffs: ``(L,)`` matrix offsets.
        pos: flat bit positions; op ``j``'s are ``pos[poffs[j] : poffs[j] + nbits[j]]``.
        poffs: ``(L,)`` position offsets.
        nbits: ``(L,)`` number of bits ``m`` of each op (matrix size ``2^m``).
    """
    for b in range(lo, hi):
        _run_real(vecs[b], mats[b], moffs, pos, poffs, nbits, 0, moffs.size)


@njit(cache=True, nogil=True)
def _transfer_checkpoints_rows(
    lo: int,
    hi: int,
    rho0: np.ndarray,
    mats: np.ndarray,
    moffs: np.ndarray,
    pos: np.ndarray,
    poffs: np.ndarray,
    nbits: np.ndarray,
    every: int,
    ck: np.ndarray,
    final: np.ndarray,
) -> None:
    """The forward pass of the Pauli-basis adjoint, keeping what ``transfer_backward`` needs.

    ``ck[b, c]`` becomes row ``b``'s vector before op ``c·every`` (``ck`` is
    ``(B, max(1, ⌈L/every⌉), N)``) and ``final[b]`` its vector after the last op. Other
    arguments as in ``apply_transfer``.
    """
    num_ops = moffs.size
    nck = (num_ops + every - 1) // every
    for b in range(lo, hi):
        cur = rho0[b].copy()
        for c in range(nck):
            _copy(ck[b, c], cur)
            _run_real(
                cur, mats[b], moffs, pos, poffs, nbits, c * every, min(num_ops, (c + 1) * every)
            )
        _copy(final[b], cur)


@njit(cache=True, nogil=True)
def _transfer_backward_rows(
    lo: int,
    hi: int,
    ck: np.ndarray,
    lam: np.ndarray,
    mats: np.ndarray,
    tmats: np.ndarray,
    dmats: np.ndarray,
    moffs: np.ndarray,
    pos: np.ndarray,
    poffs: np.ndarray,
    nbits: np.ndarray,
    dslot: np.ndarray,
    dmoffs: np.ndarray,
    dstart: np.ndarray,
    grads: np.ndarray,
    every: int,
) -> None:
    """``density_adjoint``'s backward sweep in the Pauli basis, from ``transfer_checkpoints``.

    Real vectors and transfer matrices: the adjoint channel of a real transfer matrix
    ``R`` is ``Rᵀ`` (``tmats``, in place of ``hmats``), and ``∂L/∂a = ⟨λ_j, (∂R_j/∂a)
    c_{j−1}⟩`` is real. ``lam`` (B, N) starts as ``∂L/∂c_final`` and ends as ``∂L/∂c₀``;
    other arguments as in ``density_adjoint``, all real.
    """
    num_ops = moffs.size
    n_vec = lam.shape[1]
    nck = (num_ops + every - 1) // every
    for b in range(lo, hi):
        seg = np.empty((every, n_vec))
        lb = lam[b]
        for c in range(nck - 1, -1, -1):
            lo = c * every
            hi = min(num_ops, lo + every)
            _copy(seg[0], ck[b, c])
            for t in range(1, hi - lo):
                _copy(seg[t], seg[t - 1])
                j = lo + t - 1
                _apply_real(seg[t], mats[b], moffs[j], pos, poffs[j], nbits[j])
            for j in range(hi - 1, lo - 1, -1):
                dim = 1 << nbits[j]
                if dstart[j + 1] > dstart[j]:
                    red = np.empty((dim, dim))
                    _reduced_real(lb, seg[j - lo], pos, poffs[j], nbits[j], red)
                    for d in range(dstart[j], dstart[j + 1]):
                        acc = 0.0  # Σ in row-major order, as np.sum of the product
                        for r in range(dim):
                            for c in range(dim):
                                acc += dmats[b, dmoffs[d] + r * dim + c] * red[r, c]
                        grads[b, dslot[d]] += acc
                _apply_real(lb, tmats[b], moffs[j], pos, poffs[j], nbits[j])


@njit(cache=True, nogil=True)
def _change_basis_rows(
    lo: int, hi: int, vecs: np.ndarray, mat: np.ndarray, num_qubits: int
) -> None:
    """In place: the 4 × 4 matrix ``mat`` (flat) on bits ``(q, q + n)`` of every row, every ``q``.

    With ``W†`` it takes flattened density matrices to Pauli components (``pauli_transfer``),
    with ``W`` back.
    """
    pos = np.empty(2 * num_qubits, dtype=np.int64)
    for q in range(num_qubits):
        pos[2 * q] = q
        pos[2 * q + 1] = q + num_qubits
    for b in range(lo, hi):
        for q in range(num_qubits):
            _apply(vecs[b], mat, 0, pos, 2 * q, 2)


@njit(cache=True)
def _choose_branch(vec, tmp, kraus, koffs, kprob, k0, k1, pos, poff, m, u):
    """Pick Kraus branch ``r`` with probability ``‖K_r ψ‖²``, apply it, renormalise.

    The branch is chosen by comparing the cumulative probabilities against ``u``.

    Returns the branch index and ``1/√p_r``; ``vec`` becomes ``K_r ψ/√p_r``. For a
    unitary mixture (``kprob[k0] ≥ 0``) the probabilities do not depend on ψ, so only the
    chosen operator is applied.
    """
    if kprob[k0] >= 0.0:
        acc = 0.0
        for r in range(k0, k1):
            acc += kprob[r]
            if (u < acc or r == k1 - 1) and kprob[r] > 0.0:
                _apply(vec, kraus, koffs[r], pos, poff, m)
                scale = 1.0 / np.sqrt(kprob[r])
                for i in range(vec.size):
                    vec[i] = vec[i] * scale
                return r - k0, scale
    acc = 0.0
    for r in range(k0, k1):
        _copy(tmp, vec)
        _apply(tmp, kraus, koffs[r], pos, poff, m)
        p = 0.0
        for i in range(tmp.size):
            p += tmp[i].real * tmp[i].real + tmp[i].imag * tmp[i].imag
        acc += p
        if (u < acc or r == k1 - 1) and p > 0.0:
            scale = 1.0 / np.sqrt(p)
            for i in range(vec.size):
                vec[i] = tmp[i] * scale
            return r - k0, scale
    return -1, 0.0


@njit(cache=True, nogil=True)
def _trajectory_forward_rows(
    lo: int,
    hi: int,
    psi: np.ndarray,
    umats: np.ndarray,
    row_sample: np.ndarray,
    moffs: np.ndarray,
    pos: np.ndarray,
    poffs: np.ndarray,
    nbits: np.ndarray,
    cstart: np.ndarray,
    kstart: np.ndarray,
    kraus: np.ndarray,
    koffs: np.ndarray,
    cpos: np.ndarray,
    cpoffs: np.ndarray,
    cbits: np.ndarray,
    kprob: np.ndarray,
    rand: np.ndarray,
    chosen: np.ndarray,
    scales: np.ndarray,
) -> None:
    """Monte-Carlo wave-function trajectories, one per row of ``psi``, in parallel.

    After gate ``j`` (matrix from ``umats[row_sample[row]]``) each channel application
    ``c`` in ``cstart[j] … cstart[j+1]−1`` picks a Kraus branch with the Born probability
    ``‖K_r ψ‖²`` using the uniform number ``rand[row, c]``.

    Args:
        psi: ``(R, 2^n)`` initial states, evolved in place.
        umats: ``(S, T)`` flat gate matrices of each batch sample.
        row_sample: ``(R,)`` batch sample of each trajectory.
        moffs, pos, poffs, nbits: gate layout as in ``apply_transfer``.
        cstart: ``(L+1,)`` channel applications of each gate.
        kstart: ``(C+1,)`` Kraus operators of each channel application (into ``koffs``).
        kraus: flat Kraus matrices; ``koffs[r]`` is operator ``r``'s offset.
        cpos, cpoffs, cbits: qubits of each channel application.
        kprob: branch probability of each Kraus operator of a unitary mixture, −1 otherwise.
        rand: ``(R, C)`` uniforms in [0, 1).
        chosen: ``(R, C)`` output branch index (relative to ``kstart[c]``).
        scales: ``(R, C)`` output ``1/√p`` of the chosen branch.
    """
    for row in range(lo, hi):
        vec = psi[row]
        tmp = np.empty_like(vec)
        mats = umats[row_sample[row]]
        for j in range(moffs.size):
            _apply(vec, mats, moffs[j], pos, poffs[j], nbits[j])
            for c in range(cstart[j], cstart[j + 1]):
                r, sc = _choose_branch(
                    vec,
                    tmp,
                    kraus,
                    koffs,
                    kprob,
                    kstart[c],
                    kstart[c + 1],
                    cpos,
                    cpoffs[c],
                    cbits[c],
                    rand[row, c],
                )
                chosen[row, c] = r
                scales[row, c] = sc


# -- the batch's ranges on the row threads ----------------------------------------------------
def density_adjoint(rho0: np.ndarray, lam: np.ndarray, *args) -> None:
    """``_density_adjoint_rows`` over every row (arguments after ``lo, hi`` as there)."""
    run_rows(_density_adjoint_rows, rho0.shape[0], rho0, lam, *args)


def apply_transfer(vecs: np.ndarray, *args) -> None:
    """``_apply_transfer_rows`` over every row of ``vecs``."""
    run_rows(_apply_transfer_rows, vecs.shape[0], vecs, *args)


def transfer_checkpoints(rho0: np.ndarray, *args) -> None:
    """``_transfer_checkpoints_rows`` over every row of ``rho0``."""
    run_rows(_transfer_checkpoints_rows, rho0.shape[0], rho0, *args)


def transfer_backward(ck: np.ndarray, lam: np.ndarray, *args) -> None:
    """``_transfer_backward_rows`` over every row of ``lam``."""
    run_rows(_transfer_backward_rows, lam.shape[0], ck, lam, *args)


def change_basis(vecs: np.ndarray, mat: np.ndarray, num_qubits: int) -> None:
    """``_change_basis_rows`` over every row of ``vecs``."""
    run_rows(_change_basis_rows, vecs.shape[0], vecs, mat, num_qubits)


def trajectory_forward(psi: np.ndarray, *args) -> None:
    """``_trajectory_forward_rows`` over every row of ``psi``."""
    run_rows(_trajectory_forward_rows, psi.shape[0], psi, *args)
