"""Trajectories converge to the density-matrix result.

They do so within bounds set by the number of trajectories.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.backends.sim.noisy import NoisySimulator, choose_method
from qadl.backends.sim.trajectories import TrajectorySimulator
from qadl.ir.circuit import Readout
from qadl.ir.target import NoiseModel
from qadl.testing import random_bindings, random_circuit
from tests.noise.helpers import NOISE, with_readout

TRAJ = 3000
CONFIDENCE = 1e-6


def _hoeffding(width: float, trajectories: int, failure: float = CONFIDENCE) -> float:
    """|mean − μ| ≤ width·√(ln(2/failure)/(2T)) with probability ≥ 1 − failure (Hoeffding)."""
    return width * math.sqrt(math.log(2.0 / failure) / (2.0 * trajectories))


@pytest.mark.parametrize(
    ("readout", "width"),
    [
        (Readout("probs", (0, 2), num_classes=4), 1.0),
        (Readout("expval", observables=((("Z", 0),), (("X", 1), ("Y", 2)))), 2.0),
    ],
)
def test_means_within_hoeffding_bound(readout, width):
    """Each trajectory output lies in an interval of ``width``.

    The mean of T trajectories obeys Hoeffding's bound.
    """
    rng = np.random.default_rng(21)
    circuit = with_readout(random_circuit(rng, 3, 16), readout)
    theta, x, _ = random_bindings(rng, circuit)
    exact = DensityMatrixSimulator(circuit, NOISE).outputs(theta, x)
    mean, stderr = TrajectorySimulator(circuit, NOISE, trajectories=TRAJ, seed=5).estimate(theta, x)
    assert np.all(np.abs(mean - exact) <= _hoeffding(width, TRAJ))
    assert np.all(np.abs(mean - exact) <= 5 * stderr + 1e-12)


def test_density_estimate_converges():
    """The trajectory average of |ψ⟩⟨ψ| approaches ρ entrywise.

    Each |entry| ≤ 1, so Hoeffding applies to Re and Im.
    """
    rng = np.random.default_rng(3)
    circuit = random_circuit(rng, 2, 12)
    theta, x, _ = random_bindings(rng, circuit)
    noise = NoiseModel(
        depolarizing_1q=0.05, depolarizing_2q=0.1, t1=5.0, t2=6.0, time_1q=0.5, time_2q=1.0
    )
    rho = DensityMatrixSimulator(circuit, noise).states(theta, x)
    est = TrajectorySimulator(circuit, noise, trajectories=TRAJ, seed=1).density(theta, x)
    bound = _hoeffding(2.0, TRAJ, CONFIDENCE / 32)
    assert np.max(np.abs(est - rho).real) <= bound and np.max(np.abs((est - rho).imag)) <= bound
    np.testing.assert_allclose(np.trace(est[0]).real, 1.0, atol=1e-12)


def test_noiseless_trajectories_are_exact():
    """Without noise every trajectory is the pure state: the mean has no statistical error."""
    rng = np.random.default_rng(6)
    circuit = with_readout(random_circuit(rng, 3, 12), Readout("probs", (1,), num_classes=2))
    theta, x, _ = random_bindings(rng, circuit)
    exact = DensityMatrixSimulator(circuit).outputs(theta, x)
    mean, _ = TrajectorySimulator(circuit, trajectories=3).estimate(theta, x)
    np.testing.assert_allclose(mean, exact, atol=1e-13)


def test_same_seed_same_trajectories():
    """Branch choices come from the seeded generator only."""
    rng = np.random.default_rng(8)
    circuit = with_readout(random_circuit(rng, 2, 10), Readout("probs", (0,), num_classes=2))
    theta, x, _ = random_bindings(rng, circuit)
    a = TrajectorySimulator(circuit, NOISE, trajectories=50, seed=4).states(theta, x)
    b = TrajectorySimulator(circuit, NOISE, trajectories=50, seed=4).states(theta, x)
    np.testing.assert_array_equal(a, b)


def test_gradient_estimates_are_unbiased():
    """Mean of independent trajectory vjp runs is within 5 standard errors of the exact gradient.

    The exact gradient is the noisy (density-matrix) one.
    """
    rng = np.random.default_rng(12)
    circuit = with_readout(
        random_circuit(rng, 3, 14),
        Readout("expval", observables=((("Z", 1),), (("Z", 0), ("X", 2)))),
    )
    theta, x, _ = random_bindings(rng, circuit)
    xs = np.stack([x, x + 0.3])
    cot = rng.normal(size=(2, 2))
    exact = DensityMatrixSimulator(circuit, NOISE).vjp(theta, xs, cotangent=cot)
    runs = [
        TrajectorySimulator(circuit, NOISE, trajectories=400, seed=s).vjp(theta, xs, cotangent=cot)
        for s in range(8)
    ]
    for name in ("theta", "x"):
        vals = np.stack([getattr(g, name) for g in runs])
        se = vals.std(axis=0, ddof=1) / np.sqrt(len(runs))
        assert np.all(np.abs(vals.mean(axis=0) - getattr(exact, name)) <= 5 * se + 1e-9), name


def test_method_choice_by_size_with_override():
    """auto: density up to the threshold, trajectories beyond; an explicit method always wins."""
    assert choose_method(10) == "density" and choose_method(11) == "trajectories"
    assert choose_method(4, "trajectories") == "trajectories"
    assert choose_method(12, "auto", max_density_qubits=12) == "density"
    with pytest.raises(ValueError, match="unknown"):
        choose_method(3, "stabilizer")
    rng = np.random.default_rng(0)
    circuit = with_readout(random_circuit(rng, 2, 5), Readout("probs", (0,), num_classes=2))
    assert NoisySimulator(circuit, NOISE).method == "density"
    sim = NoisySimulator(circuit, NOISE, "trajectories", trajectories=7)
    assert sim.states(*random_bindings(rng, circuit)[:2]).shape == (1, 7, 4)


def _nonlinear_seed(outputs):
    """A loss whose cotangent depends on the outputs (as cross-entropy's does)."""
    return np.sin(3.0 * outputs) + outputs**2, outputs.copy()


def test_vjp_after_samples_each_trajectory_once():
    """``vjp_after``: one sampling pass; ``seed`` sees the means of the trajectories that give
    the gradient, which is then ``vjp``'s on the same sample (same seed) to rounding."""
    rng = np.random.default_rng(31)
    circuit = with_readout(
        random_circuit(rng, 3, 14),
        Readout("expval", observables=((("Z", 1),), (("Z", 0), ("X", 2)))),
    )
    theta, x, _ = random_bindings(rng, circuit)
    xs = np.stack([x, x - 0.4])
    sim = TrajectorySimulator(circuit, NOISE, trajectories=60, seed=9)
    sampled = []
    sample = sim._sample
    sim._sample = lambda *a: sampled.append(a[1].size) or sample(*a)
    grads, seen = sim.vjp_after(theta, xs, seed=_nonlinear_seed)
    assert sampled == [2 * 60]
    np.testing.assert_allclose(seen, grads.outputs, rtol=0, atol=1e-15)
    again = TrajectorySimulator(circuit, NOISE, trajectories=60, seed=9)
    np.testing.assert_allclose(again.outputs(theta, xs), seen, rtol=0, atol=1e-15)
    same = TrajectorySimulator(circuit, NOISE, trajectories=60, seed=9).vjp(
        theta, xs, cotangent=_nonlinear_seed(seen)[0])
    for name in ("outputs", "theta", "x"):
        np.testing.assert_allclose(getattr(grads, name), getattr(same, name), rtol=0,
                                   atol=1e-13, err_msg=name)


def test_vjp_after_with_shots_and_chunks():
    """With shots, ``seed`` gets shot-sampled outputs (``grads.outputs`` stays the means);
    a batch whose states need several chunks samples ``outputs`` and ``vjp`` separately."""
    rng = np.random.default_rng(32)
    circuit = with_readout(random_circuit(rng, 2, 10), Readout("probs", (0, 1), num_classes=4))
    theta, x, _ = random_bindings(rng, circuit)
    xs = np.stack([x, x + 0.2, x - 0.2])
    shots = TrajectorySimulator(circuit, NOISE, trajectories=40, seed=2, shots=64)
    grads, seen = shots.vjp_after(theta, xs, seed=_nonlinear_seed)
    assert np.all(np.abs(seen * 64 - np.round(seen * 64)) < 1e-9)  # counts / shots
    assert not np.allclose(seen, grads.outputs)
    np.testing.assert_allclose(grads.outputs.sum(axis=1), 1.0, atol=1e-12)
    chunked = TrajectorySimulator(circuit, NOISE, trajectories=40, seed=2,
                                  max_chunk_bytes=16 * 4 * 3 * 50)
    sampled = []
    sample = chunked._sample
    chunked._sample = lambda *a: sampled.append(a[1].size) or sample(*a)
    grads, seen = chunked.vjp_after(theta, xs, seed=_nonlinear_seed)
    assert sum(sampled) == 2 * 3 * 40 and len(sampled) > 2
    assert grads.theta.shape == theta.shape and np.all(np.isfinite(grads.theta))


def test_vjp_after_gradients_converge_to_the_density_matrix():
    """Mean of same-sample ``vjp_after`` gradients of a nonlinear loss is within 5 standard
    errors of the exact (density-matrix) gradient: the sampled loss's O(1/T) bias is
    below the noise at 400 trajectories."""
    rng = np.random.default_rng(33)
    circuit = with_readout(random_circuit(rng, 3, 12), Readout("probs", (0,), num_classes=2))
    theta, x, _ = random_bindings(rng, circuit)
    exact, _ = NoisySimulator(circuit, NOISE, "density").vjp_after(theta, x,
                                                                   seed=_nonlinear_seed)
    runs = [NoisySimulator(circuit, NOISE, "trajectories", trajectories=400, seed=s)
            .vjp_after(theta, x, seed=_nonlinear_seed)[0].theta for s in range(8)]
    vals = np.stack(runs)
    se = vals.std(axis=0, ddof=1) / np.sqrt(len(runs))
    assert np.all(np.abs(vals.mean(axis=0) - exact.theta) <= 5 * se + 1e-9)
