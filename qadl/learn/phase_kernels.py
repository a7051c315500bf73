"""Compiled kernel of ``phase_states``: a phase-layer plan run on each sample.

Imported lazily (it imports Numba). A serial ``nogil`` kernel over a range of samples,
one range per thread (``threads.run_rows``, as the simulator's batch kernels: no
``parallel=True`` lowering to compile, no OpenMP); each sample's state (2ⁿ amplitudes)
stays in the thread's cache while every step of the plan runs on it.
"""


from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from qadl.backends.sim.threads import run_rows  # noqa: E402

__all__ = ["run_plan"]

DENSE, PHASE = 0, 1
"""Step kinds of the encoded plan."""


def run_plan(n, kind, arg, lo, hi, perm_of, mats, coef, table, perms, out):
    """Run an encoded plan (``phase_states.encode``) on every row of ``out`` (B, 2ⁿ).

    Step k of ``kind`` DENSE applies the 2 × 2 matrix ``mats[arg[k], b]`` to qubit
    ``lo[k]``; PHASE multiplies amplitude s by exp(i Σ_r coef[b, r] table[r, s]) over
    the rows r in [lo[k], hi[k]), then moves it to ``perms[perm_of[k], s]`` (if ≥ 0).
    """
    run_rows(_plan_rows, out.shape[0], n, kind, arg, lo, hi, perm_of, mats, coef, table, perms,
             out)


@njit(cache=True, nogil=True)
def _plan_rows(first, last, n, kind, arg, lo, hi, perm_of, mats, coef, table, perms, out):
    """Rows ``first:last`` of ``run_plan``. Copies and fills are loops: an array-to-array
    assignment compiles Numba's shape-error message (seconds of a first compile)."""
    size = 1 << n
    tmp = np.empty(size, dtype=np.complex128)
    phase = np.empty(size)
    for b in range(first, last):
        psi = out[b]
        for s in range(size):
            psi[s] = 0.0
        psi[0] = 1.0
        for k in range(kind.shape[0]):
            if kind[k] == DENSE:
                q = lo[k]
                m = mats[arg[k], b]
                m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
                step = 1 << q
                for base in range(0, size, 2 * step):
                    for i in range(base, base + step):
                        a0 = psi[i]
                        a1 = psi[i + step]
                        psi[i] = m00 * a0 + m01 * a1
                        psi[i + step] = m10 * a0 + m11 * a1
            else:
                for s in range(size):
                    phase[s] = 0.0
                for r in range(lo[k], hi[k]):  # row by row: contiguous, vectorised
                    c = coef[b, r]
                    for s in range(size):
                        phase[s] += c * table[r, s]
                for s in range(size):
                    psi[s] *= np.cos(phase[s]) + 1j * np.sin(phase[s])
                p = perm_of[k]
                if p >= 0:
                    for s in range(size):
                        tmp[perms[p, s]] = psi[s]
                    for s in range(size):
                        psi[s] = tmp[s]
