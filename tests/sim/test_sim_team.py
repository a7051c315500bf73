"""``team``: threads running one kernel together, meeting at spinning barriers.

The barrier must order memory (what a member wrote before it, every member reads after
it) and hold every member until all arrived; the single-state kernels that use it must
give the same bits whatever the team size.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import config, njit, set_num_threads

from qadl.backends.sim import Simulator, team
from tests.sim.cases import bindings
from tests.sim.test_sim_single_state import _circuit, _sweep

ROUNDS = 2000


@njit(nogil=True)
def _exchange(member, size, sync, seen, rounds):
    """Each round: write a value, meet, read every member's value of this round."""
    for r in range(rounds):
        seen[member, r, member] = r * 7 + member
        team.barrier(sync, size, r + 1)
        for other in range(size):
            if other != member:
                seen[member, r, other] = seen[other, r, other]


@njit(nogil=True)
def _late_writer(member, size, sync, flag, out):
    """Member 1 writes after a long computation; member 0 reads after the barrier."""
    if member == 1:
        acc = 0.0
        for k in range(2_000_000):
            acc += np.sqrt(k)
        flag[0] = 1.0 + 0.0 * acc
    team.barrier(sync, size, 1)
    if member == 0:
        out[0] = flag[0]


@njit(nogil=True)
def _claimer(member, size, sync, owner, tasks):
    """Claim tasks until none is left; mark each with the claiming member (1-based)."""
    t = team.claim(sync, 1)
    while t < tasks:
        owner[t] += member + 1
        t = team.claim(sync, 1)


def test_every_task_is_claimed_by_exactly_one_member():
    size = config.NUMBA_NUM_THREADS
    owner = np.zeros(200_000, dtype=np.int64)
    team.run(_claimer, size, owner, owner.size, counters=1)
    assert owner.min() >= 1 and owner.max() <= size  # once each: no sum of two members


def test_barrier_orders_every_round():
    size = config.NUMBA_NUM_THREADS
    if size < 2:
        pytest.skip("needs two threads")
    seen = np.full((size, ROUNDS, size), -1, dtype=np.int64)
    team.run(_exchange, size, seen, ROUNDS)
    want = np.arange(ROUNDS)[:, None] * 7 + np.arange(size)[None, :]
    for member in range(size):
        np.testing.assert_array_equal(seen[member], want)


def test_barrier_waits_for_a_late_member():
    if config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs two threads")
    flag = np.zeros(1)
    out = np.zeros(1)
    team.run(_late_writer, 2, flag, out)
    assert out[0] == 1.0


def test_a_team_of_one_runs_in_the_calling_thread():
    seen = np.full((1, 5, 1), -1, dtype=np.int64)
    team.run(_exchange, 1, seen, 5)
    np.testing.assert_array_equal(seen[0, :, 0], np.arange(5) * 7)
    assert team.team_size(1) == 1


def test_single_state_sweeps_are_the_same_bits_for_any_team_size():
    """``soa_single`` at 14 qubits, 16 chunks: states, outputs, tape gradients and λ₀ equal
    bit for bit on one thread and on a team."""
    circuit = _circuit(14, 11, 80)
    sim = Simulator(circuit)
    theta, x, delta = bindings(circuit, 2, 14)
    cot = np.random.default_rng(3).normal(size=(2, circuit.readout.num_outputs))
    results = []
    for threads in (1, config.NUMBA_NUM_THREADS):
        set_num_threads(threads)
        try:
            results.append(_sweep(sim, 10, 3, theta, x, delta, None, cot))
        finally:
            set_num_threads(config.NUMBA_NUM_THREADS)
    for one, many in zip(*results, strict=True):
        np.testing.assert_array_equal(one, many)
