"""Amplitude-encoded inputs: prepared noiselessly as the initial state.

They are differentiated through the normalisation.
"""

from __future__ import annotations

import numpy as np
import pytest

from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.backends.sim.trajectories import TrajectorySimulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.testing import random_circuit, reference_state
from tests.noise.helpers import NOISE, qiskit_density


def _circuit() -> Circuit:
    """amplitude(x[0:4]) on (q0, q2) and amplitude(θ0 + x4, 0.5) on q1, then random gates."""
    rng = np.random.default_rng(17)
    body = random_circuit(rng, 3, 12, num_params=3, num_features=5)
    amp_a = Op(Gate.AMPLITUDE, (0, 2), tuple(E.x(i) + 0.1 for i in range(4)))
    amp_b = Op(Gate.AMPLITUDE, (1,), (E.theta(0) + E.x(4), E.const(0.5)))
    ops = (amp_a, amp_b, *body.ops)
    readout = Readout("expval", observables=((("Z", 0),), (("X", 1), ("Z", 2))))
    return Circuit(3, ops, 3, 5, readout=readout)


def test_noiseless_state_matches_reference():
    """Without noise ρ = |ψ⟩⟨ψ| of the dense reference (which prepares amplitudes by a unitary)."""
    circuit = _circuit()
    rng = np.random.default_rng(1)
    theta, x = rng.normal(size=3), rng.uniform(0.2, 1.0, 5)
    psi = reference_state(circuit, theta, x)
    rho = DensityMatrixSimulator(circuit).states(theta, x)[0]
    np.testing.assert_allclose(rho, np.outer(psi, psi.conj()), atol=1e-12)


def test_noisy_state_matches_qiskit_from_prepared_state():
    """With noise: Qiskit's Kraus evolution of the same gates from the prepared product state."""
    circuit = _circuit()
    rng = np.random.default_rng(2)
    theta, x = rng.normal(size=3), rng.uniform(0.2, 1.0, 5)
    gates = Circuit(3, tuple(op for op in circuit.ops if op.gate is not Gate.AMPLITUDE), 3, 5)
    prep = Circuit(3, tuple(op for op in circuit.ops if op.gate is Gate.AMPLITUDE), 3, 5)
    expected = qiskit_density(gates, NOISE, theta, x, state=reference_state(prep, theta, x))
    np.testing.assert_allclose(
        DensityMatrixSimulator(circuit, NOISE).states(theta, x)[0], expected, atol=1e-10
    )


@pytest.mark.parametrize("engine", ["density", "trajectories"])
def test_amplitude_gradients_match_finite_differences(engine):
    """dL/dx and dL/dθ through the normalised amplitudes.

    Density: noisy; trajectories: noiseless, exact.
    """
    circuit = _circuit()
    rng = np.random.default_rng(3)
    theta, x = rng.normal(size=3), rng.uniform(0.2, 1.0, (2, 5))
    cot = rng.normal(size=(2, 2))
    if engine == "density":
        sim = DensityMatrixSimulator(circuit, NOISE)
        loss = lambda t, xx: float((sim.exact_outputs(t, xx) * cot).sum())  # noqa: E731
    else:
        sim = TrajectorySimulator(circuit, trajectories=2)
        loss = lambda t, xx: float((sim.estimate(t, xx)[0] * cot).sum())  # noqa: E731
    grads = sim.vjp(theta, x, cotangent=cot)
    h = 1e-6
    fd_x = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        fd_x[idx] = (loss(theta, x + e) - loss(theta, x - e)) / (2 * h)
    fd_t = np.array(
        [(loss(theta + h * u, x) - loss(theta - h * u, x)) / (2 * h) for u in np.eye(3)]
    )
    np.testing.assert_allclose(grads.x, fd_x, atol=1e-7)
    np.testing.assert_allclose(grads.theta, fd_t, atol=1e-7)
    assert grads.state is None
