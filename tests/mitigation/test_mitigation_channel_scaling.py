"""Noise scaled by λ (``qadl.ir.noise_scaling``) and channel-scaling ZNE, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.backends.sim import NoisySimulator
from qadl.backends.sim.extrapolation import Extrapolation
from qadl.backends.sim.mitigated import MitigatedSimulator, Mitigation
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.noise_scaling import scaled_noise, scaling_problem
from qadl.ir.target import NoiseModel
from qadl.passes import fold_global

Z0 = Readout("expval", observables=((("Z", 0),),), num_classes=2)
THETA, X = np.array([0.3]), np.array([[0.4]])
Y0 = math.cos(0.7)


def _one_qubit() -> Circuit:
    """ry(x₀)·ry(θ₀): ⟨Z⟩ = cos(x₀ + θ₀) noiselessly; each gate shrinks the Bloch vector."""
    ops = (Op(Gate.RY, (0,), (E.x(0),)), Op(Gate.RY, (0,), (E.theta(0),)))
    return Circuit(1, ops, num_params=1, num_features=1, readout=Z0)


def _channel_zne(noise: NoiseModel, scales, method: str = "richardson") -> MitigatedSimulator:
    circuit = _one_qubit()
    mitigation = Mitigation(extrapolation=Extrapolation(method, tuple(scales)))
    noises = [scaled_noise(noise, s, readout=False) for s in scales]
    return MitigatedSimulator([circuit] * len(scales), noise, mitigation, noises=noises)


def test_scaled_noise_multiplies_every_error_strength() -> None:
    noise = NoiseModel(0.01, 0.04, (0.02, 0.05), t1=50.0, t2=70.0, time_1q=0.1, shots=100)
    twice = scaled_noise(noise, 2.0)
    assert (twice.depolarizing_1q, twice.depolarizing_2q) == pytest.approx((0.02, 0.08))
    assert twice.readout_error == pytest.approx((0.04, 0.10))
    assert (twice.t1, twice.t2) == pytest.approx((25.0, 35.0))  # rates 1/T doubled
    assert (twice.time_1q, twice.shots) == (0.1, 100)  # durations and shots unchanged
    assert scaled_noise(noise, 2.0, readout=False).readout_error == (0.02, 0.05)
    zero = scaled_noise(noise, 0.0)
    assert zero.is_noiseless and zero.shots == 100


def test_scaling_refuses_probabilities_above_one() -> None:
    noise = NoiseModel(0.3, 0.0, (0.1, 0.4))
    assert scaling_problem(noise, 2.5) is None  # 0.75, 0.25, 1.0: the bound is inclusive
    assert "readout_error(p10)" in scaling_problem(noise, 3.0)  # 1.2
    assert scaling_problem(noise, 3.0, readout=False) is None  # 1q: 0.9
    assert "depolarizing(1q)" in scaling_problem(noise, 3.5, readout=False)  # 1.05
    with pytest.raises(ValueError, match="above 1"):
        scaled_noise(noise, 4.0)


def test_thermal_relaxation_scaled_is_the_gate_lasting_longer() -> None:
    """T → T/λ with duration t is the same channel as T with duration λ·t."""
    circuit = _one_qubit()
    base = NoiseModel(t1=20.0, t2=30.0, time_1q=1.0)
    by_rate = NoisySimulator(circuit, scaled_noise(base, 2.5), "density", shots=0)
    by_time = NoisySimulator(
        circuit, NoiseModel(t1=20.0, t2=30.0, time_1q=2.5), "density", shots=0
    )
    np.testing.assert_allclose(by_rate.outputs(THETA, X), by_time.outputs(THETA, X), atol=1e-12)
    assert by_rate.outputs(THETA, X)[0, 0] != pytest.approx(Y0, abs=1e-3)  # it is noisy


def test_channel_scaled_expectation_is_the_closed_form_polynomial() -> None:
    """Two gates each followed by depolarising λp: ⟨Z⟩(λ) = (1 − λp)²·cos(x + θ) exactly."""
    p = 0.03
    for lam in (1.0, 1.5, 2.0, 3.0):
        noise = scaled_noise(NoiseModel(depolarizing_1q=p), lam)
        sim = NoisySimulator(_one_qubit(), noise, "density", shots=0)
        assert sim.outputs(THETA, X)[0, 0] == pytest.approx(Y0 * (1 - lam * p) ** 2, abs=1e-12)


def test_richardson_is_exact_once_the_scales_determine_the_polynomial() -> None:
    """⟨Z⟩(λ) has degree 2 in λ: three scales (any, not odd) recover the noiseless value."""
    noise = NoiseModel(depolarizing_1q=0.05)
    got = _channel_zne(noise, (1, 1.5, 2)).outputs(THETA, X)[0, 0]
    assert got == pytest.approx(Y0, abs=1e-10)


@pytest.mark.parametrize("p", [0.02, 0.01])
def test_linear_extrapolation_error_is_the_predicted_second_order_term(p: float) -> None:
    """Two scales λ₁, λ₂ miss y''(0)/2·λ₁λ₂ = p²·λ₁λ₂·y₀ (the quadratic term)."""
    scales = (1.0, 2.0)
    got = _channel_zne(NoiseModel(depolarizing_1q=p), scales).outputs(THETA, X)[0, 0]
    predicted_error = -(p**2) * math.prod(scales) * Y0
    assert got - Y0 == pytest.approx(predicted_error, rel=1e-9, abs=1e-13)


def test_channel_and_folding_agree_to_first_order_in_the_noise() -> None:
    """At λ = 1 both are the device itself; at λ = 3, folding gives (1 − p)⁶·y₀ and channel
    scaling (1 − 3p)²·y₀: equal to first order, apart by 6p²·y₀ + O(p³)."""
    circuit = _one_qubit()
    for p in (0.01, 0.005):
        noise = NoiseModel(depolarizing_1q=p)
        plain = NoisySimulator(circuit, noise, "density", shots=0).outputs(THETA, X)
        channel1 = NoisySimulator(circuit, scaled_noise(noise, 1.0), "density", shots=0)
        np.testing.assert_array_equal(channel1.outputs(THETA, X), plain)
        folded = NoisySimulator(fold_global(circuit, scale=3), noise, "density", shots=0)
        channel = NoisySimulator(circuit, scaled_noise(noise, 3.0), "density", shots=0)
        gap = folded.outputs(THETA, X)[0, 0] - channel.outputs(THETA, X)[0, 0]
        assert gap == pytest.approx(6 * p**2 * Y0, rel=0.1)
        # and both extrapolate to the noiseless value within the theory's O(p²)
        fold_zne = MitigatedSimulator(
            [fold_global(circuit, scale=s) for s in (1, 3)], noise,
            Mitigation(extrapolation=Extrapolation("richardson", (1, 3))),
        )
        for sim in (fold_zne, _channel_zne(noise, (1, 3))):
            assert abs(sim.outputs(THETA, X)[0, 0] - Y0) < 10 * p**2


def test_channel_scaling_keeps_the_readout_error_and_has_exact_gradients() -> None:
    noise = NoiseModel(depolarizing_1q=0.04, readout_error=(0.05, 0.1))
    sim = _channel_zne(noise, (1, 2, 3))
    assert all(e.noise.readout_error == (0.05, 0.1) for e in sim.engines)
    grad = sim.vjp(THETA, X, cotangent=np.ones((1, 1))).theta[0]
    h = 1e-6
    numeric = (
        sim.outputs(THETA + h, X)[0, 0] - sim.outputs(THETA - h, X)[0, 0]
    ) / (2 * h)
    assert grad == pytest.approx(numeric, abs=1e-6)
    assert abs(grad) > 0.1  # d/dθ of a cosine at 0.7, shrunk by the readout error only
