"""Feature states of phase-layer plans (CNOT networks + diagonal gates) equal the simulator's."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.api import loads
from qadl.backends.sim import Simulator
from qadl.learn.kernels import feature_states
from qadl.learn.phase_states import phase_plan, phase_states
from tests.sim.cases import on_all_threads_and_one

EVERY_GATE = """kernel k(f: float[2]) on q[3] {
    param w[3] init uniform(0, 1)
    h q
    ry(w[0] * f[0]) q[0]
    cx q[0], q[2]
    p(f[1] * f[0]) q[2]
    rz(w[1]) q[1]
    cz q[1], q[2]
    cp(f[0]) q[0], q[1]
    rzz(w[2] + f[1]) q[0], q[2]
    swap q[0], q[1]
    s q[0]
    t q[1]
    tdg q[2]
    sdg q[0]
    z q[1]
    rx(f[0]) q[2]
    sx q[1]
    y q[0]
    x q[2]
    u(f[0], w[1], 0.3) q[1]
    cx q[1], q[0]
    sxdg q[2]
    cx q[2], q[1]
    rz(f[1]) q[0]
}
"""


def _kernel(text: str):
    return loads(text, "k.qadl").kernels["k"]


def test_every_supported_gate_gives_the_simulators_state_global_phase_included():
    kernel = _kernel(EVERY_GATE)
    plan = phase_plan(kernel.feature_map)
    assert plan is not None and any(s[0] == "phase" and s[2] is not None for s in plan.steps)
    rng = np.random.default_rng(3)
    x, theta = rng.uniform(0, 3, (6, 2)), rng.uniform(0, 2, 3)
    expected = Simulator(kernel.feature_map).states(theta, x=x)
    assert np.max(np.abs(phase_states(plan, theta, x) - expected)) < 1e-12


@pytest.mark.parametrize("n", [3, 6])
def test_the_zz_feature_map_takes_the_plan_and_matches(n):
    kernel = _kernel(
        f"import encodings.zz_feature_map\n"
        f"kernel k(x: float[{n}]) on q[{n}] {{ zz_feature_map(q, x, reps = 2) }}\n"
    )
    plan = phase_plan(kernel.feature_map)
    sim = Simulator(kernel.feature_map)
    assert plan is not None and plan.passes < len(sim.program.kind)  # feature_states uses it
    x = np.random.default_rng(n).uniform(0, 2 * np.pi, (9, n))
    assert np.max(np.abs(feature_states(kernel.feature_map, x) - sim.states([], x=x))) < 1e-12


def test_a_gate_outside_the_set_has_no_plan():
    kernel = _kernel("kernel k(x: float[1]) on q[2] {\n    crx(x[0]) q[0], q[1]\n}\n")
    assert phase_plan(kernel.feature_map) is None


def test_plan_states_are_the_same_on_any_thread_count():
    """``run_plan`` runs one range of samples per thread: the same bits on one thread."""
    kernel = _kernel(EVERY_GATE)
    plan = phase_plan(kernel.feature_map)
    rng = np.random.default_rng(8)
    x, theta = rng.uniform(0, 3, (7, 2)), rng.uniform(0, 2, 3)
    many, one = on_all_threads_and_one(lambda: phase_states(plan, theta, x))
    np.testing.assert_array_equal(many, one)
