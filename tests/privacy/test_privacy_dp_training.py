"""DP-SGD as a training defence: per-sample gradients, clipping and noise of every step,
the accountant's (ε, δ) over the run (centralized and federated), and gradient inversion
of the releases a DP-SGD client shares."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from qadl.adversary.privacy.accountant import gaussian_epsilon
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.dp import DPConfig, clip_and_noise, per_sample_gradients
from qadl.learn.federated import FederatedConfig, federated_fit
from qadl.learn.optimizers import SGD, Adam
from qadl.learn.train import TrainConfig, fit
from qadl.run.session import RunOptions, run_program
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import INV, PROGRAM


@pytest.fixture(scope="module")
def problem():
    c = encoding_circuit(3, 1, 2)
    clf = Classifier(Simulator(c), c.readout)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 3))
    data = Dataset(x=x, y=(x.sum(axis=1) > 1.5).astype(int), num_classes=2)
    return clf, data, rng.normal(size=c.num_params)


def test_per_sample_gradients_are_each_samples_own(problem):
    clf, data, theta = problem
    part = data.take(np.arange(6))
    _, grads = clf.loss_and_grads(theta, part.y, x=part.x)
    assert grads.theta_per_sample is not None  # the fused batch path kept them
    kept = per_sample_gradients(grads, 6, None)
    alone = np.stack(
        [
            clf.loss_and_grads(theta, part.y[b : b + 1], x=part.x[b : b + 1])[1].theta
            for b in range(6)
        ]
    )
    np.testing.assert_allclose(kept, alone, atol=1e-13)
    np.testing.assert_allclose(kept.mean(axis=0), grads.theta, atol=1e-13)
    # without kept parts, each sample is differentiated alone
    fallback = per_sample_gradients(
        type("G", (), {"theta_per_sample": None})(), 6, alone.__getitem__
    )
    np.testing.assert_array_equal(fallback, alone)


def test_clipping_bounds_each_sample_and_noise_is_calibrated():
    g = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    rng = np.random.default_rng(0)
    clipped = clip_and_noise(g, DPConfig(clip=1.0, noise=0.0), rng)
    # norms 5 -> 1, 0.5 stays, 0 stays: (0.6 + 0.3, 0.8 + 0.4) / 3
    np.testing.assert_allclose(clipped, [0.3, 0.4], atol=1e-15)
    draws = np.stack([clip_and_noise(g, DPConfig(clip=0.5, noise=2.0), rng) for _ in range(2000)])
    # noise std σ·C on the sum, divided by B = 3
    assert np.std(draws) == pytest.approx(2.0 * 0.5 / 3, rel=0.05)


def test_loose_clip_without_noise_is_ordinary_training(problem):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=SGD(lr=0.2), epochs=2, batch=8, seed=3)
    plain = fit(clf, theta0, data, config, progress=False)
    loose = fit(clf, theta0, data, _with_dp(config, clip=1e9, noise=0.0), progress=False)
    np.testing.assert_allclose(loose.theta, plain.theta, atol=1e-12)


def _with_dp(config: TrainConfig, **dp) -> TrainConfig:
    return replace(config, dp=DPConfig(**dp))


def test_dp_training_is_seeded_and_noise_changes_it(problem):
    clf, data, theta0 = problem
    config = _with_dp(TrainConfig(optimizer=Adam(lr=0.1), epochs=2, batch=8, seed=3), noise=1.0)
    a = fit(clf, theta0, data, config, progress=False)
    b = fit(clf, theta0, data, config, progress=False)
    np.testing.assert_array_equal(a.theta, b.theta)  # same process, same seed
    clipped = fit(clf, theta0, data, _with_dp(config, noise=0.0), progress=False)
    assert np.max(np.abs(a.theta - clipped.theta)) > 1e-3


def test_federated_updates_are_dp_releases(problem):
    """One client with DP is centralized DP training (same noise draws, same order)."""
    clf, data, theta0 = problem
    config = _with_dp(TrainConfig(optimizer=Adam(lr=0.1), epochs=2, batch=10, seed=4), noise=0.7)
    central = fit(clf, theta0, data, config, progress=False)
    fed = federated_fit(clf, theta0, data, config, FederatedConfig(1, rounds=8, local_steps=1))
    np.testing.assert_array_equal(fed.training.theta, central.theta)
    plain = federated_fit(
        clf, theta0, data, _with_dp(config, noise=0.0), FederatedConfig(1, rounds=8, local_steps=1)
    )
    assert np.max(np.abs(fed.updates - plain.updates)) > 1e-3


def test_gradient_free_optimizer_cannot_clip(problem):
    with pytest.raises(ValueError, match="gradient-based"):
        _with_dp(TrainConfig(optimizer=_spsa()), noise=1.0)


def _spsa():
    from qadl.learn.optimizers import make_optimizer

    return make_optimizer("spsa")


DP_TRAIN = "train clf on circle.train {{ epochs 2; batch 32; seed 3; {dp} }}\n"
FED_TRAIN = (
    "train clf on circle.train {{ federated(clients = 3, rounds = 4, local_steps = 2); "
    "batch 16; seed 3; {dp} }}\n"
)


def _run(text: str, tmp_path):
    return run_program(load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False))


def test_run_records_the_accountants_epsilon_for_the_runs_steps(tmp_path, capsys):
    results = _run(
        PROGRAM + DP_TRAIN.format(dp="dp(clip = 0.5, noise = 1.1, delta = 1e-6)"), tmp_path
    )
    record = json.loads((tmp_path / "o" / "results.json").read_text())["models"]["clf"]["dp"]
    assert record == results["models"]["clf"]["dp"]
    n = 300  # circle.csv: 400 samples, test = 0.25
    steps = 2 * math.ceil(n / 32)
    assert record["steps"] == steps and record["sampling_rate"] == pytest.approx(32 / n)
    assert record["epsilon"] == pytest.approx(gaussian_epsilon(32 / n, 1.1, steps, 1e-6), rel=1e-12)
    assert (record["clip"], record["noise"], record["delta"]) == (0.5, 1.1, 1e-6)
    assert f"({record['epsilon']:.3g}, 1e-06)" in capsys.readouterr().out


def test_federated_run_accounts_each_client_on_its_own_data(tmp_path):
    results = _run(PROGRAM + FED_TRAIN.format(dp="dp(clip = 1, noise = 0.8)"), tmp_path)
    fed = results["federated"]["clf"]
    record = results["models"]["clf"]["dp"]
    assert fed["dp"] == record and record["steps"] == 4 * 2
    expected = [gaussian_epsilon(16 / n, 0.8, 8, 1e-5) for n in fed["client_sizes"]]
    np.testing.assert_allclose(record["client_epsilon"], expected, rtol=1e-12)
    assert record["epsilon"] == max(expected)


def test_noise_zero_has_no_guarantee(tmp_path):
    results = _run(PROGRAM + DP_TRAIN.format(dp="dp(clip = 1, noise = 0)"), tmp_path)
    assert results["models"]["clf"]["dp"]["epsilon"] is None


def test_inversion_attacks_the_dp_release_of_a_dp_trained_model(tmp_path, capsys):
    """The attack inherits clip and noise from `dp(…)`; the noise stops it (at fixed seeds),
    where the same model trained with clipping only is inverted."""
    attack = INV.format(
        args="loss = cosine, restarts = 2, samples = 2, steps = 60", opts="; clip [-1, 1]; seed 2"
    )

    def attacked(dp: str) -> dict:
        return _run(PROGRAM + DP_TRAIN.format(dp=dp) + attack, tmp_path)["privacy"]["inv"]

    clipped, noised = attacked("dp(clip = 1, noise = 0)"), attacked("dp(clip = 1, noise = 1)")
    assert clipped["dp"]["source"] == "training" and clipped["dp"]["noise"] == 0.0
    assert clipped["recovered_fraction"] == 1.0
    assert noised["dp"]["clip_norm"] == 1.0 and noised["dp"]["noise"] == 1.0
    assert noised["dp"]["training_epsilon"] > 0 and noised["dp"]["epsilon"] == pytest.approx(
        4.7285, rel=1e-3
    )
    assert noised["recovered_fraction"] == 0.0
    assert "run ε" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("dp", "words"),
    [
        ("dp(clip = 0)", "must be > 0"),
        ("dp(noise = -1)", "must be >= 0"),
        ("dp(delta = 1)", "must be in (0, 1)"),
        ("dp(clip = 1, sigma = 2)", "no option `sigma`"),
        ("dp(1.0)", "expected `dp(clip = 1.0"),
        ("dp(clip = 1); optimizer spsa", "`spsa` does not use gradients"),
    ],
)
def test_dp_option_refused_at_check(dp, words):
    with pytest.raises(QadlError) as info:
        load_source(PROGRAM + DP_TRAIN.format(dp=dp))
    assert any(words in d.message for d in info.value.diagnostics), info.value.diagnostics


def test_dp_run_resumed_from_its_checkpoint_is_the_uninterrupted_run(problem, tmp_path):
    """The noise comes from the run's generator, which the checkpoint keeps."""
    clf, data, theta0 = problem
    base = _with_dp(TrainConfig(optimizer=Adam(lr=0.1), batch=8, seed=5), noise=1.0)
    straight = fit(clf, theta0, data, replace(base, epochs=3), progress=False)
    first = replace(base, epochs=2, checkpoint_dir=str(tmp_path / "ck"))
    fit(clf, theta0, data, first, progress=False)
    resumed = fit(clf, theta0, data, replace(first, epochs=3, resume=True), progress=False)
    np.testing.assert_array_equal(resumed.theta, straight.theta)  # same process
    other = fit(clf, theta0, data, replace(base, epochs=3, seed=6), progress=False)
    assert not np.array_equal(other.theta, straight.theta)
