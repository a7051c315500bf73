"""Numba kernels of the adjoint sweep: un-apply a block to ψ and λ, and its angle derivatives.

The backward half of ``kernels.py`` (same layout, ranges and conventions; see its
docstring): ``_back_block`` un-applies a block to ψ and λ over a range of its iteration
space and accumulates ``R_ij = Σ_rest conj(λ_i) ψ_j``; ``_block_grads`` turns ``R`` into
the block's angle derivatives as ``2 Re Σ_ij (∂U)_ij R_ij``; ``_amp_back`` is the
amplitude-encoding block's backward step. Callers: the complex batch and large-state
drivers (``complex_batch.py``, ``state_adjoint.py``).
"""

# ruff: noqa: SIM109, RUF059, SIM102

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402

from qadl.backends.sim.jit import inner  # noqa: E402
from qadl.backends.sim.kernels import (  # noqa: E402
    _amp_values,
    _block_mat1,
    _ddiag4,
    _diag4,
    _dmat1,
    _dmat4,
    _ins,
    _ins2,
    _mat1,
    _mat4,
    _mm,
)
from qadl.backends.sim.program import (  # noqa: E402
    F_CONST1,
    F_CONST4,
    F_CONSTD4,
    F_CZ,
    F_CZMASK,
    F_RZZ,
    F_U,
    K_CM1,
    K_D1,
    K_D2,
    K_M1,
    K_M2,
)


@inner()
def _back_m1(psi, lam, q, m00, m01, m10, m11, s, e, r_out):
    """Un-apply a 2×2 to ψ and λ; accumulate R = Σ conj(λ_out) ⊗ ψ_in."""
    h00 = m00.conjugate()
    h01 = m10.conjugate()
    h10 = m01.conjugate()
    h11 = m11.conjugate()
    bit = 1 << q
    r00 = 0j
    r01 = 0j
    r10 = 0j
    r11 = 0j
    for r in range(s, e):
        i0 = _ins(r, q)
        i1 = i0 | bit
        a = psi[i0]
        b = psi[i1]
        pa = h00 * a + h01 * b
        pb = h10 * a + h11 * b
        psi[i0] = pa
        psi[i1] = pb
        la = lam[i0]
        lb = lam[i1]
        cla = la.conjugate()
        clb = lb.conjugate()
        r00 += cla * pa
        r01 += cla * pb
        r10 += clb * pa
        r11 += clb * pb
        lam[i0] = h00 * la + h01 * lb
        lam[i1] = h10 * la + h11 * lb
    r_out[0] += r00
    r_out[1] += r01
    r_out[2] += r10
    r_out[3] += r11


@inner()
def _back_d1(psi, lam, q, d0, d1, s, e, r_out):
    c0 = d0.conjugate()
    c1 = d1.conjugate()
    r0 = 0j
    r1 = 0j
    for i in range(s, e):
        if (i >> q) & 1:
            p = psi[i] * c1
            la = lam[i]
            r1 += la.conjugate() * p
            psi[i] = p
            lam[i] = la * c1
        else:
            p = psi[i] * c0
            la = lam[i]
            r0 += la.conjugate() * p
            psi[i] = p
            lam[i] = la * c0
    r_out[0] += r0
    r_out[3] += r1


@inner()
def _back_cm1(psi, lam, c, t, m00, m01, m10, m11, s, e, r_out):
    h00 = m00.conjugate()
    h01 = m10.conjugate()
    h10 = m01.conjugate()
    h11 = m11.conjugate()
    cb = 1 << c
    tb = 1 << t
    r00 = 0j
    r01 = 0j
    r10 = 0j
    r11 = 0j
    for r in range(s, e):
        i0 = _ins2(r, c, t) | cb
        i1 = i0 | tb
        a = psi[i0]
        b = psi[i1]
        pa = h00 * a + h01 * b
        pb = h10 * a + h11 * b
        psi[i0] = pa
        psi[i1] = pb
        la = lam[i0]
        lb = lam[i1]
        cla = la.conjugate()
        clb = lb.conjugate()
        r00 += cla * pa
        r01 += cla * pb
        r10 += clb * pa
        r11 += clb * pb
        lam[i0] = h00 * la + h01 * lb
        lam[i1] = h10 * la + h11 * lb
    r_out[0] += r00
    r_out[1] += r01
    r_out[2] += r10
    r_out[3] += r11


