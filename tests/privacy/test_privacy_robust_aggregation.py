"""Robust aggregation of federated training: `aggregate = median | trimmed_mean(beta)`
combine the clients' θ coordinate by coordinate, so one outlying client moves θ little."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import trim_mean

from qadl.backends.sim import Simulator
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.federated import FederatedConfig, aggregate, federated_fit
from qadl.learn.optimizers import Adam
from qadl.learn.train import TrainConfig
from qadl.run.session import RunOptions, run_program
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import PROGRAM


def test_rules_against_numpy_and_scipy():
    rng = np.random.default_rng(0)
    thetas, weights = rng.normal(size=(7, 5)), np.full(7, 1 / 7)
    fed = aggregate(thetas, weights, FederatedConfig(7))
    np.testing.assert_allclose(fed, thetas.mean(axis=0), atol=1e-15)
    med = aggregate(thetas, weights, FederatedConfig(7, aggregate="median"))
    np.testing.assert_array_equal(med, np.median(thetas, axis=0))
    trimmed = aggregate(thetas, weights, FederatedConfig(7, aggregate="trimmed_mean", beta=0.3))
    # floor(0.3 · 7) = 2 clients dropped at each end, as scipy's trim_mean
    np.testing.assert_allclose(trimmed, trim_mean(thetas, 0.3, axis=0), atol=1e-15)


@pytest.mark.parametrize("rule", ["median", "trimmed_mean"])
def test_one_outlying_client_moves_robust_rules_little(rule):
    rng = np.random.default_rng(1)
    thetas = rng.normal(scale=0.01, size=(9, 4))
    thetas[3] = 100.0  # one client sends garbage
    config = FederatedConfig(9, aggregate=rule, beta=0.2)
    robust = aggregate(thetas, np.full(9, 1 / 9), config)
    mean = aggregate(thetas, np.full(9, 1 / 9), FederatedConfig(9))
    assert np.max(np.abs(robust)) < 0.05 < 10.0 < np.min(mean)


def test_federated_training_with_the_median(tmp_path):
    c = encoding_circuit(3, 1, 2)
    clf = Classifier(Simulator(c), c.readout)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 3))
    data = Dataset(x=x, y=(x.sum(axis=1) > 1.5).astype(int), num_classes=2)
    theta0 = rng.normal(size=c.num_params)
    config = TrainConfig(optimizer=Adam(lr=0.1), batch=5, seed=2)
    fed = federated_fit(
        clf, theta0, data, config, FederatedConfig(4, rounds=2, local_steps=1, aggregate="median")
    )
    # θ after round 1 = θ0 + the median of the clients' updates
    np.testing.assert_allclose(fed.aggregated[0], np.median(fed.updates[0], axis=0), atol=1e-14)
    results = run_program(
        load_source(
            PROGRAM + "train clf on circle.train { federated(clients = 3, rounds = 2, "
            "aggregate = trimmed_mean(beta = 0.34)); batch 16 }\n"
        ),
        RunOptions(tmp_path / "o", plots=False, progress=False),
    )
    record = results["federated"]["clf"]
    assert (record["aggregate"], record["beta"]) == ("trimmed_mean", 0.34)
