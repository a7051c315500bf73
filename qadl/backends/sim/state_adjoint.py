"""Adjoint sweeps seeded by a cotangent *state*: gradients of ``Re⟨c|ψ(θ, x, δ)⟩``.

``Simulator.vjp`` seeds the backward vector from a readout cotangent; kernels (which
compare final states, not readouts) need the sweep to start from an arbitrary state
``c`` instead. With ``L = Re⟨c|ψ⟩`` and the sweep's convention ``dL/dt = 2 Re⟨λ|∂_t ψ⟩``
(see ``kernels.py``), the seed is ``λ = c / 2``; everything after the seed (un-applying
blocks, the overlap matrices, the chain rule to θ, x, δ) is the readout sweep's code.
"""

# ruff: noqa: SIM109

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

from qadl.backends.sim import back_kernels as B  # noqa: E402
from qadl.backends.sim import complex_batch as C  # noqa: E402
from qadl.backends.sim import kernels as K  # noqa: E402
from qadl.backends.sim.jit import inner  # noqa: E402
from qadl.backends.sim.program import K_AMP, K_CCX, K_CX, K_DGRP, K_SWAP  # noqa: E402
from qadl.backends.sim.threads import gradient_arrays, run_rows  # noqa: E402

__all__ = ["state_vjp_batch", "state_vjp_single"]


@inner()
def _seed(psi, cot, lam):
    """λ = c / 2 into ``lam``; returns Re⟨c|ψ⟩."""
    acc = 0.0
    for i in range(psi.shape[0]):
        c = cot[i]
        acc += c.real * psi[i].real + c.imag * psi[i].imag
        lam[i] = 0.5 * c
    return acc


@njit(cache=True, nogil=True)
def _vjp_rows(lo, hi, nq, prog, tape, theta, x, delta, init, has_init, cot, value, g_th, g_x,
              g_d, g_state):
    ang, g, psi, lam, r = C._sample_work(nq, tape)
    for b in range(lo, hi):
        K._eval_row(tape, theta, x[b], delta[b], ang)
        C._init_state(psi, init, b, has_init)
        C._run_forward(psi, nq, prog, ang)
        value[b] = _seed(psi, cot[b], lam)
        C._sweep_seeded(b, psi, lam, nq, prog, tape, theta, x, delta, has_init, ang, g, r, g_th,
                        g_x, g_d, g_state)


def state_vjp_batch(nq, prog, tape, theta, x, delta, init, has_init, cot):
    """Tape, forward pass, state-seeded sweep and chain rule, one range of samples per thread.

    Returns Re⟨c_b|ψ_b⟩ (B,), dL/dθ per sample (B, P), dL/dx (B, F), dL/dδ (B, D) and
    dL/d(input state) (B, 2**nq, or 0 rows without state input).
    """
    value = np.empty(x.shape[0])
    grads = gradient_arrays(nq, theta, x, delta, has_init)
    run_rows(_vjp_rows, x.shape[0], nq, prog, tape, theta, x, delta, init, has_init, cot, value,
             *grads)
    return (value, *grads)


@njit(cache=True, parallel=True)
def state_vjp_single(nq, prog, ang, psi, cot, nchunks):
    """One large state, amplitude-parallel: ``psi`` holds the input state (overwritten).

    Returns Re⟨c|ψ⟩, dL/d(tape) (A,) and λ₀ (twice it is dL/d(input state)).
    """
    kind = prog[0]
    nblocks = kind.shape[0]
    for blk in range(nblocks):
        span = K._span(kind[blk], nq)
        nc = C._chunks(span, nchunks)
        for c in prange(nc):
            K._apply_block(psi, blk, prog, ang, c * span // nc, (c + 1) * span // nc, False)
    lam = np.empty_like(psi)
    value = _seed(psi, cot, lam)
    g = np.zeros(ang.shape[0])
    for blk in range(nblocks - 1, -1, -1):
        k = kind[blk]
        span = K._span(k, nq)
        nc = C._chunks(span, nchunks)
        if k == K_AMP:
            B._amp_back(psi, lam, blk, prog, ang, g)
        elif k == K_CX or k == K_SWAP or k == K_CCX or k == K_DGRP:
            for c in prange(nc):
                s = c * span // nc
                e = (c + 1) * span // nc
                K._apply_block(psi, blk, prog, ang, s, e, True)
                K._apply_block(lam, blk, prog, ang, s, e, True)
        else:
            rc = np.zeros((nc, 16), dtype=np.complex128)
            for c in prange(nc):
                B._back_block(psi, lam, blk, prog, ang, c * span // nc, (c + 1) * span // nc,
                              rc[c])
            r = np.zeros(16, dtype=np.complex128)
            for c in range(nc):
                r += rc[c]
            B._block_grads(blk, prog, ang, r, g)
    return value, g, lam
