"""`qadl run` end to end on a 4-qubit program: outputs, parameters, resume, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qadl.api import load
from qadl.cli import main
from qadl.errors import QadlError
from qadl.run.session import RunOptions, run_program

HERE = Path(__file__).parent
TINY = HERE / "tiny.qadl"
TINY_TRAIN = HERE / "tiny_train.qadl"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """One full run of tiny.qadl (train, defend, evaluate) shared by the tests below."""
    out = tmp_path_factory.mktemp("tiny")
    assert main(["run", str(TINY), "--out", str(out), "--no-progress"]) == 0
    return out


def test_run_writes_results_params_and_plots(tiny_run: Path) -> None:
    results = json.loads((tiny_run / "results.json").read_text())
    tiny = results["models"]["tiny"]
    assert tiny["epochs"] == 4 and len(tiny["history"]["loss"]) == 4
    assert 0.0 <= tiny["clean_test_accuracy"] <= 1.0
    assert results["models"]["hardened"]["defended_from"] == "tiny"
    labels = {(e["model"], p["attack"]) for e in results["evaluations"] for p in e["points"]}
    attacks = ("fgsm_sweep", "ren", "ren_transfer")
    assert labels == {(m, a) for m in ("tiny", "hardened") for a in attacks}
    fgsm = [p for e in results["evaluations"] for p in e["points"] if p["attack"] == "fgsm_sweep"]
    assert sorted({p["epsilon"] for p in fgsm}) == [0.05, 0.2]
    assert all(p["mean_linf"] <= p["epsilon"] + 1e-12 for p in fgsm)
    for name in ("accuracy_vs_epsilon", "tiny_training", "hardened_training", "tiny_ren_images"):
        assert (tiny_run / "plots" / f"{name}.png").stat().st_size > 1000


def test_run_records_its_phases(tiny_run: Path) -> None:
    """results.json's `timing`: each phase's seconds, attacks inside evaluate, the total."""
    results = json.loads((tiny_run / "results.json").read_text())
    timing = results["timing"]
    assert set(timing) == {"setup", "train", "defend", "privacy", "evaluate", "attack", "total"}
    assert all(v >= 0.0 for v in timing.values())
    assert timing["train"] > 0.0 and timing["defend"] > 0.0 and timing["attack"] > 0.0
    assert timing["attack"] <= timing["evaluate"]
    phases = sum(timing[k] for k in ("setup", "train", "defend", "privacy", "evaluate"))
    assert phases <= timing["total"] <= phases + 1.0  # the rest is writing results.json
    assert timing["total"] == results["seconds"]


def test_trained_params_bind_into_qasm(tiny_run: Path, capsys) -> None:
    """`qadl compile --bind` accepts the run's parameter file: no free θ remains."""
    assert main(["compile", str(TINY), "--bind", str(tiny_run / "tiny.params.npz")]) == 0
    qasm = capsys.readouterr().out
    assert "theta_" not in qasm and "input float[64] x_0;" in qasm


def test_params_reproduce_the_reported_accuracy(tiny_run: Path) -> None:
    from qadl.backends.sim import Simulator
    from qadl.learn.classifier import Classifier
    from qadl.learn.data import digits

    model = load(TINY).models["tiny"]
    theta = np.load(tiny_run / "tiny.params.npz")["theta"]
    _, test = digits(classes=(0, 1), size=(4, 4), normalize="l2", test=0.25, seed=3)
    clf = Classifier(Simulator(model.circuit), model.circuit.readout)
    reported = json.loads((tiny_run / "results.json").read_text())["models"]["tiny"]
    assert clf.accuracy(theta, test.y, x=test.x) == pytest.approx(reported["clean_test_accuracy"])


