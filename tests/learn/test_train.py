"""Training: accuracy on a tiny problem, reproducibility, checkpoint/resume identity, options."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.learn.checkpoint import CHECKPOINT_NAME, load_checkpoint
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.optimizers import COBYLA, SGD, SPSA, Adam
from qadl.learn.train import (
    CheckpointMismatchError,
    TrainConfig,
    evaluate,
    fit,
    qubit_blocks,
)

from .circuits import tiny_classifier


@pytest.fixture(scope="module")
def clf() -> Classifier:
    circuit = tiny_classifier()
    return Classifier(Simulator(circuit), circuit.readout)


@pytest.fixture(scope="module")
def blobs() -> tuple[Dataset, Dataset]:
    """Two well-separated Gaussian blobs of 2 features (angles), 40 train / 40 test."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    x = np.where(y[:, None] == 0, [0.6, 0.9], [2.3, 2.0]) + rng.normal(scale=0.3, size=(80, 2))
    data = Dataset(x=x, y=y, num_classes=2, name="blobs")
    return data.take(np.arange(0, 80, 2)), data.take(np.arange(1, 80, 2))


def _theta0(clf: Classifier) -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 2 * np.pi, clf.num_params)


def test_adam_reaches_high_accuracy(clf, blobs) -> None:
    train, test = blobs
    config = TrainConfig(optimizer=Adam(lr=0.1), epochs=10, batch=10, seed=3)
    result = fit(clf, _theta0(clf), train, config, test=test)
    h = result.history
    assert h.epoch == tuple(range(1, 11))
    assert h.train_acc[-1] >= 0.95 and h.test_acc[-1] >= 0.95
    assert h.loss[-1] < h.loss[0]
    assert all(b > a for a, b in zip(h.seconds, h.seconds[1:], strict=False))
    assert evaluate(clf, result.theta, test)[1] == h.test_acc[-1]


@pytest.mark.parametrize(
    ("optimizer", "epochs", "batch"),
    [(SPSA(a=0.5, c=0.1, seed=2), 15, 10), (COBYLA(maxiter=40, rhobeg=0.5), 2, 40)],
    ids=["spsa", "cobyla"],
)
def test_gradient_free_training(clf, blobs, optimizer, epochs, batch) -> None:
    train, test = blobs
    config = TrainConfig(optimizer=optimizer, epochs=epochs, batch=batch)
    result = fit(clf, _theta0(clf), train, config, test=test)
    assert result.history.test_acc[-1] >= 0.9


def test_runs_are_reproducible_and_seed_dependent(clf, blobs) -> None:
    train, _ = blobs
    config = TrainConfig(optimizer=Adam(lr=0.1), epochs=2, batch=7, seed=5)
    a = fit(clf, _theta0(clf), train, config)
    b = fit(clf, _theta0(clf), train, config)
    np.testing.assert_array_equal(a.theta, b.theta)
    c = fit(
        clf, _theta0(clf), train, TrainConfig(optimizer=Adam(lr=0.1), epochs=2, batch=7, seed=6)
    )
    assert not np.array_equal(a.theta, c.theta)


class _Killed(Exception):
    pass


def test_resume_gives_the_uninterrupted_result(clf, blobs, tmp_path) -> None:
    """4 epochs in one go == 2 epochs, stop, resume to 4 == killed in epoch 3, resume to 4."""
    train, test = blobs

    def hook(theta, batch, rng):  # consumes the run's RNG, like adversarial training would
        noise = rng.normal(scale=0.01, size=batch.x.shape)
        return batch.with_inputs(x=batch.x + noise)

    def config(epochs: int, directory) -> TrainConfig:
        return TrainConfig(
            optimizer=Adam(lr=0.1),
            epochs=epochs,
            batch=8,
            seed=9,
            checkpoint_dir=str(directory),
            resume=True,
        )

    straight = fit(clf, _theta0(clf), train, config(4, tmp_path / "a"), batch_hook=hook, test=test)

    fit(clf, _theta0(clf), train, config(2, tmp_path / "b"), batch_hook=hook, test=test)
    assert load_checkpoint(tmp_path / "b").epoch == 2
    resumed = fit(clf, _theta0(clf), train, config(4, tmp_path / "b"), batch_hook=hook, test=test)
    np.testing.assert_array_equal(resumed.theta, straight.theta)

    calls = {"n": 0}

    def dying_hook(theta, batch, rng):
        calls["n"] += 1
        if calls["n"] == 12:  # the middle of epoch 3 (5 batches per epoch)
            raise _Killed
        return hook(theta, batch, rng)

    with pytest.raises(_Killed):
        fit(clf, _theta0(clf), train, config(4, tmp_path / "c"), batch_hook=dying_hook, test=test)
    assert load_checkpoint(tmp_path / "c").epoch == 2
    again = fit(clf, _theta0(clf), train, config(4, tmp_path / "c"), batch_hook=hook, test=test)
    np.testing.assert_array_equal(again.theta, straight.theta)
    for name in ("epoch", "loss", "train_acc", "test_acc", "test_loss"):
        assert getattr(again.history, name) == getattr(straight.history, name)
    assert not list((tmp_path / "c").glob("*.tmp"))
    assert (tmp_path / "c" / CHECKPOINT_NAME).exists()


