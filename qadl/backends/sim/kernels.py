"""Numba kernels on complex amplitudes: gate blocks, readout and the angle tape.

Imported lazily by ``statevector.py`` (importing ``qadl`` or building a ``Simulator``
compiles nothing); every kernel is ``cache=True`` so compilation happens once per
machine (see ``cache.py`` for where the cache lives).

Layout: states are little-endian (qubit q is bit q of the basis index). Gate kernels
walk a *range* ``[s, e)`` of their own iteration space (pairs for a single-qubit
block, quadruples for two-qubit blocks, single amplitudes for diagonals), so the same
code runs a whole state serially inside a batch-parallel loop (small registers, one
sample per thread, state in cache) or in chunks in parallel for one large state.
fastmath is off: results are compared to 1e-10 against dense references.

Adjoint convention: with ``L = Σ_k c_k out_k`` and ``out_k = ⟨ψ|M_k|ψ⟩`` the backward
vector is ``λ = Σ_k c_k M_k ψ`` and ``dL/dt = 2 Re⟨λ|∂_t ψ⟩``; un-applying block ``U``
maps ``ψ → U†ψ`` and ``λ → U†λ``, and ``R_ij = Σ_rest conj(λ_i) ψ_j`` over the block's
qubits gives every angle derivative of the block as ``2 Re Σ_ij (∂U)_ij R_ij``.
"""

# Numba idioms: chained == comparisons (tuple `in` is slower to compile), full tuple
# unpacking of the program arrays in every dispatcher (one layout to read).
# ruff: noqa: SIM109

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import math  # noqa: E402

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from qadl.backends.sim.jit import inner, leaf  # noqa: E402
from qadl.backends.sim.program import (  # noqa: E402
    F_CONST1,
    F_CONST4,
    F_CONSTD4,
    F_CZMASK,
    F_P,
    F_RX,
    F_RXX,
    F_RY,
    F_RZ,
    K_AMP,
    K_CCX,
    K_CM1,
    K_CX,
    K_D1,
    K_D2,
    K_DGRP,
    K_M1,
    K_M2,
    K_SWAP,
)

__all__ = [
    "chain_tape",
    "eval_angles",
]

_J = 1j


# ============================================================================ bit helpers
@njit(cache=True, inline="always")
def _ins(r, q):
    """Insert a zero bit at position ``q`` of ``r``."""
    return ((r >> q) << (q + 1)) | (r & ((1 << q) - 1))


@njit(cache=True, inline="always")
def _ins2(r, a, b):
    """Insert zero bits at positions ``a`` and ``b`` (any order)."""
    lo = min(a, b)
    hi = max(a, b)
    return _ins(_ins(r, lo), hi)


@njit(cache=True, inline="always")
def _ins3(r, a, b, c):
    """Insert zero bits at three distinct positions."""
    lo = min(a, min(b, c))
    hi = max(a, max(b, c))
    mid = a + b + c - lo - hi
    return _ins(_ins(_ins(r, lo), mid), hi)


@njit(cache=True, inline="always")
def _parity(v):
    v ^= v >> 32
    v ^= v >> 16
    v ^= v >> 8
    v ^= v >> 4
    v ^= v >> 2
    v ^= v >> 1
    return v & 1


# ============================================================================ factor matrices
@leaf()
def _mat1(code, arg, ang, const1):
    """2×2 matrix of a single-qubit factor as (m00, m01, m10, m11)."""
    if code == F_CONST1:
        return const1[arg, 0, 0], const1[arg, 0, 1], const1[arg, 1, 0], const1[arg, 1, 1]
    a = ang[arg]
    c = math.cos(0.5 * a)
    s = math.sin(0.5 * a)
    if code == F_RX:
        return complex(c, 0.0), complex(0.0, -s), complex(0.0, -s), complex(c, 0.0)
    if code == F_RY:
        return complex(c, 0.0), complex(-s, 0.0), complex(s, 0.0), complex(c, 0.0)
    if code == F_RZ:
        return complex(c, -s), 0j, 0j, complex(c, s)
    if code == F_P:
        return 1.0 + 0j, 0j, 0j, complex(math.cos(a), math.sin(a))
    # F_U(t, p, l) = [[c, -e^{il} s], [e^{ip} s, e^{i(p+l)} c]]
    p = ang[arg + 1]
    lam = ang[arg + 2]
    el = complex(math.cos(lam), math.sin(lam))
    ep = complex(math.cos(p), math.sin(p))
    return complex(c, 0.0), -el * s, ep * s, ep * el * c