def _options(out: Path, **kw) -> RunOptions:
    return RunOptions(out_dir=out, progress=False, plots=False, **kw)


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    """Stop after 1 of 3 epochs, resume: the final θ is bit-for-bit the uninterrupted one."""
    program = load(TINY_TRAIN)
    run_program(program, _options(tmp_path / "full"))
    run_program(program, _options(tmp_path / "cut", max_epochs=1))
    first = np.load(tmp_path / "cut" / "tiny.params.npz")["theta"]
    run_program(program, _options(tmp_path / "cut", resume=True))
    full = np.load(tmp_path / "full" / "tiny.params.npz")["theta"]
    resumed = np.load(tmp_path / "cut" / "tiny.params.npz")["theta"]
    assert not np.array_equal(first, full)
    np.testing.assert_array_equal(resumed, full)


def test_data_that_does_not_fit_the_model_is_a_located_error(tmp_path: Path) -> None:
    text = TINY_TRAIN.read_text().replace("size = 4x4", "size = 5x5")
    path = tmp_path / "bad.qadl"
    path.write_text(text)
    with pytest.raises(QadlError) as err:
        run_program(load(path), _options(tmp_path / "out"))
    diag = err.value.diagnostics[0]
    # the checker reports builtin data at load time (E0515); run time (E0722) still guards files
    assert (diag.code == "E0722" and "needs 16 features" in diag.message) or (
        diag.code == "E0515" and "16 features" in diag.message
    )
    assert diag.primary.span.file == str(path)


def test_cli_reports_user_errors_without_traceback(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.qadl"
    shutil.copy(TINY_TRAIN, path)
    path.write_text(path.read_text().replace("size = 4x4", "size = 5x5"))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert ("E0515" in err or "E0722" in err) and "Traceback" not in err


def test_run_time_errors_render_with_location_and_caret(tmp_path: Path, capsys) -> None:
    """An error found while running (a missing data file) shows file:line:col, the line, a caret."""
    path = tmp_path / "bad.qadl"
    text = TINY_TRAIN.read_text().replace(
        "builtin.digits(classes = [0, 1], size = 4x4, normalize = l2, test = 0.25, seed = 3)",
        'file("nowhere.npz", test = 0.25)',
    )
    path.write_text(text)
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:1: error[E0701]" in err
    assert '2 | data digits = file("nowhere.npz"' in err and "^^^" in err


def test_resuming_a_different_run_is_a_located_error(tmp_path: Path) -> None:
    """A checkpoint from other settings is refused with E0724, never silently reused."""
    run_program(load(TINY_TRAIN), _options(tmp_path, max_epochs=1))
    changed = tmp_path / "changed.qadl"
    changed.write_text(TINY_TRAIN.read_text().replace("batch 16", "batch 8"))
    with pytest.raises(QadlError) as err:
        run_program(load(changed), _options(tmp_path, resume=True))
    assert err.value.diagnostics[0].code == "E0724"


def test_unreadable_checkpoint_is_a_located_error(tmp_path: Path) -> None:
    ckpt = tmp_path / "checkpoints" / "tiny"
    ckpt.mkdir(parents=True)
    (ckpt / "last.npz").write_bytes(b"not a zip file")
    with pytest.raises(QadlError) as err:
        run_program(load(TINY_TRAIN), _options(tmp_path, resume=True))
    assert err.value.diagnostics[0].code == "E0724"


def test_quantum_transfer_scores_clean_model_states_on_the_defended_model(tmp_path: Path) -> None:
    """`transfer(from = phase, attack = rotations)` on quantum data: the defended model is
    scored on exactly the adversarial states crafted against the clean model."""
    results = run_program(load(HERE / "tiny_quantum.qadl"), _options(tmp_path))
    points = {(e["model"], p["attack"], p["epsilon"]): p for e in results["evaluations"]
              for p in e["points"]}
    for eps in (0.2, 0.6):
        crafted = points[("phase", "rotations", eps)]
        transferred = points[("robust", "on_clean", eps)]
        assert transferred["mean_fidelity"] == pytest.approx(crafted["mean_fidelity"])
        assert transferred["mean_linf"] <= eps + 1e-12
        assert 0.0 < transferred["mean_fidelity"] <= 1.0
