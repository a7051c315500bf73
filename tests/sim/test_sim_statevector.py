"""Final states and readouts of the compiled simulator against Qiskit and the dense reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qadl.backends.sim import Simulator
from qadl.backends.sim import complex_batch as C
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import GATES, Gate
from qadl.testing import random_circuit, reference_outputs, reference_state
from tests.sim.cases import bindings, circuits, make_case, qiskit_state, random_states

ATOL = 1e-10
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(circuits())
def test_states_match_qiskit_and_reference(case):
    """≥ 200 random circuits (n ≤ 8, every gate, amplitude encoding, batch > 1)."""
    circuit, batch, seed = case
    theta, x, delta = bindings(circuit, batch, seed)
    states = Simulator(circuit).states(theta, x=x, delta=delta)
    assert states.shape == (batch, 1 << circuit.num_qubits)
    for b in range(batch):
        ref = reference_state(circuit, theta, x[b], delta[b])
        np.testing.assert_allclose(states[b], ref, rtol=0, atol=ATOL)
        np.testing.assert_allclose(states[b], qiskit_state(circuit, theta, x[b], delta[b]),
                                   rtol=0, atol=ATOL)


@settings(max_examples=60, deadline=None)
@given(circuits(max_qubits=6))
def test_outputs_match_reference(case):
    """Probability marginals and Pauli products agree with ``reference_outputs``."""
    circuit, batch, seed = case
    theta, x, delta = bindings(circuit, batch, seed)
    outputs = Simulator(circuit).outputs(theta, x=x, delta=delta)
    assert outputs.shape == (batch, circuit.readout.num_outputs)
    for b in range(batch):
        ref = reference_outputs(circuit, reference_state(circuit, theta, x[b], delta[b]))
        np.testing.assert_allclose(outputs[b], ref, rtol=0, atol=ATOL)


def test_every_gate_matches_qiskit():
    """Each gate alone, with a symbolic and a constant angle, on permuted qubits."""
    rng = np.random.default_rng(3)
    for gate, info in GATES.items():
        if gate is Gate.AMPLITUDE:
            continue
        for symbolic in (True, False):
            qubits = tuple(int(q) for q in rng.permutation(3)[: info.num_qubits])
            angles = tuple(
                (E.theta(i) * 1.3 + 0.2) if symbolic else E.const(0.7 + i)
                for i in range(info.num_angles)
            )
            prep = [Op(Gate.H, (q,)) for q in range(3)] + [Op(Gate.T, (1,)), Op(Gate.SX, (2,))]
            circuit = Circuit(3, (*prep, Op(gate, qubits, angles)), num_params=3)
            theta = rng.uniform(-3, 3, 3)
            got = Simulator(circuit).states(theta)[0]
            np.testing.assert_allclose(got, qiskit_state(circuit, theta, None, None),
                                       rtol=0, atol=ATOL, err_msg=f"{gate} symbolic={symbolic}")


def test_state_input_matches_qiskit():
    """Quantum data: the circuit acts on supplied input states."""
    rng = np.random.default_rng(5)
    circuit = make_case(11, 4, 30, 0, state_input=True)
    theta, x, delta = bindings(circuit, 3, 2)
    psi0 = random_states(rng, 3, 4)
    states = Simulator(circuit).states(theta, x=x, delta=delta, state=psi0)
    for b in range(3):
        np.testing.assert_allclose(states[b], qiskit_state(circuit, theta, x[b], delta[b], psi0[b]),
                                   rtol=0, atol=ATOL)


def test_amplitude_on_all_qubits_is_the_normalised_features():
    """amplitude(x) on every qubit from |0…0⟩ gives x/||x|| exactly."""
    n = 5
    circuit = Circuit(n, (Op(Gate.AMPLITUDE, tuple(range(n)), tuple(E.x(i) for i in range(32))),),
                      num_features=32)
    x = np.random.default_rng(0).uniform(0.1, 1, (4, 32))
    states = Simulator(circuit).states([], x=x)
    np.testing.assert_allclose(states, x / np.linalg.norm(x, axis=1, keepdims=True), atol=1e-15)


def test_batch_size_rules():
    """B comes from x / δ / state; they must agree; nothing given means B = 1."""
    circuit = make_case(1, 2, 5, 0)
    sim = Simulator(circuit)
    theta, x, delta = bindings(circuit, 3, 0)
    assert sim.states(theta).shape == (1, 4)
    assert sim.states(theta, x=x).shape == (3, 4)
    with pytest.raises(ValueError, match="batch size"):
        sim.states(theta, x=x, delta=delta[:2])
    with pytest.raises(ValueError, match="theta"):
        sim.states(theta[:-1], x=x)


def test_large_register_path_matches_reference():
    """n ≥ 14 uses amplitude-parallel kernels; they agree with the per-sample batch kernels."""
    circuit = make_case(21, 14, 60, 2)
    theta, x, delta = bindings(circuit, 2, 4)
    sim = Simulator(circuit)
    states = sim.states(theta, x=x, delta=delta)
    ang = sim.angles(theta, x=x, delta=delta)
    batch = C.forward_batch(14, sim.program.arrays(), ang, np.zeros((1, 1), complex), False)
    np.testing.assert_allclose(states, batch, rtol=0, atol=ATOL)
    ref = reference_state(circuit, theta, x[1], delta[1])
    np.testing.assert_allclose(states[1], ref, rtol=0, atol=ATOL)
    out = sim.outputs(theta, x=x, delta=delta)
    np.testing.assert_allclose(out[1], reference_outputs(circuit, ref), rtol=0, atol=ATOL)


@pytest.mark.parametrize("block_qubits", [2, 5, 14])
def test_cache_blocked_forward_matches_reference(block_qubits):
    """Cache blocking (runs of chunk-local blocks applied chunk by chunk) keeps the state exact."""
    circuit = make_case(33, 9, 80, 3)
    theta, x, delta = bindings(circuit, 1, 9)
    sim = Simulator(circuit)
    ang = sim.angles(theta, x=x, delta=delta)
    psi = np.zeros(1 << 9, dtype=complex)
    psi[0] = 1.0
    C.forward_single(9, sim.program.arrays(), ang[0], psi, 4, block_qubits)
    np.testing.assert_allclose(psi, reference_state(circuit, theta, x[0], delta[0]),
                               rtol=0, atol=ATOL)


def test_large_diagonal_groups_use_distance_masks():
    """Above the table size, cz groups become one parity per qubit distance."""
    from qadl.backends.sim.build import TABLE_MAX_QUBITS, build_program
    from qadl.backends.sim.program import F_CZMASK

    n = TABLE_MAX_QUBITS + 1
    ops = [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)] + [Op(Gate.CZ, (0, 5)),
                                                              Op(Gate.CP, (2, 9), (E.const(0.3),))]
    prog = build_program(Circuit(n, tuple(ops)))
    assert list(prog.fac_code) == [F_CZMASK, F_CZMASK, 10]
    assert prog.fac_q[0].tolist() == [1, (1 << (n - 1)) - 1]
    assert prog.fac_q[1].tolist() == [5, 1]
    mixed = Circuit(n, (*[Op(Gate.H, (q,)) for q in range(n)], *ops, Op(Gate.RX, (16,), (E.x(0),))),
                    num_features=1)
    psi = Simulator(mixed).states([], x=[[0.4]])[0]
    np.testing.assert_allclose(psi, reference_state(mixed, x=np.array([0.4])), atol=ATOL)


def test_probs_sum_to_one_with_all_classes():
    """With every outcome as a class the probabilities of a normalised state sum to 1."""
    readout = Readout("probs", (4, 0, 2), num_classes=8)
    circuit = dataclasses.replace(make_case(8, 5, 40, 0), readout=readout)
    theta, x, delta = bindings(circuit, 4, 1)
    out = Simulator(circuit).outputs(theta, x=x, delta=delta)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize(("n", "m", "h_max"), [(9, 5, 2), (9, 8, 5), (17, 14, 2)])
def test_split_array_large_state_path(n, m, h_max):
    """Large-state split-array kernels (low and high runs, cz masks above the tables)."""
    from qadl.backends.sim import soa_single
    from qadl.backends.sim.soa_plan import single_state_runs, soa_large_supported, split_tables

    rng = np.random.default_rng(n)
    gates = (Gate.RX, Gate.RY, Gate.RZ, Gate.U, Gate.H, Gate.T, Gate.S, Gate.CZ, Gate.P)
    base = random_circuit(rng, n, 70, gates=gates, num_params=4, num_features=2)
    circuit = dataclasses.replace(base, ops=(*[Op(Gate.H, (q,)) for q in range(n)], *base.ops))
    sim = Simulator(circuit)
    assert soa_large_supported(sim.program)
    theta, x, delta = bindings(circuit, 1, n)
    ang = sim.angles(theta, x=x, delta=delta)
    re = np.zeros(1 << n)
    im = np.zeros(1 << n)
    re[0] = 1.0
    runs = single_state_runs(sim.program, m, h_max)
    soa_single.forward_blocked(n, sim.program.arrays(), ang[0], re, im, m, runs,
                               *split_tables(sim.program))
    ref = reference_state(circuit, theta, x[0], delta[0])
    np.testing.assert_allclose(re + 1j * im, ref, rtol=0, atol=ATOL)
    if n >= 14:
        np.testing.assert_allclose(sim.states(theta, x=x, delta=delta)[0], ref, rtol=0, atol=ATOL)

_SPLIT_GATES = (Gate.H, Gate.X, Gate.Y, Gate.Z, Gate.S, Gate.T, Gate.SX, Gate.RX, Gate.RY,
                Gate.RZ, Gate.P, Gate.U, Gate.CX, Gate.CZ)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 9), readout=st.booleans(),
       with_state=st.booleans())
def test_split_array_states_match_qiskit(seed, n, readout, with_state):
    """Programs the split-array kernels run (single-qubit gates, diagonals, cx), with or
    without a readout: ``states`` (and ``states_split``) from those kernels, one sample per
    thread, equal Qiskit's states, input states included."""
    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, n, 6 * n, gates=_SPLIT_GATES)
    if readout:
        circuit = dataclasses.replace(circuit, readout=Readout("probs", (0,), num_classes=2))
    sim = Simulator(circuit)
    assert sim._soa is not None
    theta, x, delta = bindings(circuit, 3, seed % 1000)
    psi0 = random_states(rng, 3, n) if with_state else None
    states = sim.states(theta, x=x, delta=delta, state=psi0)
    re, im = sim.states_split(theta, x=x, delta=delta, state=psi0)
    np.testing.assert_array_equal(re + 1j * im, states)
    for b in range(3):
        ref = qiskit_state(circuit, theta, x[b], delta[b], None if psi0 is None else psi0[b])
        np.testing.assert_allclose(states[b], ref, rtol=0, atol=ATOL)