@leaf()
def _dmat1(code, arg, ang, k):
    """Derivative of a single-qubit factor's matrix with respect to its ``k``-th angle."""
    a = ang[arg]
    c = 0.5 * math.cos(0.5 * a)
    s = 0.5 * math.sin(0.5 * a)
    if code == F_RX:
        return complex(-s, 0.0), complex(0.0, -c), complex(0.0, -c), complex(-s, 0.0)
    if code == F_RY:
        return complex(-s, 0.0), complex(-c, 0.0), complex(c, 0.0), complex(-s, 0.0)
    if code == F_RZ:
        # d/da e^{-ia/2} = -i/2 e^{-ia/2}
        return complex(-s, -c), 0j, 0j, complex(-s, c)
    if code == F_P:
        return 0j, 0j, 0j, complex(-math.sin(a), math.cos(a))
    p = ang[arg + 1]
    lam = ang[arg + 2]
    el = complex(math.cos(lam), math.sin(lam))
    ep = complex(math.cos(p), math.sin(p))
    cc = 2.0 * c  # cos(t/2)
    ss = 2.0 * s  # sin(t/2)
    if k == 0:
        return complex(-s, 0.0), -el * c, ep * c, -ep * el * s
    if k == 1:
        return 0j, 0j, _J * ep * ss, _J * ep * el * cc
    return 0j, -_J * el * ss, 0j, _J * ep * el * cc


@njit(cache=True, inline="always")
def _mm(a00, a01, a10, a11, b00, b01, b10, b11):
    """2×2 product A·B."""
    return (
        a00 * b00 + a01 * b10,
        a00 * b01 + a01 * b11,
        a10 * b00 + a11 * b10,
        a10 * b01 + a11 * b11,
    )


@leaf()
def _block_mat1(f0, f1, fac_code, fac_arg, ang, const1):
    """Product of a block's single-qubit factors (later factors on the left)."""
    m00, m01, m10, m11 = 1.0 + 0j, 0j, 0j, 1.0 + 0j
    for f in range(f0, f1):
        a00, a01, a10, a11 = _mat1(fac_code[f], fac_arg[f], ang, const1)
        m00, m01, m10, m11 = _mm(a00, a01, a10, a11, m00, m01, m10, m11)
    return m00, m01, m10, m11


@njit(cache=True, inline="always")
def _zsign(k):
    """Eigenvalue of Z⊗Z on the two-bit index ``k``."""
    return 1.0 if (k == 0 or k == 3) else -1.0


@inner()
def _mat4(code, arg, ang, const4, out):
    """Fill ``out`` with the 4×4 matrix of a two-qubit factor."""
    if code == F_CONST4:  # a loop: an array-to-array copy compiles a shape-error message
        for i in range(4):
            for j in range(4):
                out[i, j] = const4[arg, i, j]
        return
    a = ang[arg]
    c = math.cos(0.5 * a)
    s = math.sin(0.5 * a)
    out[:, :] = 0j
    for k in range(4):
        out[k, k] = c
        if code == F_RXX:
            out[k ^ 3, k] = complex(0.0, -s)
        else:  # RYY: YY|k> = -(-1)^{popcount k} |k^3>
            out[k ^ 3, k] = complex(0.0, s * _zsign(k))


@inner()
def _dmat4(code, arg, ang, out):
    """Fill ``out`` with the derivative of a two-qubit rotation's matrix."""
    a = ang[arg]
    c = 0.5 * math.cos(0.5 * a)
    s = 0.5 * math.sin(0.5 * a)
    out[:, :] = 0j
    for k in range(4):
        out[k, k] = -s
        if code == F_RXX:
            out[k ^ 3, k] = complex(0.0, -c)
        else:
            out[k ^ 3, k] = complex(0.0, c * _zsign(k))


@inner()
def _diag4(code, arg, ang, constd4):
    """The four diagonal entries of a diagonal two-qubit factor."""
    if code == F_CONSTD4:
        return constd4[arg, 0], constd4[arg, 1], constd4[arg, 2], constd4[arg, 3]
    a = ang[arg]
    e = complex(math.cos(0.5 * a), -math.sin(0.5 * a))
    f = e.conjugate()
    return e, f, f, e


@inner()
def _ddiag4(arg, ang):
    """Derivative of RZZ's diagonal."""
    a = ang[arg]
    e = complex(math.cos(0.5 * a), -math.sin(0.5 * a))
    f = e.conjugate()
    return -0.5j * e, 0.5j * f, 0.5j * f, -0.5j * e


