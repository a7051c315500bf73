"""Inverting the updates recorded in federated training (`source = updates`): the recorded
mini-batches are the ones each update came from, an update of one SGD step is −lr times
the shared gradient, inverting it recovers the inputs, DP-SGD training stops that; E0965."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.federated import FederatedConfig, federated_fit
from qadl.learn.optimizers import SGD
from qadl.learn.train import TrainConfig
from qadl.run.preflight import preflight
from qadl.run.session import RunOptions, run_program
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import PROGRAM


@pytest.fixture(scope="module")
def problem():
    c = encoding_circuit(3, 1, 2)
    clf = Classifier(Simulator(c), c.readout)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (30, 3))
    data = Dataset(x=x, y=(x.sum(axis=1) > 1.5).astype(int), num_classes=2)
    return clf, data, rng.normal(size=c.num_params)


def test_an_update_is_minus_lr_times_the_recorded_batchs_gradient(problem):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=SGD(lr=0.3), batch=4, seed=1)
    fed = federated_fit(clf, theta0, data, config, FederatedConfig(3, rounds=3, local_steps=1))
    theta = theta0.copy()
    for r in range(3):
        for k in range(3):
            rows = fed.batches[r, k, 0]
            rows = rows[rows >= 0]
            _, grads = clf.loss_and_grads(theta, data.y[rows], x=data.x[rows])
            np.testing.assert_allclose(fed.updates[r, k], -0.3 * grads.theta, atol=1e-13)
        theta = theta + fed.aggregated[r]
    # each client draws from its own samples only
    assert len({tuple(sorted(fed.batches[0, k, 0])) for k in range(3)}) == 3


def test_resumed_run_keeps_the_recorded_batches(problem, tmp_path):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=SGD(lr=0.3), batch=4, seed=1, checkpoint_dir=str(tmp_path))
    whole = federated_fit(clf, theta0, data, config, FederatedConfig(2, rounds=3, local_steps=2))
    federated_fit(clf, theta0, data, config, FederatedConfig(2, rounds=2, local_steps=2))
    resumed = federated_fit(
        clf, theta0, data, replace(config, resume=True), FederatedConfig(2, rounds=3, local_steps=2)
    )
    np.testing.assert_array_equal(resumed.batches, whole.batches)


TRAIN = (
    "train clf on circle.train {{ federated(clients = 4, rounds = 3, local_steps = 1); "
    "optimizer sgd(lr = 0.2); batch 1; seed 3{dp} }}\n"
)
ATTACK = (
    "attack up on clf { method gradient_inversion(source = updates, round = 2, restarts = 2, "
    "samples = 4); clip [-1, 1]; seed 1 }\n"
)


def _record(dp: str, tmp_path) -> dict:
    text = PROGRAM + TRAIN.format(dp=dp) + ATTACK
    options = RunOptions(tmp_path / "o", plots=False, progress=False)
    return run_program(load_source(text), options)["privacy"]["up"]


def test_recorded_updates_are_inverted_unless_dp_training_noised_them(tmp_path):
    plain = _record("", tmp_path)
    assert (plain["source"], plain["round"], plain["clients_attacked"]) == (
        "updates",
        2,
        [0, 1, 2, 3],
    )
    assert plain["recovered_fraction"] == 1.0 and plain["median_error"] < 1e-8
    noised = _record("; dp(clip = 1, noise = 1)", tmp_path)
    assert noised["dp"]["source"] == "training" and noised["dp"]["training_epsilon"] > 0
    assert noised["recovered_fraction"] == 0.0


@pytest.mark.parametrize(
    ("train", "words"),
    [
        ("train clf on circle.train { epochs 1 }\n", "not trained by `federated(...)`"),
        (TRAIN.format(dp="").replace("local_steps = 1", "local_steps = 2"), "local steps"),
        (TRAIN.format(dp="").replace("sgd(lr = 0.2)", "adam"), "not plain `sgd`"),
        (TRAIN.format(dp="").replace("rounds = 3", "rounds = 1"), "1 rounds, not 2"),
    ],
)
def test_updates_that_are_no_gradient_refused_by_qadl_check(train, words):
    with pytest.raises(QadlError) as info:
        preflight(load_source(PROGRAM + train + ATTACK))
    (diag,) = info.value.diagnostics
    assert diag.code == "E0965" and words in diag.message


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("round = 2", "give `source = updates` too"),
        ("source = updates, batch = 2", "`batch` does not apply"),
        ("source = updates, clip_norm = 1", "`clip_norm` does not apply"),
    ],
)
def test_options_of_simulated_releases_refused_with_updates(args, words):
    text = (
        PROGRAM
        + TRAIN.format(dp="")
        + f"attack up on clf {{ method gradient_inversion({args}) }}\n"
    )
    with pytest.raises(QadlError) as info:
        load_source(text)
    assert any(words in d.message for d in info.value.diagnostics), info.value.diagnostics
