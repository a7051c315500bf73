"""Signed (L∞) steps leave features outside the readout's light cone exactly where they were.

Their input gradient is zero in exact arithmetic and ~1e-16 in floating point; a plain
``sign`` would move them by ±α on rounding noise and inflate the reported L2.
"""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary import norms
from qadl.adversary.attacks import ClassifierOracle, craft
from qadl.adversary.config import AttackConfig
from qadl.backends.sim import Simulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.learn.classifier import Classifier

N = 5
INSIDE = 2
"""Features 0 and 1 reach the readout (qubit 0); 2..4 sit on qubits never coupled to it."""


def _light_cone_oracle() -> ClassifierOracle:
    ops = [Op(Gate.RY, (q,), (E.theta(q) + E.x(q),)) for q in range(N)]
    k = N
    for _ in range(3):
        ops += [Op(Gate.CZ, (0, 1))] + [Op(Gate.CX, (q, q + 1)) for q in range(2, N - 1)]
        for q in range(N):
            ops.append(Op(Gate.RX, (q,), (E.theta(k),)))
            k += 1
    circuit = Circuit(
        N,
        tuple(ops),
        num_params=k,
        num_features=N,
        readout=Readout("probs", qubits=(0,), num_classes=2),
        name="light_cone",
    )
    theta = np.random.default_rng(0).uniform(0, 2 * np.pi, k)
    return ClassifierOracle(Classifier(Simulator(circuit), circuit.readout), theta)


@pytest.fixture(scope="module")
def problem():
    oracle = _light_cone_oracle()
    x = np.random.default_rng(1).uniform(0.0, 1.0, size=(8, N))
    y = oracle.predict_proba(x).argmax(axis=1)
    return oracle, x, y


def test_outside_features_have_rounding_noise_gradients(problem):
    """The premise: the gradient there is tiny but not exactly zero."""
    oracle, x, y = problem
    _, grad = oracle.loss_and_input_grad(x, y)
    outside = np.abs(grad[:, INSIDE:])
    assert outside.max() < 1e-14
    assert np.abs(grad[:, :INSIDE]).max() > 1e-3


def test_signed_zeroes_relative_noise_only():
    g = np.array([[1.0, -1e-3, 1e-13, -2e-16, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(norms.signed(g), [[1, -1, 0, 0, 0], [0, 0, 0, 0, 0]])
    # the threshold is relative: a row of small but real gradients keeps its signs
    np.testing.assert_array_equal(norms.signed(np.array([[1e-9, -1e-10]])), [[1, -1]])


@pytest.mark.parametrize("method", ["fgsm", "bim", "mim"])
def test_linf_attacks_leave_outside_features_unchanged(problem, method):
    oracle, x, y = problem
    config = AttackConfig(method, norm="linf", epsilon=0.05, steps=5)
    result = craft(oracle, x, y, config)
    np.testing.assert_array_equal(result.x_adv[:, INSIDE:], x[:, INSIDE:])
    moved = np.abs(result.x_adv[:, :INSIDE] - x[:, :INSIDE])
    assert moved.max() == pytest.approx(0.05, abs=1e-12)
    # so the reported L2 is that of the features that matter
    np.testing.assert_allclose(result.l2, np.linalg.norm(moved, axis=1), atol=1e-12)


def test_pgd_steps_leave_outside_features_at_their_random_start(problem):
    oracle, x, y = problem
    config = AttackConfig("pgd", norm="linf", epsilon=0.05, steps=5, seed=3)
    result = craft(oracle, x, y, config)
    start = norms.random_in_ball(np.random.default_rng(3), x.shape, "linf", 0.05)
    np.testing.assert_allclose(result.x_adv[:, INSIDE:], (x + start)[:, INSIDE:], atol=1e-15)