# ============================================================================ gate kernels (ranges)
@inner()
def _apply_m1(psi, q, m00, m01, m10, m11, s, e):
    bit = 1 << q
    for r in range(s, e):
        i0 = _ins(r, q)
        i1 = i0 | bit
        a = psi[i0]
        b = psi[i1]
        psi[i0] = m00 * a + m01 * b
        psi[i1] = m10 * a + m11 * b


@inner()
def _apply_d1(psi, q, d0, d1, s, e):
    """Single-qubit diagonal, elementwise (so it is local to any chunk of the state)."""
    for i in range(s, e):
        if (i >> q) & 1:
            psi[i] *= d1
        else:
            psi[i] *= d0


@inner()
def _apply_cm1(psi, c, t, m00, m01, m10, m11, s, e):
    cb = 1 << c
    tb = 1 << t
    for r in range(s, e):
        i0 = _ins2(r, c, t) | cb
        i1 = i0 | tb
        a = psi[i0]
        b = psi[i1]
        psi[i0] = m00 * a + m01 * b
        psi[i1] = m10 * a + m11 * b


@inner()
def _apply_m2(psi, qa, qb, mat, s, e):
    ab = 1 << qa
    bb = 1 << qb
    for r in range(s, e):
        i0 = _ins2(r, qa, qb)
        i1 = i0 | ab
        i2 = i0 | bb
        i3 = i1 | bb
        v0 = psi[i0]
        v1 = psi[i1]
        v2 = psi[i2]
        v3 = psi[i3]
        psi[i0] = mat[0, 0] * v0 + mat[0, 1] * v1 + mat[0, 2] * v2 + mat[0, 3] * v3
        psi[i1] = mat[1, 0] * v0 + mat[1, 1] * v1 + mat[1, 2] * v2 + mat[1, 3] * v3
        psi[i2] = mat[2, 0] * v0 + mat[2, 1] * v1 + mat[2, 2] * v2 + mat[2, 3] * v3
        psi[i3] = mat[3, 0] * v0 + mat[3, 1] * v1 + mat[3, 2] * v2 + mat[3, 3] * v3


@inner()
def _apply_d2(psi, qa, qb, d0, d1, d2, d3, s, e):
    for i in range(s, e):
        k = ((i >> qa) & 1) | (((i >> qb) & 1) << 1)
        if k == 0:
            psi[i] *= d0
        elif k == 1:
            psi[i] *= d1
        elif k == 2:
            psi[i] *= d2
        else:
            psi[i] *= d3


@inner()
def _apply_dgrp(psi, f0, f1, fac_code, fac_arg, fac_q, constd4, dagger, s, e):
    """A group of constant diagonal two-qubit factors in one pass, computed per amplitude.

    cz factors arrive merged by distance (``F_CZMASK``): one popcount parity each.
    """
    only_cz = True
    for f in range(f0, f1):
        if fac_code[f] != F_CZMASK:
            only_cz = False
    for i in range(s, e):
        par = 0
        ph = 1.0 + 0j
        for f in range(f0, f1):
            if fac_code[f] == F_CZMASK:
                par ^= _parity(i & (i >> fac_q[f, 0]) & fac_q[f, 1])
            elif not only_cz:
                k = ((i >> fac_q[f, 0]) & 1) | (((i >> fac_q[f, 1]) & 1) << 1)
                d = constd4[fac_arg[f], k]
                ph *= d.conjugate() if dagger else d
        if only_cz:
            if par:
                psi[i] = -psi[i]
        else:
            psi[i] *= -ph if par else ph


@inner()
def _apply_table(psi, diag, dagger, s, e):
    """Multiply by a precomputed full diagonal (or its conjugate)."""
    if dagger:
        for i in range(s, e):
            psi[i] *= diag[i].conjugate()
    else:
        for i in range(s, e):
            psi[i] *= diag[i]


@inner()
def _apply_cx(psi, c, t, s, e):
    cb = 1 << c
    tb = 1 << t
    for r in range(s, e):
        i0 = _ins2(r, c, t) | cb
        i1 = i0 | tb
        v = psi[i0]
        psi[i0] = psi[i1]
        psi[i1] = v


@inner()
def _apply_swap(psi, qa, qb, s, e):
    ab = 1 << qa
    bb = 1 << qb
    for r in range(s, e):
        base = _ins2(r, qa, qb)
        v = psi[base | ab]
        psi[base | ab] = psi[base | bb]
        psi[base | bb] = v


