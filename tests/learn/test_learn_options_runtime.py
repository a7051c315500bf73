"""Training options that only the run can refute: divergence, validation splits, checkpoint
directories, and the command line's counts. Every failure is a located user error (exit 1),
never a traceback, an internal error or an exit 0 with NaN results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.cli import main
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.optimizers import SGD, SPSA
from qadl.learn.train import (
    MAX_PARAM,
    DivergedError,
    History,
    TrainConfig,
    ValidationSplitError,
    fit,
    split_validation,
)

from .circuits import tiny_classifier

CSV = "x0,x1,label\n" + "".join(
    f"{0.4 + 0.1 * (i % 5):.2f},{0.9 - 0.1 * (i % 3):.2f},0\n"
    f"{2.1 + 0.1 * (i % 4):.2f},{2.0 + 0.1 * (i % 2):.2f},1\n"
    for i in range(12)
)
PROGRAM = """
data pts = file("pts.csv", test = 0.25, seed = 1)
model m(x: float[2]) on q[2] {{
    ry(x[0]) q[0]
    ry(x[1]) q[1]
    param θ[2]
    cz q[0], q[1]
    for i in 0..2 {{ ry(θ[i]) q[i] }}
    readout probs(q[0])
}}
train m on pts.train {{ epochs 2; batch 6; {options} }}
"""


@pytest.fixture(scope="module")
def problem() -> tuple[Classifier, Dataset, np.ndarray]:
    circuit = tiny_classifier()
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    x = np.where(y[:, None] == 0, [0.6, 0.9], [2.3, 2.0]) + rng.normal(scale=0.3, size=(40, 2))
    theta0 = np.random.default_rng(1).uniform(0, 2 * np.pi, circuit.num_params)
    return Classifier(Simulator(circuit), circuit.readout), Dataset(x=x, y=y, num_classes=2), theta0


# -- fit ------------------------------------------------------------------------------------


def test_an_absurd_learning_rate_stops_with_divergence(problem) -> None:
    clf, data, theta0 = problem
    with pytest.raises(DivergedError, match="epoch 1, step 1"):
        fit(clf, theta0, data, TrainConfig(optimizer=SGD(lr=1e300), epochs=2), progress=False)


def test_a_nan_loss_stops_with_divergence(problem) -> None:
    clf, data, theta0 = problem

    class NanSim:
        num_params = clf.sim.num_params

        def outputs(self, theta, **kw):
            return np.full((len(kw["x"]), 2), np.nan)

    nan_clf = Classifier(NanSim(), clf.readout)
    with pytest.raises(DivergedError, match="loss is nan"):
        fit(nan_clf, theta0, data, TrainConfig(optimizer=SPSA(), epochs=1), progress=False)
    # a healthy run stays well inside the bound
    result = fit(clf, theta0, data, TrainConfig(epochs=1), progress=False)
    assert np.all(np.abs(result.theta) < MAX_PARAM)


def test_validation_split_is_seeded_disjoint_and_complete(problem) -> None:
    _, data, _ = problem
    kept, held = split_validation(data, 0.25, seed=3)
    _, held_again = split_validation(data, 0.25, seed=3)
    _, other = split_validation(data, 0.25, seed=4)
    assert len(held) == 10 and len(kept) == 30
    np.testing.assert_array_equal(held.x, held_again.x)
    assert not np.array_equal(held.x, other.x)
    rows = {tuple(r) for r in np.vstack([kept.x, held.x])}
    assert rows == {tuple(r) for r in data.x}
    assert split_validation(data, 0.0, seed=3) == (data, None)
    with pytest.raises(ValidationSplitError, match="holds out 0"):
        split_validation(data, 0.001, seed=3)


def test_validation_metrics_are_measured_on_the_held_out_samples(problem) -> None:
    clf, data, theta0 = problem
    config = TrainConfig(epochs=2, batch=10, validation=0.25, seed=3)
    result = fit(clf, theta0, data, config, progress=False)
    _, held = split_validation(data, 0.25, seed=3)
    probs = clf.predict_proba(result.theta, x=held.x)
    accuracy = float(np.mean(np.argmax(probs, axis=1) == held.y))
    loss = float(np.mean(-np.log(probs[np.arange(len(held)), held.y])))
    assert math.isclose(result.history.val_acc[-1], accuracy)
    assert math.isclose(result.history.val_loss[-1], loss, rel_tol=1e-9)


def test_resumed_validation_run_matches_an_uninterrupted_one(problem, tmp_path) -> None:
    clf, data, theta0 = problem
    config = TrainConfig(
        epochs=3, batch=10, validation=0.25, shots=20, checkpoint_dir=str(tmp_path)
    )
    whole = fit(clf, theta0, data, config, progress=False)
    first = TrainConfig(**{**config.__dict__, "epochs": 1, "checkpoint_dir": str(tmp_path / "r")})
    fit(clf, theta0, data, first, progress=False)
    resumed = fit(
        clf,
        theta0,
        data,
        TrainConfig(**{**first.__dict__, "epochs": 3, "resume": True}),
        progress=False,
    )
    np.testing.assert_allclose(resumed.theta, whole.theta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(resumed.history.val_loss, whole.history.val_loss, rtol=1e-12)


def test_history_from_an_older_checkpoint_fills_new_columns_with_nan() -> None:
    history = History.from_arrays({"epoch": np.array([1, 2]), "loss": np.array([0.5, 0.4])})
    assert history.epoch == (1, 2) and history.loss == (0.5, 0.4)
    assert len(history.val_acc) == 2 and all(math.isnan(v) for v in history.val_acc)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"shots": 0}, "shots"),
        ({"validation": 1.0}, "validation"),
        ({"min_delta": -0.1}, "min_delta"),
        ({"min_delta": math.inf}, "min_delta"),
    ],
)
def test_train_config_refuses_bad_values(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**options)


# -- qadl run -------------------------------------------------------------------------------


def _program(tmp_path: Path, options: str) -> Path:
    (tmp_path / "pts.csv").write_text(CSV, encoding="utf-8")
    path = tmp_path / "prog.qadl"
    path.write_text(PROGRAM.format(options=options), encoding="utf-8")
    return path


def _run(path: Path, out: Path, *extra: str) -> int:
    return main(["run", str(path), "--out", str(out), "--no-plots", "--no-progress", *extra])


def _user_error(capsys, code: str) -> str:
    err = capsys.readouterr().err
    assert f"error[{code}]" in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert "prog.qadl:11:1" in err  # at the train statement
    return err


def test_run_stops_a_diverging_training_with_e0516(tmp_path, capsys) -> None:
    path = _program(tmp_path, "optimizer sgd(lr = 1e300)")
    assert _run(path, tmp_path / "out") == 1
    assert "lower the learning rate" in _user_error(capsys, "E0516")
    assert not (tmp_path / "out" / "results.json").exists()


def test_run_refuses_an_empty_validation_part_with_e0517(tmp_path, capsys) -> None:
    path = _program(tmp_path, "validation 0.01")
    assert _run(path, tmp_path / "out") == 1
    assert "holds out 0" in _user_error(capsys, "E0517")


def test_checkpoint_path_is_below_out_and_records_validation(tmp_path, capsys) -> None:
    path = _program(tmp_path, 'validation 0.2; checkpoint(every = 1, path = "ck/m")')
    assert _run(path, tmp_path / "out") == 0
    assert (tmp_path / "out" / "ck" / "m" / "last.npz").is_file()
    assert not (tmp_path / "out" / "checkpoints").exists()
    history = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["m"]["history"]
    assert len(history["val_acc"]) == 2 and all(0.0 <= v <= 1.0 for v in history["val_acc"])


def test_checkpoint_path_through_a_link_out_of_out_is_refused(tmp_path, capsys) -> None:
    path = _program(tmp_path, 'checkpoint(path = "ck/m")')
    out, outside = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    outside.mkdir()
    (out / "ck").symlink_to(outside)
    assert _run(path, out) == 1
    assert "leaves the output directory" in _user_error(capsys, "E0518")
    assert list(outside.iterdir()) == []


def test_checkpoint_path_naming_a_file_is_refused(tmp_path, capsys) -> None:
    path = _program(tmp_path, 'checkpoint(path = "ck")')
    out = tmp_path / "out"
    out.mkdir()
    (out / "ck").write_text("not a directory", encoding="utf-8")
    assert _run(path, out) == 1
    _user_error(capsys, "E0518")


@pytest.mark.parametrize("flag", ["--max-epochs", "--samples"])
@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_counts_on_the_command_line_must_be_positive(tmp_path, capsys, flag, value) -> None:
    path = _program(tmp_path, "seed 1")
    assert _run(path, tmp_path / "out", flag, value) == 2  # argparse's usage error
    assert f"argument {flag}:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_devices_shots_are_the_default_shots_of_its_training(tmp_path) -> None:
    def losses(extra: str, name: str) -> list[float]:
        path = _program(tmp_path, "seed 1")
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
        assert _run(path, tmp_path / name) == 0
        results = json.loads((tmp_path / name / "results.json").read_text())
        return results["models"]["m"]["history"]["loss"]

    exact = losses("", "exact")
    device = losses("target chip { qubits 2; shots 5 }\ndevice m on chip\n", "device")
    again = losses("target chip { qubits 2; shots 5 }\ndevice m on chip\n", "again")
    assert np.max(np.abs(np.subtract(device, exact))) > 1e-3
    np.testing.assert_allclose(device, again, rtol=1e-12)


def test_defend_blocks_take_the_training_options(tmp_path) -> None:
    path = _program(tmp_path, "seed 1")
    defend = (
        "defend m with adversarial_training(attack = fgsm(epsilon = 0.1), examples = precomputed)"
        ' as robust { epochs 1; validation 0.2; shots 10; checkpoint(path = "ck/robust") }\n'
    )
    path.write_text(path.read_text(encoding="utf-8") + defend, encoding="utf-8")
    assert _run(path, tmp_path / "out") == 0
    history = json.loads((tmp_path / "out" / "results.json").read_text())["models"]["robust"][
        "history"
    ]
    assert history["epoch"] == [1]
    assert all(0.0 <= v <= 1.0 for v in history["val_acc"])
    assert (tmp_path / "out" / "ck" / "robust" / "last.npz").is_file()
