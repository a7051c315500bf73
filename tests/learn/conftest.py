"""Shared fixtures of the learning tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_numba_thread():
    """Run the simulator's batch-parallel kernels on one thread in these tests.

    The batches here are tiny; on a shared, oversubscribed machine each parallel
    kernel call then costs ~0.1 s of thread synchronisation against ~0.3 ms on one
    thread (measured at load average 15 on 2 cores), which would dominate the suite.
    """
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
