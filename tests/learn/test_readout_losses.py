"""Class-probability readouts and losses: values and gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.ir.circuit import Readout
from qadl.learn.losses import LOSSES, loss_and_grad
from qadl.learn.readout import class_probs, class_probs_vjp

READOUTS = {
    "probs2": (Readout("probs", qubits=(0,), num_classes=2), 2),
    "probs3of4": (Readout("probs", qubits=(0, 1), num_classes=3), 3),
    "expval1": (Readout("expval", observables=((("Z", 0),),), num_classes=2), 1),
    "softmax3": (
        Readout(
            "expval", observables=((("Z", 0),), (("Z", 1),), (("X", 0), ("X", 1))), num_classes=3
        ),
        3,
    ),
}


def _outputs(readout: Readout, k: int, rng: np.random.Generator, b: int = 4) -> np.ndarray:
    if readout.kind == "probs":
        return rng.uniform(0.05, 1.0, (b, k)) / k
    return rng.uniform(-1, 1, (b, k))


def _fd_vjp(f, outputs: np.ndarray, cot: np.ndarray, h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(outputs)
    for idx in np.ndindex(outputs.shape):
        up, down = outputs.copy(), outputs.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = np.sum(cot * (f(up) - f(down))) / (2 * h)
    return grad


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_class_probs_are_distributions(name: str) -> None:
    readout, k = READOUTS[name]
    probs = class_probs(readout, _outputs(readout, k, np.random.default_rng(1)), scale=2.0)
    assert probs.shape == (4, readout.num_classes)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(READOUTS))
def test_class_probs_vjp_matches_finite_differences(name: str) -> None:
    readout, k = READOUTS[name]
    rng = np.random.default_rng(2)
    outputs = _outputs(readout, k, rng)
    cot = rng.normal(size=(4, readout.num_classes))
    got = class_probs_vjp(readout, outputs, cot, scale=1.7)
    want = _fd_vjp(lambda o: class_probs(readout, o, scale=1.7), outputs, cot)
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_binary_expval_maps_z_to_outcome_probabilities() -> None:
    """<Z> = 1 is outcome 0 with certainty, <Z> = -1 outcome 1, <Z> = 0.2 -> (0.6, 0.4)."""
    readout = READOUTS["expval1"][0]
    probs = class_probs(readout, np.array([[1.0], [-1.0], [0.2]]))
    np.testing.assert_allclose(probs, [[1, 0], [0, 1], [0.6, 0.4]])


def test_probs_readout_renormalises_kept_outcomes() -> None:
    readout = READOUTS["probs3of4"][0]
    np.testing.assert_allclose(class_probs(readout, np.array([[0.1, 0.2, 0.2]])), [[0.2, 0.4, 0.4]])


def test_bad_output_shape_is_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        class_probs(READOUTS["probs2"][0], np.zeros((3, 3)))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_matches_finite_differences(name: str) -> None:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=6)
    y = rng.integers(0, 3, 6)
    loss, grad = loss_and_grad(name, probs, y)
    assert loss.shape == (6,) and grad.shape == (6, 3)
    cot = rng.normal(size=6)
    fd = _fd_vjp(lambda p: loss_and_grad(name, p, y)[0], probs, cot)
    np.testing.assert_allclose(cot[:, None] * grad, fd, atol=1e-6)


def test_loss_values() -> None:
    probs = np.array([[0.8, 0.2], [0.3, 0.7]])
    y = np.array([0, 0])
    np.testing.assert_allclose(loss_and_grad("cross_entropy", probs, y)[0], -np.log([0.8, 0.3]))
    np.testing.assert_allclose(loss_and_grad("mse", probs, y)[0], [0.08, 0.98])
    np.testing.assert_allclose(loss_and_grad("hinge", probs, y)[0], [0.0, 0.9])


def test_cross_entropy_is_finite_at_zero_probability() -> None:
    loss, grad = loss_and_grad("cross_entropy", np.array([[0.0, 1.0]]), np.array([0]))
    assert np.isfinite(loss).all() and np.isfinite(grad).all()


def test_unknown_loss_and_bad_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown loss"):
        loss_and_grad("nll", np.full((1, 2), 0.5), np.array([0]))
    with pytest.raises(ValueError, match="labels"):
        loss_and_grad("mse", np.full((1, 2), 0.5), np.array([2]))
