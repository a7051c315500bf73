"""`qadl run` with kernels: classifiers fitted on Gram matrices, results beside the VQC's."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qadl.api import loads
from qadl.learn.havlicek import havlicek
from qadl.learn.kernel_classifiers import fit_kernel_classifier
from qadl.run.session import RunOptions, run_program

PROGRAM = """import encodings.zz_feature_map
data ad_hoc = builtin.havlicek(samples = 60, gap = 0.3, test = 0.5, seed = 3)
kernel k(x: float[2]) on q[2] {{
    zz_feature_map(q, x, reps = 2)
    type {type}
}}
train k on ad_hoc.train {{ classifier {classifier}{extra} }}
evaluate k on ad_hoc.test
"""


def _run(tmp_path, **fmt):
    fmt = {"type": "fidelity", "classifier": "svm(C = 1.0)", "extra": "", **fmt}
    program = loads(PROGRAM.format(**fmt), "k.qadl")
    options = RunOptions(out_dir=tmp_path / "out", progress=False, plots=False)
    run_program(program, options)
    return json.loads((tmp_path / "out" / "results.json").read_text())


def test_kernel_svm_separates_the_ad_hoc_data(tmp_path):
    results = _run(tmp_path)
    record = results["models"]["k"]
    assert record["kernel"] == "fidelity" and record["classifier"] == "svm"
    assert record["clean_train_accuracy"] >= 0.95
    (evaluation,) = results["evaluations"]
    assert evaluation["model"] == "k" and evaluation["n"] == 30
    assert evaluation["clean_accuracy"] >= 0.95
    assert evaluation["points"] == []


@pytest.mark.parametrize(
    ("kind", "classifier"),
    [("projected(gamma = 0.5)", "kernel_ridge(alpha = 0.01)"), ("fidelity", "logistic(C = 100)")],
)
def test_other_kernels_and_classifiers_run(tmp_path, kind, classifier):
    results = _run(tmp_path, type=kind, classifier=classifier)
    assert results["models"]["k"]["classifier"] == classifier.split("(")[0]
    assert 0.6 <= results["evaluations"][0]["clean_accuracy"] <= 1.0


def test_shots_give_a_seeded_noisy_kernel(tmp_path):
    one = _run(tmp_path / "a", extra="; shots 50; seed 4")
    two = _run(tmp_path / "b", extra="; shots 50; seed 4")
    assert one["models"]["k"]["shots"] == 50
    assert one["evaluations"][0]["clean_accuracy"] == two["evaluations"][0]["clean_accuracy"]


def test_svm_on_a_kernel_that_cannot_separate_does_worse():
    """The accuracy check can fail: a constant kernel carries no information."""
    train, test = havlicek(samples=60, gap=0.3, test=0.5, seed=3)
    fitted = fit_kernel_classifier("svm", 1.0, np.ones((30, 30)), train.y, 2)
    assert np.mean(fitted.predict(np.ones((30, 30))) == test.y) <= 0.6


def test_memory_mb_sets_the_tile_budget(tmp_path, monkeypatch):
    import qadl.run.kernels as run_kernels

    seen = []
    real = run_kernels.fidelity_gram

    def spy(a, b=None, *, memory_bytes):
        seen.append(memory_bytes)
        return real(a, b, memory_bytes=memory_bytes)

    monkeypatch.setattr(run_kernels, "fidelity_gram", spy)
    results = _run(tmp_path, extra="; memory_mb 3")
    assert seen and set(seen) == {3 << 20}
    assert results["evaluations"][0]["clean_accuracy"] >= 0.95


def test_a_kernel_declared_in_an_imported_file_is_trained(tmp_path):
    (tmp_path / "lib.qadl").write_text(
        "import encodings.zz_feature_map\n"
        "kernel shared_k(x: float[2]) on q[2] { zz_feature_map(q, x, reps = 2) }\n"
    )
    main = tmp_path / "main.qadl"
    main.write_text(
        'import "lib.qadl"\n'
        "data d = builtin.havlicek(samples = 40, seed = 1)\n"
        "train shared_k on d.train { classifier svm }\n"
        "evaluate shared_k on d.test\n"
    )
    from qadl.api import load

    run_program(load(main), RunOptions(out_dir=tmp_path / "out", progress=False, plots=False))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["evaluations"][0]["clean_accuracy"] >= 0.9
