"""Membership inference: threshold scores, AUC against an independent rank statistic,
and the `membership_inference` attack from source (E0532, E0560, E0565)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qadl.adversary.privacy.membership import membership_inference, membership_scores
from qadl.errors import QadlError
from qadl.run.session import RunOptions, run_program
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import PROGRAM, TRAIN


def _rank_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann–Whitney: P(member score > non-member score) + ½ P(tie)."""
    diff = pos[:, None] - neg[None, :]
    return float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))


def _best_advantage(pos: np.ndarray, neg: np.ndarray) -> float:
    cuts = np.r_[np.unique(np.r_[pos, neg]), np.inf]
    return float(max(np.mean(pos >= t) - np.mean(neg >= t) for t in cuts))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_advantage_match_rank_statistics(seed):
    rng = np.random.default_rng(seed)
    pos = np.round(rng.normal(0.3, 1.0, 40), 1)  # rounded: ties occur
    neg = np.round(rng.normal(0.0, 1.0, 40), 1)
    result = membership_inference(pos, neg)
    assert result.auc == pytest.approx(_rank_auc(pos, neg), abs=1e-12)
    assert result.advantage == pytest.approx(_best_advantage(pos, neg), abs=1e-12)
    assert result.accuracy == pytest.approx((1 + result.advantage) / 2)


def test_separated_scores_give_auc_one_and_swapped_zero():
    assert membership_inference(np.array([2.0, 3.0]), np.array([0.0, 1.0])).auc == 1.0
    assert membership_inference(np.array([0.0, 1.0]), np.array([2.0, 3.0])).auc == 0.0


class _Fixed:
    """A stand-in classifier with given class probabilities."""

    def __init__(self, probs):
        self.probs = np.asarray(probs)

    def predict_proba(self, theta, x=None, state=None):
        return self.probs


def test_scores_are_minus_loss_and_top_probability():
    clf = _Fixed([[0.9, 0.1], [0.3, 0.7]])
    y = np.array([0, 0])
    loss = membership_scores(clf, None, y, "loss", x=np.zeros((2, 1)))
    np.testing.assert_allclose(loss, np.log([0.9, 0.3]))
    conf = membership_scores(clf, None, y, "confidence", x=np.zeros((2, 1)))
    np.testing.assert_allclose(conf, [0.9, 0.7])


MIA = "attack mia on clf {{ method membership_inference({args}) {opts} }}\n"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        (PROGRAM + TRAIN + MIA.format(args="", opts="; clip [0, 1]"), "E0532", "nothing to"),
        (PROGRAM + TRAIN + MIA.format(args="score = margin", opts=""), "E0502", "loss"),
        (
            PROGRAM
            + TRAIN
            + MIA.format(args="", opts="")
            + "evaluate clf on circle.test under [mia]",
            "E0560",
            "privacy attack",
        ),
    ],
)
def test_refused_at_check(text, code, words):
    with pytest.raises(QadlError) as info:
        load_source(text)
    found = [(d.code, d.message) for d in info.value.diagnostics]
    assert any(c == code and words in m for c, m in found), found


def _run(text, tmp_path):
    return run_program(load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False))


def test_needs_a_held_out_split(tmp_path, capsys):
    text = PROGRAM + TRAIN.replace("circle.train", "circle.all") + MIA.format(args="", opts="")
    with pytest.raises(QadlError) as info:
        _run(text, tmp_path)
    assert [d.code for d in info.value.diagnostics] == ["E0565"]
    assert "epoch" not in capsys.readouterr().out


@pytest.mark.parametrize("score", ["loss", "confidence"])
def test_run_writes_auc(score, tmp_path, capsys):
    text = PROGRAM + TRAIN + MIA.format(args=f"score = {score}, samples = 30", opts="; seed 2")
    results = _run(text, tmp_path)
    record = json.loads((tmp_path / "o" / "results.json").read_text())["privacy"]["mia"]
    assert record == results["privacy"]["mia"]
    assert record["members"] == record["non_members"] == 30
    assert 0.0 <= record["auc"] <= 1.0 and record["score"] == score
    assert record["attack_accuracy"] == pytest.approx((1 + record["advantage"]) / 2)
    assert "AUC" in capsys.readouterr().out
