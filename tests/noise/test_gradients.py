"""Noisy gradients: adjoint and parameter-shift vs finite differences.

The adjoint method applies the adjoint channels to the cotangent operator.
"""

from __future__ import annotations

import numpy as np
import pytest

from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.ir.circuit import Readout
from qadl.ir.gates import Gate
from qadl.testing import UNITARY_GATES, random_circuit
from tests.noise.helpers import NOISE, with_readout

READOUTS = {
    "probs": Readout("probs", (0, 2), num_classes=3),
    "expval": Readout("expval", observables=((("Z", 1),), (("X", 0), ("Z", 2)), (("Y", 2),))),
}


def _setup(seed: int, kind: str, *, state: bool = False):
    rng = np.random.default_rng(seed)
    circuit = with_readout(random_circuit(rng, 3, 14, num_deltas=2), READOUTS[kind])
    sim = DensityMatrixSimulator(circuit, NOISE)
    batch = 2
    args = {
        "theta": rng.uniform(-np.pi, np.pi, circuit.num_params),
        "x": rng.uniform(-np.pi, np.pi, (batch, circuit.num_features)),
        "delta": rng.uniform(-0.3, 0.3, (batch, circuit.num_deltas)),
    }
    if state:
        psi = rng.normal(size=(batch, 8)) + 1j * rng.normal(size=(batch, 8))
        args["state"] = psi / np.linalg.norm(psi, axis=1, keepdims=True)
    cot = rng.normal(size=(batch, circuit.readout.num_outputs))
    return sim, args, cot


def _loss(sim, cot, **args) -> float:
    return float((sim.exact_outputs(**args) * cot).sum())


def _central(sim, cot, args, name, h=1e-6):
    """Central differences of the loss along every entry of ``args[name]``."""
    base = np.asarray(args[name])
    grad = np.zeros(base.shape, dtype=base.dtype)
    for idx in np.ndindex(base.shape):
        for unit in (1.0, 1j) if np.iscomplexobj(base) else (1.0,):
            plus, minus = base.copy(), base.copy()
            plus[idx] += h * unit
            minus[idx] -= h * unit
            d = (
                _loss(sim, cot, **{**args, name: plus}) - _loss(sim, cot, **{**args, name: minus})
            ) / (2 * h)
            grad[idx] += d * unit
    return grad


@pytest.mark.parametrize("kind", ["probs", "expval"])
@pytest.mark.parametrize("method", ["adjoint", "parameter-shift"])
def test_theta_x_delta_gradients_match_finite_differences(kind, method):
    """dL/dθ (batch-summed), dL/dx and dL/dδ under depolarizing, T1/T2 and readout error."""
    sim, args, cot = _setup(3, kind)
    grads = sim.vjp(**args, cotangent=cot, method=method)
    np.testing.assert_allclose(grads.outputs, sim.exact_outputs(**args), atol=1e-13)
    for name in ("theta", "x", "delta"):
        np.testing.assert_allclose(
            getattr(grads, name), _central(sim, cot, args, name), atol=1e-7, err_msg=name
        )


@pytest.mark.parametrize("kind", ["probs", "expval"])
def test_input_state_gradient_matches_finite_differences(kind):
    """dL/dRe ψ + i·dL/dIm ψ of the input state (unnormalised perturbations, as in the contract)."""
    sim, args, cot = _setup(4, kind, state=True)
    grads = sim.vjp(**args, cotangent=cot)
    np.testing.assert_allclose(grads.state, _central(sim, cot, args, "state"), atol=1e-7)


def test_adjoint_equals_parameter_shift_on_longer_circuit():
    """Checkpointed adjoint (segments of √L blocks) and parameter-shift agree to 1e-10 on 40 ops."""
    rng = np.random.default_rng(7)
    no_ccx = tuple(g for g in UNITARY_GATES if g is not Gate.CCX)  # keep blocks at 16×16
    circuit = with_readout(
        random_circuit(rng, 3, 40, gates=no_ccx, num_params=6), READOUTS["probs"]
    )
    sim = DensityMatrixSimulator(circuit, NOISE)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-np.pi, np.pi, (2, circuit.num_features))
    cot = rng.normal(size=(2, 3))
    adj = sim.vjp(theta, x, cotangent=cot)
    shift = sim.vjp(theta, x, cotangent=cot, method="parameter-shift")
    np.testing.assert_allclose(adj.theta, shift.theta, atol=1e-10)
    np.testing.assert_allclose(adj.x, shift.x, atol=1e-10)
