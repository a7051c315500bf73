"""Gradients of batches on split-array states, one sample per thread.

``Simulator.vjp`` runs ``vjp_rows`` (each sample's forward pass, readout and adjoint
sweep). ``Simulator.vjp_after`` runs ``forward_keep_soa``, computes the cotangent from
its outputs, and runs ``backward_soa`` from the kept final states: one forward pass per
training step. Each is a serial ``nogil`` kernel over a range of samples, run one range
per thread by ``threads.run_rows`` (no ``parallel=True``: see that module for what its
parfor lowering cost at the first call).
"""

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from qadl.backends.sim import kernels as K  # noqa: E402
from qadl.backends.sim.jit import inner  # noqa: E402
from qadl.backends.sim.soa_kernels import (  # noqa: E402
    _backward,
    _forward_sample,
    _readout_split,
    _seed_split,
)
from qadl.backends.sim.threads import gradient_arrays, run_rows  # noqa: E402

__all__ = [
    "backward_soa",
    "forward_keep_soa",
    "outputs_rows",
    "state_vjp_rows",
    "states_rows",
    "tape_vjp_rows",
    "vjp_rows",
]


@njit(cache=True, nogil=True)
def _output_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, init, has_init, dtr, dti, out):
    """Rows ``lo:hi`` of ``outputs_rows``: each sample's forward pass and readout."""
    ang = np.empty(tape[0].shape[0])
    re = np.empty(1 << nq)
    im = np.empty(1 << nq)
    for b in range(lo, hi):
        K._eval_row(tape, theta, x[b], delta[b], ang)
        _forward_sample(re, im, nq, prog, ang, dtr, dti, init, b, has_init)
        _readout_split(re, im, ro, out[b])


def outputs_rows(nq, prog, ro, tape, theta, x, delta, init, has_init, num_outputs, dtr, dti):
    """Readout values (B, K) of a batch: each sample's forward pass and readout, one range
    of samples per thread (``threads.run_rows``)."""
    out = np.empty((x.shape[0], num_outputs))
    run_rows(_output_rows, x.shape[0], nq, prog, ro, tape, theta, x, delta, init, has_init,
             dtr, dti, out)
    return out


@njit(cache=True, nogil=True)
def _state_rows(lo, hi, nq, prog, tape, theta, x, delta, init, has_init, dtr, dti, re, im):
    """Rows ``lo:hi`` of ``states_rows``: each sample's tape and forward pass."""
    ang = np.empty(tape[0].shape[0])
    for b in range(lo, hi):
        K._eval_row(tape, theta, x[b], delta[b], ang)
        _forward_sample(re[b], im[b], nq, prog, ang, dtr, dti, init, b, has_init)


def states_rows(nq, prog, tape, theta, x, delta, init, has_init, dtr, dti):
    """Final states of a batch as real and imaginary parts, (B, 2**nq) each, one range of
    samples per thread (``threads.run_rows``); no readout needed."""
    re = np.empty((x.shape[0], 1 << nq))
    im = np.empty((x.shape[0], 1 << nq))
    run_rows(_state_rows, x.shape[0], nq, prog, tape, theta, x, delta, init, has_init, dtr, dti,
             re, im)
    return re, im


@njit(cache=True, nogil=True)
def _state_vjp_rows(lo, hi, nq, prog, tape, theta, x, delta, init, has_init, cre, cim, dtr,
                    dti, value, g_th, g_x, g_d, g_state):
    """Rows ``lo:hi`` of ``state_vjp_rows``: forward pass, λ = c / 2, sweep, chain rule."""
    re, im, lre, lim, ang, g, r = _sample_work(nq, tape)
    for b in range(lo, hi):
        K._eval_row(tape, theta, x[b], delta[b], ang)
        _forward_sample(re, im, nq, prog, ang, dtr, dti, init, b, has_init)
        acc = 0.0
        for i in range(re.shape[0]):
            acc += cre[b, i] * re[i] + cim[b, i] * im[i]
            lre[i] = 0.5 * cre[b, i]
            lim[i] = 0.5 * cim[b, i]
        value[b] = acc
        _sweep_seeded(b, re, im, lre, lim, nq, prog, tape, theta, x, delta, has_init, ang, dtr,
                      dti, g, r, g_th, g_x, g_d, g_state)


