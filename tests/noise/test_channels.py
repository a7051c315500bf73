"""Kraus channels: trace preservation, fidelity relation, T1/T2 decay, readout confusion, shots."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.backends.sim import channels as ch
from qadl.ir.target import NoiseModel


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("p", [0.0, 0.01, 0.3, 1.0])
def test_depolarizing_is_cptp_and_mixes(k, p):
    """Σ K†K = I and E(ρ) = (1 − p)ρ + p·I/d on a random state."""
    chan = ch.depolarizing(p, k)
    assert ch.is_trace_preserving(chan)
    assert chan.unitary_mixture and np.isclose(chan.probs.sum(), 1.0)
    rng = np.random.default_rng(k)
    d = 2**k
    psi = rng.normal(size=d) + 1j * rng.normal(size=d)
    rho = np.outer(psi, psi.conj()) / np.vdot(psi, psi).real
    np.testing.assert_allclose(chan.apply(rho), (1 - p) * rho + p * np.eye(d) / d, atol=1e-14)


def test_depolarizing_rejects_non_cp_probability():
    """p above d²/(d²−1) is not completely positive."""
    with pytest.raises(ValueError, match="outside"):
        ch.depolarizing(1.5, 1)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("fidelity", [0.9994, 0.994, 0.9])
def test_fidelity_relation_matches_qiskit(k, fidelity):
    """p = (1 − F)·d/(d − 1) gives a channel whose average gate fidelity (Qiskit) is F."""
    from qiskit.quantum_info import Kraus, average_gate_fidelity

    p = ch.depolarizing_from_fidelity(fidelity, k)
    assert math.isclose(
        average_gate_fidelity(Kraus(list(ch.depolarizing(p, k).kraus))), fidelity, abs_tol=1e-12
    )


def test_thermal_relaxation_decay_rates():
    """|1⟩ keeps exp(−t/T1) population; |+⟩ keeps coherence exp(−t/T2)/2."""
    t, t1, t2 = 0.7, 20.0, 15.0
    chan = ch.thermal_relaxation(t, t1, t2)
    assert chan is not None and ch.is_trace_preserving(chan)
    one = np.diag([0.0, 1.0]).astype(complex)
    assert math.isclose(chan.apply(one)[1, 1].real, math.exp(-t / t1), rel_tol=1e-12)
    plus = np.full((2, 2), 0.5, dtype=complex)
    assert math.isclose(abs(chan.apply(plus)[0, 1]), 0.5 * math.exp(-t / t2), rel_tol=1e-12)


def test_thermal_relaxation_matches_aer():
    """Same superoperator as qiskit-aer's thermal_relaxation_error (excited-state population 0)."""
    from qiskit.quantum_info import Kraus, SuperOp
    from qiskit_aer import noise as aer

    t, t1, t2 = 0.3, 30.0, 25.0
    ours = SuperOp(Kraus(list(ch.thermal_relaxation(t, t1, t2).kraus)))
    theirs = SuperOp(aer.thermal_relaxation_error(t1, t2, t))
    np.testing.assert_allclose(ours.data, theirs.data, atol=1e-12)


def test_t2_above_twice_t1_is_rejected():
    """T2 ≤ 2·T1 physically; larger values raise."""
    with pytest.raises(ValueError, match="exceeds"):
        ch.dephasing_rate(10.0, 25.0)


def test_gate_noise_order_and_positions():
    """Depolarizing on all gate qubits first, then per-qubit relaxation."""
    noise = NoiseModel(depolarizing_2q=0.01, t1=10.0, t2=12.0, time_2q=0.2)
    chans = ch.gate_noise(noise, 2)
    assert [pos for _, pos in chans] == [(0, 1), (0,), (1,)]
    assert chans[0][0].num_qubits == 2 and chans[1][0].num_qubits == 1
    assert ch.gate_noise(NoiseModel(), 1) == ()


def test_confusion_mixes_two_bits():
    """(C ⊗ C)·p, with bit 0 the least significant, for a two-bit distribution."""
    err = (0.1, 0.2)
    conf = ch.confusion_matrix(err)
    p = np.array([[0.1, 0.2, 0.3, 0.4]])
    expected = np.kron(conf, conf) @ p[0]
    np.testing.assert_allclose(ch.apply_confusion(p, err, 2)[0], expected, atol=1e-15)
    np.testing.assert_allclose(ch.apply_confusion(p, err, 2).sum(), 1.0)


def test_shot_sampling_is_seeded_and_unbiased():
    """Same seed, same counts; the mean error stays within 5 standard errors."""
    probs = np.array([[0.2, 0.5, 0.3]] * 4)
    a = ch.sample_counts(probs, 1000, np.random.default_rng(3))
    b = ch.sample_counts(probs, 1000, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    se = np.sqrt(probs * (1 - probs) / 1000)
    assert np.all(np.abs(a - probs) < 5 * se)
    e = ch.sample_expvals(np.array([[0.4, -0.9]]), 4000, np.random.default_rng(1))
    assert np.all(np.abs(e - [0.4, -0.9]) < 5 * np.sqrt((1 - np.array([0.4, -0.9]) ** 2) / 4000))
