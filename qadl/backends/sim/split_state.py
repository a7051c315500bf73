"""Join split real/imaginary states into complex128 in one parallel pass (Numba, lazy).

The large-register kernels (``soa_kernels``) keep a state as two float64 arrays;
``Simulator.states`` converts only when a complex array is asked for, and then in one
pass over memory on every thread rather than NumPy's two strided single-thread copies.
"""

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import numpy as np  # noqa: E402
from numba import njit, prange  # noqa: E402

__all__ = ["join"]


@njit(cache=True, parallel=True)
def _join_flat(re, im):
    out = np.empty(re.shape[0], dtype=np.complex128)
    for i in prange(re.shape[0]):
        out[i] = complex(re[i], im[i])
    return out


def join(re: np.ndarray, im: np.ndarray) -> np.ndarray:
    """``re + 1j·im`` for C-contiguous float64 arrays of one shape, as a new complex128 array."""
    return _join_flat(re.reshape(-1), im.reshape(-1)).reshape(re.shape)
