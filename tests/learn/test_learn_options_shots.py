"""`shots`: sampled readouts, the unbiased shot-noise gradient, and training with shots.

The statistical tests compare a sample mean with an exact value computed by enumerating
every count vector of a few shots, and accept |mean − exact| < 5 standard errors (a test
linear in the error: a bias of a few standard errors fails it).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import binom, multinomial

from qadl.backends.sim import Simulator
from qadl.ir.circuit import Readout
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.losses import loss_and_grad
from qadl.learn.optimizers import SPSA, Adam
from qadl.learn.shots import (
    _probs_from_counts,
    sample_counts,
    sample_readout,
    shot_loss_and_cotangent,
)
from qadl.learn.train import TrainConfig, fit

from .circuits import tiny_classifier

PROBS3 = Readout("probs", qubits=(0, 1), num_classes=3)
SOFTMAX3 = Readout("expval", observables=((("Z", 0),), (("Z", 1),), (("X", 0),)), num_classes=3)
BINARY = Readout("expval", observables=((("Z", 0),),), num_classes=2)
CASES = [
    (PROBS3, np.array([0.3, 0.25, 0.2])),  # 0.25 of the mass on the discarded outcome 3
    (SOFTMAX3, np.array([0.3, -0.5, 0.1])),
    (BINARY, np.array([0.3])),
]


def _exact_j(readout: Readout, outputs: np.ndarray, y: int, shots: int, loss: str) -> float:
    """E[L(p̂)] over every count vector of ``shots`` shots (the shot-noise objective)."""
    if readout.kind == "probs":
        cells = np.append(outputs, 1.0 - outputs.sum())
        vectors = [
            n for n in itertools.product(range(shots + 1), repeat=cells.size) if sum(n) == shots
        ]
        weights = [multinomial.pmf(n, shots, cells) for n in vectors]
    else:
        q = (1.0 + outputs) / 2.0
        vectors = list(itertools.product(range(shots + 1), repeat=q.size))
        weights = [np.prod(binom.pmf(n, shots, q)) for n in vectors]
    probs = _probs_from_counts(readout, np.array(vectors), shots, 1.0)
    losses = loss_and_grad(loss, probs, np.full(len(vectors), y))[0]
    return float(np.dot(weights, losses))


def _exact_dj(readout, outputs, y, shots, loss, h=1e-6) -> np.ndarray:
    """∂J/∂outputs by central differences of the enumerated J (error ~h²)."""
    return np.array(
        [
            (
                _exact_j(readout, outputs + h * e, y, shots, loss)
                - _exact_j(readout, outputs - h * e, y, shots, loss)
            )
            / (2 * h)
            for e in np.eye(outputs.size)
        ]
    )


def _z(samples: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """(mean − exact) in standard errors of the mean, per column."""
    se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    return (samples.mean(axis=0) - exact) / se


# -- the sampler ------------------------------------------------------------------------------


@pytest.mark.parametrize(("readout", "outputs"), CASES, ids=["probs", "softmax", "binary"])
def test_sampled_readout_is_seeded_and_noisy(readout, outputs) -> None:
    batch = np.tile(outputs, (50, 1))
    a = sample_readout(readout, batch, 10, np.random.default_rng(1))
    b = sample_readout(readout, batch, 10, np.random.default_rng(1))
    c = sample_readout(readout, batch, 10, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-12)
    assert np.ptp(a, axis=0).max() > 0.05  # 10 shots: visibly noisy from sample to sample


def test_counts_are_multinomial_with_a_rest_cell() -> None:
    counts = sample_counts(
        PROBS3, np.tile([0.3, 0.25, 0.2], (4000, 1)), 50, np.random.default_rng(3)
    )
    assert counts.shape == (4000, 4) and np.all(counts.sum(axis=1) == 50)
    # cell frequencies within 5 standard errors of (0.3, 0.25, 0.2, 0.25)
    freq = counts / 50
    assert np.all(np.abs(_z(freq, np.array([0.3, 0.25, 0.2, 0.25]))) < 5)


def test_many_shots_converge_to_the_exact_probabilities() -> None:
    outputs = np.array([[0.3, 0.25, 0.2]])
    exact = outputs / outputs.sum()
    p = sample_readout(PROBS3, outputs, 10**7, np.random.default_rng(4))
    np.testing.assert_allclose(p, exact, atol=2e-3)


def test_a_sample_with_no_class_outcome_is_uniform() -> None:
    p = sample_readout(PROBS3, np.array([[0.0, 0.0, 0.0]]), 5, np.random.default_rng(0))
    np.testing.assert_allclose(p, [[1 / 3, 1 / 3, 1 / 3]])


@pytest.mark.parametrize("shots", [0, -1, 2.5, True])
def test_bad_shot_counts_are_refused(shots) -> None:
    with pytest.raises(ValueError, match="shots"):
        sample_readout(BINARY, np.array([[0.1]]), shots, np.random.default_rng(0))


# -- the unbiased shot-noise gradient ----------------------------------------------------------


@pytest.mark.parametrize("loss", ["cross_entropy", "mse", "hinge"])
@pytest.mark.parametrize(("readout", "outputs"), CASES, ids=["probs", "softmax", "binary"])
def test_cotangent_is_unbiased_for_the_shot_noise_objective(readout, outputs, loss) -> None:
    shots, y, draws = 4, 1, 20000
    exact = _exact_dj(readout, outputs, y, shots, loss)
    losses, cot = shot_loss_and_cotangent(
        readout,
        np.tile(outputs, (draws, 1)),
        np.full(draws, y),
        shots,
        np.random.default_rng(11),
        loss=loss,
    )
    assert np.all(np.abs(_z(cot, exact)) < 5), (cot.mean(axis=0), exact)
    j = _exact_j(readout, outputs, y, shots, loss)
    assert abs(_z(losses[:, None], np.array([j]))[0]) < 5


def test_the_test_detects_the_naive_plug_in_gradient() -> None:
    """L'(p̂)·∂p/∂o at a sampled p̂ is biased for ∇J; the 5-SE test must reject it."""
    shots, y, draws, outputs = 4, 1, 20000, np.array([0.3, 0.25, 0.2])
    exact = _exact_dj(PROBS3, outputs, y, shots, "cross_entropy")
    rng = np.random.default_rng(5)
    counts = sample_counts(PROBS3, np.tile(outputs, (draws, 1)), shots, rng)
    est = counts[:, :3] / shots
    total = np.maximum(est.sum(axis=1, keepdims=True), 1e-12)
    p = est / total
    _, g = loss_and_grad("cross_entropy", p, np.full(draws, y))
    naive = (g - (g * p).sum(axis=1, keepdims=True)) / total  # d/do of L(o / Σo)
    assert np.max(np.abs(_z(naive, exact))) > 5


