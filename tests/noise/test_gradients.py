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
from tests.sim.cases import assert_same_bits, on_all_threads_and_one

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


@pytest.mark.parametrize("kind", ["probs", "expval"])
@pytest.mark.parametrize("state", [False, True])
@pytest.mark.parametrize("shots", [None, 200])
def test_vjp_after_runs_one_forward_pass(kind, state, shots, monkeypatch):
    """``vjp_after``: the seed sees what ``outputs`` returns (shot noise included, from the
    same generator), the gradients equal ``outputs`` then ``vjp`` bit for bit, and no
    separate forward pass or second checkpointing runs."""
    from qadl.backends.sim import density

    sim, args, cot = _setup(11, kind, state=state)
    twin, _, _ = _setup(11, kind, state=state)
    if shots:
        sim, twin = (DensityMatrixSimulator(s.circuit, NOISE, shots=shots, seed=3)
                     for s in (sim, twin))
    seen = []

    def seed(outputs):
        seen.append(outputs.copy())
        return cot * (1.0 + outputs), "aux"

    def no_forward(*_):
        raise AssertionError("a separate forward pass ran")

    checkpoints = []
    run = sim._checkpoints
    monkeypatch.setattr(sim, "_forward", no_forward)
    monkeypatch.setattr(sim, "_checkpoints", lambda *a: checkpoints.append(1) or run(*a))
    got, aux = sim.vjp_after(**args, seed=seed)
    assert aux == "aux" and len(seen) == 1 and len(checkpoints) == 1
    outputs = twin.outputs(**args)
    np.testing.assert_array_equal(seen[0], outputs)
    ref = twin.vjp(**args, cotangent=cot * (1.0 + outputs))
    for field in ("outputs", "theta", "x", "delta", "state"):
        a, b = getattr(got, field), getattr(ref, field)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    assert density.KEEP_MAX_BYTES > 0


def test_checkpoints_run_in_chunks_of_rows(monkeypatch):
    """Checkpoints larger than ``KEEP_MAX_BYTES``: ``vjp`` sweeps chunks of rows (same
    result), and ``vjp_after`` falls back to ``outputs`` then ``vjp``."""
    from qadl.backends.sim import density

    sim, args, cot = _setup(5, "expval")
    args = {**args, "x": np.tile(args["x"], (3, 1)), "delta": np.tile(args["delta"], (3, 1))}
    cot = np.tile(cot, (3, 1))
    whole = sim.vjp(**args, cotangent=cot)
    monkeypatch.setattr(density, "KEEP_MAX_BYTES", 1)
    monkeypatch.setattr("numba.get_num_threads", lambda: 2)
    assert sim._rows_per_chunk() == 2
    chunked = sim.vjp(**args, cotangent=cot)
    np.testing.assert_allclose(chunked.theta, whole.theta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(chunked.x, whole.x, rtol=0, atol=1e-12)
    calls = []
    monkeypatch.setattr(sim, "_adjoint_after", lambda *a: calls.append(1))
    after, _ = sim.vjp_after(**args, seed=lambda out: (cot, None))
    assert not calls
    np.testing.assert_allclose(after.theta, whole.theta, rtol=0, atol=1e-12)


def test_density_and_trajectories_are_the_same_on_any_thread_count():
    """The noise kernels run one range of rows per thread (``threads.run_rows``): each row
    runs the same arithmetic whatever range it falls in, so results agree bit for bit."""
    from qadl.backends.sim.trajectories import TrajectorySimulator

    sim, args, cot = _setup(7, "probs", state=True)
    args = {**args, "x": np.tile(args["x"], (3, 1)), "delta": np.tile(args["delta"], (3, 1)),
            "state": np.tile(args["state"], (3, 1))}
    cot = np.tile(cot, (3, 1))

    def run():
        traj = TrajectorySimulator(sim.circuit, NOISE, trajectories=5, seed=3)  # fresh draws
        return (sim.vjp(**args, cotangent=cot), sim.outputs(**args),
                traj.vjp(**args, cotangent=cot), traj.outputs(**args))

    for got, ref in zip(*on_all_threads_and_one(run), strict=True):
        assert_same_bits(got, ref)
