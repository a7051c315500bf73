"""The privacy-utility curve (`privacy_utility(noise = [...], attacks = [...])`): each point
is the model trained with DP-SGD at that σ, its ε is the accountant's for that run, the
named attacks run on it, noise stops the inversion; check-time refusals E0960-E0962."""

from __future__ import annotations

import json
import math

import pytest

from qadl.adversary.privacy.accountant import gaussian_epsilon
from qadl.errors import QadlError
from qadl.run.preflight import preflight
from qadl.run.session import RunOptions, run_program
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import PROGRAM

TRAIN = "train clf on circle.train { epochs 2; batch 32; seed 3; optimizer adam(lr = 0.1) }\n"
ATTACKS = (
    "attack inv on clf { method gradient_inversion(loss = cosine, restarts = 2, samples = 2, "
    "steps = 60); clip [-1, 1]; seed 2 }\n"
    "attack mia on clf { method membership_inference(samples = 40); seed 1 }\n"
)
CURVE = "attack curve on clf {{ method privacy_utility({args}) }}\n"


def test_curve_points_are_dp_runs_with_their_epsilon(tmp_path, capsys):
    text = (
        PROGRAM
        + TRAIN
        + ATTACKS
        + CURVE.format(
            args="noise = [0, 1, 4], attacks = [inv, mia], clip_norm = 0.5, delta = 1e-6"
        )
    )
    options = RunOptions(tmp_path / "o", plots=True, progress=False)
    results = run_program(load_source(text), options)
    record = json.loads((tmp_path / "o" / "results.json").read_text())["privacy"]["curve"]
    assert record == results["privacy"]["curve"]
    assert (record["clip_norm"], record["delta"], record["accuracy_on"]) == (0.5, 1e-6, "test")
    steps = 2 * math.ceil(300 / 32)  # circle.csv: 300 training samples
    points = record["points"]
    assert [p["noise"] for p in points] == [0.0, 1.0, 4.0]
    assert points[0]["epsilon"] is None  # clipping only: no guarantee
    for p in points[1:]:
        assert p["steps"] == steps
        assert p["epsilon"] == pytest.approx(
            gaussian_epsilon(32 / 300, p["noise"], steps, 1e-6), rel=1e-12
        )
    assert points[1]["epsilon"] > points[2]["epsilon"]
    # without noise the release is inverted; with noise nothing is (fixed seeds)
    inv = [p["attacks"]["inv"]["recovered_fraction"] for p in points]
    assert inv[0] == 1.0 and inv[1:] == [0.0, 0.0]
    for p in points:
        assert 0.0 <= p["accuracy"] <= 1.0 and 0.0 <= p["attacks"]["mia"]["auc"] <= 1.0
        assert p["attacks"]["mia"]["success"] == p["attacks"]["mia"]["auc"]
    assert (tmp_path / "o" / record["plot"]).stat().st_size > 0
    out = capsys.readouterr().out
    assert any(line.startswith("curve") and "noise" in line for line in out.splitlines())


def test_a_point_is_the_same_as_training_with_that_dp(tmp_path):
    """The point at σ is the model of `train { dp(clip, noise = σ) }`: same accuracy."""
    dp_train = TRAIN.replace("seed 3;", "seed 3; dp(clip = 0.5, noise = 1);")
    text = PROGRAM + dp_train + ATTACKS + CURVE.format(args="noise = 1, attacks = [mia]")
    results = run_program(
        load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False)
    )
    point = results["privacy"]["curve"]["points"][0]
    trained = results["models"]["clf"]
    assert results["privacy"]["curve"]["clip_norm"] == 0.5  # from the training's dp
    assert point["epsilon"] == pytest.approx(trained["dp"]["epsilon"], rel=1e-12)
    assert point["accuracy"] == pytest.approx(trained["clean_test_accuracy"], abs=1e-12)
    assert point["attacks"]["mia"]["auc"] == pytest.approx(results["privacy"]["mia"]["auc"])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("noise = [0, 1]", "give the noise levels and the attacks"),
        ("noise = [1, 1], attacks = [inv]", "listed twice"),
        ("noise = [-1], attacks = [inv]", "must be >= 0"),
        ("noise = [1], attacks = [nope]", "no attack `nope` is declared"),
        ("noise = [1], attacks = [other]", "`other` attacks `clf2`"),
        ("noise = [1], attacks = [fgsm1]", "is a `fgsm` attack"),
    ],
)
def test_curve_refused_at_check(args, words):
    text = (
        PROGRAM
        + TRAIN
        + ATTACKS
        + "attack fgsm1 on clf { method fgsm(epsilon = 0.1) }\n"
        + "model clf2(x: float[2]) on q[2] { ry(x[0]) q[0]\n readout probs(q[0]) }\n"
        + "attack other on clf2 { method membership_inference() }\n"
        + CURVE.format(args=args)
    )
    with pytest.raises(QadlError) as info:
        load_source(text)
    assert any(words in d.message for d in info.value.diagnostics), info.value.diagnostics


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            PROGRAM
            + TRAIN.replace("optimizer adam(lr = 0.1)", "optimizer spsa")
            + ATTACKS
            + CURVE.format(args="noise = [1], attacks = [mia]"),
            "E0962",
        ),
        (
            PROGRAM
            + TRAIN
            + "defend clf with adversarial_training(attack = fgsm(epsilon = 0.1), epochs = 1) "
            "as robust\n"
            + "attack mia on robust { method membership_inference() }\n"
            + "attack curve on robust { method privacy_utility(noise = [1], attacks = [mia]) }\n",
            "E0961",
        ),
    ],
)
def test_curve_refused_by_qadl_check(text, code):
    """The preflight of `qadl check` finds what `qadl run` would refuse before training."""
    with pytest.raises(QadlError) as info:
        preflight(load_source(text))
    assert [d.code for d in info.value.diagnostics] == [code]
