"""Kernel classifiers as attack oracles: input gradients against finite differences,
decisions against scikit-learn, and PGD against random noise of the same norm."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.config import AttackConfig
from qadl.adversary.evaluate import evaluate
from qadl.api import loads
from qadl.learn.data import Dataset
from qadl.learn.havlicek import havlicek
from qadl.learn.kernel_classifiers import fit_kernel_classifier
from qadl.learn.kernel_grads import KernelMap
from qadl.learn.kernel_oracle import KernelClassifier, decision_head
from qadl.learn.kernels import bloch_vectors, feature_states, fidelity_gram, projected_gram

PROGRAM = """import encodings.zz_feature_map
kernel k(x: float[{n}]) on q[{n}] {{
    zz_feature_map(q, x, reps = 2)
}}
"""

STEP = 1e-5
TOL = 1e-6 + 50 * STEP**2
"""Central differences: truncation O(h²); the kernel sums are O(1) with O(1) curvature."""


def _feature_map(n: int):
    return loads(PROGRAM.format(n=n), "k.qadl").kernels["k"].feature_map


def _fitted(kind: str, classifier: str, n: int, num_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    fm = _feature_map(n)
    x = rng.uniform(0, 2 * np.pi, size=(24, n))
    y = np.arange(24) % num_classes
    states = feature_states(fm, x)
    if kind == "fidelity":
        train, gram = states, fidelity_gram(states)
    else:
        train = bloch_vectors(states, n)
        gram = projected_gram(train, gamma=0.7)
    fitted = fit_kernel_classifier(classifier, 1.0, gram, y, num_classes)
    clf = KernelClassifier(KernelMap(fm, kind, 0.7, train), decision_head(fitted, len(x)))
    return clf, fitted, fm, train


def _mean_loss(clf, x, y):
    losses, _ = clf.loss_and_grads(None, y, x=x)
    return float(np.mean(losses))


CASES = [
    (kind, classifier, classes)
    for kind in ("fidelity", "projected")
    for classifier, classes in (("svm", 2), ("svm", 3), ("kernel_ridge", 3), ("logistic", 2),
                                ("logistic", 3))
]


@pytest.mark.parametrize(("kind", "classifier", "num_classes"), CASES)
def test_kernel_input_gradients_match_finite_differences(kind, classifier, num_classes):
    clf, _, _, _ = _fitted(kind, classifier, 2, num_classes)
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2 * np.pi, size=(4, 2))
    y = np.arange(4) % num_classes
    _, grads = clf.loss_and_grads(None, y, x=x)
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = STEP
        fd[idx] = (_mean_loss(clf, x + step, y) - _mean_loss(clf, x - step, y)) / (2 * STEP)
    assert np.abs(fd).max() > 1e-4  # the check is not vacuous
    np.testing.assert_allclose(grads.x, fd, atol=TOL, rtol=1e-5)


@pytest.mark.parametrize("kind", ["fidelity", "projected"])
def test_weighted_kernel_row_gradient_at_three_qubits(kind):
    """d/dx Σ_n W[b, n] K(x_b, x_n) for arbitrary weights (the primitive under the losses)."""
    fm = _feature_map(3)
    rng = np.random.default_rng(4)
    states = feature_states(fm, rng.uniform(0, 2 * np.pi, size=(9, 3)))
    train = states if kind == "fidelity" else bloch_vectors(states, 3)
    kmap = KernelMap(fm, kind, 0.4, train)
    x = rng.uniform(0, 2 * np.pi, size=(3, 3))
    w = rng.normal(size=(3, 9))

    def f(v):
        return float(np.sum(w * kmap.rows(v)[0]))

    rows, psi = kmap.rows(x)
    got = kmap.row_vjp(x, psi, w, rows)
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = STEP
        fd[idx] = (f(x + step) - f(x - step)) / (2 * STEP)
    np.testing.assert_allclose(got, fd, atol=TOL, rtol=1e-5)


@pytest.mark.parametrize(("classifier", "num_classes"),
                         [("svm", 2), ("svm", 3), ("kernel_ridge", 3), ("logistic", 3)])
def test_kernel_classifier_decides_as_scikit_learn(classifier, num_classes):
    clf, fitted, fm, train = _fitted("fidelity", classifier, 2, num_classes)
    x = np.random.default_rng(9).uniform(0, 2 * np.pi, size=(40, 2))
    rows = fidelity_gram(feature_states(fm, x), train)
    np.testing.assert_array_equal(clf.predict(None, x=x), fitted.predict(rows))
    if classifier == "logistic":
        np.testing.assert_allclose(clf.predict_proba(None, x=x),
                                   fitted.estimator.predict_proba(rows), atol=1e-10)


def test_pgd_on_the_kernel_svm_beats_random_noise_of_the_same_norm():
    train, test = havlicek(samples=80, gap=0.3, test=0.5, seed=3)
    fm = _feature_map(2)
    states = feature_states(fm, train.x)
    fitted = fit_kernel_classifier("svm", 1.0, fidelity_gram(states), train.y, 2)
    clf = KernelClassifier(KernelMap(fm, "fidelity", 1.0, states),
                           decision_head(fitted, len(train.x)))
    eps = (0.3,)
    pgd = AttackConfig(method="pgd", norm="linf", epsilon=eps, steps=10, random_start=True,
                       seed=5)
    noise = AttackConfig(method="noise", norm="linf", epsilon=eps, seed=5)
    result = evaluate(clf, np.zeros(0), test, {"pgd": pgd, "noise": noise}, fidelity=False)
    by = {p.attack: p.robust_accuracy for p in result.points}
    assert result.clean_accuracy >= 0.9
    assert by["pgd"] < by["noise"] - 0.2, by
    assert isinstance(test, Dataset)


@pytest.mark.parametrize("kind", ["fidelity", "projected"])
def test_keeping_only_the_support_vectors_changes_nothing(kind):
    data, _ = havlicek(samples=60, gap=0.3, test=0.5, seed=3)
    fm = _feature_map(2)
    states = feature_states(fm, data.x)
    train = states if kind == "fidelity" else bloch_vectors(states, 2)
    gram = fidelity_gram(train) if kind == "fidelity" else projected_gram(train, gamma=0.7)
    fitted = fit_kernel_classifier("svm", 1.0, gram, data.y, 2)
    full = KernelClassifier(KernelMap(fm, kind, 0.7, train), decision_head(fitted, len(train)))
    small = KernelClassifier.of(fm, kind, 0.7, train, fitted)
    assert len(small.kernel.train) == fitted.support_size() < len(train)
    x = np.random.default_rng(2).uniform(0, 2 * np.pi, size=(5, 2))
    y = np.arange(5) % 2
    np.testing.assert_allclose(small.predict_proba(None, x=x), full.predict_proba(None, x=x),
                               atol=1e-12)
    np.testing.assert_allclose(small.loss_and_grads(None, y, x=x)[1].x,
                               full.loss_and_grads(None, y, x=x)[1].x, atol=1e-12)
