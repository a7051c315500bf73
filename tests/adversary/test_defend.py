"""Adversarial training: batch composition, schedules, robust accuracy gains on a small problem."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.attacks import attack
from qadl.adversary.config import AdversarialTrainingConfig, AttackConfig
from qadl.adversary.defend import (
    FixedAdversarialHook,
    OnlineAdversarialHook,
    adversarial_training,
    num_adversarial,
)
from qadl.learn.data import Dataset
from qadl.learn.optimizers import Adam
from qadl.learn.train import TrainConfig, fit
from tests.adversary.models import classifier_for, encoding_circuit


def one_feature_data(n: int, seed: int) -> Dataset:
    """Only feature 0 carries the label; features 1 and 2 are constant (0.75).

    Clean training never constrains how the model reacts to features 1 and 2, so a
    clean-trained model is easy to fool through them; adversarial training must make
    it insensitive to them.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = np.full((n, 3), 0.75)
    x[:, 0] = np.clip(np.where(y == 0, 0.25, 1.25) + 0.1 * rng.normal(size=n), 0.0, 1.5)
    return Dataset(x=x, y=y, num_classes=2, feature_range=(0.0, 1.5), name="one-feature")


@pytest.fixture(scope="module")
def problem():
    circuit = encoding_circuit(3, layers=2)
    clf = classifier_for(circuit)
    train, test = one_feature_data(40, 0), one_feature_data(100, 1)
    th0 = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_params)
    tc = TrainConfig(epochs=15, batch=10, optimizer=Adam(lr=0.05), seed=1)
    clean = fit(clf, th0, train, tc, progress=False)
    return clf, train, test, tc, clean.theta


def test_num_adversarial():
    assert num_adversarial(10, 0.5) == 10
    assert num_adversarial(10, 0.25) == 3
    assert num_adversarial(10, 1.0) == 10
    assert num_adversarial(3, 0.01) == 1


def test_online_hook_extends_batch_and_follows_schedule(problem):
    clf, train, _, _, theta = problem
    cfg = AdversarialTrainingConfig(
        AttackConfig("fgsm", epsilon=0.4), ratio=0.5, schedule="linear", ramp_fraction=0.5
    )
    hook = OnlineAdversarialHook(clf, cfg, total_steps=4)
    rng = np.random.default_rng(0)
    batch = train.take(np.arange(10))
    outs = [hook(theta, batch, rng) for _ in range(4)]
    assert [eps for eps, _ in hook.log] == pytest.approx([0.0, 0.2, 0.4, 0.4])
    for out in outs:
        assert len(out) == 20
        np.testing.assert_array_equal(out.x[:10], batch.x)
    adv = outs[-1].x[10:]
    assert np.all(np.abs(adv - np.clip(adv, 0.0, 1.5)) == 0)
    # every adversarial row is within 0.4 of some clean row of the same label
    assert np.all(
        np.min(np.max(np.abs(adv[:, None] - batch.x[None]), axis=2), axis=1) <= 0.4 + 1e-12
    )
    replace_all = OnlineAdversarialHook(
        clf, AdversarialTrainingConfig(AttackConfig("fgsm", epsilon=0.4), ratio=1.0), 1
    )
    assert len(replace_all(theta, batch, rng)) == 10


def test_fixed_hook_cycles_through_the_set():
    adv = Dataset(x=np.arange(12.0)[:, None], y=np.zeros(12, dtype=int), num_classes=2)
    clean = Dataset(x=-np.ones((3, 1)), y=np.zeros(3, dtype=int), num_classes=2)
    hook = FixedAdversarialHook(adv, ratio=0.5)
    rng = np.random.default_rng(0)
    seen = np.concatenate([hook(None, clean, rng).x[3:, 0] for _ in range(4)])
    assert sorted(seen) == list(range(12))  # one epoch of the fixed set, no repeats


def test_online_adversarial_training_improves_robust_accuracy(problem):
    clf, train, test, tc, theta = problem
    pgd = AttackConfig("pgd", epsilon=0.4, steps=10)
    before = attack(clf, theta, test, pgd)
    cfg = AdversarialTrainingConfig(AttackConfig("pgd", epsilon=0.4, steps=3), ratio=0.5)
    defended = adversarial_training(clf, theta, train, tc, cfg, progress=False)
    after = attack(clf, defended.theta, test, pgd)
    assert before.clean_accuracy == 1.0 and after.clean_accuracy >= 0.95
    assert after.robust_accuracy >= before.robust_accuracy + 0.15
    assert len(defended.epsilon_log) == tc.epochs * 4


def test_fixed_set_training_resists_its_own_examples(problem):
    """Ren et al.'s protocol: adversarial examples precomputed against the clean model."""
    clf, train, test, tc, theta = problem
    cfg = AdversarialTrainingConfig(
        AttackConfig("pgd", epsilon=0.4, steps=10), ratio=0.5, mode="fixed"
    )
    defended = adversarial_training(clf, theta, train, tc, cfg, progress=False)
    fixed = defended.adversarial_set
    assert len(fixed) == len(train)
    before = np.mean(clf.predict(theta, x=fixed.x) == fixed.y)
    after = np.mean(clf.predict(defended.theta, x=fixed.x) == fixed.y)
    assert after >= before + 0.3
    assert np.mean(clf.predict(defended.theta, x=test.x) == test.y) >= 0.95
