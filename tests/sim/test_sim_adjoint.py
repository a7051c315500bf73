"""Adjoint and parameter-shift gradients against central finite differences."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.backends.sim import Gradients, Simulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.testing import reference_outputs, reference_state
from tests.sim.cases import (
    bindings,
    central_differences,
    circuits,
    make_case,
    random_readout,
    random_states,
)

EPS = 1e-6
TOL = 1e-6


def _loss(sim, cot, theta, x, delta, state=None):
    return float(np.sum(cot * sim.outputs(theta, x=x, delta=delta, state=state)))


def _fd(f, value):
    return central_differences(f, value, EPS)


def _check_all(sim, theta, x, delta, cot, grads: Gradients, state=None):
    np.testing.assert_allclose(
        grads.theta, _fd(lambda t: _loss(sim, cot, t, x, delta, state), theta), atol=TOL)
    if sim.num_features:
        np.testing.assert_allclose(
            grads.x, _fd(lambda v: _loss(sim, cot, theta, v, delta, state), x), atol=TOL)
    else:
        assert grads.x is None
    if sim.num_deltas:
        np.testing.assert_allclose(
            grads.delta, _fd(lambda v: _loss(sim, cot, theta, x, v, state), delta), atol=TOL)
    else:
        assert grads.delta is None


@settings(max_examples=25, deadline=None)
@given(circuits(max_qubits=4, max_ops=16))
def test_adjoint_matches_finite_differences(case):
    """dL/dθ (summed over the batch), dL/dx and dL/dδ per sample, amplitude encoding included."""
    circuit, batch, seed = case
    theta, x, delta = bindings(circuit, batch, seed)
    sim = Simulator(circuit)
    cot = np.random.default_rng(seed).normal(size=(batch, sim.num_outputs))
    grads = sim.vjp(theta, x=x, delta=delta, cotangent=cot)
    np.testing.assert_allclose(grads.outputs, sim.outputs(theta, x=x, delta=delta), atol=1e-12)
    assert grads.state is None
    _check_all(sim, theta, x, delta, cot, grads)


@settings(max_examples=25, deadline=None)
@given(circuits(max_qubits=4, max_ops=14))
def test_parameter_shift_matches_adjoint(case):
    """Two-term and four-term shift rules agree with the adjoint sweep on every gate."""
    circuit, batch, seed = case
    theta, x, delta = bindings(circuit, batch, seed)
    sim = Simulator(circuit)
    cot = np.random.default_rng(seed + 1).normal(size=(batch, sim.num_outputs))
    adj = sim.vjp(theta, x=x, delta=delta, cotangent=cot)
    ps = sim.vjp(theta, x=x, delta=delta, cotangent=cot, method="parameter-shift")
    np.testing.assert_allclose(ps.theta, adj.theta, atol=1e-9)
    np.testing.assert_allclose(ps.x, adj.x, atol=1e-9)
    np.testing.assert_allclose(ps.delta, adj.delta, atol=1e-9)
    np.testing.assert_allclose(ps.outputs, adj.outputs, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_input_state_gradient(seed):
    """Gradients.state = dL/dRe(ψ₀) + 1j·dL/dIm(ψ₀), by finite differences on both parts."""
    rng = np.random.default_rng(seed)
    circuit = make_case(100 + seed, 3, 20, 0, state_input=True)
    theta, x, delta = bindings(circuit, 2, seed)
    psi0 = random_states(rng, 2, 3)
    sim = Simulator(circuit)
    cot = rng.normal(size=(2, sim.num_outputs))
    grads = sim.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot)
    d_re = _fd(lambda v: _loss(sim, cot, theta, x, delta, v + 1j * psi0.imag), psi0.real)
    d_im = _fd(lambda v: _loss(sim, cot, theta, x, delta, psi0.real + 1j * v), psi0.imag)
    np.testing.assert_allclose(grads.state, d_re + 1j * d_im, atol=TOL)
    _check_all(sim, theta, x, delta, cot, grads, state=psi0)
    ps = sim.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot, method="parameter-shift")
    np.testing.assert_allclose(ps.state, grads.state, atol=1e-12)
    np.testing.assert_allclose(ps.theta, grads.theta, atol=1e-9)


def test_amplitude_gradient_through_normalisation():
    """Amplitude encoding of all features: dL/dx includes the 1/||x|| normalisation."""
    n = 3
    circuit = Circuit(
        n,
        (Op(Gate.AMPLITUDE, (2, 0, 1), tuple(E.x(i) for i in range(8))),
         Op(Gate.RY, (0,), (E.theta(0),)), Op(Gate.CX, (0, 2)), Op(Gate.RX, (2,), (E.theta(1),))),
        num_params=2, num_features=8, readout=Readout("probs", (2,), num_classes=2),
    )
    rng = np.random.default_rng(4)
    theta = rng.normal(size=2)
    x = rng.uniform(0.1, 1.0, (3, 8))
    sim = Simulator(circuit)
    cot = rng.normal(size=(3, 2))
    grads = sim.vjp(theta, x=x, cotangent=cot)
    _check_all(sim, theta, x, np.zeros((3, 0)), cot, grads)
    # scaling x leaves the state unchanged, so dL/dx is orthogonal to x
    np.testing.assert_allclose(np.sum(grads.x * x, axis=1), 0.0, atol=1e-12)


def test_large_register_adjoint():
    """n = 14 (amplitude-parallel kernels): θ and x gradients by finite differences."""
    circuit = make_case(7, 14, 40, 2)
    circuit = dataclasses.replace(circuit, readout=Readout("expval", observables=(
        (("Z", 3), ("X", 9)), (("Y", 13),))))
    theta, x, delta = bindings(circuit, 1, 3)
    sim = Simulator(circuit)
    cot = np.array([[0.7, -1.3]])
    grads = sim.vjp(theta, x=x, delta=delta, cotangent=cot)
    _check_all(sim, theta, x, delta, cot, grads)


def test_unknown_method_and_bad_cotangent():
    """Errors name what is wrong."""
    circuit = make_case(1, 2, 4, 0)
    sim = Simulator(circuit)
    theta, x, delta = bindings(circuit, 2, 0)
    cot = np.ones((2, sim.num_outputs))
    with pytest.raises(ValueError, match="method"):
        sim.vjp(theta, x=x, delta=delta, cotangent=cot, method="backprop")
    with pytest.raises(ValueError, match="cotangent"):
        sim.vjp(theta, x=x, delta=delta, cotangent=cot[:1])


_SOA_GATES = (Gate.H, Gate.X, Gate.Y, Gate.Z, Gate.S, Gate.SDG, Gate.T, Gate.TDG, Gate.SX,
              Gate.SXDG, Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.U, Gate.CZ, Gate.CX)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 7), st.integers(0, 2**31), st.booleans())
def test_split_array_kernels_match_complex_kernels(n, seed, with_state):
    """Circuits of m1/d1/cz-group/cx blocks run on soa_kernels; same outputs and gradients."""
    from qadl.backends.sim import complex_batch as C
    from qadl.testing import random_circuit

    rng = np.random.default_rng(seed)
    base = random_circuit(rng, n, 30, gates=_SOA_GATES, num_params=4, num_features=3,
                          num_deltas=2)
    circuit = dataclasses.replace(base, readout=random_readout(rng, n), state_input=with_state)
    sim = Simulator(circuit)
    assert sim._soa is not None
    theta, x, delta = bindings(circuit, 3, seed)
    psi0 = random_states(rng, 3, n) if with_state else None
    cot = rng.normal(size=(3, sim.num_outputs))
    got = sim.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot)
    has_init = psi0 is not None
    init = psi0 if has_init else np.zeros((1, 1), complex)
    ref = C.vjp_fused(n, sim.program.arrays(), sim.program.readout.arrays(),
                      sim.program.tape.arrays(), theta, x, delta, init, has_init, cot)
    np.testing.assert_allclose(got.outputs, ref[0], atol=1e-12)
    np.testing.assert_allclose(got.theta, ref[1].sum(axis=0), atol=1e-10)
    np.testing.assert_allclose(got.x, ref[2], atol=1e-10)
    np.testing.assert_allclose(got.delta, ref[3], atol=1e-10)
    if with_state:
        np.testing.assert_allclose(got.state, ref[4], atol=1e-10)
    np.testing.assert_allclose(sim.outputs(theta, x=x, delta=delta, state=psi0), ref[0],
                               atol=1e-12)
    for b in range(3):
        psi = reference_state(circuit, theta, x[b], delta[b], None if psi0 is None else psi0[b])
        np.testing.assert_allclose(got.outputs[b], reference_outputs(circuit, psi), atol=1e-10)


def test_split_array_gradients_by_finite_differences():
    """The W1-style layered circuit (split-array path) against finite differences."""
    ops = [Op(Gate.RY, (q,), (E.x(q),)) for q in range(4)]
    k = 0
    for _ in range(2):
        for q in range(4):
            for g in (Gate.RZ, Gate.RY, Gate.RZ):
                ops.append(Op(g, (q,), (E.theta(k),)))
                k += 1
        ops += [Op(Gate.CZ, (q, q + 1)) for q in range(3)]
    circuit = Circuit(4, tuple(ops), num_params=k, num_features=4,
                      readout=Readout("expval", observables=((("Z", 0),), (("X", 1), ("Y", 2)))))
    sim = Simulator(circuit)
    assert sim._soa is not None
    rng = np.random.default_rng(2)
    theta, x = rng.uniform(-3, 3, k), rng.uniform(0, 3, (3, 4))
    cot = rng.normal(size=(3, 2))
    grads = sim.vjp(theta, x=x, cotangent=cot)
    _check_all(sim, theta, x, np.zeros((3, 0)), cot, grads)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(0, 2**31), st.booleans())
def test_tape_gradients_on_split_arrays_match_the_complex_sweep(n, seed, with_state):
    """``adjoint_tape_grads`` (the Hessian's and parameter shift's sweep, from tape values)
    runs programs of single-qubit gates, diagonals and cx on the split-array kernels: the
    same outputs, dL/d(tape) and dL/d(input state) as the complex sweep."""
    import dataclasses

    from qadl.backends.sim import complex_batch
    from qadl.backends.sim.adjoint import adjoint_tape_grads
    from qadl.backends.sim.soa_plan import soa_supported
    from qadl.ir.circuit import Readout
    from qadl.ir.gates import Gate
    from qadl.testing import random_circuit

    rng = np.random.default_rng(seed)
    gates = (Gate.H, Gate.S, Gate.T, Gate.SX, Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.U,
             Gate.CX, Gate.CZ)
    circuit = dataclasses.replace(
        random_circuit(rng, n, 5 * n, gates=gates),
        readout=Readout("expval", observables=((("Z", 0),), (("X", n - 1), ("Y", 0)))),
    )
    program = Simulator(circuit).program
    assert soa_supported(program)
    angles = rng.uniform(-np.pi, np.pi, (4, program.num_angles))
    state = random_states(rng, 4, n) if with_state else None
    cot = rng.normal(size=(4, 2))
    out, g, g_state = adjoint_tape_grads(program, angles, state, cot)
    init = state if with_state else np.zeros((1, 1), dtype=np.complex128)
    ref_out, ref_g, ref_state = complex_batch.adjoint_batch(
        n, program.arrays(), program.readout.arrays(), angles, init, with_state, cot
    )
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-10)
    np.testing.assert_allclose(g, ref_g, rtol=0, atol=1e-10)
    if with_state:
        np.testing.assert_allclose(g_state, ref_state, rtol=0, atol=1e-10)
    else:
        assert g_state is None
