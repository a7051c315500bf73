"""``Classifier`` training steps run the simulator's forward pass once (``vjp_after``)."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.learn.classifier import Classifier

from .circuits import tiny_classifier, tiny_state_classifier
from .refsim import RefSim


class _Counting(Simulator):
    """The statevector simulator, counting the calls that run a forward pass."""

    def __init__(self, circuit) -> None:
        super().__init__(circuit)
        self.calls: list[str] = []

    def outputs(self, *args, **kwargs):
        self.calls.append("outputs")
        return super().outputs(*args, **kwargs)

    def vjp(self, *args, **kwargs):
        self.calls.append("vjp")
        return super().vjp(*args, **kwargs)


def _inputs(circuit, rng, batch: int) -> dict:
    if circuit.state_input:
        psi = rng.normal(size=(batch, 1 << circuit.num_qubits)) + 1j * rng.normal(
            size=(batch, 1 << circuit.num_qubits))
        return {"state": psi / np.linalg.norm(psi, axis=1, keepdims=True),
                "delta": rng.normal(scale=0.1, size=(batch, circuit.num_deltas))}
    return {"x": rng.uniform(0, 3, (batch, circuit.num_features))}


@pytest.mark.parametrize("make", [tiny_classifier, tiny_state_classifier])
@pytest.mark.parametrize("loss", ["cross_entropy", "hinge"])
def test_loss_and_grads_runs_one_forward_and_matches_two(make, loss) -> None:
    circuit = make()
    sim = _Counting(circuit)
    rng = np.random.default_rng(3)
    theta = rng.uniform(-3, 3, circuit.num_params)
    inputs = _inputs(circuit, rng, 4)
    y = np.array([0, 1, 1, 0]) % circuit.readout.num_classes
    per_sample, grads = Classifier(sim, circuit.readout).loss_and_grads(theta, y, loss=loss,
                                                                       **inputs)
    assert sim.calls == []  # neither outputs nor vjp: vjp_after alone
    ref_loss, ref = Classifier(RefSim(circuit), circuit.readout).loss_and_grads(
        theta, y, loss=loss, **inputs)
    np.testing.assert_allclose(per_sample, ref_loss, atol=1e-10)
    np.testing.assert_allclose(grads.theta, ref.theta, atol=1e-6)
    for field in ("x", "delta", "state"):
        if getattr(ref, field) is not None:
            np.testing.assert_allclose(getattr(grads, field), getattr(ref, field), atol=1e-6)


def test_shot_loss_and_grads_runs_one_forward() -> None:
    circuit = tiny_classifier()
    sim = _Counting(circuit)
    rng = np.random.default_rng(5)
    theta = rng.uniform(-3, 3, circuit.num_params)
    x = rng.uniform(0, 3, (3, circuit.num_features))
    y = np.array([0, 1, 0])
    clf = Classifier(sim, circuit.readout)
    per_sample, grads = clf.shot_loss_and_grads(theta, y, 64, np.random.default_rng(1), x=x)
    assert sim.calls == []
    # the same shots through outputs + vjp (RefSim has no vjp_after)
    ref_loss, ref = Classifier(RefSim(circuit), circuit.readout).shot_loss_and_grads(
        theta, y, 64, np.random.default_rng(1), x=x)
    np.testing.assert_allclose(per_sample, ref_loss, atol=1e-10)
    np.testing.assert_allclose(grads.theta, ref.theta, atol=1e-6)