@inner()
def _apply_ccx(psi, c1, c2, t, s, e):
    cb = (1 << c1) | (1 << c2)
    tb = 1 << t
    for r in range(s, e):
        i0 = _ins3(r, c1, c2, t) | cb
        i1 = i0 | tb
        v = psi[i0]
        psi[i0] = psi[i1]
        psi[i1] = v


@inner()
def _amp_values(ang, arg, count):
    """Normalised amplitudes and the norm of the raw ones."""
    norm = 0.0
    for k in range(count):
        norm += ang[arg + k] * ang[arg + k]
    norm = math.sqrt(norm)
    vals = np.empty(count)
    for k in range(count):
        vals[k] = ang[arg + k] / norm
    return vals, norm


@inner()
def _apply_amp(psi, off, vals, s, e):
    """ψ → a ⊗ ⟨0…0|_A ψ: prepare ``vals`` on the amplitude qubits of every group."""
    count = vals.shape[0]
    mask = off[count - 1]
    for i in range(s, e):
        if i & mask == 0:
            v = psi[i]
            for k in range(count - 1, -1, -1):
                psi[i + off[k]] = vals[k] * v


# ============================================================================ block dispatch
@inner()
def _span(kind, nq):
    """Size of a block's iteration space (pairs, quadruples, amplitudes …)."""
    n = 1 << nq
    if kind == K_M1:
        return n >> 1
    if kind == K_CCX:
        return n >> 3
    if kind == K_D1 or kind == K_D2 or kind == K_DGRP or kind == K_AMP:
        return n
    return n >> 2