@inner()
def _back_m2(psi, lam, qa, qb, mat, s, e, r_out):
    hm = np.ascontiguousarray(mat.conj().T)
    ab = 1 << qa
    bb = 1 << qb
    idx = np.empty(4, dtype=np.int64)
    vin = np.empty(4, dtype=np.complex128)
    lin = np.empty(4, dtype=np.complex128)
    acc = np.zeros(16, dtype=np.complex128)
    for r in range(s, e):
        i0 = _ins2(r, qa, qb)
        idx[0] = i0
        idx[1] = i0 | ab
        idx[2] = i0 | bb
        idx[3] = i0 | ab | bb
        for j in range(4):
            v = 0j
            w = 0j
            for m in range(4):
                v += hm[j, m] * psi[idx[m]]
                w += hm[j, m] * lam[idx[m]]
            vin[j] = v
            lin[j] = w
        for j in range(4):
            clj = lam[idx[j]].conjugate()
            for m in range(4):
                acc[4 * j + m] += clj * vin[m]
        for j in range(4):
            psi[idx[j]] = vin[j]
            lam[idx[j]] = lin[j]
    for j in range(16):
        r_out[j] += acc[j]


@inner()
def _back_d2(psi, lam, qa, qb, d0, d1, d2, d3, s, e, r_out):
    acc0 = 0j
    acc1 = 0j
    acc2 = 0j
    acc3 = 0j
    for i in range(s, e):
        k = ((i >> qa) & 1) | (((i >> qb) & 1) << 1)
        if k == 0:
            d = d0.conjugate()
        elif k == 1:
            d = d1.conjugate()
        elif k == 2:
            d = d2.conjugate()
        else:
            d = d3.conjugate()
        p = psi[i] * d
        psi[i] = p
        la = lam[i]
        v = la.conjugate() * p
        lam[i] = la * d
        if k == 0:
            acc0 += v
        elif k == 1:
            acc1 += v
        elif k == 2:
            acc2 += v
        else:
            acc3 += v
    r_out[0] += acc0
    r_out[1] += acc1
    r_out[2] += acc2
    r_out[3] += acc3


