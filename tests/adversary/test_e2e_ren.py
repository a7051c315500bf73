"""End to end on the Ren et al. (2022) image classifier: digits 1 vs 9, 10 qubits, 260 angles.

Slow (about two minutes on one core): clean training, the Ren attack, and adversarial
training with a fixed set of adversarial examples precomputed against the clean model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qadl.adversary.attacks import adversarial_dataset
from qadl.adversary.config import AdversarialTrainingConfig
from qadl.adversary.defend import adversarial_training, fixed_adversarial_set
from qadl.adversary.ren import ren_attack, ren_config, ren_summary

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _accuracy(clf, theta, data) -> float:
    return float(np.mean(clf.predict(theta, x=data.x) == data.y))


def test_ren_images_attack_and_defence():
    from qadl.api import load
    from qadl.backends.sim import Simulator
    from qadl.learn.classifier import Classifier
    from qadl.learn.data import digits
    from qadl.learn.optimizers import Adam
    from qadl.learn.train import TrainConfig, fit

    circuit = load(EXAMPLES / "ren2022_images.qadl").models["classifier"].circuit
    clf = Classifier(Simulator(circuit), circuit.readout)
    train, test = digits(classes=(1, 9), size=(16, 16), normalize="l2", test=0.2, seed=7)
    theta0 = np.random.default_rng(7).uniform(0, 2 * np.pi, circuit.num_params)
    clean_cfg = TrainConfig(epochs=40, batch=20, optimizer=Adam(lr=0.05), seed=7)
    theta = fit(clf, theta0, train, clean_cfg, progress=False).theta
    assert _accuracy(clf, theta, test) >= 0.98

    attack = ren_config(max_steps=100)
    result = ren_attack(clf, theta, test, attack)
    summary = ren_summary(result, test.x)
    assert summary.robust_accuracy <= 0.05
    assert summary.median_linf <= 0.05
    assert summary.reached_threshold == 1.0

    defence = AdversarialTrainingConfig(attack, ratio=0.5, mode="fixed")
    fixed = fixed_adversarial_set(clf, theta, train, defence)
    # model selection on training data only: clean + adversarial training accuracy
    adv_cfg = TrainConfig(
        epochs=40, batch=10, optimizer=Adam(lr=0.02), seed=7, patience=1000, monitor="test_acc"
    )
    defended = adversarial_training(
        clf,
        theta,
        train,
        adv_cfg,
        defence,
        test=train.concat(fixed),
        fixed_set=fixed,
        progress=False,
    )
    adv_test = adversarial_dataset(test, result)
    assert _accuracy(clf, defended.theta, test) >= 0.97
    assert _accuracy(clf, defended.theta, adv_test) >= 0.95
