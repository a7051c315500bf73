"""``Simulator.state_vjp``: gradients of Re⟨c|ψ(θ, x, δ)⟩ for cotangent states c."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.backends.sim import Simulator
from qadl.testing import reference_state
from tests.sim.cases import central_differences, make_case, random_states

STEP = 1e-6
TOL = 20 * STEP
"""Central differences of an O(1) smooth function: truncation O(h²), rounding O(ε/h);
the tolerance is linear in the step."""

_HARD = (0.0, np.pi / 2, -np.pi / 2, np.pi, -np.pi, 2 * np.pi, 1e-9, -3 * np.pi / 4)


@st.composite
def _hard_values(draw, size: int):
    """Angles at the singular points of rotation gates (0, ±π/2, ±π, 2π), tiny, or random."""
    pick = st.one_of(st.sampled_from(_HARD), st.floats(-np.pi, np.pi))
    return np.array([draw(pick) for _ in range(size)], dtype=np.float64)


def _dense_loss(circuit, cot, theta, x, delta, state=None) -> float:
    total = 0.0
    for b in range(len(x)):
        psi = reference_state(circuit, theta, x[b], delta[b], None if state is None else state[b])
        total += float(np.real(np.vdot(cot[b], psi)))
    return total


def _fd(f, value):
    return central_differences(f, value, STEP)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(0, 14), st.integers(0, 2**31), st.data())
def test_state_vjp_matches_dense_reference(n, num_ops, seed, data):
    """Value and θ, x, δ gradients against central differences of dense matrices."""
    circuit = dataclasses.replace(make_case(seed, n, num_ops, 0), readout=None)
    batch = 2
    theta = data.draw(_hard_values(circuit.num_params))
    x = data.draw(_hard_values(batch * circuit.num_features)).reshape(batch, -1)
    delta = data.draw(_hard_values(batch * circuit.num_deltas)).reshape(batch, -1)
    cot = random_states(np.random.default_rng(seed), batch, n) * 1.7
    sim = Simulator(circuit)
    got = sim.state_vjp(theta, x=x, delta=delta, cotangent_state=cot)
    want = [np.real(np.vdot(cot[b], reference_state(circuit, theta, x[b], delta[b])))
            for b in range(batch)]
    np.testing.assert_allclose(got.outputs[:, 0], want, atol=1e-10)
    np.testing.assert_allclose(
        got.theta, _fd(lambda t: _dense_loss(circuit, cot, t, x, delta), theta), atol=TOL)
    np.testing.assert_allclose(
        got.x, _fd(lambda v: _dense_loss(circuit, cot, theta, v, delta), x), atol=TOL)
    np.testing.assert_allclose(
        got.delta, _fd(lambda v: _dense_loss(circuit, cot, theta, x, v), delta), atol=TOL)
    assert got.state is None


def test_state_vjp_input_state_gradient():
    """With an input state, dL/dψ₀ (as dL/dRe + i·dL/dIm) is U†c."""
    rng = np.random.default_rng(3)
    circuit = dataclasses.replace(make_case(5, 3, 12, 0), readout=None, state_input=True)
    sim = Simulator(circuit)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-1, 1, (2, circuit.num_features))
    delta = rng.uniform(-0.5, 0.5, (2, circuit.num_deltas))
    psi0 = random_states(rng, 2, 3)
    cot = random_states(rng, 2, 3)
    got = sim.state_vjp(theta, x=x, delta=delta, state=psi0, cotangent_state=cot)

    def loss_of(re_im):
        s = re_im[..., 0] + 1j * re_im[..., 1]
        return _dense_loss(circuit, cot, theta, x, delta, s)

    fd = _fd(loss_of, np.stack([psi0.real, psi0.imag], axis=-1))
    np.testing.assert_allclose(got.state, fd[..., 0] + 1j * fd[..., 1], atol=TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_state_vjp_agrees_with_readout_vjp(seed):
    """For probabilities, c = 2·Σ_k cot_k Π_k ψ gives exactly ``vjp``'s gradient."""
    from qadl.ir.circuit import Readout

    rng = np.random.default_rng(seed)
    n = 4
    circuit = dataclasses.replace(make_case(seed, n, 20, 0),
                                  readout=Readout("probs", tuple(range(n)), num_classes=1 << n))
    sim = Simulator(circuit)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-1, 1, (3, circuit.num_features))
    delta = rng.uniform(-0.5, 0.5, (3, circuit.num_deltas))
    cot = rng.normal(size=(3, 1 << n))
    psi = sim.states(theta, x=x, delta=delta)
    ref = sim.vjp(theta, x=x, delta=delta, cotangent=cot)
    got = sim.state_vjp(theta, x=x, delta=delta, cotangent_state=2 * cot * psi)
    np.testing.assert_allclose(got.theta, ref.theta, atol=1e-10)
    np.testing.assert_allclose(got.x, ref.x, atol=1e-10)
    np.testing.assert_allclose(got.delta, ref.delta, atol=1e-10)