def test_parameter_gradient_is_unbiased_through_the_simulator() -> None:
    """E[shot gradient] = ∇θ J(θ) for a real circuit (J enumerated, ∇ by central differences)."""
    circuit = tiny_classifier(num_qubits=2, layers=1, readout=PROBS3)
    clf = Classifier(Simulator(circuit), circuit.readout)
    theta = np.random.default_rng(2).uniform(0, 2 * np.pi, clf.num_params)
    x, y, shots = np.array([[0.4, 1.1]]), 2, 3

    def j(th: np.ndarray) -> float:
        return _exact_j(PROBS3, clf.sim.outputs(th, x=x)[0], y, shots, "cross_entropy")

    h = 1e-5
    exact = np.array([(j(theta + h * e) - j(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    # 50 batches of 200 copies of the sample: each batch's gradient is the mean of 200
    # independent estimates, and the 50 batch means give the standard error.
    rng, copies = np.random.default_rng(9), 200
    xs, ys = np.repeat(x, copies, axis=0), np.full(copies, y)
    grads = np.array(
        [clf.shot_loss_and_grads(theta, ys, shots, rng, x=xs)[1].theta for _ in range(50)]
    )
    assert np.all(np.abs(_z(grads, exact)) < 5), (grads.mean(axis=0), exact)


# -- training with shots ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def problem() -> tuple[Classifier, Dataset, np.ndarray]:
    circuit = tiny_classifier()
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    x = np.where(y[:, None] == 0, [0.6, 0.9], [2.3, 2.0]) + rng.normal(scale=0.3, size=(40, 2))
    theta0 = np.random.default_rng(1).uniform(0, 2 * np.pi, circuit.num_params)
    return Classifier(Simulator(circuit), circuit.readout), Dataset(x=x, y=y, num_classes=2), theta0


@pytest.mark.parametrize("optimizer", [Adam(lr=0.1), SPSA(a=0.3, c=0.1)], ids=["adam", "spsa"])
def test_training_with_shots_is_noisy_and_seeded(problem, optimizer) -> None:
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=optimizer, epochs=3, batch=10, seed=4)
    exact = fit(clf, theta0, data, config, progress=False)
    shot = fit(clf, theta0, data, TrainConfig(**{**config.__dict__, "shots": 8}), progress=False)
    again = fit(clf, theta0, data, TrainConfig(**{**config.__dict__, "shots": 8}), progress=False)
    other = fit(
        clf, theta0, data, TrainConfig(**{**config.__dict__, "shots": 8, "seed": 5}), progress=False
    )
    assert np.max(np.abs(np.subtract(shot.history.loss, exact.history.loss))) > 1e-3
    np.testing.assert_allclose(shot.history.loss, again.history.loss, rtol=1e-12)
    np.testing.assert_allclose(shot.theta, again.theta, rtol=1e-12)
    assert np.max(np.abs(np.subtract(shot.history.loss, other.history.loss))) > 1e-3


def test_many_shots_train_like_exact_probabilities(problem) -> None:
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=Adam(lr=0.1), epochs=2, batch=20, seed=4)
    exact = fit(clf, theta0, data, config, progress=False)
    many = fit(
        clf, theta0, data, TrainConfig(**{**config.__dict__, "shots": 10**6}), progress=False
    )
    np.testing.assert_allclose(many.history.loss, exact.history.loss, atol=0.02)
    np.testing.assert_allclose(many.theta, exact.theta, atol=0.02)
