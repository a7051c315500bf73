"""``Simulator.vjp_after``: one forward pass, the same outputs and gradients as ``vjp``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.backends.sim import statevector as sv
from qadl.ir.gates import Gate
from qadl.testing import UNITARY_GATES, random_circuit
from tests.sim.cases import bindings, random_readout, random_states

_SOA = ("H", "X", "S", "T", "SX", "RX", "RY", "RZ", "P", "U", "CZ", "CX")


def _circuit(n: int, seed: int, *, soa: bool, with_state: bool):
    rng = np.random.default_rng(seed)
    gates = tuple(Gate[g] for g in _SOA) if soa else UNITARY_GATES
    base = random_circuit(rng, n, 30, gates=gates, num_params=4, num_features=3, num_deltas=2)
    return dataclasses.replace(base, readout=random_readout(rng, n), state_input=with_state)


def _compare(sim, theta, x, delta, psi0, cot):
    seen = []

    def seed(outputs):
        seen.append(outputs.copy())
        return cot, "aux"

    got, aux = sim.vjp_after(theta, x=x, delta=delta, state=psi0, seed=seed)
    ref = sim.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot)
    assert aux == "aux"
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], ref.outputs, atol=1e-12)
    np.testing.assert_allclose(got.outputs, ref.outputs, atol=1e-12)
    np.testing.assert_allclose(got.theta, ref.theta, atol=1e-10)
    for field in ("x", "delta", "state"):
        a, b = getattr(got, field), getattr(ref, field)
        assert (a is None) == (b is None), field
        if a is not None:
            np.testing.assert_allclose(a, b, atol=1e-10)


@pytest.mark.parametrize("soa", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_vjp_after_matches_vjp(soa, with_state):
    """Split-array and complex kernels, with and without an input state."""
    n, batch = 4, 5
    circuit = _circuit(n, 11, soa=soa, with_state=with_state)
    sim = Simulator(circuit)
    assert (sim._soa is not None) == soa
    theta, x, delta = bindings(circuit, batch, 3)
    rng = np.random.default_rng(4)
    psi0 = random_states(rng, batch, n) if with_state else None
    _compare(sim, theta, x, delta, psi0, rng.normal(size=(batch, sim.num_outputs)))


def test_vjp_after_keeps_no_state_above_the_memory_cap(monkeypatch):
    """Above the cap it runs outputs then vjp: same numbers, the seed still called once."""
    monkeypatch.setattr(sv, "KEEP_MAX_AMPLITUDES", 1)
    circuit = _circuit(3, 5, soa=True, with_state=False)
    sim = Simulator(circuit)
    theta, x, delta = bindings(circuit, 2, 1)
    cot = np.random.default_rng(0).normal(size=(2, sim.num_outputs))
    _compare(sim, theta, x, delta, None, cot)


def test_vjp_after_checks_the_seed_cotangent():
    circuit = _circuit(3, 6, soa=True, with_state=False)
    sim = Simulator(circuit)
    theta, x, delta = bindings(circuit, 2, 1)
    with pytest.raises(ValueError, match="cotangent must have shape"):
        sim.vjp_after(theta, x=x, delta=delta, seed=lambda out: (np.ones((3, 1)), None))
    with pytest.raises(ValueError, match="unknown gradient method"):
        sim.vjp_after(theta, x=x, delta=delta, seed=lambda out: (out, None), method="fd")


def test_vjp_after_parameter_shift_falls_back():
    circuit = _circuit(3, 7, soa=True, with_state=False)
    sim = Simulator(circuit)
    theta, x, delta = bindings(circuit, 2, 2)
    cot = np.random.default_rng(1).normal(size=(2, sim.num_outputs))
    got, _ = sim.vjp_after(theta, x=x, delta=delta, seed=lambda out: (cot, None),
                           method="parameter-shift")
    ref = sim.vjp(theta, x=x, delta=delta, cotangent=cot)
    np.testing.assert_allclose(got.theta, ref.theta, atol=1e-9)


def _large_case(n: int, batch: int, with_state: bool):
    rng = np.random.default_rng(n)
    gates = tuple(Gate[g] for g in ("RX", "RY", "RZ", "H", "T", "CZ"))
    base = random_circuit(rng, n, 40, gates=gates, num_params=4, num_features=3, num_deltas=2)
    circuit = dataclasses.replace(base, readout=random_readout(rng, n), state_input=with_state)
    theta, x, delta = bindings(circuit, batch, n)
    psi0 = random_states(rng, batch, n) if with_state else None
    return circuit, theta, x, delta, psi0, rng.normal(size=(batch, circuit.readout.num_outputs))


@pytest.mark.parametrize("with_state", [True, False])
def test_large_batches_run_one_sample_per_thread(monkeypatch, with_state):
    """n = 14, batch ≥ threads: the per-sample kernels agree with the amplitude-parallel ones."""
    from numba import get_num_threads

    batch = max(2, get_num_threads())
    circuit, theta, x, delta, psi0, cot = _large_case(14, batch, with_state)
    per_sample = Simulator(circuit)
    assert per_sample._per_sample(batch)
    monkeypatch.setattr(sv, "SAMPLE_SPEEDUP", 1)
    assert not per_sample._per_sample(batch - 1)
    monkeypatch.undo()
    got = per_sample.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot)
    out = per_sample.outputs(theta, x=x, delta=delta, state=psi0)
    after, _ = per_sample.vjp_after(theta, x=x, delta=delta, state=psi0,
                                    seed=lambda o: (cot, None))
    monkeypatch.setattr(sv, "BATCH_MAX_QUBITS", 13)
    amplitude = Simulator(circuit)
    assert not amplitude._per_sample(batch)
    ref = amplitude.vjp(theta, x=x, delta=delta, state=psi0, cotangent=cot)
    np.testing.assert_allclose(out, ref.outputs, atol=1e-12)
    for g in (got, after):
        np.testing.assert_allclose(g.outputs, ref.outputs, atol=1e-12)
        np.testing.assert_allclose(g.theta, ref.theta, atol=1e-9)
        np.testing.assert_allclose(g.x, ref.x, atol=1e-9)
        np.testing.assert_allclose(g.delta, ref.delta, atol=1e-9)
        if with_state:
            np.testing.assert_allclose(g.state, ref.state, atol=1e-9)


@pytest.mark.parametrize(("n", "with_state"), [(5, False), (14, False), (14, True)])
def test_states_split_is_states(n, with_state):
    """``states_split`` (written in place from 14 qubits) equals ``states``, input states too."""
    circuit, theta, x, delta, psi0, _ = _large_case(n, 2, with_state)
    sim = Simulator(circuit)
    assert sim._soa_large == (n >= 14)
    psi = sim.states(theta, x=x, delta=delta, state=psi0)
    re, im = sim.states_split(theta, x=x, delta=delta, state=psi0)
    assert re.dtype == im.dtype == np.float64 and re.shape == psi.shape
    np.testing.assert_allclose(re + 1j * im, psi, atol=1e-12)
    np.testing.assert_allclose(np.sum(re**2 + im**2, axis=1), 1.0, atol=1e-10)
    if psi0 is not None:
        assert not np.shares_memory(re, psi0)
