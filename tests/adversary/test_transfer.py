"""scikit-learn surrogates: probabilities match the estimator, input gradients match FD."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.attacks import craft
from qadl.adversary.config import AttackConfig
from qadl.adversary.transfer import fit_surrogate
from qadl.learn.data import Dataset


def _blobs(num_classes: int, n: int = 120, f: int = 4, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2, 0.8, size=(num_classes, f))
    y = np.arange(n) % num_classes
    x = np.clip(centres[y] + 0.08 * rng.normal(size=(n, f)), 0.0, 1.0)
    return Dataset(x=x, y=y, num_classes=num_classes, feature_range=(0.0, 1.0), name="blobs")


def _fd_grad(oracle, x, y, h=1e-6):
    grad = np.zeros_like(x)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = h
        grad[:, j] = (
            oracle.loss_and_input_grad(x + e, y)[0] - oracle.loss_and_input_grad(x - e, y)[0]
        ) / (2 * h)
    return grad


CASES = [
    ("logistic", 2, "relu"),
    ("logistic", 3, "relu"),
    ("mlp", 2, "relu"),
    ("mlp", 3, "tanh"),
    ("mlp", 2, "logistic"),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("kind", "num_classes", "activation"), CASES)
def test_surrogate_probs_and_gradients_are_exact(kind, num_classes, activation):
    data = _blobs(num_classes)
    sur = fit_surrogate(data, kind, hidden=(8, 5), activation=activation, max_iter=300)
    x = data.x[:10]
    np.testing.assert_allclose(sur.predict_proba(x), sur.model.predict_proba(x), atol=1e-10)
    loss, grad = sur.loss_and_input_grad(x, data.y[:10])
    np.testing.assert_allclose(grad, _fd_grad(sur, x, data.y[:10]), atol=1e-6, rtol=1e-5)
    assert loss.shape == (10,)


def test_attack_on_surrogate_fools_surrogate():
    data = _blobs(2, n=200, seed=3)
    sur = fit_surrogate(data, "logistic")
    res = craft(
        sur, data.x, data.y, AttackConfig("pgd", epsilon=0.3, steps=10), feature_range=(0.0, 1.0)
    )
    assert res.clean_accuracy > 0.9
    assert res.robust_accuracy < 0.2
