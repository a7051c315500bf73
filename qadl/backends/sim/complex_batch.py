"""Complex-amplitude drivers: whole batches, the parameter-shift rule, and one large state.

The kernels of ``kernels.py`` and ``back_kernels.py`` (gate blocks on ``complex128``
states, their adjoints, readout and the angle tape) driven over a batch, one range of
samples per thread (``threads.run_rows``): the path of programs the split-array kernels
(``soa_kernels``) do not support, and of the parameter-shift rule. ``forward_single`` /
``adjoint_single`` split one large state into cache-sized chunks over the threads.
Imported lazily, like ``kernels``.
"""

# Numba idioms (see kernels.py): chained == comparisons, full unpacking of the program.
# ruff: noqa: SIM109, RUF059

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import math  # noqa: E402

import numpy as np  # noqa: E402
from numba import get_num_threads, njit, prange  # noqa: E402

from qadl.backends.sim.back_kernels import _amp_back, _back_block, _block_grads  # noqa: E402
from qadl.backends.sim.jit import inner  # noqa: E402
from qadl.backends.sim.kernels import (  # noqa: E402
    _apply_block,
    _chain_row,
    _eval_row,
    _readout,
    _seed_lambda,
    _span,
)
from qadl.backends.sim.program import (  # noqa: E402
    K_AMP,
    K_CCX,
    K_CX,
    K_D1,
    K_D2,
    K_DGRP,
    K_M1,
    K_SWAP,
)
from qadl.backends.sim.threads import gradient_arrays, run_rows  # noqa: E402

__all__ = [
    "adjoint_batch",
    "adjoint_single",
    "backward_fused",
    "default_chunks",
    "forward_batch",
    "forward_keep",
    "forward_single",
    "outputs_fused",
    "readout_batch",
    "shift_batch",
    "vjp_fused",
]


# ============================================================================ batch drivers
# Each batch driver is a serial ``nogil`` kernel over a range of samples, run one range per
# thread by ``threads.run_rows`` (as ``soa_step``'s are): no ``parallel=True`` lowering to
# compile and no OpenMP region. Copies and fills are loops: Numba's array-to-array
# assignment builds a shape-mismatch message in compiled code (seconds of first compile).
@inner()
def _init_state(psi, init, b, has_init):
    if has_init:
        for i in range(psi.shape[0]):
            psi[i] = init[b, i]
    else:
        for i in range(psi.shape[0]):
            psi[i] = 0j
        psi[0] = 1.0


@inner()
def _run_forward(psi, nq, prog, ang):
    kind = prog[0]
    for blk in range(kind.shape[0]):
        _apply_block(psi, blk, prog, ang, 0, _span(kind[blk], nq), False)


@inner()
def _run_backward(psi, lam, nq, prog, ang, g, r):
    kind = prog[0]
    for blk in range(kind.shape[0] - 1, -1, -1):
        k = kind[blk]
        span = _span(k, nq)
        if k == K_AMP:
            _amp_back(psi, lam, blk, prog, ang, g)
        elif k == K_CX or k == K_SWAP or k == K_CCX or k == K_DGRP:
            _apply_block(psi, blk, prog, ang, 0, span, True)
            _apply_block(lam, blk, prog, ang, 0, span, True)
        else:
            for i in range(r.shape[0]):
                r[i] = 0j
            _back_block(psi, lam, blk, prog, ang, 0, span, r)
            _block_grads(blk, prog, ang, r, g)


@inner()
def _state_grad(b, lam, g_state):
    """dL/d(input state) of sample ``b``: 2λ₀."""
    for i in range(lam.shape[0]):
        g_state[b, i] = 2.0 * lam[i]


@inner()
def _sweep_seeded(b, psi, lam, nq, prog, tape, theta, x, delta, has_init, ang, g, r, g_th, g_x,
                  g_d, g_state):
    """Sample ``b``'s backward half from a seeded λ: the adjoint sweep (``g`` zeroed
    first), the chain rule into row ``b``, and dL/d(input state)."""
    for a in range(g.shape[0]):
        g[a] = 0.0
    _run_backward(psi, lam, nq, prog, ang, g, r)
    _chain_row(tape, theta, x[b], delta[b], g, g_th[b], g_x[b], g_d[b])
    if has_init:
        _state_grad(b, lam, g_state)