@inner()
def _apply_block(psi, blk, prog, ang, s, e, dagger):
    """Apply block ``blk`` (or its inverse) to ``psi`` over iteration range ``[s, e)``."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    k = kind[blk]
    f0 = fac_ptr[blk]
    f1 = fac_ptr[blk + 1]
    q0 = qubits[blk, 0]
    q1 = qubits[blk, 1]
    if k == K_M1 or k == K_D1 or k == K_CM1:
        m00, m01, m10, m11 = _block_mat1(f0, f1, fac_code, fac_arg, ang, const1)
        if dagger:
            m00, m01, m10, m11 = m00.conjugate(), m10.conjugate(), m01.conjugate(), m11.conjugate()
        if k == K_M1:
            _apply_m1(psi, q0, m00, m01, m10, m11, s, e)
        elif k == K_D1:
            _apply_d1(psi, q0, m00, m11, s, e)
        else:
            _apply_cm1(psi, q0, q1, m00, m01, m10, m11, s, e)
    elif k == K_M2:
        mat = np.empty((4, 4), dtype=np.complex128)
        _mat4(fac_code[f0], fac_arg[f0], ang, const4, mat)
        if dagger:
            mat = np.ascontiguousarray(mat.conj().T)
        _apply_m2(psi, q0, q1, mat, s, e)
    elif k == K_D2:
        d0, d1, d2, d3 = _diag4(fac_code[f0], fac_arg[f0], ang, constd4)
        if dagger:
            d0, d1, d2, d3 = d0.conjugate(), d1.conjugate(), d2.conjugate(), d3.conjugate()
        _apply_d2(psi, q0, q1, d0, d1, d2, d3, s, e)
    elif k == K_DGRP:
        if aux[blk, 1]:
            _apply_table(psi, dtab[aux[blk, 0]], dagger, s, e)
        else:
            _apply_dgrp(psi, f0, f1, fac_code, fac_arg, fac_q, constd4, dagger, s, e)
    elif k == K_CX:
        _apply_cx(psi, q0, q1, s, e)
    elif k == K_SWAP:
        _apply_swap(psi, q0, q1, s, e)
    elif k == K_CCX:
        _apply_ccx(psi, q0, q1, qubits[blk, 2], s, e)
    else:  # K_AMP (forward only; the backward sweep uses _amp_back)
        count = aux[blk, 1]
        vals, _ = _amp_values(ang, fac_arg[f0], count)
        _apply_amp(psi, amp_off[aux[blk, 0] : aux[blk, 0] + count], vals, s, e)


# ============================================================================ readout
@inner()
def _readout(psi, ro, out):
    """Readout values of one state into ``out``."""
    rkind, roq, ncls, xm, zm, co = ro
    n = psi.shape[0]
    if rkind == 0:
        for c in range(out.shape[0]):
            out[c] = 0.0
        nr = roq.shape[0]
        for i in range(n):
            o = 0
            for j in range(nr):
                o |= ((i >> roq[j]) & 1) << j
            if o < ncls:
                v = psi[i]
                out[o] += v.real * v.real + v.imag * v.imag
    else:
        for k in range(xm.shape[0]):
            acc = 0j
            x = xm[k]
            z = zm[k]
            for j in range(n):
                i = j ^ x
                t = psi[j].conjugate() * psi[i]
                if _parity(i & z):
                    acc -= t
                else:
                    acc += t
            out[k] = (co[k] * acc).real


@inner()
def _seed_lambda(psi, ro, cot, lam):
    """λ = Σ_k cot_k M_k ψ for the readout observables M_k (Hermitian parts)."""
    rkind, roq, ncls, xm, zm, co = ro
    n = psi.shape[0]
    if rkind == 0:
        nr = roq.shape[0]
        for i in range(n):
            o = 0
            for j in range(nr):
                o |= ((i >> roq[j]) & 1) << j
            lam[i] = cot[o] * psi[i] if o < ncls else 0j
    else:
        for i in range(n):
            lam[i] = 0j
        for k in range(xm.shape[0]):
            x = xm[k]
            z = zm[k]
            c = co[k]
            cc = c.conjugate()
            w = cot[k] * 0.5
            for j in range(n):
                i = j ^ x
                f = (-c if _parity(i & z) else c) + (-cc if _parity(j & z) else cc)
                lam[j] += w * f * psi[i]


# ============================================================================ angle tape
@njit(cache=True, inline="always")
def _symval(kind, index, theta, xrow, drow):
    if kind == 0:
        return theta[index]
    if kind == 1:
        return xrow[index]
    return drow[index]


@inner()
def _eval_row(tape, theta, xrow, drow, out):
    """Tape values of one sample into ``out``."""
    c0, term_ptr, term_coef, sym_ptr, sym_kind, sym_index = tape
    for a in range(c0.shape[0]):
        v = c0[a]
        for t in range(term_ptr[a], term_ptr[a + 1]):
            p = term_coef[t]
            for s in range(sym_ptr[t], sym_ptr[t + 1]):
                p *= _symval(sym_kind[s], sym_index[s], theta, xrow, drow)
            v += p
        out[a] = v


@inner()
def _chain_row(tape, theta, xrow, drow, g_ang, g_th, g_x, g_d):
    """Add one sample's dL/d(tape) chained to θ, x and δ into the given rows."""
    c0, term_ptr, term_coef, sym_ptr, sym_kind, sym_index = tape
    for a in range(c0.shape[0]):
        ga = g_ang[a]
        if ga == 0.0:
            continue
        for t in range(term_ptr[a], term_ptr[a + 1]):
            s0 = sym_ptr[t]
            s1 = sym_ptr[t + 1]
            for s in range(s0, s1):
                d = term_coef[t] * ga
                for u in range(s0, s1):
                    if u != s:
                        d *= _symval(sym_kind[u], sym_index[u], theta, xrow, drow)
                kd = sym_kind[s]
                if kd == 0:
                    g_th[sym_index[s]] += d
                elif kd == 1:
                    g_x[sym_index[s]] += d
                else:
                    g_d[sym_index[s]] += d


# The tape's two drivers are serial: a few hundred expressions per sample cost next to
# nothing beside the simulation, and an OpenMP region would leave OpenMP's threads
# spinning (under ``OMP_WAIT_POLICY=ACTIVE``, indefinitely) beside the Python threads
# that run the simulation (``threads``, ``team``).
@njit(cache=True, nogil=True)
def eval_angles(tape, theta, x, delta):
    """Every tape entry for every sample: (B, A), B = ``x.shape[0]`` (= ``delta.shape[0]``)."""
    nb = x.shape[0]
    out = np.empty((nb, tape[0].shape[0]))
    for b in range(nb):
        _eval_row(tape, theta, x[b], delta[b], out[b])
    return out


@njit(cache=True, nogil=True)
def chain_tape(tape, theta, x, delta, g_ang):
    """Chain dL/d(tape entry) to θ (per sample, sum afterwards), x and δ."""
    nb = g_ang.shape[0]
    g_th = np.zeros((nb, theta.shape[0]))
    g_x = np.zeros((nb, x.shape[1]))
    g_d = np.zeros((nb, delta.shape[1]))
    for b in range(nb):
        _chain_row(tape, theta, x[b], delta[b], g_ang[b], g_th[b], g_x[b], g_d[b])
    return g_th, g_x, g_d