def state_vjp_rows(nq, prog, tape, theta, x, delta, init, has_init, cot, dtr, dti):
    """``state_adjoint.state_vjp_batch`` on split arrays: Re⟨c_b|ψ_b⟩ (B,), dL/dθ per sample
    (B, P), dL/dx, dL/dδ and dL/d(input state), one range of samples per thread."""
    nb = x.shape[0]
    value = np.empty(nb)
    g_th, g_x, g_d, g_state = gradient_arrays(nq, theta, x, delta, has_init)
    run_rows(_state_vjp_rows, nb, nq, prog, tape, theta, x, delta, init, has_init,
             np.ascontiguousarray(cot.real), np.ascontiguousarray(cot.imag), dtr, dti, value,
             g_th, g_x, g_d, g_state)
    return value, g_th, g_x, g_d, g_state


@njit(cache=True, nogil=True)
def _tape_rows(lo, hi, nq, prog, ro, angles, init, has_init, cot, dtr, dti, out, g, g_state):
    """Rows ``lo:hi`` of ``tape_vjp_rows``: forward pass, readout, seed and sweep."""
    n = 1 << nq
    re = np.empty(n)
    im = np.empty(n)
    lre = np.empty(n)
    lim = np.empty(n)
    r = np.zeros(16, dtype=np.complex128)
    for b in range(lo, hi):
        _forward_sample(re, im, nq, prog, angles[b], dtr, dti, init, b, has_init)
        _readout_split(re, im, ro, out[b])
        _seed_split(re, im, ro, cot[b], lre, lim)
        _backward(re, im, lre, lim, nq, prog, angles[b], dtr, dti, g[b], r)
        if has_init:
            for i in range(n):
                g_state[b, i] = 2.0 * complex(lre[i], lim[i])


def tape_vjp_rows(nq, prog, ro, angles, init, has_init, cot, dtr, dti):
    """``complex_batch.adjoint_batch`` on split arrays, from given tape values (B, A):
    outputs (B, K), dL/d(tape) (B, A) and dL/d(input state), one range of samples per
    thread."""
    nb = angles.shape[0]
    out = np.empty((nb, cot.shape[1]))
    g = np.zeros(angles.shape)
    g_state = np.zeros((nb if has_init else 0, 1 << nq), dtype=np.complex128)
    run_rows(_tape_rows, nb, nq, prog, ro, angles, init, has_init, cot, dtr, dti, out, g,
             g_state)
    return out, g, g_state


@njit(cache=True, nogil=True)
def _keep_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, init, has_init, dtr, dti,
               out, angs, fre, fim):
    """Rows ``lo:hi`` of ``forward_keep_soa``'s four results."""
    for b in range(lo, hi):
        K._eval_row(tape, theta, x[b], delta[b], angs[b])
        _forward_sample(fre[b], fim[b], nq, prog, angs[b], dtr, dti, init, b, has_init)
        _readout_split(fre[b], fim[b], ro, out[b])


def forward_keep_soa(nq, prog, ro, tape, theta, x, delta, init, has_init, num_outputs, dtr, dti):
    """``outputs_rows`` that also keeps what ``backward_soa`` needs.

    Returns outputs (B, K), the tape values (B, A) and the final states split into
    real and imaginary parts (B, 2**nq) each.
    """
    nb = x.shape[0]
    out = np.empty((nb, num_outputs))
    angs = np.empty((nb, tape[0].shape[0]))
    fre = np.empty((nb, 1 << nq))
    fim = np.empty((nb, 1 << nq))
    run_rows(_keep_rows, nb, nq, prog, ro, tape, theta, x, delta, init, has_init, dtr, dti,
             out, angs, fre, fim)
    return out, angs, fre, fim


# Inlined by Numba into its two callers: compiled on its own it cost 0.4 s more before
# the flagship's first gradient with an empty cache (10.04-10.15 -> 9.65-9.69 s, load 0.8).
@inner(inline="always")
def _sweep(b, re, im, lre, lim, nq, prog, ro, tape, theta, x, delta, has_init, cot, ang, dtr,
           dti, g, r, g_th, g_x, g_d, g_state):
    """Sample ``b``'s backward half from its final state (``re``, ``im``): λ seeded by the
    readout's cotangent, the adjoint sweep, the chain rule into row ``b``."""
    _seed_split(re, im, ro, cot[b], lre, lim)
    _sweep_seeded(b, re, im, lre, lim, nq, prog, tape, theta, x, delta, has_init, ang, dtr,
                  dti, g, r, g_th, g_x, g_d, g_state)


