"""Attacks on tiny quantum classifiers built directly as IR circuits (RY(θ + x) encodings)."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.attacks import ClassifierOracle, attack, attack_sweep, craft
from qadl.adversary.config import AttackConfig
from qadl.adversary.ren import ren_attack, ren_config, ren_summary
from tests.adversary.models import (
    FiniteDifferenceOracle,
    classifier_for,
    encoding_circuit,
    teacher_dataset,
)


@pytest.fixture(scope="module")
def binary():
    circuit = encoding_circuit(3, layers=2)
    clf = classifier_for(circuit)
    theta = np.random.default_rng(2).uniform(-np.pi, np.pi, circuit.num_params)
    return clf, theta, teacher_dataset(clf, theta, n=40, seed=1)


@pytest.fixture(scope="module")
def four_class():
    circuit = encoding_circuit(3, layers=2, num_classes=4)
    clf = classifier_for(circuit)
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, circuit.num_params)
    return clf, theta, teacher_dataset(clf, theta, n=40, seed=2, margin=0.05)


def test_oracle_gradients_match_finite_differences(binary):
    clf, theta, data = binary
    loss, grad = ClassifierOracle(clf, theta).loss_and_input_grad(data.x[:8], data.y[:8])
    fd_loss, fd_grad = FiniteDifferenceOracle(clf, theta).loss_and_input_grad(
        data.x[:8], data.y[:8]
    )
    np.testing.assert_allclose(loss, fd_loss, rtol=1e-10)
    np.testing.assert_allclose(grad, fd_grad, atol=1e-6)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_attack_equals_finite_difference_attack(binary, method):
    clf, theta, data = binary
    cfg = AttackConfig(method, epsilon=0.2, steps=5, seed=4)
    exact = craft(
        ClassifierOracle(clf, theta), data.x, data.y, cfg, feature_range=data.feature_range
    )
    fd = craft(
        FiniteDifferenceOracle(clf, theta), data.x, data.y, cfg, feature_range=data.feature_range
    )
    np.testing.assert_allclose(exact.x_adv, fd.x_adv, atol=1e-9)
    np.testing.assert_array_equal(exact.pred_adv, fd.pred_adv)


@pytest.mark.parametrize("method", ["fgsm", "bim", "pgd", "mim"])
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_circuit_attacks_stay_in_ball_and_range(binary, method, norm):
    clf, theta, data = binary
    sweep = attack_sweep(
        clf, theta, data, AttackConfig(method, norm=norm, epsilon=(0.1, 0.3), steps=4)
    )
    assert [r.epsilon for r in sweep] == [0.1, 0.3]
    for res in sweep:
        size = res.linf if norm == "linf" else res.l2
        assert np.all(size <= res.epsilon + 1e-9)
        assert res.x_adv.min() >= 0.0 and res.x_adv.max() <= 1.5
    assert sweep[1].robust_accuracy <= sweep[0].robust_accuracy + 0.05


def test_bim_monotone_on_circuit(binary):
    clf, theta, data = binary
    res = attack(
        clf,
        theta,
        data,
        AttackConfig("bim", epsilon=1.0, steps=10, step_size=0.005, clip_to_range=False),
    )
    assert np.all(np.diff(res.objective_trace, axis=0) >= -1e-10)


def test_pgd_beats_noise_on_circuit(binary):
    clf, theta, data = binary
    pgd = attack(clf, theta, data, AttackConfig("pgd", epsilon=0.3, steps=10))
    noise = attack(clf, theta, data, AttackConfig("noise", epsilon=0.3))
    assert pgd.clean_accuracy == 1.0
    assert pgd.robust_accuracy < noise.robust_accuracy - 0.2


def test_targeted_on_four_classes(four_class):
    clf, theta, data = four_class
    target = 3
    res = attack(
        clf, theta, data, AttackConfig("pgd", epsilon=0.5, steps=20, targeted=True, target=target)
    )
    assert np.mean(res.pred_adv == target) > 0.25 + 0.25
    assert np.mean(res.pred_adv == target) > np.mean(res.pred_clean == target)


def test_ren_attack_stops_at_threshold_and_respects_mask(binary):
    clf, theta, data = binary
    x = data.x.copy()
    x[:, 1] = 0.0  # feature 1 is "background": zero in every clean input
    batch = data.with_inputs(x=x)
    cfg = ren_config(lr=0.02, max_steps=300)
    res = ren_attack(clf, theta, batch, cfg)
    np.testing.assert_array_equal(res.x_adv[:, 1], 0.0)
    wrong = 1.0 - res.probs_adv[np.arange(len(batch)), batch.y]
    stopped = res.steps < 300
    assert stopped.mean() > 0.8
    assert np.all(wrong[stopped] >= 0.6)
    # one step fewer would not have reached it: the stopping rule fires on the first crossing
    assert np.all(wrong[stopped] < 0.75)
    summary = ren_summary(res, batch.x)
    assert summary.reached_threshold == pytest.approx(np.mean(wrong >= 0.6))
    assert summary.robust_accuracy <= 0.2
