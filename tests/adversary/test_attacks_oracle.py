"""The attack loop on a NumPy softmax model, where every quantity has a closed form."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.attacks import craft, stop_mask
from qadl.adversary.config import AttackConfig
from tests.adversary.models import softmax_problem

METHODS = ["fgsm", "bim", "pgd", "mim", "noise"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_perturbation_within_epsilon_and_range(method, norm):
    oracle, x, y = softmax_problem()
    cfg = AttackConfig(method, norm=norm, epsilon=0.3, steps=5, restarts=2)
    res = craft(oracle, x, y, cfg, feature_range=(0.0, 1.0))
    size = res.linf if norm == "linf" else res.l2
    assert np.all(size <= 0.3 + 1e-9)
    assert res.x_adv.min() >= 0.0 and res.x_adv.max() <= 1.0
    assert res.robust_accuracy <= res.clean_accuracy


def test_fgsm_is_sign_of_gradient_inside_range():
    """Without clipping, FGSM moves each feature by exactly ±ε along the loss gradient."""
    oracle, x, y = softmax_problem()
    res = craft(oracle, x, y, AttackConfig("fgsm", epsilon=0.05))
    _, g = oracle.loss_and_input_grad(x, y)
    np.testing.assert_allclose(res.x_adv - x, 0.05 * np.sign(g))


@pytest.mark.parametrize("method", ["bim", "pgd"])
def test_small_steps_never_lower_the_loss(method):
    oracle, x, y = softmax_problem(seed=4)
    cfg = AttackConfig(method, norm="l2", epsilon=0.5, steps=15, step_size=0.01, seed=3)
    trace = craft(oracle, x, y, cfg).objective_trace
    assert np.all(np.diff(trace, axis=0) >= -1e-12)


def test_gradient_attack_beats_noise_of_same_norm():
    oracle, x, y = softmax_problem(seed=5, n=100)
    pgd = craft(oracle, x, y, AttackConfig("pgd", epsilon=0.2, steps=10))
    noise = craft(oracle, x, y, AttackConfig("noise", epsilon=0.2))
    np.testing.assert_allclose(noise.linf, 0.2)
    assert pgd.robust_accuracy < noise.robust_accuracy - 0.2


def test_targeted_reaches_target_more_often_than_chance():
    oracle, x, y = softmax_problem(seed=6, n=90, c=3)
    cfg = AttackConfig("pgd", epsilon=0.2, steps=20, targeted=True, target=2)
    res = craft(oracle, x, y, cfg)
    assert np.mean(res.pred_adv == 2) > 0.6
    assert np.mean(res.pred_adv == 2) > np.mean(res.pred_clean == 2) + 0.2


def test_restarts_keep_best_sample():
    oracle, x, y = softmax_problem(seed=7, n=60)
    one = craft(oracle, x, y, AttackConfig("pgd", epsilon=0.08, steps=3, restarts=1, seed=1))
    many = craft(oracle, x, y, AttackConfig("pgd", epsilon=0.08, steps=3, restarts=6, seed=1))
    assert many.success.sum() >= one.success.sum()


def test_early_stop_freezes_flipped_samples():
    oracle, x, y = softmax_problem(seed=8, n=60)
    cfg = AttackConfig("bim", epsilon=1.0, steps=40, step_size=0.02, early_stop=True)
    res = craft(oracle, x, y, cfg)
    assert res.steps.min() < res.steps.max()
    # a sample stops the step after it flips: shrink its perturbation by one step and it is back.
    assert np.all(res.success[res.steps < 40])


def test_until_confidence_and_mask():
    oracle, x, y = softmax_problem(seed=9, n=40)
    x = x * (np.arange(x.shape[1]) % 2 == 0)  # odd features are zero
    cfg = AttackConfig(
        "gradient_steps", epsilon=None, steps=500, lr=0.01, mask="nonzero", until_confidence=0.6
    )
    res = craft(oracle, x, y, cfg)
    np.testing.assert_array_equal(res.x_adv[:, 1::2], 0.0)
    wrong = 1.0 - res.probs_adv[np.arange(len(y)), y]
    stopped = res.steps < 500
    assert stopped.all()
    assert np.all(stop_mask(res.probs_adv, y, cfg))
    assert np.all(wrong[stopped] >= 0.6 - 1e-12)


def test_until_success_rate_stops_the_batch_once_enough_are_fooled():
    """`until success_rate >= r`: the attack ends at the first step where a fraction r of
    the batch is fooled, so it runs fewer steps than the full attack and stops at r."""
    oracle, x, y = softmax_problem(seed=8, n=60)
    full = craft(oracle, x, y, AttackConfig("bim", epsilon=1.0, steps=40, step_size=0.02))
    assert full.success.mean() > 0.8
    cfg = AttackConfig("bim", epsilon=1.0, steps=40, step_size=0.02, until_success_rate=0.5)
    res = craft(oracle, x, y, cfg)
    assert 0.5 <= res.success.mean() < full.success.mean()
    assert res.steps.max() < 40
    shorter = AttackConfig("bim", epsilon=1.0, steps=int(res.steps.max()) - 1, step_size=0.02)
    assert craft(oracle, x, y, shorter).success.mean() < 0.5


def test_gradient_steps_with_epsilon_stay_in_ball():
    oracle, x, y = softmax_problem(seed=11, n=30)
    cfg = AttackConfig("gradient_steps", norm="l2", epsilon=0.05, steps=50, lr=0.05)
    assert cfg.bounded
    res = craft(oracle, x, y, cfg)
    assert res.epsilon == 0.05
    assert np.all(res.l2 <= 0.05 + 1e-12)
    assert np.all(res.l2 > 0.04)
    free = craft(oracle, x, y, AttackConfig("gradient_steps", epsilon=None, steps=50, lr=0.05))
    assert free.epsilon is None
    assert np.max(free.l2) > 0.1


def test_renormalize_and_mask_in_bounded_attacks():
    oracle, x, y = softmax_problem(seed=12, n=30)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    x[:, 0] = 0.0
    cfg = AttackConfig("bim", epsilon=0.05, steps=5, renormalize=True, mask="nonzero")
    res = craft(oracle, x, y, cfg)
    np.testing.assert_allclose(np.linalg.norm(res.x_adv, axis=1), 1.0)
    np.testing.assert_array_equal(res.x_adv[:, 0], 0.0)
    assert np.all(res.linf > 0.0)


def test_mim_matches_hand_computed_momentum():
    """Two MIM steps: g1/mean|g1|, then μ·that + g2/mean|g2|, each followed by a sign step."""
    oracle, x, y = softmax_problem(seed=13, n=5)
    cfg = AttackConfig("mim", epsilon=1.0, steps=2, step_size=0.01, decay=0.5)
    res = craft(oracle, x, y, cfg)
    _, g1 = oracle.loss_and_input_grad(x, y)
    m1 = g1 / np.mean(np.abs(g1), axis=1, keepdims=True)
    x1 = x + 0.01 * np.sign(m1)
    _, g2 = oracle.loss_and_input_grad(x1, y)
    m2 = 0.5 * m1 + g2 / np.mean(np.abs(g2), axis=1, keepdims=True)
    np.testing.assert_allclose(res.x_adv, x1 + 0.01 * np.sign(m2))


def test_attack_result_json():
    import json

    oracle, x, y = softmax_problem(seed=14, n=10)
    res = craft(oracle, x, y, AttackConfig("pgd", epsilon=0.1, steps=3))
    data = json.loads(json.dumps(res.to_json()))
    assert data["method"] == "pgd-linf"
    assert data["n"] == 10
    assert data["mean_linf"] == pytest.approx(float(np.mean(res.linf)))
    assert data["mean_fidelity"] is None
