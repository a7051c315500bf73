"""`targeted C`: every method pushes samples to class C; a class the model lacks is refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qadl.adversary.attacks import ClassifierOracle, attack
from qadl.adversary.config import AttackConfig
from qadl.adversary.transfer import transfer_attack
from qadl.errors import QadlError
from tests.adversary.models import classifier_for, encoding_circuit, teacher_dataset
from tests.adversary.sessions import CIRCLE, CIRCLE_THETA, evaluate_program, load_source

TARGET = 3


@pytest.fixture(scope="module")
def four_class():
    circuit = encoding_circuit(3, layers=2, num_classes=4)
    clf = classifier_for(circuit)
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, circuit.num_params)
    return clf, theta, teacher_dataset(clf, theta, n=40, seed=2, margin=0.05)


TARGETED = {
    "fgsm": AttackConfig("fgsm", epsilon=0.5),
    "bim": AttackConfig("bim", epsilon=0.5, steps=10),
    "pgd": AttackConfig("pgd", epsilon=0.5, steps=10, seed=1),
    "mim": AttackConfig("mim", epsilon=0.5, steps=10),
    "gradient_steps": AttackConfig("gradient_steps", epsilon=None, steps=30, lr=0.05),
}


@pytest.mark.parametrize("method", sorted(TARGETED))
def test_targeted_attack_reaches_the_target(four_class, method):
    clf, theta, data = four_class
    config = replace(TARGETED[method], targeted=True, target=TARGET)
    result = attack(clf, theta, data, config)
    before = np.mean(result.pred_clean == TARGET)
    after = np.mean(result.pred_adv == TARGET)
    assert after >= before + 0.3
    # success means "now predicted as the target", not "now wrong"
    np.testing.assert_array_equal(result.success, result.pred_adv == TARGET)
    untargeted = attack(clf, theta, data, TARGETED[method])
    assert after > np.mean(untargeted.pred_adv == TARGET)


def test_targeted_transfer_attack_reaches_the_target(four_class):
    clf, theta, data = four_class
    source = ClassifierOracle(clf, theta + 0.05)  # a close relative of the victim
    config = AttackConfig("pgd", epsilon=0.5, steps=10, targeted=True, target=TARGET)
    (result,) = transfer_attack(source, clf, theta, data, config)
    assert np.mean(result.pred_adv == TARGET) >= np.mean(result.pred_clean == TARGET) + 0.3


@pytest.mark.parametrize("target", [2, 5])
def test_a_class_the_model_does_not_read_out_is_a_located_run_time_error(tmp_path, target):
    """Checked again where the attack runs, whatever `qadl check` let through."""
    source = CIRCLE + "attack t on clf { method fgsm(epsilon = 0.1); targeted 1 }\n"
    source += "evaluate clf on circle.test under [clean, t]\n"
    program = load_source(source)
    spec = program.attacks["t"]
    program.attacks["t"] = replace(spec, options={**spec.options, "targeted": target})
    with pytest.raises(QadlError) as caught:
        evaluate_program(program, {"clf": CIRCLE_THETA}, tmp_path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0530"
    assert f"targeted {target}" in diagnostic.message and "0..1" in diagnostic.message
    assert source[diagnostic.primary.span.start :].startswith("attack t")


def test_targeted_local_rotations_reach_the_target():
    from qadl.adversary.config import QuantumAttackConfig
    from qadl.adversary.quantum import local_rotation_adversary, quantum_attack
    from qadl.learn.data import Dataset
    from tests.adversary.models import state_circuit

    circuit = state_circuit(3, layers=2)
    adversary = local_rotation_adversary(circuit)
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_params)
    rng = np.random.default_rng(4)
    states = rng.normal(size=(40, 8)) + 1j * rng.normal(size=(40, 8))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    y = adversary.predict_proba(theta, states, np.zeros((40, 9))).argmax(axis=1)
    data = Dataset(states=states, y=y, num_classes=2, name="q")
    config = QuantumAttackConfig(epsilon=0.6, steps=10, targeted=True, target=1)
    result = quantum_attack(adversary, theta, data, config)
    assert np.mean(result.pred_adv == 1) >= np.mean(result.pred_clean == 1) + 0.3
    np.testing.assert_array_equal(result.success, result.pred_adv == 1)
