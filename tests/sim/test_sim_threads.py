"""``threads.run_rows``: the training step's samples split over Python threads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.backends.sim.threads import row_ranges, run_rows
from tests.sim.cases import assert_same_bits, bindings, on_all_threads_and_one
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
    circuit = _circuit(5, 3, soa=True, with_state=False)
    sim = Simulator(circuit)
    assert sim._soa is not None
    theta, x, delta = bindings(circuit, 7, 2)
    cot = np.random.default_rng(1).normal(size=(7, sim.num_outputs))

    def step():
        got, _ = sim.vjp_after(theta, x=x, delta=delta, seed=lambda out: (cot, None))
        return got

    many, one = on_all_threads_and_one(step)
    assert_same_bits(many, one, ("outputs", "theta", "theta_per_sample", "x", "delta"))


def test_complex_kernels_are_the_same_on_any_thread_count():
    """Programs outside the split-array kernels (swap, ccx, two-qubit rotations) run the
    complex batch drivers one range of rows per thread: every result the same bits on one
    thread as on all of them (outputs, states, vjp, vjp_after, state_vjp, parameter shift)."""
    from dataclasses import replace

    from qadl.ir.circuit import Readout
    from qadl.testing import random_circuit

    rng = np.random.default_rng(21)
    circuit = replace(random_circuit(rng, 4, 30), readout=Readout("probs", (0, 2), num_classes=3))
    sim = Simulator(circuit)
    assert sim._soa is None
    theta = rng.uniform(-3, 3, circuit.num_params)
    x = rng.uniform(-3, 3, (5, circuit.num_features))
    cot = rng.normal(size=(5, 3))
    cs = rng.normal(size=(5, 16)) + 1j * rng.normal(size=(5, 16))

    def run():
        after, _ = sim.vjp_after(theta, x, seed=lambda out: (cot, None))
        return [sim.outputs(theta, x), sim.states(theta, x), sim.vjp(theta, x, cotangent=cot),
                after, sim.state_vjp(theta, x, cotangent_state=cs),
                sim.vjp(theta, x, cotangent=cot, method="parameter-shift")]

    for got, ref in zip(*on_all_threads_and_one(run), strict=True):
        assert_same_bits(got, ref)