@inner(inline="always")
def _sweep_seeded(b, re, im, lre, lim, nq, prog, tape, theta, x, delta, has_init, ang, dtr,
                  dti, g, r, g_th, g_x, g_d, g_state):
    """``_sweep`` from a seeded λ (``lre``, ``lim``): the adjoint sweep and the chain rule
    into row ``b``, and dL/d(input state) = 2λ₀."""
    n = re.shape[0]
    g[:] = 0.0
    _backward(re, im, lre, lim, nq, prog, ang, dtr, dti, g, r)
    K._chain_row(tape, theta, x[b], delta[b], g, g_th[b], g_x[b], g_d[b])
    if has_init:
        for i in range(n):
            g_state[b, i] = 2.0 * complex(lre[i], lim[i])


@inner(inline="always")
def _sample_work(nq, tape):
    """One thread's work arrays for a sample's forward and backward pass: ψ and λ split
    (four arrays of 2**nq), the tape values, their gradient and the overlap R."""
    n = 1 << nq
    ang = np.empty(tape[0].shape[0])
    return (np.empty(n), np.empty(n), np.empty(n), np.empty(n), ang, np.empty(ang.shape[0]),
            np.zeros(16, dtype=np.complex128))


@njit(cache=True, nogil=True)
def _back_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, has_init, cot, angs, fre, fim,
               dtr, dti, g_th, g_x, g_d, g_state):
    """Rows ``lo:hi`` of ``backward_soa``'s gradients."""
    n = fre.shape[1]
    lre = np.empty(n)
    lim = np.empty(n)
    g = np.empty(angs.shape[1])
    r = np.zeros(16, dtype=np.complex128)
    for b in range(lo, hi):
        _sweep(b, fre[b], fim[b], lre, lim, nq, prog, ro, tape, theta, x, delta, has_init, cot,
               angs[b], dtr, dti, g, r, g_th, g_x, g_d, g_state)


@njit(cache=True, nogil=True)
def _vjp_rows(lo, hi, nq, prog, ro, tape, theta, x, delta, init, has_init, cot, dtr, dti, out,
              g_th, g_x, g_d, g_state):
    """Rows ``lo:hi`` of ``vjp_rows``: each sample's forward pass, readout and backward half."""
    re, im, lre, lim, ang, g, r = _sample_work(nq, tape)
    for b in range(lo, hi):
        K._eval_row(tape, theta, x[b], delta[b], ang)
        _forward_sample(re, im, nq, prog, ang, dtr, dti, init, b, has_init)
        _readout_split(re, im, ro, out[b])
        _sweep(b, re, im, lre, lim, nq, prog, ro, tape, theta, x, delta, has_init, cot, ang, dtr,
               dti, g, r, g_th, g_x, g_d, g_state)


def vjp_rows(nq, prog, ro, tape, theta, x, delta, init, has_init, cot, dtr, dti):
    """Outputs and the gradients of ``L = Σ cot · outputs`` for a batch, one sample per
    thread: outputs (B, K), dL/dθ per sample (B, P), dL/dx, dL/dδ and dL/d(input state).

    Replaced a ``parallel=True`` kernel doing the same per sample: 1.13-1.28× faster
    for one 4-qubit sample (no OpenMP region to launch), the same within noise from
    batch 10 (0.96-1.10×, n = 10 and 14), and one parfor fewer to compile."""
    nb = x.shape[0]
    out = np.empty((nb, cot.shape[1]))
    g_th, g_x, g_d, g_state = gradient_arrays(nq, theta, x, delta, has_init)
    run_rows(_vjp_rows, nb, nq, prog, ro, tape, theta, x, delta, init, has_init, cot, dtr, dti,
             out, g_th, g_x, g_d, g_state)
    return out, g_th, g_x, g_d, g_state


def backward_soa(nq, prog, ro, tape, theta, x, delta, has_init, cot, angs, fre, fim, dtr, dti):
    """The backward half of ``vjp_rows``, from ``forward_keep_soa``'s results.

    Overwrites ``fre`` and ``fim``; returns dL/dθ per sample (B, P), dL/dx, dL/dδ and
    dL/d(input state) as ``vjp_rows`` does.
    """
    nb = x.shape[0]
    g_th, g_x, g_d, g_state = gradient_arrays(nq, theta, x, delta, has_init)
    run_rows(_back_rows, nb, nq, prog, ro, tape, theta, x, delta, has_init, cot, angs, fre, fim,
             dtr, dti, g_th, g_x, g_d, g_state)
    return g_th, g_x, g_d, g_state
