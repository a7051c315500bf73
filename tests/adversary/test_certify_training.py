"""``defend m with margin_training(...)``: certified training by a hinge on the certified radius."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.margin import MarginLoss, signed_radius
from qadl.learn.train import TrainConfig, fit
from qadl.run.preflight import preflight
from tests.adversary.sessions import (
    CIRCLE,
    CIRCLE_THETA,
    defend_program,
    evaluate_program,
    load_source,
)
from tests.adversary.test_certify_run import QUANTUM

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
    message = "`margin_training(certify = fidelity)` cannot train model `clf`"
    with pytest.raises(QadlError) as err:  # by `qadl check` (the preflight) ...
        preflight(load_source(_defence(method)))
    assert [d.code for d in err.value.diagnostics] == ["E0540"]
    assert message in err.value.diagnostics[0].message
    with pytest.raises(QadlError) as err:  # ... and when the defence runs
        defend_program(_defence(method), {"clf": CIRCLE_THETA}, tmp_path)
    (diag,) = err.value.diagnostics
    assert diag.code == "E0540" and message in diag.message


def test_fidelity_margin_training_runs_on_quantum_data(tmp_path):
    source = QUANTUM.split("attack rot")[0] + (
        "train phase on chain.train { epochs 1 }\n"
        "defend phase with margin_training(lambda = 1.0, certify = fidelity, margin = 0.3, "
        "epochs = 2) as robust { batch 20; seed 1 }\n"
    )
    preflight(load_source(source))  # no attack is implied: nothing to refuse
    theta = np.array([0.3, -0.4, 0.8, 0.1, 0.2, -0.5])
    session = defend_program(source, {"phase": theta}, tmp_path)
    record = session.results["models"]["robust"]
    assert record["certify"] == "fidelity" and record["margin"] == pytest.approx(0.3)
    assert len(record["history"]["loss"]) == 2
    assert not np.allclose(session.thetas["robust"], theta)


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("margin_training(certify = lipschitz, margin = 0.1)", "`margin_training` needs `lambda`"),
        ("margin_training(lambda = 1, margin = 0.1)", "`margin_training` needs `certify`"),
        ("margin_training(lambda = 1, certify = lipschitz)", "`margin_training` needs `margin`"),
        ("margin_training(lambda = 0, certify = lipschitz, margin = 0.1)", "lambda"),
        ("margin_training(lambda = 1, certify = smoothing, margin = 0.1)", "certify"),
        ("margin_training(lambda = 1, certify = lipschitz, margin = -1)", "margin"),
        ("lipschitz_regularization(lambda = 1)", "lipschitz_regularization"),
    ],
)
def test_bad_margin_training_options_are_refused_by_check(method, message):
    with pytest.raises(QadlError) as err:
        load_source(_defence(method))
    codes = {d.code for d in err.value.diagnostics}
    assert codes == {"E0520"}
    assert any(message in d.message for d in err.value.diagnostics)


def test_misspelt_lipschitz_method_points_to_both_certified_trainings():
    with pytest.raises(QadlError) as err:
        load_source(_defence("lipschitz_regularization(lambda = 1)"))
    (diag,) = err.value.diagnostics
    assert "margin_training" in (diag.help or "")
    assert "lipschitz_regularisation(lambda" in (diag.help or "")


@pytest.mark.parametrize(
    ("option", "a", "b"),
    [("lambda", "1.0", "4.0"), ("margin", "0.05", "0.5"), ("epochs", "1", "2")],
)
def test_every_option_changes_the_defended_model(tmp_path, option, a, b):
    kw = {"lambda": "2.0", "certify": "lipschitz", "margin": "0.2", "epochs": "1"}
    thetas = []
    for value in (a, b):
        args = ", ".join(f"{k} = {value if k == option else v}" for k, v in kw.items())
        session = defend_program(
            _defence(f"margin_training({args})"), {"clf": CIRCLE_THETA}, tmp_path / value
        )
        thetas.append(session.thetas["robust"])
    assert not np.allclose(*thetas)


def test_lipschitz_margin_training_of_a_model_blind_to_its_features_is_refused() -> None:
    """L = 0 (no feature reaches a gate): every radius is infinite; nothing to train for."""
    from types import SimpleNamespace

    from qadl.api import loads
    from qadl.program import CallValue
    from qadl.run.margin_defence import margin_loss

    source = (
        "model m(x: float[2]) on q[1] {\n    param t[1]\n    ry(t[0]) q[0]\n"
        "    readout probs(q[0])\n}\n"
    )
    circuit = loads(source, "blind.qadl").models["m"].circuit
    method = CallValue(
        "margin_training", (), (("lambda", 1.0), ("certify", "lipschitz"), ("margin", 0.1))
    )
    spec = SimpleNamespace(method=method, model="m", span=None)
    with pytest.raises(QadlError, match="does not depend on its features"):
        margin_loss(spec, circuit, np.zeros(1), "cross_entropy")
