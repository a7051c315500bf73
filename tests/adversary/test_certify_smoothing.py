"""Exact randomised smoothing equals a 10^5-sample Monte Carlo estimate; its radius is sound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from qadl.adversary.certify import CertifyMethod, certify
from qadl.adversary.certify_fidelity import decision_scores
from qadl.adversary.certify_smoothing import mixed_scores, smoothed_scores, smoothing_radius
from qadl.backends.sim import Simulator
from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import NoiseModel
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset


def _state_model(seed: int, num_qubits: int = 2, num_classes: int = 4):
    """A quantum-data classifier: RY/RZ layers and a CX, all outcomes read as classes."""
    rng = np.random.default_rng(seed)
    n, ops, k = num_qubits, [], 0
    for _ in range(2):
        for q in range(n):
            ops += [Op(Gate.RY, (q,), (E.theta(k),)), Op(Gate.RZ, (q,), (E.theta(k + 1),))]
            k += 2
        ops += [Op(Gate.CX, (q, q + 1)) for q in range(n - 1)]
    measured = tuple(range(n)) if num_classes > 2 else (0,)
    readout = Readout(kind="probs", qubits=measured, num_classes=num_classes)
    circuit = Circuit(n, tuple(ops), num_params=k, readout=readout, state_input=True)
    return circuit, rng.uniform(-np.pi, np.pi, k), rng


def _states(rng, count: int, dim: int) -> np.ndarray:
    z = rng.normal(size=(count, dim)) + 1j * rng.normal(size=(count, dim))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def test_exact_smoothing_equals_monte_carlo_within_its_confidence_interval():
    """Sample the channel (keep ρ, or with probability p a uniform basis state) and the readout."""
    circuit, theta, rng = _state_model(1)
    sim = Simulator(circuit)
    p, shots, d = 0.3, 100_000, 4
    psi = _states(rng, 3, d)
    exact = smoothed_scores(
        decision_scores(circuit.readout, sim.outputs(theta, state=psi)),
        mixed_scores(circuit, theta), p,
    )
    basis_scores = sim.outputs(theta, state=np.eye(d, dtype=complex))  # (d, C)
    for i in range(len(psi)):
        clean = sim.outputs(theta, state=psi[i : i + 1])[0]
        depolarised = rng.random(shots) < p
        which = rng.integers(0, d, shots)
        dist = np.where(depolarised[:, None], basis_scores[which], clean[None])
        u = rng.random(shots)[:, None]
        outcome = (u > np.cumsum(dist, axis=1)).sum(axis=1)
        estimate = np.bincount(outcome, minlength=4)[:4] / shots
        half_width = 4.5 * np.sqrt(exact[i] * (1 - exact[i]) / shots)  # ≈ 1 − 7e-6 per class
        assert np.all(np.abs(estimate - exact[i]) <= half_width), (estimate, exact[i])


def test_the_maximally_mixed_run_matches_an_average_over_basis_states_under_noise():
    """``outputs_from_density`` on I/d = mean of the exact noisy outputs of the d basis states."""
    circuit, theta, _ = _state_model(2, num_classes=3)
    noise = NoiseModel(depolarizing_1q=0.05, depolarizing_2q=0.1, readout_error=(0.02, 0.05),
                       t1=50.0, t2=70.0, time_1q=1.0, time_2q=3.0)
    dense = DensityMatrixSimulator(circuit, noise, shots=0)
    basis = dense.exact_outputs(theta, state=np.eye(4, dtype=complex))
    expected = decision_scores(circuit.readout, basis).mean(axis=0)
    np.testing.assert_allclose(mixed_scores(circuit, theta, noise), expected, atol=1e-12)
    # amplitude damping is not unital: the mixed state's scores are not uniform
    assert np.ptp(expected) > 1e-3


def test_a_noiseless_circuit_gives_uniform_mixed_scores():
    circuit, theta, _ = _state_model(3)
    np.testing.assert_allclose(mixed_scores(circuit, theta), np.full(4, 0.25), atol=1e-12)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.sampled_from([0.05, 0.3, 0.7]))
def test_no_state_within_the_radius_flips_the_smoothed_decision(seed, p):
    """SLSQP over pure states at trace distance ≤ 0.999·radius maximises a rival's lead."""
    circuit, theta, rng = _state_model(seed, num_qubits=1, num_classes=2)
    sim = Simulator(circuit)
    psi = _states(rng, 1, 2)
    mixed = mixed_scores(circuit, theta)
    scores = smoothed_scores(decision_scores(circuit.readout, sim.outputs(theta, state=psi)),
                             mixed, p)
    y = np.argmax(scores, axis=1)
    radius = smoothing_radius(circuit.readout, scores, y, p, circuit.num_qubits)[0]
    assert radius > 0

    def state(z):
        phi = z[:2] + 1j * z[2:]
        return phi / np.linalg.norm(phi)

    def lead(z):  # rival minus y under the smoothed classifier
        s = smoothed_scores(decision_scores(circuit.readout,
                                            sim.outputs(theta, state=state(z)[None])), mixed, p)
        return s[0, 1 - y[0]] - s[0, y[0]]

    def inside(z):
        return (0.999 * radius) ** 2 - (1 - abs(np.vdot(psi[0], state(z))) ** 2)

    for _ in range(8):
        z0 = np.concatenate([psi[0].real, psi[0].imag]) + 0.1 * rng.normal(size=4)
        res = minimize(lambda z: -lead(z), z0, method="SLSQP",
                       constraints=[{"type": "ineq", "fun": inside}])
        if inside(res.x) >= -1e-9:
            assert lead(res.x) < 0


def test_certify_smoothing_on_a_dataset_uses_the_smoothed_decisions():
    circuit, theta, rng = _state_model(4)
    clf = Classifier(Simulator(circuit), circuit.readout)
    states = _states(rng, 8, 4)
    data = Dataset(states=states, y=clf.predict(theta, state=states), name="d", num_classes=4)
    cert = certify(clf, theta, data, CertifyMethod("smoothing", 0.2))
    assert cert.method == "smoothing(p = 0.2)" and set(cert.radii) == {"state"}
    base = certify(clf, theta, data, CertifyMethod("fidelity"))
    # a unital circuit: smoothing keeps every decision, and the linear radius is margin / 2
    np.testing.assert_array_equal(cert.pred, base.pred)
    scores = decision_scores(circuit.readout, clf.sim.outputs(theta, state=states))
    top = np.sort(scores, axis=1)
    assert cert.radii["state"] == pytest.approx((top[:, -1] - top[:, -2]) / 2, abs=1e-12)