@inner()
def _sample_work(nq, tape):
    """One thread's work arrays for a sample: tape values, their gradient, ψ, λ and R."""
    n = 1 << nq
    na = tape[0].shape[0]
    return (np.empty(na), np.empty(na), np.empty(n, dtype=np.complex128),
            np.empty(n, dtype=np.complex128), np.empty(16, dtype=np.complex128))


@njit(cache=True, nogil=True)
def _forward_rows(lo, hi, nq, prog, ang, init, has_init, states):
    for b in range(lo, hi):
        _init_state(states[b], init, b, has_init)
        _run_forward(states[b], nq, prog, ang[b])


def forward_batch(nq, prog, ang, init, has_init):
    """Final states (B, 2**nq) of the batch; one range of samples per thread."""
    states = np.empty((ang.shape[0], 1 << nq), dtype=np.complex128)
    run_rows(_forward_rows, ang.shape[0], nq, prog, ang, init, has_init, states)
    return states


@njit(cache=True, nogil=True)
def _readout_rows(lo, hi, states, ro, out):
    for b in range(lo, hi):
        _readout(states[b], ro, out[b])


def readout_batch(states, ro, num_outputs):
    """Readout values (B, K) of a batch of states."""
    out = np.empty((states.shape[0], num_outputs))
    run_rows(_readout_rows, states.shape[0], states, ro, out)
    return out


@njit(cache=True, nogil=True)
def _adjoint_rows(lo, hi, nq, prog, ro, ang, init, has_init, cot, out, g, g_state):
    n = 1 << nq
    psi = np.empty(n, dtype=np.complex128)
    lam = np.empty(n, dtype=np.complex128)
    r = np.empty(16, dtype=np.complex128)
    for b in range(lo, hi):
        _init_state(psi, init, b, has_init)
        _run_forward(psi, nq, prog, ang[b])
        _readout(psi, ro, out[b])
        _seed_lambda(psi, ro, cot[b], lam)
        _run_backward(psi, lam, nq, prog, ang[b], g[b], r)
        if has_init:
            _state_grad(b, lam, g_state)


def adjoint_batch(nq, prog, ro, ang, init, has_init, cot):
    """Outputs (B, K), dL/d(tape) (B, A) and dL/d(input state) (B, 2**nq or 0).

    One forward pass and one backward sweep per sample, one range of samples per thread.
    """
    nb = ang.shape[0]
    out = np.empty((nb, cot.shape[1]))
    g = np.zeros(ang.shape)
    g_state = np.zeros((nb if has_init else 0, 1 << nq), dtype=np.complex128)
    run_rows(_adjoint_rows, nb, nq, prog, ro, ang, init, has_init, cot, out, g, g_state)
    return out, g, g_state


@njit(cache=True, nogil=True)
def _output_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, init, has_init, out):
    ang = np.empty(tape[0].shape[0])
    psi = np.empty(1 << nq, dtype=np.complex128)
    for b in range(lo, hi):
        _eval_row(tape, theta, x[b], delta[b], ang)
        _init_state(psi, init, b, has_init)
        _run_forward(psi, nq, prog, ang)
        _readout(psi, ro, out[b])


def outputs_fused(nq, prog, ro, tape, theta, x, delta, init, has_init, num_outputs):
    """Tape, forward pass and readout of each sample: outputs (B, K)."""
    out = np.empty((x.shape[0], num_outputs))
    run_rows(_output_rows, x.shape[0], nq, prog, ro, tape, theta, x, delta, init, has_init,
             out)
    return out


@njit(cache=True, nogil=True)
def _vjp_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, init, has_init, cot, out, g_th,
              g_x, g_d, g_state):
    ang, g, psi, lam, r = _sample_work(nq, tape)
    for b in range(lo, hi):
        _eval_row(tape, theta, x[b], delta[b], ang)
        _init_state(psi, init, b, has_init)
        _run_forward(psi, nq, prog, ang)
        _readout(psi, ro, out[b])
        _seed_lambda(psi, ro, cot[b], lam)
        _sweep_seeded(b, psi, lam, nq, prog, tape, theta, x, delta, has_init, ang, g, r, g_th,
                      g_x, g_d, g_state)


def vjp_fused(nq, prog, ro, tape, theta, x, delta, init, has_init, cot):
    """Tape, forward, adjoint sweep and chain rule of each sample.

    Returns outputs (B, K), dL/dθ per sample (B, P), dL/dx (B, F), dL/dδ (B, D) and
    dL/d(input state) (B, 2**nq, or 0 rows without state input).
    """
    out = np.empty((x.shape[0], cot.shape[1]))
    grads = gradient_arrays(nq, theta, x, delta, has_init)
    run_rows(_vjp_rows, x.shape[0], nq, prog, ro, tape, theta, x, delta, init, has_init, cot,
             out, *grads)
    return (out, *grads)


