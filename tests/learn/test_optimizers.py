"""Optimizers on a convex quadratic; masks; state is plain arrays and steps are pure."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.learn.optimizers import COBYLA, SGD, SPSA, Adam, make_optimizer

CURV = np.array([1.0, 3.0, 0.5, 2.0])
TARGET = np.array([0.5, -1.0, 2.0, 0.0])


def quad(theta: np.ndarray) -> float:
    return float(0.5 * np.sum(CURV * (theta - TARGET) ** 2))


def quad_grad(theta: np.ndarray) -> np.ndarray:
    return CURV * (theta - TARGET)


@pytest.mark.parametrize(
    ("opt", "steps"),
    [(Adam(lr=0.1), 400), (SGD(lr=0.2), 200), (SGD(lr=0.05, momentum=0.9, nesterov=True), 300)],
)
def test_gradient_optimizers_minimise_a_quadratic(opt, steps) -> None:
    theta = np.zeros(4)
    state = opt.init(theta)
    for _ in range(steps):
        theta, state = opt.step(state, theta, quad_grad(theta))
    np.testing.assert_allclose(theta, TARGET, atol=1e-2)


@pytest.mark.parametrize(("opt", "steps"), [(SPSA(a=0.5, c=0.05, seed=3), 600), (COBYLA(), 4)])
def test_gradient_free_optimizers_minimise_a_quadratic(opt, steps) -> None:
    theta = np.zeros(4)
    state = opt.init(theta)
    for _ in range(steps):
        theta, state = opt.step(state, theta, quad)
    assert quad(theta) < 1e-3 * quad(np.zeros(4))


def test_steps_are_pure_and_state_is_arrays() -> None:
    opt = Adam()
    theta = np.ones(4)
    state = opt.init(theta)
    before = {k: v.copy() for k, v in state.items()}
    new_theta, new_state = opt.step(state, theta, quad_grad(theta))
    np.testing.assert_array_equal(theta, np.ones(4))
    for k in before:
        np.testing.assert_array_equal(state[k], before[k])
    assert all(isinstance(v, np.ndarray) for v in new_state.values())
    assert not np.array_equal(new_theta, theta)


def test_mask_freezes_other_entries() -> None:
    mask = np.array([True, False, True, False])
    for opt in (Adam(), SGD(momentum=0.9)):
        theta = np.zeros(4)
        state = opt.init(theta)
        for _ in range(3):
            theta, state = opt.step(state, theta, quad_grad(theta), mask=mask)
        assert np.all(theta[~mask] == 0.0) and np.all(theta[mask] != 0.0)
        assert all(np.all(v[~mask] == 0.0) for v in state.values() if v.ndim)


def test_spsa_is_reproducible_and_follows_gain_schedule() -> None:
    opt = SPSA(a=0.3, c=0.2, A=5, seed=11)
    a0, c0 = opt.gains(0)
    assert a0 == pytest.approx(0.3 / 6**0.602) and c0 == pytest.approx(0.2)
    runs = []
    for _ in range(2):
        theta, state = np.zeros(4), opt.init(np.zeros(4))
        for _ in range(5):
            theta, state = opt.step(state, theta, quad)
        runs.append(theta)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_make_optimizer() -> None:
    assert make_optimizer("adam", lr=0.01) == Adam(lr=0.01)
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("lbfgs")
    with pytest.raises(ValueError, match="bad options"):
        make_optimizer("sgd", beta1=0.9)


def test_inverse_time_decay_shrinks_steps() -> None:
    """With decay d the t-th step uses lr / (1 + d (t - 1)); a constant gradient shows it."""
    grad = np.ones(4)
    opt = SGD(lr=1.0, decay=1.0)
    theta, state = np.zeros(4), opt.init(np.zeros(4))
    moves = []
    for _ in range(3):
        new, state = opt.step(state, theta, grad)
        moves.append(float(theta[0] - new[0]))
        theta = new
    np.testing.assert_allclose(moves, [1.0, 0.5, 1 / 3])
    adam = Adam(lr=0.1, decay=1.0)
    theta, state = np.zeros(4), adam.init(np.zeros(4))
    first, state = adam.step(state, theta, grad)
    second, _ = adam.step(state, first, grad)
    np.testing.assert_allclose(first - second, 0.05, rtol=1e-6)  # Adam's unit step, halved