def test_resume_refuses_a_checkpoint_of_another_run(clf, blobs, tmp_path) -> None:
    train, _ = blobs
    base = TrainConfig(epochs=1, batch=20, checkpoint_dir=str(tmp_path), resume=True)
    fit(clf, _theta0(clf), train, base)
    with pytest.raises(CheckpointMismatchError):
        fit(clf, _theta0(clf), train, replace(base, epochs=2, batch=10))
    longer = fit(clf, _theta0(clf), train, replace(base, epochs=2))  # more epochs: fine
    assert longer.history.epoch == (1, 2)


def test_early_stopping_restores_the_best_epoch(clf, blobs) -> None:
    """With a zero learning rate nothing improves after epoch 1: stop after `patience` more."""
    train, test = blobs
    config = TrainConfig(optimizer=SGD(lr=0.0), epochs=10, batch=20, patience=2)
    result = fit(clf, _theta0(clf), train, config, test=test)
    assert result.stopped_early and result.history.epoch == (1, 2, 3) and result.best_epoch == 1
    np.testing.assert_array_equal(result.theta, _theta0(clf))


def test_block_coordinate_steps_change_one_block(clf, blobs) -> None:
    train, _ = blobs
    blocks = qubit_blocks(clf.sim.circuit)
    assert sorted(i for b in blocks for i in b) == list(range(clf.num_params))
    assert len(blocks) == 2  # one block per qubit
    config = TrainConfig(optimizer=Adam(lr=0.1), epochs=1, batch=40, blocks=blocks)
    theta = fit(clf, _theta0(clf), train, config).theta
    changed = np.flatnonzero(theta != _theta0(clf))
    assert set(changed) == set(blocks[0])


def test_batch_hook_sees_every_batch_and_can_extend_it(clf, blobs) -> None:
    train, _ = blobs
    sizes = []

    def hook(theta, batch, rng):
        assert theta.shape == (clf.num_params,) and isinstance(rng, np.random.Generator)
        sizes.append(len(batch))
        return batch.concat(batch)

    fit(clf, _theta0(clf), train, TrainConfig(epochs=2, batch=15), batch_hook=hook)
    assert sizes == [15, 15, 10, 15, 15, 10]


def test_parameter_shift_training_matches_adjoint(clf, blobs) -> None:
    train, _ = blobs
    results = [
        fit(clf, _theta0(clf), train, TrainConfig(epochs=1, batch=20, method=m)).theta
        for m in ("adjoint", "parameter-shift")
    ]
    np.testing.assert_allclose(results[0], results[1], atol=1e-8)


def test_progress_off_a_terminal_is_one_plain_line_per_epoch(clf, blobs, capsys) -> None:
    """No bar and no control characters off a terminal: one log line per epoch on stdout."""
    fit(clf, _theta0(clf), blobs[0], TrainConfig(epochs=2, batch=40), progress=True)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "loss" in lines[0] and "train accuracy" in lines[0]
    assert "\x1b" not in captured.out and captured.err == ""


def test_no_progress_is_silent(clf, blobs, capsys) -> None:
    fit(clf, _theta0(clf), blobs[0], TrainConfig(epochs=1, batch=40), progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="l1")
    with pytest.raises(ValueError):
        TrainConfig(batch=0)
    with pytest.raises(ValueError, match="method"):
        TrainConfig(method="finite-difference")
    with pytest.raises(ValueError, match="gradient-based"):
        TrainConfig(optimizer=SPSA(), blocks=((0,),))


def test_progress_bar_on_a_terminal_shows_loss_and_accuracy(
    clf, blobs, capsys, monkeypatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    fit(clf, _theta0(clf), blobs[0], TrainConfig(epochs=2, batch=20), test=blobs[1])
    err = capsys.readouterr().err
    assert "train" in err and "loss" in err and "test_acc" in err


def test_training_on_quantum_data(tmp_path, monkeypatch) -> None:
    """Ferromagnetic vs paramagnetic Ising ground states, fed in as input states."""
    from qadl.learn.quantum_data import ising

    from .circuits import tiny_state_classifier

    monkeypatch.setenv("QADL_CACHE_DIR", str(tmp_path))
    train, test = ising(qubits=4, samples=60, ferro=(0.0, 0.5), para=(1.5, 2.0), test=0.25, seed=3)
    circuit = tiny_state_classifier(num_qubits=4)
    clf = Classifier(Simulator(circuit), circuit.readout)  # δ symbols unbound: zero
    config = TrainConfig(optimizer=Adam(lr=0.1), epochs=10, batch=9, seed=1)
    theta0 = np.random.default_rng(0).uniform(-0.1, 0.1, circuit.num_params)
    result = fit(clf, theta0, train, config, test=test)
    assert result.history.test_acc[-1] >= 0.9