@njit(cache=True, nogil=True)
def _keep_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, init, has_init, out, angs,
               states):
    for b in range(lo, hi):
        _eval_row(tape, theta, x[b], delta[b], angs[b])
        _init_state(states[b], init, b, has_init)
        _run_forward(states[b], nq, prog, angs[b])
        _readout(states[b], ro, out[b])


def forward_keep(nq, prog, ro, tape, theta, x, delta, init, has_init, num_outputs):
    """``outputs_fused`` that also returns the tape values (B, A) and final states (B, 2**nq)."""
    nb = x.shape[0]
    out = np.empty((nb, num_outputs))
    angs = np.empty((nb, tape[0].shape[0]))
    states = np.empty((nb, 1 << nq), dtype=np.complex128)
    run_rows(_keep_rows, nb, nq, prog, ro, tape, theta, x, delta, init, has_init, out, angs,
             states)
    return out, angs, states


@njit(cache=True, nogil=True)
def _back_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, has_init, cot, angs, states,
               g_th, g_x, g_d, g_state):
    g = np.empty(angs.shape[1])
    lam = np.empty(1 << nq, dtype=np.complex128)
    r = np.empty(16, dtype=np.complex128)
    for b in range(lo, hi):
        _seed_lambda(states[b], ro, cot[b], lam)
        _sweep_seeded(b, states[b], lam, nq, prog, tape, theta, x, delta, has_init, angs[b], g,
                      r, g_th, g_x, g_d, g_state)


def backward_fused(nq, prog, ro, tape, theta, x, delta, has_init, cot, angs, states):
    """The backward half of ``vjp_fused``, from ``forward_keep``'s results.

    Overwrites ``states``; returns dL/dθ per sample (B, P), dL/dx, dL/dδ and
    dL/d(input state) as ``vjp_fused`` does.
    """
    grads = gradient_arrays(nq, theta, x, delta, has_init)
    run_rows(_back_rows, x.shape[0], nq, prog, ro, tape, theta, x, delta, has_init, cot, angs,
             states, *grads)
    return grads


# ============================================================================ parameter shift
_S2 = math.sqrt(2.0)
_C_PLUS = (_S2 + 1.0) / (4.0 * _S2)
_C_MINUS = (_S2 - 1.0) / (4.0 * _S2)


@inner()
def _loss_at(psi, nq, prog, ro, ang, init, b, has_init, cot, out):
    _init_state(psi, init, b, has_init)
    _run_forward(psi, nq, prog, ang)
    _readout(psi, ro, out)
    tot = 0.0
    for k in range(out.shape[0]):
        tot += cot[k] * out[k]
    return tot


@njit(cache=True, nogil=True)
def _shift_rows(lo, hi, nq, prog, ro, ang, init, has_init, cot, rule, g):
    na = ang.shape[1]
    h = 0.5 * math.pi
    psi = np.empty(1 << nq, dtype=np.complex128)
    out = np.empty(cot.shape[1])
    row = np.empty(na)
    for b in range(lo, hi):
        for a in range(na):
            row[a] = ang[b, a]
        for a in range(na):
            if rule[a] == 0:
                continue
            base = row[a]
            row[a] = base + h
            fp = _loss_at(psi, nq, prog, ro, row, init, b, has_init, cot[b], out)
            row[a] = base - h
            fm = _loss_at(psi, nq, prog, ro, row, init, b, has_init, cot[b], out)
            if rule[a] == 1:
                g[b, a] = 0.5 * (fp - fm)
            else:
                row[a] = base + 3.0 * h
                fp3 = _loss_at(psi, nq, prog, ro, row, init, b, has_init, cot[b], out)
                row[a] = base - 3.0 * h
                fm3 = _loss_at(psi, nq, prog, ro, row, init, b, has_init, cot[b], out)
                g[b, a] = _C_PLUS * (fp - fm) - _C_MINUS * (fp3 - fm3)
            row[a] = base


def shift_batch(nq, prog, ro, ang, init, has_init, cot, rule):
    """dL/d(tape) by the parameter-shift rule (entries with rule 0 are left at 0)."""
    g = np.zeros(ang.shape)
    run_rows(_shift_rows, ang.shape[0], nq, prog, ro, ang, init, has_init, cot, rule, g)
    return g


