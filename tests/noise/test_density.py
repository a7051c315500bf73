"""Density-matrix simulator: equals Qiskit's Kraus evolution.

Also closed forms for noise and readout error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.backends.sim import channels as ch
from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import NoiseModel
from qadl.testing import random_bindings, random_circuit
from tests.noise.helpers import NOISE, qiskit_density, with_readout


@pytest.mark.parametrize("seed", range(6))
def test_matches_qiskit_kraus_evolution(seed):
    """Random circuits on 1–5 qubits, two samples: ρ equals DensityMatrix.evolve(Kraus) to 1e-10."""
    rng = np.random.default_rng(seed)
    n = 1 + seed % 5
    circuit = random_circuit(rng, n, 14, num_deltas=1)
    sim = DensityMatrixSimulator(circuit, NOISE)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    xs = rng.uniform(-np.pi, np.pi, (2, circuit.num_features))
    ds = rng.uniform(-np.pi, np.pi, (2, circuit.num_deltas))
    rho = sim.states(theta, xs, ds)
    for b in range(2):
        expected = qiskit_density(circuit, NOISE, theta, xs[b], ds[b])
        np.testing.assert_allclose(rho[b], expected, atol=1e-10)
        assert math.isclose(np.trace(rho[b]).real, 1.0, abs_tol=1e-12)


def test_input_state_matches_qiskit():
    """A batch of random input states (quantum data) evolves like Qiskit's."""
    rng = np.random.default_rng(11)
    circuit = random_circuit(rng, 3, 10)
    states = rng.normal(size=(2, 8)) + 1j * rng.normal(size=(2, 8))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    theta, x, _ = random_bindings(rng, circuit)
    rho = DensityMatrixSimulator(circuit, NOISE).states(theta, np.stack([x, x]), state=states)
    for b in range(2):
        np.testing.assert_allclose(
            rho[b], qiskit_density(circuit, NOISE, theta, x, state=states[b]), atol=1e-10
        )


@pytest.mark.parametrize("p", [0.0, 0.05, 0.3])
def test_depolarizing_shrinks_z_by_one_minus_p(p):
    """RX(a) then depolarizing(p): ⟨Z⟩ = (1 − p)·cos a."""
    a = 0.7
    circuit = Circuit(
        1,
        (Op(Gate.RX, (0,), (E.theta(0),)),),
        num_params=1,
        readout=Readout("expval", observables=((("Z", 0),),)),
    )
    out = DensityMatrixSimulator(circuit, NoiseModel(depolarizing_1q=p)).outputs([a])
    assert math.isclose(out[0, 0], (1 - p) * math.cos(a), abs_tol=1e-13)


def test_depolarizing_two_qubit_shrinks_zz():
    """CX after RY: two-qubit depolarizing(p) scales ⟨Z⊗Z⟩ and ⟨Z₀⟩ by (1 − p)."""
    a, p = 1.1, 0.2
    ops = (Op(Gate.RY, (0,), (E.theta(0),)), Op(Gate.CX, (0, 1)))
    readout = Readout("expval", observables=((("Z", 0), ("Z", 1)), (("Z", 0),)))
    circuit = Circuit(2, ops, num_params=1, readout=readout)
    out = DensityMatrixSimulator(circuit, NoiseModel(depolarizing_2q=p)).outputs([a])
    np.testing.assert_allclose(out[0], [1 - p, (1 - p) * math.cos(a)], atol=1e-13)


def test_readout_error_mixes_probabilities():
    """Observed marginals are (C ⊗ C)·p_true for a two-qubit probs readout."""
    rng = np.random.default_rng(2)
    circuit = with_readout(random_circuit(rng, 3, 12), Readout("probs", (2, 0), num_classes=4))
    theta, x, _ = random_bindings(rng, circuit)
    err = (0.04, 0.11)
    clean = DensityMatrixSimulator(circuit).outputs(theta, x)
    noisy = DensityMatrixSimulator(circuit, NoiseModel(readout_error=err)).outputs(theta, x)
    conf = ch.confusion_matrix(err)
    np.testing.assert_allclose(noisy[0], np.kron(conf, conf) @ clean[0], atol=1e-13)


def test_readout_error_on_pauli_products():
    """⟨Z₀Z₁⟩ under readout error = a² + ab(⟨Z₀⟩ + ⟨Z₁⟩) + b²⟨Z₀Z₁⟩.

    ⟨P⟩ → a + b⟨P⟩ for one qubit.
    """
    rng = np.random.default_rng(5)
    obs = (
        (("Z", 0), ("Z", 1)),
        (("Z", 0),),
        (("Z", 1),),
        (("X", 1), ("Y", 0)),
        (("X", 1),),
        (("Y", 0),),
    )
    circuit = with_readout(random_circuit(rng, 2, 10), Readout("expval", observables=obs))
    theta, x, _ = random_bindings(rng, circuit)
    err = (0.05, 0.12)
    a, b = ch.readout_expval_factors(err)
    clean = DensityMatrixSimulator(circuit).outputs(theta, x)[0]
    noisy = DensityMatrixSimulator(circuit, NoiseModel(readout_error=err)).outputs(theta, x)[0]
    assert math.isclose(
        noisy[0], a * a + a * b * (clean[1] + clean[2]) + b * b * clean[0], abs_tol=1e-13
    )
    assert math.isclose(
        noisy[3], a * a + a * b * (clean[4] + clean[5]) + b * b * clean[3], abs_tol=1e-13
    )
    np.testing.assert_allclose(noisy[[1, 2, 4, 5]], a + b * clean[[1, 2, 4, 5]], atol=1e-13)


def test_noiseless_equals_pure_state():
    """Without noise ρ = |ψ⟩⟨ψ| of the reference statevector simulator."""
    from qadl.testing import reference_state

    rng = np.random.default_rng(8)
    circuit = random_circuit(rng, 4, 20)
    theta, x, _ = random_bindings(rng, circuit)
    psi = reference_state(circuit, theta, x)
    rho = DensityMatrixSimulator(circuit).states(theta, x)[0]
    np.testing.assert_allclose(rho, np.outer(psi, psi.conj()), atol=1e-12)


def test_finite_shots_are_seeded():
    """Shot-sampled outputs are reproducible per seed and close to the exact ones."""
    rng = np.random.default_rng(4)
    circuit = with_readout(random_circuit(rng, 2, 8), Readout("probs", (0,), num_classes=2))
    theta, x, _ = random_bindings(rng, circuit)
    noise = NoiseModel(depolarizing_1q=0.01, shots=2000)
    a = DensityMatrixSimulator(circuit, noise, seed=9).outputs(theta, x)
    b = DensityMatrixSimulator(circuit, noise, seed=9).outputs(theta, x)
    np.testing.assert_array_equal(a, b)
    exact = DensityMatrixSimulator(circuit, noise).exact_outputs(theta, x)
    assert np.all(np.abs(a - exact) <= 5 * np.sqrt(exact * (1 - exact) / 2000) + 1e-12)
    assert np.all(np.round(a * 2000) == a * 2000)
