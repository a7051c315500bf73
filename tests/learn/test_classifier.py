"""``Classifier`` against finite differences of its own forward pass (reference simulator)."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.ir.circuit import Readout
from qadl.learn.classifier import Classifier
from qadl.learn.losses import loss_and_grad
from qadl.testing import reference_outputs, reference_state

from .circuits import tiny_classifier, tiny_state_classifier
from .refsim import RefSim


def _mean_loss(clf, theta, y, loss, **inputs) -> float:
    probs = clf.predict_proba(theta, **inputs)
    return float(loss_and_grad(loss, probs, y)[0].mean())


def _fd(f, arr: np.ndarray, h: float = 1e-5) -> np.ndarray:
    g = np.zeros(arr.shape)
    for idx in np.ndindex(arr.shape):
        up, down = arr.copy(), arr.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


def test_predict_proba_matches_reference_simulation() -> None:
    circuit = tiny_classifier()
    clf = Classifier(RefSim(circuit), circuit.readout)
    rng = np.random.default_rng(0)
    theta, x = rng.uniform(-3, 3, circuit.num_params), rng.uniform(0, 3, (3, 2))
    probs = clf.predict_proba(theta, x=x)
    for b in range(3):
        marg = reference_outputs(circuit, reference_state(circuit, theta, x[b]))
        np.testing.assert_allclose(probs[b], marg / marg.sum(), atol=1e-12)
    np.testing.assert_array_equal(clf.predict(theta, x=x), probs.argmax(axis=1))


@pytest.mark.parametrize("loss", ["cross_entropy", "mse", "hinge"])
@pytest.mark.parametrize(
    "readout",
    [Readout("probs", qubits=(0,)), Readout("expval", observables=((("Z", 1),),))],
    ids=["probs", "expval"],
)
def test_gradients_are_of_the_mean_loss(loss: str, readout: Readout) -> None:
    circuit = tiny_classifier(readout=readout)
    clf = Classifier(RefSim(circuit), readout)
    rng = np.random.default_rng(1)
    theta, x = rng.uniform(-3, 3, circuit.num_params), rng.uniform(0, 3, (3, 2))
    y = np.array([0, 1, 1])
    per_sample, grads = clf.loss_and_grads(theta, y, x=x, loss=loss)
    np.testing.assert_allclose(per_sample.mean(), _mean_loss(clf, theta, y, loss, x=x))
    np.testing.assert_allclose(
        grads.theta, _fd(lambda t: _mean_loss(clf, t, y, loss, x=x), theta), atol=1e-5
    )
    np.testing.assert_allclose(
        grads.x, _fd(lambda a: _mean_loss(clf, theta, y, loss, x=a), x), atol=1e-5
    )


def test_state_and_delta_gradients() -> None:
    circuit = tiny_state_classifier()
    clf = Classifier(RefSim(circuit), circuit.readout)
    rng = np.random.default_rng(2)
    theta = rng.uniform(-3, 3, circuit.num_params)
    state = rng.normal(size=(2, 4)) + 1j * rng.normal(size=(2, 4))
    state /= np.linalg.norm(state, axis=1, keepdims=True)
    delta = rng.normal(scale=0.1, size=(2, 2))
    y = np.array([1, 0])
    _, grads = clf.loss_and_grads(theta, y, state=state, delta=delta)
    ce = "cross_entropy"
    want_delta = _fd(lambda d: _mean_loss(clf, theta, y, ce, state=state, delta=d), delta)
    np.testing.assert_allclose(grads.delta, want_delta, atol=1e-5)
    want_re = _fd(
        lambda r: _mean_loss(clf, theta, y, ce, state=r + 1j * state.imag, delta=delta),
        state.real,
    )
    np.testing.assert_allclose(grads.state.real, want_re, atol=1e-5)


@pytest.mark.parametrize(
    "readout",
    [
        Readout("probs", qubits=(0, 1), num_classes=3),
        Readout("expval", observables=((("Z", 0),), (("X", 1),)), num_classes=2),
    ],
    ids=["probs3", "softmax2"],
)
def test_compiled_simulator_agrees_with_the_reference(readout: Readout) -> None:
    """The same Classifier on the Numba simulator and on the dense reference one."""
    from qadl.backends.sim import Simulator

    circuit = tiny_classifier(readout=readout)
    fast = Classifier(Simulator(circuit), readout, scale=2.0)
    slow = Classifier(RefSim(circuit), readout, scale=2.0)
    rng = np.random.default_rng(4)
    theta, x = rng.uniform(-3, 3, circuit.num_params), rng.uniform(0, 3, (4, 2))
    y = np.array([0, 1, 1, 0]) if readout.num_classes == 2 else np.array([0, 1, 2, 0])
    np.testing.assert_allclose(
        fast.predict_proba(theta, x=x), slow.predict_proba(theta, x=x), atol=1e-12
    )
    loss_f, grads_f = fast.loss_and_grads(theta, y, x=x)
    loss_s, grads_s = slow.loss_and_grads(theta, y, x=x)
    np.testing.assert_allclose(loss_f, loss_s, atol=1e-12)
    np.testing.assert_allclose(grads_f.theta, grads_s.theta, atol=1e-6)
    np.testing.assert_allclose(grads_f.x, grads_s.x, atol=1e-6)


def test_compiled_simulator_state_gradients_agree_with_the_reference() -> None:
    from qadl.backends.sim import Simulator

    circuit = tiny_state_classifier()
    rng = np.random.default_rng(5)
    theta = rng.uniform(-3, 3, circuit.num_params)
    state = rng.normal(size=(3, 4)) + 1j * rng.normal(size=(3, 4))
    state /= np.linalg.norm(state, axis=1, keepdims=True)
    delta = rng.normal(scale=0.1, size=(3, 2))
    y = np.array([1, 0, 1])
    _, fast = Classifier(Simulator(circuit), circuit.readout).loss_and_grads(
        theta, y, state=state, delta=delta
    )
    _, slow = Classifier(RefSim(circuit), circuit.readout).loss_and_grads(
        theta, y, state=state, delta=delta
    )
    for name in ("theta", "delta", "state"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), atol=1e-6)
