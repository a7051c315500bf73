"""Step counts are bounded in `check`, and an attack's memory grows with the steps it takes."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.attacks import craft
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.quantum import local_rotation_adversary, quantum_attack
from qadl.check.methods import MAX_ATTACK_STEPS, MAX_RESTARTS
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from tests.adversary.models import softmax_problem, state_circuit
from tests.adversary.sessions import CIRCLE, load_source


@pytest.mark.parametrize(
    ("method", "problem"),
    [
        (f"bim(epsilon = 0.1, steps = {MAX_ATTACK_STEPS + 1})", "must be in [1, 10000]"),
        (f"gradient_steps(max_steps = {MAX_ATTACK_STEPS + 1})", "must be in [1, 10000]"),
        (f"local_rotations(steps = {MAX_ATTACK_STEPS + 1})", "must be in [1, 10000]"),
        (f"pgd(epsilon = 0.1, restarts = {MAX_RESTARTS + 1})", "must be in [1, 100]"),
        ("pgd(epsilon = 0.1, restarts = 1e9)", "expected an integer"),
    ],
)
def test_counts_above_the_bounds_are_refused(method, problem):
    with pytest.raises(QadlError) as caught:
        load_source(CIRCLE + f"attack a on clf {{ method {method} }}\n")
    assert caught.value.diagnostics[0].code == "E0502"
    assert problem in caught.value.diagnostics[0].message


def test_counts_at_the_bounds_are_accepted():
    source = CIRCLE + (
        f"attack a on clf {{ method bim(epsilon = 0.1, steps = {MAX_ATTACK_STEPS}) }}\n"
        f"attack b on clf {{ method pgd(epsilon = 0.1, restarts = {MAX_RESTARTS}) }}\n"
    )
    assert set(load_source(source).attacks) == {"a", "b"}


@pytest.mark.parametrize("clip", ["[1, -1]", "[0.5, 0.5]", "[0, nan]", "[0]"])
def test_clip_needs_two_finite_bounds_in_order(clip):
    with pytest.raises(QadlError) as caught:
        load_source(CIRCLE + f"attack a on clf {{ method fgsm(epsilon = 0.1); clip {clip} }}\n")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0502" and "clip" in diagnostic.message


def test_the_trace_has_a_row_per_step_taken_not_per_step_allowed():
    oracle, x, y = softmax_problem(seed=2)
    config = AttackConfig(
        "bim", epsilon=1.0, steps=MAX_ATTACK_STEPS, step_size=0.05, until_success_rate=0.5
    )
    result = craft(oracle, x, y, config)
    assert result.success.mean() >= 0.5
    assert result.objective_trace.shape == (result.steps.max(), len(y))
    assert result.steps.max() < 100


def test_the_quantum_trace_has_a_row_per_step_taken():
    circuit = state_circuit(3, layers=2)
    adversary = local_rotation_adversary(circuit)
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, circuit.num_params)
    rng = np.random.default_rng(4)
    states = rng.normal(size=(10, 8)) + 1j * rng.normal(size=(10, 8))
    states /= np.linalg.norm(states, axis=1, keepdims=True)
    y = adversary.predict_proba(theta, states, np.zeros((10, 9))).argmax(axis=1)
    data = Dataset(states=states, y=y, num_classes=2, name="q")
    config = QuantumAttackConfig(
        epsilon=1.0, steps=MAX_ATTACK_STEPS, step_size=0.05, until_confidence=0.55
    )
    result = quantum_attack(adversary, theta, data, config)
    assert result.objective_trace.shape == (result.steps.max(), 10)
    assert result.steps.max() < 100


@pytest.mark.parametrize(
    ("method", "problem"),
    [
        ("transfer(attack = fgsm(epsilon = 0.1))", "needs its source"),
        ("transfer(from = clf, surrogate = mlp, attack = fgsm(epsilon = 0.1))", "not both"),
    ],
)
def test_a_transfer_attack_has_exactly_one_source(method, problem):
    with pytest.raises(QadlError) as caught:
        load_source(CIRCLE + f"attack a on clf {{ method {method} }}\n")
    assert caught.value.diagnostics[0].code == "E0502"
    assert problem in caught.value.diagnostics[0].message
