"""NoisySimulator speaks the statevector Simulator's interface.

Without noise it gives the same outputs and vjp.
"""

from __future__ import annotations

import numpy as np
import pytest

from qadl.backends.sim import NoisySimulator, Simulator
from qadl.ir.circuit import Readout
from qadl.learn.classifier import Classifier
from qadl.testing import random_circuit
from tests.noise.helpers import NOISE, with_readout


@pytest.mark.parametrize("method", ["density", "trajectories"])
def test_noiseless_matches_statevector_simulator(method):
    """Outputs and every gradient field equal the statevector Simulator's (no noise: exact)."""
    rng = np.random.default_rng(31)
    circuit = with_readout(
        random_circuit(rng, 3, 16, num_deltas=1), Readout("probs", (1, 2), num_classes=3)
    )
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-np.pi, np.pi, (2, circuit.num_features))
    delta = rng.uniform(-0.2, 0.2, (2, circuit.num_deltas))
    cot = rng.normal(size=(2, 3))
    ref, noisy = Simulator(circuit), NoisySimulator(circuit, method=method, trajectories=2)
    assert (noisy.num_qubits, noisy.num_params, noisy.num_outputs) == (3, ref.num_params, 3)
    np.testing.assert_allclose(
        noisy.outputs(theta, x, delta), ref.outputs(theta, x, delta), atol=1e-12
    )
    g_ref = ref.vjp(theta, x, delta, cotangent=cot)
    g = noisy.vjp(theta, x, delta, cotangent=cot)
    for name in ("outputs", "theta", "x", "delta"):
        np.testing.assert_allclose(getattr(g, name), getattr(g_ref, name), atol=1e-11, err_msg=name)


def test_classifier_trains_through_noisy_simulator():
    """learn.Classifier takes a NoisySimulator: its loss gradient matches finite differences."""
    rng = np.random.default_rng(2)
    circuit = with_readout(random_circuit(rng, 2, 10), Readout("probs", (0,), num_classes=2))
    clf = Classifier(NoisySimulator(circuit, NOISE), circuit.readout)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-np.pi, np.pi, (4, circuit.num_features))
    y = np.array([0, 1, 1, 0])
    _, grads = clf.loss_and_grads(theta, y, x=x)
    h = 1e-6
    for k in range(circuit.num_params):
        e = np.eye(circuit.num_params)[k] * h
        plus = clf.loss_and_grads(theta + e, y, x=x)[0].mean()
        minus = clf.loss_and_grads(theta - e, y, x=x)[0].mean()
        assert abs(grads.theta[k] - (plus - minus) / (2 * h)) < 1e-7


@pytest.mark.parametrize("method", ["density", "trajectories"])
def test_vjp_after_is_the_engines_single_forward_pass(method, monkeypatch):
    """``NoisySimulator.vjp_after`` runs its engine's ``vjp_after``: by density matrix the
    numbers of ``outputs`` then ``vjp``; by trajectories those of ``vjp`` on the same
    sample, whose means ``outputs`` (same seed) reproduces."""
    rng = np.random.default_rng(8)
    circuit = with_readout(random_circuit(rng, 3, 12), Readout("probs", (0, 1), num_classes=4))
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-np.pi, np.pi, (3, circuit.num_features))
    cot = rng.normal(size=(3, 4))
    sim, twin, again = (NoisySimulator(circuit, NOISE, method=method, trajectories=4, seed=2)
                        for _ in range(3))
    engine_calls = []
    run = sim.engine.vjp_after
    monkeypatch.setattr(sim.engine, "vjp_after", lambda *a, **k: engine_calls.append(1)
                        or run(*a, **k))
    got, aux = sim.vjp_after(theta, x, seed=lambda out: (cot * out, "aux"))
    out = twin.outputs(theta, x)
    ref = (again if method == "trajectories" else twin).vjp(theta, x, cotangent=cot * out)
    assert aux == "aux" and len(engine_calls) == 1
    np.testing.assert_allclose(got.theta, ref.theta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.x, ref.x, rtol=0, atol=1e-12)
