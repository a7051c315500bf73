"""Adversary tests run Numba kernels on tiny batches: one thread is fastest (and immune to load)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _single_numba_thread():
    """Run each test with one Numba thread, restoring the previous count afterwards."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
