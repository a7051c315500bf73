"""Evaluation records over real attacks, transfer from surrogates, and quantum evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qadl.adversary.attacks import ClassifierOracle
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.evaluate import clean_accuracy, evaluate
from qadl.adversary.quantum import local_rotation_adversary
from qadl.adversary.ren import ren_config
from qadl.adversary.report import robustness_table
from qadl.adversary.transfer import fit_surrogate, transfer_attack
from qadl.learn.data import Dataset
from tests.adversary.models import classifier_for, encoding_circuit, state_circuit, teacher_dataset


@pytest.fixture(scope="module")
def model():
    circuit = encoding_circuit(3, layers=2)
    clf = classifier_for(circuit)
    theta = np.random.default_rng(2).uniform(-np.pi, np.pi, circuit.num_params)
    return clf, theta, teacher_dataset(clf, theta, n=60, seed=1)


def test_evaluate_sweeps_and_serialises(model):
    clf, theta, data = model
    attacks = {
        "bim": AttackConfig("bim", epsilon=(0.05, 0.2, 0.4), steps=5),
        "ren": ren_config(max_steps=100, mask="none"),
    }
    keep: dict = {}
    ev = evaluate(clf, theta, data, attacks, model="teacher", keep=keep)
    assert ev.clean_accuracy == clean_accuracy(clf, theta, data) == 1.0
    eps, acc = ev.curve("bim")
    np.testing.assert_allclose(eps, [0, 0.05, 0.2, 0.4])
    assert acc[-1] < acc[0]
    assert np.all(np.diff(acc) <= 0.05)
    ren_point = next(p for p in ev.points if p.attack == "ren")
    assert ren_point.epsilon is None
    assert ren_point.robust_accuracy < 0.2
    assert ren_point.mean_linf == pytest.approx(np.mean(keep["ren"][0].linf))
    json.dumps(ev.to_json())
    assert "ren" in robustness_table([ev])


def test_transfer_from_surrogates_beats_noise(model):
    clf, theta, data = model
    cfg = AttackConfig("pgd", epsilon=0.4, steps=10)
    noise = evaluate(clf, theta, data, [AttackConfig("noise", epsilon=0.4)]).points[0]
    white = evaluate(clf, theta, data, [cfg]).points[0]
    lr = transfer_attack(fit_surrogate(data, "logistic"), clf, theta, data, cfg)[0]
    other_theta = theta + 0.3 * np.random.default_rng(0).normal(size=theta.shape)
    twin = transfer_attack(ClassifierOracle(clf, other_theta), clf, theta, data, cfg)[0]
    assert lr.clean_accuracy == 1.0  # scored on the target
    assert white.robust_accuracy < noise.robust_accuracy
    assert lr.robust_accuracy < noise.robust_accuracy
    assert twin.robust_accuracy < noise.robust_accuracy


def test_quantum_evaluation_reports_fidelity():
    circuit = state_circuit(3, layers=2)
    clf = classifier_for(circuit)
    adv = local_rotation_adversary(circuit)
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_params)
    rng = np.random.default_rng(1)
    psi = rng.normal(size=(30, 8)) + 1j * rng.normal(size=(30, 8))
    psi /= np.linalg.norm(psi, axis=1, keepdims=True)
    y = clf.predict(theta, state=psi)
    data = Dataset(states=psi, y=y, num_classes=2, name="q")
    ev = evaluate(
        clf, theta, data, [QuantumAttackConfig(epsilon=(0.1, 0.3), steps=8)], adversary=adv
    )
    assert ev.clean_accuracy == 1.0
    assert [p.epsilon for p in ev.points] == [0.1, 0.3]
    assert ev.points[0].mean_fidelity > ev.points[1].mean_fidelity
    assert 0.0 < ev.points[1].min_fidelity <= ev.points[1].mean_fidelity <= 1.0
    with pytest.raises(ValueError, match="LocalRotationAdversary"):
        evaluate(clf, theta, data, [QuantumAttackConfig(epsilon=0.1)])