@inner()
def _back_block(psi, lam, blk, prog, ang, s, e, r_out):
    """Un-apply a gradient-carrying block over ``[s, e)``, accumulating its overlap ``R``."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    k = kind[blk]
    f0 = fac_ptr[blk]
    f1 = fac_ptr[blk + 1]
    q0 = qubits[blk, 0]
    q1 = qubits[blk, 1]
    if k == K_M1 or k == K_D1 or k == K_CM1:
        m00, m01, m10, m11 = _block_mat1(f0, f1, fac_code, fac_arg, ang, const1)
        if k == K_M1:
            _back_m1(psi, lam, q0, m00, m01, m10, m11, s, e, r_out)
        elif k == K_D1:
            _back_d1(psi, lam, q0, m00, m11, s, e, r_out)
        else:
            _back_cm1(psi, lam, q0, q1, m00, m01, m10, m11, s, e, r_out)
    elif k == K_M2:
        mat = np.empty((4, 4), dtype=np.complex128)
        _mat4(fac_code[f0], fac_arg[f0], ang, const4, mat)
        _back_m2(psi, lam, q0, q1, mat, s, e, r_out)
    else:  # K_D2
        d0, d1, d2, d3 = _diag4(fac_code[f0], fac_arg[f0], ang, constd4)
        _back_d2(psi, lam, q0, q1, d0, d1, d2, d3, s, e, r_out)


@inner()
def _num_angles(code):
    if code == F_U:
        return 3
    if code == F_CONST1 or code == F_CONST4 or code == F_CONSTD4:
        return 0
    if code == F_CZ or code == F_CZMASK:
        return 0
    return 1


@inner()
def _block_grads(blk, prog, ang, r, g):
    """Add dL/d(angle) of every factor of block ``blk`` to ``g`` from its overlap ``r``."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    k = kind[blk]
    f0 = fac_ptr[blk]
    f1 = fac_ptr[blk + 1]
    if k == K_M1 or k == K_D1 or k == K_CM1:
        m00, m01, m10, m11 = _block_mat1(f0, f1, fac_code, fac_arg, ang, const1)
        p00, p01, p10, p11 = 1.0 + 0j, 0j, 0j, 1.0 + 0j  # product of the factors before f
        for f in range(f0, f1):
            code = fac_code[f]
            arg = fac_arg[f]
            a00, a01, a10, a11 = _mat1(code, arg, ang, const1)
            n00, n01, n10, n11 = _mm(a00, a01, a10, a11, p00, p01, p10, p11)
            na = _num_angles(code)
            if na > 0:
                # suffix S = M · (F·P)^†, so that M = S·F·P
                s00, s01, s10, s11 = _mm(
                    m00, m01, m10, m11,
                    n00.conjugate(), n10.conjugate(), n01.conjugate(), n11.conjugate(),
                )
                for j in range(na):
                    b00, b01, b10, b11 = _dmat1(code, arg, ang, j)
                    c00, c01, c10, c11 = _mm(b00, b01, b10, b11, p00, p01, p10, p11)
                    d00, d01, d10, d11 = _mm(s00, s01, s10, s11, c00, c01, c10, c11)
                    tot = d00 * r[0] + d01 * r[1] + d10 * r[2] + d11 * r[3]
                    g[arg + j] += 2.0 * tot.real
            p00, p01, p10, p11 = n00, n01, n10, n11
    elif k == K_M2:
        code = fac_code[f0]
        if code != F_CONST4:
            dm = np.empty((4, 4), dtype=np.complex128)
            _dmat4(code, fac_arg[f0], ang, dm)
            tot = 0j
            for j in range(4):
                for m in range(4):
                    tot += dm[j, m] * r[4 * j + m]
            g[fac_arg[f0]] += 2.0 * tot.real
    elif k == K_D2:
        if fac_code[f0] == F_RZZ:
            e0, e1, e2, e3 = _ddiag4(fac_arg[f0], ang)
            tot = e0 * r[0] + e1 * r[1] + e2 * r[2] + e3 * r[3]
            g[fac_arg[f0]] += 2.0 * tot.real


@inner()
def _amp_back(psi, lam, blk, prog, ang, g):
    """Un-apply an amplitude preparation (exact when its qubits started in |0…0⟩)."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    count = aux[blk, 1]
    off = amp_off[aux[blk, 0] : aux[blk, 0] + count]
    arg = fac_arg[fac_ptr[blk]]
    vals, norm = _amp_values(ang, arg, count)
    mask = off[count - 1]
    gn = np.zeros(count)
    n = psi.shape[0]
    for i in range(n):
        if i & mask == 0:
            p0 = 0j
            l0 = 0j
            for k in range(count):
                p0 += vals[k] * psi[i + off[k]]
                l0 += vals[k] * lam[i + off[k]]
            for k in range(count):
                gn[k] += 2.0 * (lam[i + off[k]].conjugate() * p0).real
            for k in range(1, count):
                psi[i + off[k]] = 0j
                lam[i + off[k]] = 0j
            psi[i] = p0
            lam[i] = l0
    # through the normalisation a = v/|v|: dL/dv = (g - a (a·g)) / |v|
    dot = 0.0
    for k in range(count):
        dot += vals[k] * gn[k]
    for k in range(count):
        g[arg + k] += (gn[k] - vals[k] * dot) / norm
