"""``soa_single``: the split-array single-state kernels (cache-blocked runs, high-qubit chunks).

Their forward states are checked against the dense reference simulator, their adjoint
sweeps against the complex kernels (``adjoint.adjoint_tape_grads``, independent code) and
finite differences, for chunk sizes that put every kind of block in low and high runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from qadl.backends.sim import Simulator
from qadl.backends.sim import kernels as K
from qadl.backends.sim import statevector as sv
from qadl.backends.sim.adjoint import adjoint_tape_grads, chain
from qadl.backends.sim.build import TABLE_MAX_QUBITS, build_program
from qadl.backends.sim.program import K_M1
from qadl.backends.sim.soa_plan import (
    single_state_runs,
    soa_large_supported,
    soa_supported,
    split_tables,
)
from qadl.ir.circuit import Op
from qadl.ir.gates import Gate
from qadl.testing import random_circuit, reference_state
from tests.sim.cases import bindings, random_readout, random_states

_GATES = (Gate.RX, Gate.RY, Gate.RZ, Gate.U, Gate.H, Gate.T, Gate.S, Gate.P, Gate.CZ, Gate.X)


def _circuit(n: int, seed: int, num_ops: int = 70, *, with_state: bool = False,
             gates: tuple[Gate, ...] = _GATES):
    """Random single-qubit gates and cz (fused into M1, D1 and diagonal-group blocks)."""
    rng = np.random.default_rng(seed)
    base = random_circuit(rng, n, num_ops, gates=gates, num_params=4, num_features=2,
                          num_deltas=1)
    ops = (*[Op(Gate.H, (q,)) for q in range(n)], *base.ops)
    return dataclasses.replace(base, ops=ops, readout=random_readout(rng, n),
                               state_input=with_state)


def _sweep(sim: Simulator, m: int, h_max: int, theta, x, delta, psi0, cot):
    """Outputs, tape gradients and λ₀ from ``soa_single`` with chunk size 2**m, per sample."""
    from qadl.backends.sim import soa_single

    n = sim.num_qubits
    prog, ro = sim.program.arrays(), sim.program.readout.arrays()
    runs = single_state_runs(sim.program, m, h_max)
    tables = split_tables(sim.program)
    ang = sim.angles(theta, x=x, delta=delta)
    out = np.empty(cot.shape)
    g = np.zeros_like(ang)
    lam0 = np.empty((ang.shape[0], 1 << n), dtype=complex)
    states = np.empty_like(lam0)
    for b in range(ang.shape[0]):
        re = np.zeros(1 << n) if psi0 is None else psi0[b].real.copy()
        im = np.zeros(1 << n) if psi0 is None else psi0[b].imag.copy()
        if psi0 is None:
            re[0] = 1.0
        soa_single.forward_blocked(n, prog, ang[b], re, im, m, runs, *tables)
        states[b] = re + 1j * im
        soa_single.readout_split(re, im, ro, out[b])
        lre = np.empty_like(re)
        lim = np.empty_like(re)
        soa_single.seed_split(re, im, ro, cot[b], lre, lim)
        soa_single.backward_blocked(n, prog, ang[b], re, im, lre, lim, m, runs, *tables, g[b])
        lam0[b] = lre + 1j * lim
    return states, out, g, lam0


def test_runs_partition_the_blocks():
    """Runs tile the program; low runs keep contiguous chunks local, high runs ≤ h_max qubits."""
    program = build_program(_circuit(12, 3, 120))
    for m, h_max in ((4, 1), (6, 3), (9, 5)):
        runs = single_state_runs(program, m, h_max)
        assert runs[0, 1] == 0 and runs[-1, 2] == len(program.kind)
        assert np.all(runs[1:, 1] == runs[:-1, 2]) and np.all(runs[:, 2] > runs[:, 1])
        for high, b0, b1, mask in runs:
            kinds = program.kind[b0:b1]
            qubits = program.qubits[b0:b1, 0]
            is_high = (kinds == K_M1) & (qubits >= m)
            assert np.all(is_high) if high else not np.any(is_high)
            if high:
                assert mask == sum(1 << int(q) for q in set(qubits.tolist()))
                assert int(mask).bit_count() <= h_max
        assert np.any(runs[:, 0] == 1) and np.any(runs[:, 0] == 0)
    with pytest.raises(ValueError, match="h_max"):
        single_state_runs(program, 4, 5)
    with pytest.raises(ValueError, match="h_max"):
        single_state_runs(program, 12, 1)


def test_w1_layer_is_one_low_and_one_high_run():
    """A layer of rotations on every qubit and a cz chain: two runs whatever the register."""
    from benchmarks.sim_circuits import layered

    program = build_program(layered(16, 3, encode=True))
    runs = single_state_runs(program, 13, 5)
    assert runs[:, 0].tolist() == [0, 1] * 3 + [0]
    assert runs[1, 3] == 0b111 << 13


@pytest.mark.parametrize(("n", "m", "h_max"), [(9, 4, 1), (9, 5, 2), (9, 7, 4), (8, 6, 3)])
@pytest.mark.parametrize("with_state", [False, True])
def test_blocked_sweeps_match_the_complex_kernels(n, m, h_max, with_state):
    """States = reference; outputs, every gradient and λ₀ = the complex adjoint kernels."""
    circuit = _circuit(n, n * 31 + m, with_state=with_state)
    sim = Simulator(circuit)
    assert soa_large_supported(sim.program)
    theta, x, delta = bindings(circuit, 2, m)
    rng = np.random.default_rng(m)
    psi0 = random_states(rng, 2, n) if with_state else None
    cot = rng.normal(size=(2, circuit.readout.num_outputs))
    states, out, g, lam0 = _sweep(sim, m, h_max, theta, x, delta, psi0, cot)
    for b in range(2):
        start = None if psi0 is None else psi0[b]
        ref = reference_state(circuit, theta, x[b], delta[b], start)
        np.testing.assert_allclose(states[b], ref, rtol=0, atol=1e-12)
    ang = sim.angles(theta, x=x, delta=delta)
    ref_out, ref_g, ref_state = adjoint_tape_grads(sim.program, ang, psi0, cot)
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g, ref_g, rtol=0, atol=1e-11)
    if with_state:
        np.testing.assert_allclose(2.0 * lam0, ref_state, rtol=0, atol=1e-11)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), m=st.integers(4, 6), h_max=st.integers(1, 3),
       angle=st.sampled_from([0.0, 1e-9, np.pi / 4, np.pi / 2, np.pi, -3 * np.pi / 4]))
def test_blocked_gradient_matches_finite_differences(seed, m, h_max, angle):
    """dL/dθ at hard angles (0, tiny, multiples of π/4) = central differences of the outputs."""
    circuit = _circuit(7, seed, 40)
    sim = Simulator(circuit)
    theta = np.full(circuit.num_params, angle)
    x = np.full((1, circuit.num_features), angle)
    delta = np.zeros((1, circuit.num_deltas))
    cot = np.random.default_rng(seed).normal(size=(1, circuit.readout.num_outputs))
    _, _, g, _ = _sweep(sim, m, min(h_max, m - 3), theta, x, delta, None, cot)
    g_th, _, _ = chain(sim.program, theta, x, delta, g)
    h = 1e-6
    for p in range(circuit.num_params):
        step = np.zeros_like(theta)
        step[p] = h
        up = sim.outputs(theta + step, x=x, delta=delta)
        down = sim.outputs(theta - step, x=x, delta=delta)
        fd = float(np.sum(cot * (up - down)) / (2 * h))
        assert abs(g_th[p] - fd) < 1e-6


def test_small_batches_of_large_registers_use_the_single_state_kernels(monkeypatch):
    """n = 14, batch < threads: ``Simulator.vjp`` runs ``soa_single`` and agrees with the
    per-sample kernels and the complex ones, input states included."""
    circuit = _circuit(14, 5, 90, with_state=True)
    sim = Simulator(circuit)
    assert sim._soa_large and sim._soa is not None
    monkeypatch.setattr("numba.get_num_threads", lambda: 4)
    assert not sim._per_sample(3) and sim._per_sample(4)
    monkeypatch.undo()
    theta, x, delta = bindings(circuit, 3, 14)
    rng = np.random.default_rng(14)
    psi0 = random_states(rng, 3, 14)
    cot = rng.normal(size=(3, circuit.readout.num_outputs))
    calls = []
    monkeypatch.setattr(sim, "_per_sample", lambda size: calls.append(size) or False)
    single = sim.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot)
    assert calls == [3]
    forwards = []
    final = sim._single_final
    monkeypatch.setattr(sim, "_single_final", lambda *a: forwards.append(a[2]) or final(*a))
    seen = []
    after, aux = sim.vjp_after(theta, x=x, delta=delta, state=psi0,
                               seed=lambda o: (seen.append(o.copy()) or cot, "aux"))
    assert forwards == [0, 1, 2] and aux == "aux"
    monkeypatch.undo()
    fused = sim._vjp_fused(_kernels(), sim._batch(theta, x, delta, psi0), cot)
    ang = sim.angles(theta, x=x, delta=delta)
    ref_out, ref_g, ref_state = adjoint_tape_grads(sim.program, ang, psi0, cot)
    ref_th, ref_x, ref_d = chain(sim.program, theta, x, delta, ref_g)
    np.testing.assert_allclose(seen[0], ref_out, rtol=0, atol=1e-12)
    for got in (single, fused, after):
        np.testing.assert_allclose(got.outputs, ref_out, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.theta, ref_th, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.x, ref_x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.delta, ref_d, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.state, ref_state, rtol=0, atol=1e-10)


def _kernels():
    from qadl.backends.sim import kernels

    return kernels


def test_registers_above_the_tables_run_one_sample_per_thread():
    """n = 17 (cz groups as distance masks, cx blocks): the per-sample split-array kernels
    apply and agree with the complex amplitude-parallel ones; vjp_after too."""
    n = TABLE_MAX_QUBITS + 1
    circuit = _circuit(n, 9, 60, gates=(*_GATES, Gate.CX))
    sim = Simulator(circuit)
    assert not sim.program.dtab.shape[0] and soa_supported(sim.program)
    assert not sim._soa_large  # cx blocks: no single-state kernels, but per-sample ones
    assert sim._soa is not None and n <= sv.BATCH_MAX_QUBITS
    theta, x, delta = bindings(circuit, 2, n)
    cot = np.random.default_rng(n).normal(size=(2, circuit.readout.num_outputs))
    fused = sim._vjp_fused(_kernels(), sim._batch(theta, x, delta, None), cot)
    after, _ = sim.vjp_after(theta, x=x, delta=delta, seed=lambda o: (cot, None))
    ang = sim.angles(theta, x=x, delta=delta)
    ref_out, ref_g, _ = adjoint_tape_grads(sim.program, ang, None, cot)
    ref_th, ref_x, _ = chain(sim.program, theta, x, delta, ref_g)
    for got in (fused, after):
        np.testing.assert_allclose(got.outputs, ref_out, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got.theta, ref_th, rtol=0, atol=1e-10)
        np.testing.assert_allclose(got.x, ref_x, rtol=0, atol=1e-10)
    states = sim.states(theta, x=x, delta=delta)
    np.testing.assert_allclose(states[0], reference_state(circuit, theta, x[0], delta[0]),
                               rtol=0, atol=1e-12)


def test_state_vjp_of_large_registers_runs_the_single_state_kernels(monkeypatch):
    """n = 14: ``state_vjp`` (λ seeded by c/2) = the complex single-state sweep, input
    states included."""
    circuit = _circuit(14, 11, 60, with_state=True)
    sim = Simulator(circuit)
    assert sim._soa_large
    theta, x, delta = bindings(circuit, 2, 3)
    rng = np.random.default_rng(3)
    psi0 = random_states(rng, 2, 14)
    cot = random_states(rng, 2, 14) * 3.0
    sweeps = []
    backward = sim._single_backward
    monkeypatch.setattr(sim, "_single_backward", lambda *a: sweeps.append(1) or backward(*a))
    got = sim.state_vjp(theta, x=x, delta=delta, state=psi0, cotangent_state=cot)
    assert len(sweeps) == 2
    complex_only = Simulator(circuit)
    complex_only._soa_large = False
    ref = complex_only.state_vjp(theta, x=x, delta=delta, state=psi0, cotangent_state=cot)
    for field in ("outputs", "theta", "x", "delta", "state"):
        np.testing.assert_allclose(getattr(got, field), getattr(ref, field), rtol=0, atol=1e-10)


@njit
def _complex_readout_and_seed(psi, ro, cot, out, lam):
    K._readout(psi, ro, out)
    K._seed_lambda(psi, ro, cot, lam)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 9))
def test_split_readout_and_seed_match_the_complex_kernels(seed, n):
    """``readout_split``/``seed_split`` (branch-free, on split arrays) against
    ``kernels._readout``/``_seed_lambda`` on the same state: probabilities and Pauli
    products (Y, repeated qubits, non-Hermitian products included)."""
    from qadl.backends.sim import soa_single

    rng = np.random.default_rng(seed)
    readout = random_readout(rng, n)
    ro = build_program(dataclasses.replace(random_circuit(rng, n, 3), readout=readout))
    ro = ro.readout.arrays()
    psi = random_states(rng, 1, n)[0]
    k = readout.num_outputs
    cot = rng.normal(size=k)
    want_out, want_lam = np.empty(k), np.empty(1 << n, dtype=complex)
    _complex_readout_and_seed(psi, ro, cot, want_out, want_lam)
    got_out = np.empty(k)
    lre, lim = np.empty(1 << n), np.empty(1 << n)
    soa_single.readout_split(psi.real.copy(), psi.imag.copy(), ro, got_out)
    soa_single.seed_split(psi.real.copy(), psi.imag.copy(), ro, cot, lre, lim)
    np.testing.assert_allclose(got_out, want_out, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lre + 1j * lim, want_lam, rtol=0, atol=1e-12)


def test_kept_work_arrays_start_every_sample_afresh():
    """The single-state path keeps its work arrays across calls (per thread and register
    size, shared by simulators): every call's results equal a fresh process's, whatever
    ran before it, and a ``vjp_after`` seed may run a simulator itself."""
    with_state = _circuit(14, 7, 60, with_state=True)
    plain = dataclasses.replace(with_state, state_input=False)
    theta, x, delta = bindings(with_state, 1, 14)
    rng = np.random.default_rng(9)
    psi = random_states(rng, 1, 14)
    cot = rng.normal(size=(1, with_state.readout.num_outputs))
    sims = {"state": _single_state(with_state), "plain": _single_state(plain)}
    inputs = {"state": psi, "plain": None}

    def run(key):
        return sims[key].vjp(theta, x=x, delta=delta, state=inputs[key], cotangent=cot)

    first = {key: run(key) for key in ("state", "plain")}
    for key in ("plain", "state", "plain"):  # each after the other left its arrays behind
        again = run(key)
        np.testing.assert_array_equal(again.outputs, first[key].outputs)
        np.testing.assert_array_equal(again.theta, first[key].theta)
    np.testing.assert_array_equal(sims["plain"].outputs(theta, x=x, delta=delta),
                                  first["plain"].outputs)

    def seed(out):
        run("state")  # another simulator of the same size, inside
        return cot, None

    after, _ = sims["plain"].vjp_after(theta, x=x, delta=delta, seed=seed)
    np.testing.assert_array_equal(after.theta, first["plain"].theta)


def _single_state(circuit) -> Simulator:
    """A simulator that runs every batch on ``soa_single`` (as one sample on two threads)."""
    sim = Simulator(circuit)
    sim._per_sample = lambda size: False
    return sim
