"""``defend m with margin_training(...)``: certified training by a hinge on the certified radius."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.margin import MarginLoss, signed_radius
from qadl.learn.train import TrainConfig, fit
from tests.adversary.sessions import (
    CIRCLE,
    CIRCLE_THETA,
    defend_program,
    evaluate_program,
    load_source,
)

DEFEND = CIRCLE + "train clf on circle.train { epochs 1 }\n"


def _defence(method: str) -> str:
    return DEFEND + f"defend clf with {method} as robust {{ batch 50; seed 1 }}\n"


@pytest.mark.parametrize("certify", ["fidelity", "lipschitz"])
def test_penalised_loss_gradient_matches_finite_differences(certify):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=8)
    y = rng.integers(0, 3, size=8)
    loss = MarginLoss(weight=1.5, margin=0.4, certify=certify, lipschitz=2.0)
    _, grad = loss(probs, y)
    h = 1e-6
    for b in range(8):
        for c in range(3):
            up, down = probs.copy(), probs.copy()
            up[b, c] += h
            down[b, c] -= h
            fd = (loss(up, y)[0][b] - loss(down, y)[0][b]) / (2 * h)
            assert grad[b, c] == pytest.approx(fd, abs=1e-5)


def test_signed_radius_matches_the_fidelity_certificate_where_correct():
    from qadl.adversary.certify_fidelity import povm_radius

    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
    y = np.array([0, 1, 1])
    r, _ = signed_radius(probs, y, "fidelity")
    cert = povm_radius(probs, y)
    np.testing.assert_allclose(r[:2], cert[:2], atol=1e-3)  # √δ of the floor at most
    assert r[2] < 0 and cert[2] == 0  # misclassified: negative, so the hinge still pulls


def _plain(train: Dataset, session, epochs: int) -> np.ndarray:
    """The same fine-tuning without the penalty."""
    config = TrainConfig(epochs=epochs, batch=50, seed=1)
    return fit(session.classifier("clf"), CIRCLE_THETA, train, config, progress=False).theta


def test_margin_training_raises_certified_radius_and_accuracy(tmp_path):
    method = "margin_training(lambda = 2.0, certify = lipschitz, margin = 0.2, epochs = 5)"
    session = defend_program(_defence(method), {"clf": CIRCLE_THETA}, tmp_path / "d")
    record = session.results["models"]["robust"]
    assert record["defended_from"] == "clf" and record["method"] == "margin_training"
    assert record["certify"] == "lipschitz" and record["lipschitz"] > 0
    plain = _plain(session.split(session.program.trainings[0].data, None), session, 5)
    source = _defence(method) + (
        "evaluate clf, robust on circle.test under [clean, fgsm(epsilon = [0.05, 0.1])] "
        "{ certify lipschitz }\n"
    )
    thetas = {"robust": session.thetas["robust"]}
    evaluations = {
        name: {e.model: e for e in evaluate_program(
            source, {"clf": theta} | thetas, tmp_path / name
        )}
        for name, theta in (("start", CIRCLE_THETA), ("plain", plain))
    }
    robust = evaluations["start"]["robust"]
    r_robust = np.median(robust.certificates[0].radii["l2"])
    for baseline in (evaluations["start"]["clf"], evaluations["plain"]["clf"]):
        assert r_robust > np.median(baseline.certificates[0].radii["l2"]) + 0.01
        cert_robust = robust.certified_curve("lipschitz", "fgsm")[1][-1]
        assert cert_robust > baseline.certified_curve("lipschitz", "fgsm")[1][-1]
        # the price in clean accuracy is bounded: at most 0.06 of 100 test samples
        assert robust.clean_accuracy >= baseline.clean_accuracy - 0.06


def test_fidelity_margin_training_is_refused_for_angle_encoded_features(tmp_path):
    method = "margin_training(lambda = 1.0, certify = fidelity, margin = 0.1, epochs = 1)"
    with pytest.raises(QadlError) as err:
        defend_program(_defence(method), {"clf": CIRCLE_THETA}, tmp_path)
    (diag,) = err.value.diagnostics
    assert diag.code == "E0540"
    assert "margin_training(certify = fidelity)` cannot train model `clf`" in diag.message


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("margin_training(certify = lipschitz, margin = 0.1)", "`margin_training` needs `lambda`"),
        ("margin_training(lambda = 1, margin = 0.1)", "`margin_training` needs `certify`"),
        ("margin_training(lambda = 1, certify = lipschitz)", "`margin_training` needs `margin`"),
        ("margin_training(lambda = 0, certify = lipschitz, margin = 0.1)", "lambda"),
        ("margin_training(lambda = 1, certify = smoothing, margin = 0.1)", "certify"),
        ("margin_training(lambda = 1, certify = lipschitz, margin = -1)", "margin"),
        ("lipschitz_regularisation(lambda = 1)", "lipschitz_regularisation"),
    ],
)
def test_bad_margin_training_options_are_refused_by_check(method, message):
    with pytest.raises(QadlError) as err:
        load_source(_defence(method))
    codes = {d.code for d in err.value.diagnostics}
    assert codes == {"E0520"}
    assert any(message in d.message for d in err.value.diagnostics)


def test_lipschitz_spelling_points_to_margin_training():
    with pytest.raises(QadlError) as err:
        load_source(_defence("lipschitz_regularisation(lambda = 1)"))
    (diag,) = err.value.diagnostics
    assert "margin_training" in (diag.help or "")
