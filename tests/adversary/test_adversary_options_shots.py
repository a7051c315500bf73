"""`evaluate ... { shots N; seed S }`: decisions read from N sampled shots, seeded.

The attacks stay white-box (exact gradients); only the scoring is sampled.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from qadl.adversary.attacks import attack_sweep
from qadl.adversary.config import AttackConfig
from qadl.adversary.evaluate import Scoring, clean_accuracy, evaluate
from qadl.backends.sim import Simulator
from qadl.learn.classifier import Classifier
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import CIRCLE, CIRCLE_THETA, evaluate_program

N = 200


@pytest.fixture(scope="module")
def model():
    """A random 3-qubit classifier whose class margins are mostly small (median 0.12)."""
    circuit = encoding_circuit(3, 2)
    clf = Classifier(Simulator(circuit), circuit.readout)
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 2 * np.pi, circuit.num_params)
    x = rng.uniform(0, np.pi, (N, 3))
    pred = clf.predict(theta, x=x)
    y = np.where(rng.random(N) < 0.85, pred, 1 - pred)  # 85% exact accuracy
    return clf, theta, SimpleNamespace(x=x, states=None, y=y, name="random", feature_range=None)


def _half_width(accuracy: float, n: int) -> float:
    """99% normal-approximation binomial interval around an accuracy."""
    return 2.576 * np.sqrt(accuracy * (1 - accuracy) / n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_1000_shots_agree_with_exact_and_10_shots_do_not(model, seed):
    clf, theta, data = model
    exact = clean_accuracy(clf, theta, data)
    many = clean_accuracy(clf, theta, data, Scoring(1000, seed))
    few = clean_accuracy(clf, theta, data, Scoring(10, seed))
    band = _half_width(exact, N)
    assert abs(many - exact) <= band
    assert abs(few - exact) > band


def test_same_seed_same_numbers_other_seed_other_numbers(model):
    clf, theta, data = model
    attacks = {"f": AttackConfig("fgsm", epsilon=0.2)}
    a = evaluate(clf, theta, data, attacks, scoring=Scoring(10, 5))
    b = evaluate(clf, theta, data, attacks, scoring=Scoring(10, 5))
    c = evaluate(clf, theta, data, attacks, scoring=Scoring(10, 6))
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()


def test_attack_is_white_box_and_only_its_scoring_is_sampled(model):
    clf, theta, data = model
    config = AttackConfig("fgsm", epsilon=0.2)
    keep_exact: dict = {}
    keep_shots: dict = {}
    exact = evaluate(clf, theta, data, {"f": config}, keep=keep_exact)
    shots = evaluate(clf, theta, data, {"f": config}, keep=keep_shots, scoring=Scoring(10, 1))
    # the same adversarial inputs (exact gradients) ...
    np.testing.assert_allclose(keep_shots["f"][0].x_adv, keep_exact["f"][0].x_adv, atol=0)
    np.testing.assert_allclose(
        keep_exact["f"][0].x_adv, attack_sweep(clf, theta, data, config)[0].x_adv
    )
    # ... scored by sampled decisions
    assert shots.points[0].robust_accuracy != exact.points[0].robust_accuracy
    assert shots.points[0].mean_linf == pytest.approx(exact.points[0].mean_linf)


def test_shots_in_a_qadl_evaluate_block(tmp_path):
    def run(options: str) -> dict:
        source = (
            CIRCLE + f"evaluate clf on circle.test under [clean, fgsm(epsilon = 0.1)] {options}\n"
        )
        (ev,) = evaluate_program(source, {"clf": CIRCLE_THETA}, tmp_path)
        return ev.to_json()

    exact = run("")
    few = run("{ shots 5; seed 1 }")
    assert few == run("{ shots 5; seed 1 }")
    assert few != exact
    assert few != run("{ shots 5; seed 2 }")
    many = run("{ shots 100000; seed 1 }")
    assert many["clean_accuracy"] == pytest.approx(exact["clean_accuracy"], abs=0.03)


def test_a_device_with_shots_sets_the_default(tmp_path):
    """`evaluate` without `shots` reads a device-bound model with the device's shots."""
    device = "target t { qubits 2; shots 5 }\ndevice clf on t\n"
    under = "evaluate clf on circle.test under [clean, fgsm(epsilon = 0.1)]"
    (on_device,) = evaluate_program(CIRCLE + device + under + "\n", {"clf": CIRCLE_THETA}, tmp_path)
    (explicit,) = evaluate_program(
        CIRCLE + under + " { shots 5 }\n", {"clf": CIRCLE_THETA}, tmp_path
    )
    (exact,) = evaluate_program(
        CIRCLE + device + under + " { shots 1000000 }\n", {"clf": CIRCLE_THETA}, tmp_path
    )
    assert on_device.to_json() == explicit.to_json()
    assert on_device.clean_accuracy != exact.clean_accuracy


@pytest.mark.parametrize("count", ["0", "-3", "two"])
def test_cli_samples_must_be_a_positive_count(tmp_path, capsys, count):
    from qadl.cli import main

    program = tmp_path / "p.qadl"
    program.write_text(CIRCLE.replace("data/circle.csv", "../examples/data/circle.csv"))
    code = main(["run", str(program), "--out", str(tmp_path / "out"), "--samples", count])
    assert code == 2
    assert "--samples" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