def test_state_vjp_rejects_a_wrong_shape():
    circuit = dataclasses.replace(make_case(0, 2, 4, 0), readout=None)
    sim = Simulator(circuit)
    with pytest.raises(ValueError, match="cotangent_state must have shape"):
        sim.state_vjp(np.zeros(circuit.num_params), x=np.zeros((2, circuit.num_features)),
                      cotangent_state=np.zeros((2, 8)))


@pytest.mark.slow
def test_state_vjp_large_register_agrees_with_readout_vjp():
    """From 14 qubits the amplitude-parallel sweep runs; same identity as above."""
    from qadl.ir.circuit import Readout

    rng = np.random.default_rng(7)
    n = 14
    readout = Readout("probs", (0, 1), num_classes=4)
    circuit = dataclasses.replace(make_case(7, n, 30, 0), readout=readout)
    sim = Simulator(circuit)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-1, 1, (2, circuit.num_features))
    delta = rng.uniform(-0.5, 0.5, (2, circuit.num_deltas))
    cot = rng.normal(size=(2, 4))
    psi = sim.states(theta, x=x, delta=delta)
    index = np.arange(1 << n) & 3
    ref = sim.vjp(theta, x=x, delta=delta, cotangent=cot)
    got = sim.state_vjp(theta, x=x, delta=delta, cotangent_state=2 * cot[:, index] * psi)
    np.testing.assert_allclose(got.theta, ref.theta, atol=1e-9)
    np.testing.assert_allclose(got.x, ref.x, atol=1e-9)


_SPLIT_GATES = ("H", "X", "Y", "Z", "S", "T", "SX", "RX", "RY", "RZ", "P", "U", "CX", "CZ")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(0, 2**31), st.booleans())
def test_split_array_state_vjp_matches_the_complex_sweep(n, seed, with_state):
    """Programs of single-qubit gates, diagonals and cx sweep on the split-array kernels
    (``soa_step.state_vjp_rows``): every field equals the complex-amplitude sweep's, and
    dL/dθ a dense reference's central differences."""
    from qadl.ir.gates import Gate
    from qadl.testing import random_circuit

    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, n, 5 * n, gates=tuple(Gate[g] for g in _SPLIT_GATES),
                             num_deltas=1)
    split, complex_only = Simulator(circuit), Simulator(circuit)
    complex_only._soa = None
    assert split._soa is not None
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-np.pi, np.pi, (3, circuit.num_features))
    delta = rng.uniform(-0.3, 0.3, (3, 1))
    state = random_states(rng, 3, n) if with_state else None
    cot = rng.normal(size=(3, 1 << n)) + 1j * rng.normal(size=(3, 1 << n))
    got = split.state_vjp(theta, x=x, delta=delta, state=state, cotangent_state=cot)
    ref = complex_only.state_vjp(theta, x=x, delta=delta, state=state, cotangent_state=cot)
    for field in ("outputs", "theta", "x", "delta", "state"):
        a, b = getattr(got, field), getattr(ref, field)
        assert (a is None) == (b is None), field
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=field)
    fd = _fd(lambda t: _dense_loss(circuit, cot, t, x, delta, state), theta)
    np.testing.assert_allclose(got.theta, fd, rtol=0, atol=TOL * max(1, n))
