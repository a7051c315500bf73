"""Exact verification: the returned state flips, sits at the exact radius, and none closer does."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.adversary.certify_exact import PUSH, closest_flips, exact_problem
from qadl.adversary.certify_fidelity import fidelity_radius
from qadl.backends.sim import Simulator
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.learn.classifier import Classifier
from tests.adversary.test_certify_fidelity import _min_flip_infidelity, _outputs
from tests.adversary.test_certify_smoothing import _state_model, _states


@settings(max_examples=4, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shape=st.sampled_from([(1, 2), (2, 2), (2, 3), (2, 4), (3, 4)]),
)
def test_the_closest_state_flips_at_the_exact_radius(seed, shape):
    circuit, theta, rng = _state_model(seed, *shape)
    sim = Simulator(circuit)
    clf = Classifier(sim, circuit.readout)
    psi = _states(rng, 12, 1 << shape[0])
    y = clf.predict(theta, state=psi)
    flips = closest_flips(sim, circuit.readout, theta, psi, y)
    assert np.all(clf.predict(theta, state=flips.states) != y)  # every returned state flips
    np.testing.assert_allclose(flips.radius, fidelity_radius(
        circuit.readout, sim.outputs(theta, state=psi), y), atol=1e-12)
    # its infidelity is the radius², up to the push past the tie
    np.testing.assert_allclose(1 - flips.fidelity, flips.radius**2, atol=4 * PUSH)


def test_the_closest_state_matches_a_brute_force_search():
    """Two qubits, one measured: SLSQP over all states finds nothing closer that flips."""
    circuit, theta, rng = _state_model(11, 2, 2)
    sim = Simulator(circuit)
    psi = _states(rng, 1, 4)[0]
    unitary = sim.states(theta, state=np.eye(4, dtype=complex)).T
    out = _outputs(unitary, psi, 2, (0,), 2)
    y = int(np.argmax(out))
    flips = closest_flips(sim, circuit.readout, theta, psi[None], np.array([y]))
    brute = _min_flip_infidelity(psi, unitary, y, 2, (0,), 2)
    assert 1 - flips.fidelity[0] == pytest.approx(brute, abs=1e-5)


def test_wrong_samples_return_their_clean_state():
    circuit, theta, rng = _state_model(2, 1, 2)
    sim = Simulator(circuit)
    psi = _states(rng, 6, 2)
    y = 1 - Classifier(sim, circuit.readout).predict(theta, state=psi)
    flips = closest_flips(sim, circuit.readout, theta, psi, y)
    assert np.all(flips.radius == 0) and np.allclose(flips.fidelity, 1.0)


def test_a_pauli_readout_uses_its_eigenspaces():
    readout = Readout(kind="expval", observables=((("X", 0),),), num_classes=2)
    circuit = Circuit(1, (Op(Gate.H, (0,)),), readout=readout, state_input=True)
    sim = Simulator(circuit)
    psi = np.array([[np.cos(0.3), np.sin(0.3)]], dtype=complex)
    y = Classifier(sim, readout).predict(np.zeros(0), state=psi)
    flips = closest_flips(sim, readout, np.zeros(0), psi, y)
    e = sim.outputs(np.zeros(0), state=psi)
    assert flips.radius[0] == pytest.approx(fidelity_radius(readout, e, y)[0])
    assert Classifier(sim, readout).predict(np.zeros(0), state=flips.states)[0] != y[0]


def test_models_outside_its_reach_are_refused():
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    assert "quantum-data" in exact_problem(Circuit(1, (), num_features=1, readout=readout))
    assert "7 qubits" in exact_problem(Circuit(7, (), readout=readout, state_input=True))
    softmax = Readout(kind="expval", observables=((("Z", 0),), (("X", 0),), (("Y", 0),)),
                      num_classes=3)
    assert "softmax" in exact_problem(Circuit(1, (), readout=softmax, state_input=True))
