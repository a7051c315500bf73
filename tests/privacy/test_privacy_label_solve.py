"""Label inference by linear algebra: a batch gradient is linear in its one-hot labels, so
with known inputs the labels are solved for exactly where the system is unique; refusals
(E0969 not identifiable, E0564, E0532, E0560, E0960) and the attack from source."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qadl.adversary.privacy.labels import identifiable, infer_labels, label_inference
from qadl.adversary.privacy.matching import GradientOracle
from qadl.adversary.privacy.states import StateOracle
from qadl.api import loads
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.run.preflight import preflight
from qadl.run.session import RunOptions, run_program
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import PROGRAM, TRAIN
from tests.privacy.test_privacy_states import MODEL as STATE_MODEL


def _oracle(classes: int) -> GradientOracle:
    c = encoding_circuit(3, 2, classes)  # 21 parameters
    theta = np.random.default_rng(0).normal(size=c.num_params)
    return GradientOracle(Classifier(Simulator(c), c.readout), theta)


@pytest.mark.parametrize(("classes", "batch"), [(2, 1), (2, 8), (2, 12), (3, 4), (4, 5)])
def test_labels_of_a_batch_are_solved_exactly(classes, batch):
    oracle = _oracle(classes)
    rng = np.random.default_rng(batch)
    x = rng.uniform(0.0, 1.0, (3, batch, 3))
    y = rng.integers(0, classes, (3, batch))
    result = label_inference(oracle.shared_gradient, x, y, classes)
    np.testing.assert_array_equal(result.inferred, y)
    assert result.unique.all()
    assert result.to_json()["max_deviation"] < 1e-6  # the relaxed solution is the one-hot Y


def test_too_large_a_batch_is_not_unique():
    """21 parameters, 2 classes: 22 samples exceed the count; the solver says so."""
    oracle = _oracle(2)
    rng = np.random.default_rng(5)
    x, y = rng.uniform(0.0, 1.0, (1, 22, 3)), rng.integers(0, 2, (1, 22))
    assert not identifiable(21, 22, 2) and identifiable(21, 21, 2)
    result = label_inference(oracle.shared_gradient, x, y, 2)
    assert not result.unique.any()


def test_solver_on_a_hand_made_system():
    """Two samples, two classes, 3 parameters: B·g = G[0, 1] + G[1, 0]."""
    rng = np.random.default_rng(2)
    per_class = rng.normal(size=(2, 2, 3))
    solved = infer_labels(per_class, (per_class[0, 1] + per_class[1, 0]) / 2)
    assert solved.unique and solved.labels.tolist() == [1, 0]
    np.testing.assert_allclose(solved.relaxed, [[0, 1], [1, 0]], atol=1e-10)


def test_states_labels_are_solved():
    c = loads(STATE_MODEL).models["m"].circuit  # 8 parameters
    clf = Classifier(Simulator(c), c.readout)
    oracle = StateOracle(clf, np.random.default_rng(0).normal(size=clf.num_params))
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, 3, 4)) + 1j * rng.normal(size=(2, 3, 4))
    states = z / np.linalg.norm(z, axis=2, keepdims=True)
    y = rng.integers(0, 2, (2, 3))
    result = label_inference(oracle.shared_gradient, states, y, 2)
    np.testing.assert_array_equal(result.inferred, y)


LAB = "attack lab on clf {{ method label_inference({args}) {opts} }}\n"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        (LAB.format(args="batch = 5", opts=""), "E0969", "4 parameters"),
        (LAB.format(args="batch = 4, samples = 80", opts=""), "E0564", "320 training samples"),
        (LAB.format(args="", opts="; clip [0, 1]"), "E0532", "nothing to target"),
        (LAB.format(args="", opts="") + "evaluate clf on circle.test under [lab]", "E0560", ""),
        (
            LAB.format(args="", opts="")
            + "attack c on clf { method privacy_utility(noise = [0, 1], attacks = [lab]) }\n",
            "E0960",
            "`label_inference` attack",
        ),
    ],
)
def test_refused_by_qadl_check(text, code, words):
    with pytest.raises(QadlError) as info:
        preflight(load_source(PROGRAM + TRAIN + text))
    found = [(d.code, d.message) for d in info.value.diagnostics]
    assert any(c == code and words in m for c, m in found), found


def test_run_writes_the_record(tmp_path, capsys):
    text = PROGRAM + TRAIN + LAB.format(args="batch = 2, samples = 4", opts="; seed 1")
    results = run_program(load_source(text), RunOptions(tmp_path, plots=False, progress=False))
    record = json.loads((tmp_path / "results.json").read_text())["privacy"]["lab"]
    assert record == results["privacy"]["lab"]
    assert (record["batch"], record["batches"], record["input"]) == (2, 4, "features")
    assert record["recovered_fraction"] == 1.0 and record["unique_fraction"] == 1.0
    assert "all right" in capsys.readouterr().out
