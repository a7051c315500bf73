"""Run a per-sample kernel over the rows of a batch on Python threads (and allocate the
adjoint kernels' zeroed per-row gradient outputs, ``gradient_arrays``).

The training step's kernels (``soa_step.forward_keep_soa``, ``backward_soa``) are
serial ``nogil`` loops over a range of samples; this module splits the batch into one
contiguous range per thread and runs them at once, the first range in the calling
thread. Numba's ``parallel=True`` would do the same split with OpenMP, but its parfor
lowering compiles the loop body a second time and re-optimises every kernel it calls
in two more LLVM modules: with an empty cache it cost 8 of the 20 CPU seconds before
the flagship's first gradient (docs/benchmarks.md). The thread count is Numba's
(``numba.get_num_threads``, which ``numba.set_num_threads`` and ``NUMBA_NUM_THREADS``
set), never more than there are samples.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

__all__ = ["gradient_arrays", "row_ranges", "run_rows", "worker_pool"]


def row_ranges(size: int, threads: int) -> list[tuple[int, int]]:
    """``size`` rows split into ``min(threads, size)`` contiguous near-equal ranges."""
    parts = max(1, min(threads, size))
    bounds = [size * k // parts for k in range(parts + 1)]
    return list(itertools.pairwise(bounds))


@functools.cache
def _pool(pid: int, workers: int) -> ThreadPoolExecutor:
    """One pool per process (``pid``: a forked child starts its own, without threads)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qadl-rows")


def worker_pool() -> ThreadPoolExecutor:
    """The process's pool: Numba's thread count less one (the calling thread), at least 1."""
    from numba import config  # lazy: numba is off the import path

    return _pool(os.getpid(), max(1, config.NUMBA_NUM_THREADS - 1))


def run_rows(kernel: Callable[..., None], size: int, *args) -> None:
    """``kernel(lo, hi, *args)`` for each range of ``row_ranges(size, threads)``.

    ``kernel`` must release the GIL (``nogil=True``) and write only rows ``lo:hi`` of
    its outputs. An exception in any range is raised here, after all ranges finished.
    """
    from numba import get_num_threads  # lazy: numba is off the import path

    ranges = row_ranges(size, get_num_threads())
    if len(ranges) == 1:
        kernel(0, size, *args)
        return
    pool = worker_pool()
    futures = [pool.submit(kernel, lo, hi, *args) for lo, hi in ranges[1:]]
    try:
        kernel(*ranges[0], *args)
    finally:
        wait(futures)
    for future in futures:
        future.result()


def gradient_arrays(nq: int, theta: np.ndarray, x: np.ndarray, delta: np.ndarray,
                    has_init: bool) -> tuple[np.ndarray, ...]:
    """The adjoint kernels' zeroed outputs for a batch: dL/dθ per sample (B, P), dL/dx
    (B, F), dL/dδ (B, D) and dL/d(input state) (B, 2**nq, or 0 rows without state input)."""
    nb = x.shape[0]
    return (np.zeros((nb, theta.shape[0])), np.zeros((nb, x.shape[1])),
            np.zeros((nb, delta.shape[1])),
            np.zeros((nb if has_init else 0, 1 << nq), dtype=np.complex128))
