"""Precision/recall/F1/confusion/ROC-AUC in evaluations: equal to scikit-learn's and to a
direct count."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn import metrics as skm

import qadl
from qadl.adversary.evaluate import Scoring, evaluate
from qadl.adversary.metrics import class_metrics
from qadl.run.context import RunOptions, Session
from qadl.run.evaluations import run_evaluations

THETA = np.array([0.3, -0.7, 1.1, 0.4])


def _by_hand(y, pred, c):
    """Per-class precision, recall, F1 and the confusion matrix from counts."""
    confusion = np.zeros((c, c), dtype=int)
    np.add.at(confusion, (y, pred), 1)
    tp = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(c), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(c), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(c), where=denom > 0)
    return precision, recall, f1, confusion


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_metrics_equal_sklearn_and_counts(classes):
    rng = np.random.default_rng(classes)
    y = rng.integers(0, classes, 60)
    pred = np.where(rng.random(60) < 0.6, y, rng.integers(0, classes, 60))
    pred[pred == classes - 1] = 0  # one class never predicted: precision 0, not NaN
    probs = rng.dirichlet(np.ones(classes), 60)
    m = class_metrics(y, pred, classes, probs)
    precision, recall, f1, confusion = _by_hand(y, pred, classes)
    np.testing.assert_allclose(m.precision, precision, atol=1e-12)
    np.testing.assert_allclose(m.recall, recall, atol=1e-12)
    np.testing.assert_allclose(m.f1, f1, atol=1e-12)
    np.testing.assert_array_equal(m.confusion, confusion)
    assert m.accuracy == pytest.approx(np.mean(y == pred))
    labels = list(range(classes))
    for ours, fn in (
        (m.precision_macro, skm.precision_score),
        (m.recall_macro, skm.recall_score),
        (m.f1_macro, skm.f1_score),
    ):
        assert ours == pytest.approx(fn(y, pred, labels=labels, average="macro", zero_division=0))
    assert m.support == tuple(np.bincount(y, minlength=classes))
    if classes == 2:
        assert m.roc_auc == pytest.approx(skm.roc_auc_score(y, probs[:, 1]))
        # the pairwise-ranking definition, counted directly
        pos, neg = probs[y == 1, 1], probs[y == 0, 1]
        wins = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
        assert m.roc_auc == pytest.approx(wins)
    else:
        assert m.roc_auc is None
    one_class = np.zeros(5, int)  # ROC-AUC is undefined with a single true class
    assert class_metrics(one_class, one_class, 2, np.full((5, 2), 0.5)).roc_auc is None


@pytest.mark.parametrize("shots", [None, 50])
def test_evaluation_metrics_are_of_its_decisions(program_file, shots):
    """The evaluation's metrics are those of the decisions it scores (sampled with shots)."""
    program = qadl.load(program_file)
    _, test = program.data("pts")
    clf = program.classifier("m", THETA)
    ev = evaluate(clf.core, clf.params, test, scoring=Scoring(shots, seed=4))
    probs = (
        clf.predict_proba(test.x)
        if shots is None
        else Scoring(shots, seed=4).proba(clf.core, clf.params, test.x, None, (0,))
    )
    pred = probs.argmax(axis=1)
    assert ev.metrics.f1_macro == pytest.approx(skm.f1_score(test.y, pred, average="macro"))
    assert ev.metrics.roc_auc == pytest.approx(skm.roc_auc_score(test.y, probs[:, 1]))
    assert ev.clean_accuracy == pytest.approx(skm.accuracy_score(test.y, pred))
    assert ev.to_json()["metrics"]["confusion"] == skm.confusion_matrix(test.y, pred).tolist()


def test_run_reports_metrics(program_file, tmp_path, capsys):
    """`qadl run`'s evaluation: a metrics table, results.json and a confusion-matrix plot."""
    program = qadl.load(program_file)
    out = tmp_path / "out"
    session = Session(program, RunOptions(out_dir=out, progress=False))
    session.thetas["m"] = THETA
    session.program = replace(program, evaluations=program.evaluations[:1])
    run_evaluations(session)
    printed = capsys.readouterr().out
    assert "clean metrics" in printed and "ROC-AUC" in printed
    record = session.results["evaluations"][0]["metrics"]
    assert set(record) >= {"precision_macro", "recall_macro", "f1_macro", "roc_auc", "confusion"}
    assert sum(map(sum, record["confusion"])) == 8  # `samples 8`
    png = out / "plots" / "m_confusion.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