# ============================================================================ large single states
_MIN_CHUNK = 1 << 12
BLOCK_QUBITS = 15
"""Cache blocking: chunks of 2**15 amplitudes (512 KiB) stay in a core's L2."""


def default_chunks() -> int:
    """How many chunks the single-state kernels split one pass into."""
    return 4 * get_num_threads()


@njit(cache=True, inline="always")
def _chunks(span, nchunks):
    return max(1, min(nchunks, span // _MIN_CHUNK))


@inner()
def _is_local(blk, prog, m):
    """True when the block maps every aligned 2**m chunk of the state to itself."""
    (kind, qubits, aux, fac_ptr, fac_code, fac_arg, fac_q,
     const1, const4, constd4, amp_off, dtab) = prog
    k = kind[blk]
    if k == K_D1 or k == K_D2 or k == K_DGRP:
        return True
    if k == K_M1:
        return qubits[blk, 0] < m
    if k == K_CCX:
        return qubits[blk, 0] < m and qubits[blk, 1] < m and qubits[blk, 2] < m
    if k == K_AMP:
        return amp_off[aux[blk, 0] + aux[blk, 1] - 1] < (1 << m)
    return qubits[blk, 0] < m and qubits[blk, 1] < m


@njit(cache=True, parallel=True)
def forward_single(nq, prog, ang, psi, nchunks, m):
    """Apply the program to one state in place, parallel over amplitudes, cache-blocked.

    Runs of consecutive blocks that keep every aligned ``2**m`` chunk to itself (gates
    on qubits < m, and all diagonals) are applied chunk by chunk, so the chunk stays in
    cache for the whole run: one memory pass per run instead of one per block. Other
    blocks take one parallel pass each.
    """
    kind = prog[0]
    nblocks = kind.shape[0]
    m = min(m, nq)
    nloc = 1 << (nq - m)
    blk = 0
    while blk < nblocks:
        if nloc > 1 and _is_local(blk, prog, m):
            end = blk + 1
            while end < nblocks and _is_local(end, prog, m):
                end += 1
            for c in prange(nloc):
                for b2 in range(blk, end):
                    part = _span(kind[b2], nq) // nloc
                    _apply_block(psi, b2, prog, ang, c * part, (c + 1) * part, False)
            blk = end
        else:
            span = _span(kind[blk], nq)
            nc = _chunks(span, nchunks)
            for c in prange(nc):
                _apply_block(psi, blk, prog, ang, c * span // nc, (c + 1) * span // nc, False)
            blk += 1


@njit(cache=True, parallel=True)
def adjoint_single(nq, prog, ro, ang, psi, cot, nchunks):
    """Adjoint sweep for one large state; ``psi`` holds the input state and is overwritten.

    Returns outputs (K,), dL/d(tape) (A,) and λ₀ (dL/dψ₀* / 2 convention, see module doc).
    """
    kind = prog[0]
    nblocks = kind.shape[0]
    for blk in range(nblocks):
        span = _span(kind[blk], nq)
        nc = _chunks(span, nchunks)
        for c in prange(nc):
            _apply_block(psi, blk, prog, ang, c * span // nc, (c + 1) * span // nc, False)
    out = np.empty(cot.shape[0])
    _readout(psi, ro, out)
    lam = np.empty_like(psi)
    _seed_lambda(psi, ro, cot, lam)
    g = np.zeros(ang.shape[0])
    for blk in range(nblocks - 1, -1, -1):
        k = kind[blk]
        span = _span(k, nq)
        nc = _chunks(span, nchunks)
        if k == K_AMP:
            _amp_back(psi, lam, blk, prog, ang, g)
        elif k == K_CX or k == K_SWAP or k == K_CCX or k == K_DGRP:
            for c in prange(nc):
                s = c * span // nc
                e = (c + 1) * span // nc
                _apply_block(psi, blk, prog, ang, s, e, True)
                _apply_block(lam, blk, prog, ang, s, e, True)
        else:
            rc = np.zeros((nc, 16), dtype=np.complex128)
            for c in prange(nc):
                _back_block(psi, lam, blk, prog, ang, c * span // nc, (c + 1) * span // nc, rc[c])
            r = np.zeros(16, dtype=np.complex128)
            for c in range(nc):
                for i in range(16):
                    r[i] += rc[c, i]
            _block_grads(blk, prog, ang, r, g)
    return out, g, lam
