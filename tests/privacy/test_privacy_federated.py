"""Federated averaging: one client is centralized training bit for bit, the server's update
is the clients' weighted mean, each shared update is a client's own local training, and
`train … { federated(…) }` runs from source and resumes (E0502, E0519, E0567)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.checkpoint import CheckpointError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.federated import (
    EmptyClientError,
    FederatedConfig,
    federated_fit,
    split_clients,
)
from qadl.learn.optimizers import SGD, Adam
from qadl.learn.train import CheckpointMismatchError, TrainConfig, fit
from qadl.run.session import RunOptions, run_program
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import PROGRAM


@pytest.fixture(scope="module")
def problem():
    c = encoding_circuit(3, 1, 2)
    clf = Classifier(Simulator(c), c.readout)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (60, 3))
    data = Dataset(x=x, y=(x.sum(axis=1) > 1.5).astype(int), num_classes=2)
    return clf, data, rng.normal(size=c.num_params)


@pytest.mark.parametrize("optimizer", [Adam(lr=0.1), SGD(lr=0.2, momentum=0.5)], ids=str)
def test_one_client_is_centralized_training_bit_for_bit(problem, optimizer):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=optimizer, epochs=2, batch=16, seed=3)
    central = fit(clf, theta0, data, config, progress=False)
    # 60 samples in batches of 16: 4 steps an epoch; 4 rounds of 2 steps are 2 epochs
    fed = federated_fit(clf, theta0, data, config, FederatedConfig(1, rounds=4, local_steps=2))
    # same machine, same operations in the same order: equal to the last bit, by design
    np.testing.assert_array_equal(fed.training.theta, central.theta)
    assert not np.array_equal(central.theta, theta0)


@pytest.mark.parametrize("split", ["iid", "dirichlet"])
def test_aggregated_update_is_the_weighted_mean_of_the_clients(problem, split):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=Adam(lr=0.1), batch=8, seed=5)
    fed = federated_fit(
        clf, theta0, data, config, FederatedConfig(4, rounds=3, local_steps=2, split=split)
    )
    weights = fed.sizes / fed.sizes.sum()
    mean = np.einsum("k,rkp->rp", weights, fed.updates)
    np.testing.assert_allclose(fed.aggregated, mean, atol=1e-13)
    np.testing.assert_allclose(theta0 + fed.aggregated.sum(axis=0), fed.training.theta, atol=1e-12)
    assert np.all(np.linalg.norm(fed.updates, axis=2) > 0)
    if split == "iid":  # equal parts: the plain mean of the clients' updates
        np.testing.assert_allclose(fed.aggregated, fed.updates.mean(axis=1), atol=1e-13)


def test_a_shared_update_is_the_clients_local_training(problem):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=Adam(lr=0.1), batch=10, seed=2)
    fed = federated_fit(clf, theta0, data, config, FederatedConfig(2, rounds=1, local_steps=3))
    parts = split_clients(data.y, FederatedConfig(2), seed=2)
    for k, idx in enumerate(parts):  # 30 samples: 3 steps of 10 are one local epoch
        local = fit(
            clf,
            theta0,
            data.take(idx),
            TrainConfig(optimizer=Adam(lr=0.1), epochs=1, batch=10, seed=2 + k),
            progress=False,
        )
        np.testing.assert_allclose(fed.updates[0, k], local.theta - theta0, atol=1e-14)


def test_splits_partition_the_data():
    y = np.repeat([0, 1, 2], 20)
    for config in (FederatedConfig(5), FederatedConfig(5, split="dirichlet", alpha=0.3)):
        parts = split_clients(y, config, seed=1)
        joined = np.sort(np.concatenate(parts))
        np.testing.assert_array_equal(joined, np.arange(60))
        assert all(len(p) > 0 for p in parts)
    iid = split_clients(y, FederatedConfig(5), seed=1)
    assert {len(p) for p in iid} == {12}
    skewed = split_clients(y, FederatedConfig(5, split="dirichlet", alpha=0.1), seed=1)
    # a small α gives clients dominated by one class
    top = [np.bincount(y[p], minlength=3).max() / len(p) for p in skewed]
    assert np.mean(top) > 0.7
    with pytest.raises(EmptyClientError):
        split_clients(y, FederatedConfig(61), seed=1)


FED = "train clf on circle.train {{ federated({args}){opts}; batch 16; seed 3 }}\n"


@pytest.mark.parametrize(
    ("args", "opts", "code", "words"),
    [
        ("clients = 2", "; epochs 3", "E0519", "`epochs` does not apply"),
        ("clients = 2", "; checkpoint 1", "E0519", "`checkpoint` does not apply"),
        ("8, rounds = 2", "", "E0502", "keyword options only"),
        ("split = dirichlet(alpha = 0)", "", "E0502", "must be > 0"),
        ("aggregate = fedprox", "", "E0502", "fedavg"),
        ("client = 3", "", "E0502", "did you mean `clients`"),
    ],
)
def test_refused_at_check(args, opts, code, words):
    with pytest.raises(QadlError) as info:
        load_source(PROGRAM + FED.format(args=args, opts=opts))
    found = [(d.code, d.message) for d in info.value.diagnostics]
    assert any(c == code and words in m for c, m in found), found


def _run(text, tmp_path, **kw):
    options = RunOptions(tmp_path / "o", plots=False, progress=False, **kw)
    return run_program(load_source(text), options)


def test_run_records_the_shared_updates(tmp_path):
    args = "clients = 3, rounds = 2, local_steps = 2, split = dirichlet(alpha = 1.0)"
    results = _run(PROGRAM + FED.format(args=args, opts=""), tmp_path)
    record = json.loads((tmp_path / "o" / "results.json").read_text())["federated"]["clf"]
    assert record == results["federated"]["clf"]
    assert record["clients"] == 3 and record["rounds"] == 2 and record["alpha"] == 1.0
    assert sum(record["client_sizes"]) == results["data"]["circle"]["train"]
    saved = np.load(tmp_path / "o" / record["updates"])
    assert saved["updates"].shape == (2, 3, 4) and saved["aggregated"].shape == (2, 4)
    assert len(results["models"]["clf"]["history"]["epoch"]) == 2  # one row per round
    theta = np.load(tmp_path / "o" / "clf.params.npz")
    assert np.all(np.isfinite(theta[theta.files[0]]))


@pytest.mark.parametrize(
    ("args", "kw", "code"),
    [("clients = 1000", {}, "E0567")],
)
def test_refused_at_run(args, kw, code, tmp_path):
    with pytest.raises(QadlError) as info:
        _run(PROGRAM + FED.format(args=args, opts=""), tmp_path, **kw)
    assert [d.code for d in info.value.diagnostics] == [code]


def test_resumed_run_equals_an_uninterrupted_one(problem, tmp_path):
    """3 rounds, then resumed to 5, give the 5-round run's θ and updates to the last bit."""
    clf, data, theta0 = problem
    fed = FederatedConfig(3, rounds=5, local_steps=3, split="dirichlet", alpha=1.0)
    config = TrainConfig(optimizer=Adam(lr=0.1), batch=7, seed=4, checkpoint_dir=str(tmp_path))
    whole = federated_fit(clf, theta0, data, replace(config, checkpoint_dir=None), fed)
    federated_fit(clf, theta0, data, config, replace(fed, rounds=3))
    resumed = federated_fit(clf, theta0, data, replace(config, resume=True), fed)
    np.testing.assert_array_equal(resumed.training.theta, whole.training.theta)
    np.testing.assert_array_equal(resumed.updates, whole.updates)
    assert resumed.training.history.epoch == (1, 2, 3, 4, 5)


def test_resume_refuses_another_run_or_fewer_rounds(problem, tmp_path):
    clf, data, theta0 = problem
    config = TrainConfig(optimizer=Adam(lr=0.1), batch=8, seed=4, checkpoint_dir=str(tmp_path))
    federated_fit(clf, theta0, data, config, FederatedConfig(2, rounds=2, local_steps=1))
    again = replace(config, resume=True)
    with pytest.raises(CheckpointMismatchError):
        federated_fit(clf, theta0, data, again, FederatedConfig(3, rounds=2, local_steps=1))
    with pytest.raises(CheckpointError, match="more than"):
        federated_fit(clf, theta0, data, again, FederatedConfig(2, rounds=1, local_steps=1))


def test_run_resumes_from_source(tmp_path):
    args = "clients = 2, rounds = 2, local_steps = 1"
    first = _run(PROGRAM + FED.format(args=args, opts=""), tmp_path)
    again = _run(
        PROGRAM + FED.format(args=args.replace("2, local", "3, local"), opts=""),
        tmp_path,
        resume=True,
    )
    assert len(again["models"]["clf"]["history"]["epoch"]) == 3
    assert (
        again["models"]["clf"]["history"]["loss"][:2] == first["models"]["clf"]["history"]["loss"]
    )
