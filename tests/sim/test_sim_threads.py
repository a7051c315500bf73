"""``threads.run_rows``: the training step's samples split over Python threads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.backends.sim.threads import row_ranges, run_rows
from tests.sim.cases import bindings
from tests.sim.test_sim_vjp_after import _circuit


@pytest.mark.parametrize(("size", "threads"), [(1, 4), (2, 2), (7, 2), (10, 3), (5, 8), (3, 1)])
def test_row_ranges_cover_every_row_once(size, threads):
    ranges = row_ranges(size, threads)
    assert len(ranges) == min(size, threads)
    assert ranges[0][0] == 0 and ranges[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    lengths = [hi - lo for lo, hi in ranges]
    assert max(lengths) - min(lengths) <= 1 and min(lengths) >= 1


def _rows_seen(lo, hi, out):
    out[lo:hi] += 1


def _fails_above_zero(lo, hi, out):
    if lo > 0:
        raise ValueError(f"rows {lo}:{hi}")
    out[lo:hi] = 1


def test_run_rows_calls_each_range_once():
    from numba import get_num_threads

    out = np.zeros(9)
    run_rows(_rows_seen, 9, out)
    assert np.all(out == 1)
    if get_num_threads() < 2:
        pytest.skip("needs at least two Numba threads")
    with pytest.raises(ValueError, match="rows"):
        run_rows(_fails_above_zero, 9, np.zeros(9))


def test_training_step_is_the_same_on_any_thread_count():
    """Each sample runs the same arithmetic whatever range it falls in: bit for bit."""
    from numba import get_num_threads, set_num_threads

    circuit = _circuit(5, 3, soa=True, with_state=False)
    sim = Simulator(circuit)
    assert sim._soa is not None
    theta, x, delta = bindings(circuit, 7, 2)
    cot = np.random.default_rng(1).normal(size=(7, sim.num_outputs))

    def step():
        got, _ = sim.vjp_after(theta, x=x, delta=delta, seed=lambda out: (cot, None))
        return got

    total = get_num_threads()
    many = step()
    set_num_threads(1)
    try:
        one = step()
    finally:
        set_num_threads(total)
    for field in ("outputs", "theta", "theta_per_sample", "x", "delta"):
        np.testing.assert_array_equal(getattr(many, field), getattr(one, field), err_msg=field)
