"""Local-rotation attacks on quantum data: angle bounds, fidelity, gradients, fidelity floor."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.config import QuantumAttackConfig
from qadl.adversary.quantum import (
    fidelities,
    fubini_study_metric,
    local_rotation_adversary,
    perturbed_circuit,
    quantum_attack,
    quantum_attack_sweep,
)
from qadl.ir.gates import GATES, Gate
from qadl.learn.data import Dataset
from qadl.testing import apply_matrix
from tests.adversary.models import state_circuit


def _random_states(rng, n, num_qubits):
    psi = rng.normal(size=(n, 2**num_qubits)) + 1j * rng.normal(size=(n, 2**num_qubits))
    return psi / np.linalg.norm(psi, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def setup():
    circuit = state_circuit(3, layers=2)
    adv = local_rotation_adversary(circuit)
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_params)
    rng = np.random.default_rng(4)
    states = _random_states(rng, 200, 3)
    probs = adv.predict_proba(theta, states, np.zeros((200, 9)))
    keep = np.flatnonzero(np.abs(probs[:, 0] - 0.5) > 0.05)[:40]
    data = Dataset(states=states[keep], y=probs[keep].argmax(axis=1), num_classes=2, name="qdata")
    return circuit, adv, theta, data


def _direct_adversarial_state(psi, angles):
    for q in range(len(angles) // 3):
        for k, gate in enumerate((Gate.RX, Gate.RY, Gate.RZ)):
            psi = apply_matrix(psi, GATES[gate].matrix([angles[3 * q + k]]), (q,))
    return psi


def test_perturbed_circuit_prepends_rotations():
    circuit = state_circuit(2, layers=1)
    pert = perturbed_circuit(circuit)
    assert pert.num_deltas == 6
    assert [op.gate for op in pert.ops[:6]] == [Gate.RX, Gate.RY, Gate.RZ] * 2
    assert pert.ops[6:] == circuit.ops


def test_zero_perturbation_is_the_clean_model(setup):
    _, adv, theta, data = setup
    from tests.adversary.models import classifier_for

    clean = classifier_for(setup[0])
    np.testing.assert_allclose(
        adv.predict_proba(theta, data.states, np.zeros((len(data), 9))),
        clean.predict_proba(theta, state=data.states),
        atol=1e-12,
    )


def test_angle_gradient_matches_finite_differences(setup):
    _, adv, theta, data = setup
    rng = np.random.default_rng(0)
    angles = rng.uniform(-0.2, 0.2, (4, 9))
    states, y = data.states[:4], data.y[:4]
    _, grad = adv.loss_and_angle_grad(theta, states, angles, y, "cross_entropy")
    h = 1e-6
    fd = np.zeros_like(angles)
    for j in range(9):
        e = np.zeros_like(angles)
        e[:, j] = h
        up = adv.predict_proba(theta, states, angles + e)[np.arange(4), y]
        down = adv.predict_proba(theta, states, angles - e)[np.arange(4), y]
        fd[:, j] = (-np.log(up) + np.log(down)) / (2 * h)
    np.testing.assert_allclose(grad, fd, atol=1e-6)


def test_angles_bounded_and_fidelity_matches_direct_computation(setup):
    _, adv, theta, data = setup
    cfg = QuantumAttackConfig(epsilon=(0.1, 0.4), steps=10, random_start=True)
    sweep = quantum_attack_sweep(adv, theta, data, cfg)
    for res in sweep:
        assert np.all(np.abs(res.delta) <= res.epsilon + 1e-12)
        direct = np.array(
            [
                _direct_adversarial_state(psi, d)
                for psi, d in zip(data.states, res.delta, strict=True)
            ]
        )
        np.testing.assert_allclose(res.states_adv, direct, atol=1e-10)
        np.testing.assert_allclose(res.fidelity, fidelities(data.states, direct), atol=1e-10)
        assert np.all(res.fidelity <= 1.0 + 1e-12)
    assert sweep[1].robust_accuracy < sweep[0].robust_accuracy
    assert sweep[1].robust_accuracy < 0.5
    assert sweep[0].to_json()["mean_fidelity"] > sweep[1].to_json()["mean_fidelity"]


def test_fidelity_floor_is_respected(setup):
    _, adv, theta, data = setup
    free = quantum_attack(adv, theta, data, QuantumAttackConfig(epsilon=0.8, steps=10))
    floor = quantum_attack(
        adv, theta, data, QuantumAttackConfig(epsilon=0.8, steps=10, fidelity_min=0.97)
    )
    assert free.fidelity.min() < 0.97
    assert floor.fidelity.min() >= 0.97
    assert floor.robust_accuracy >= free.robust_accuracy


def test_targeted_and_early_stop(setup):
    _, adv, theta, data = setup
    res = quantum_attack(
        adv,
        theta,
        data,
        QuantumAttackConfig(epsilon=0.6, steps=15, targeted=True, target=1, early_stop=True),
    )
    assert np.mean(res.pred_adv == 1) > np.mean(res.pred_clean == 1)
    assert np.all(res.success[res.steps < 15])


def test_axes_restrict_the_rotations(setup):
    _, adv, theta, data = setup
    res = quantum_attack(
        adv, theta, data, QuantumAttackConfig(epsilon=0.3, steps=5, axes=("y",), random_start=True)
    )
    np.testing.assert_array_equal(res.delta[:, 0::3], 0.0)
    np.testing.assert_array_equal(res.delta[:, 2::3], 0.0)
    assert np.any(res.delta[:, 1::3] != 0.0)


def test_fidelity_certificate_holds_against_the_attack(setup):
    """No certified sample is ever flipped by an attack that respects the fidelity floor."""
    from qadl.adversary.evaluate import fidelity_certified

    circuit, adv, theta, data = setup
    outputs = adv.classifier.sim.outputs(theta, state=data.states, delta=np.zeros((len(data), 9)))
    for f_min in (0.99, 0.95, 0.9):
        certified = fidelity_certified(circuit.readout, outputs, data.y, f_min)
        cfg = QuantumAttackConfig(
            epsilon=1.0, steps=30, fidelity_min=f_min, optimizer="adam", step_size=0.05
        )
        res = quantum_attack(adv, theta, data, cfg)
        assert res.fidelity.min() >= f_min
        assert not np.any(res.success & certified)
    # tight: (√p − √(1 − p))²/2 against 1 − F = 0.05, i.e. p > 0.7179 at F = 0.95
    outputs = np.array([[0.72, 0.28], [0.715, 0.285]])
    assert fidelity_certified(circuit.readout, outputs, np.array([0, 0]), 0.95).tolist() == [
        True,
        False,
    ]


def test_fubini_study_metric_is_the_second_order_infidelity(setup):
    """``dδᵀ·metric·dδ`` equals ``1 − |⟨φ(δ)|φ(δ + dδ)⟩|²`` up to third order in dδ."""
    _, adv, _, data = setup
    rng = np.random.default_rng(5)
    states, angles = data.states[:6], rng.uniform(-0.4, 0.4, (6, 9))
    metric = fubini_study_metric(adv, states, angles)
    np.testing.assert_allclose(metric, metric.transpose(0, 2, 1), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(metric) > -1e-12)
    base = adv.adversarial_states(states, angles)
    for scale in (1e-2, 1e-3):
        step = scale * rng.normal(size=angles.shape)
        exact = 1.0 - fidelities(base, adv.adversarial_states(states, angles + step))
        quadratic = np.einsum("bk,bkl,bl->b", step, metric, step)
        np.testing.assert_allclose(exact, quadratic, rtol=0, atol=5 * scale**3)


def test_natural_attack_keeps_the_box_and_the_fidelity_floor(setup):
    _, adv, theta, data = setup
    cfg = QuantumAttackConfig(
        epsilon=0.5, steps=25, optimizer="natural", step_size=0.05, fidelity_min=0.95
    )
    res = quantum_attack(adv, theta, data, cfg)
    assert np.abs(res.delta).max() <= 0.5 + 1e-12
    assert res.fidelity.min() >= 0.95
    direct = np.array(
        [_direct_adversarial_state(p, a) for p, a in zip(data.states, res.delta, strict=True)]
    )
    np.testing.assert_allclose(res.fidelity, fidelities(data.states, direct), atol=1e-10)


def test_natural_attack_is_at_least_as_strong_as_adam_at_the_same_fidelity(setup):
    """Steps along metric⁻¹·gradient spend the fidelity budget better than Adam's."""
    _, adv, theta, data = setup
    results = {}
    for optimizer, step in (("adam", 0.02), ("natural", 0.03)):
        cfg = QuantumAttackConfig(
            epsilon=1.0, steps=40, optimizer=optimizer, step_size=step, fidelity_min=0.97
        )
        results[optimizer] = quantum_attack(adv, theta, data, cfg)
    assert results["natural"].fidelity.min() >= 0.97
    assert results["natural"].success.sum() >= results["adam"].success.sum()
    assert results["natural"].success.sum() > 0


def test_until_confidence_freezes_samples_at_the_threshold(setup):
    """A sample stops as soon as its wrong class reaches the probability asked for."""
    _, adv, theta, data = setup
    cfg = QuantumAttackConfig(
        epsilon=1.0, steps=30, optimizer="natural", step_size=0.05, until_confidence=0.6
    )
    res = quantum_attack(adv, theta, data, cfg)
    stopped = res.steps < 30
    assert stopped.any()
    wrong = res.probs_adv[np.arange(len(data)), 1 - data.y]
    assert np.all(wrong[stopped] >= 0.6)
    assert np.all(res.success[stopped])


def test_until_success_rate_ends_the_attack_once_enough_states_flip(setup):
    _, adv, theta, data = setup
    base = dict(epsilon=1.0, steps=30, optimizer="natural", step_size=0.05)
    full = quantum_attack(adv, theta, data, QuantumAttackConfig(**base))
    res = quantum_attack(adv, theta, data, QuantumAttackConfig(**base, until_success_rate=0.3))
    assert full.success.mean() > 0.3
    assert 0.3 <= res.success.mean() <= full.success.mean()
    assert res.steps.max() < 30
