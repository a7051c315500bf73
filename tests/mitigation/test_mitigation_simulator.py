"""MitigatedSimulator on noisy simulations with closed forms: ZNE order, readout recovery, vjp."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.backends.sim import Simulator
from qadl.backends.sim.extrapolation import Extrapolation
from qadl.backends.sim.mitigated import MitigatedSimulator, Mitigation
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import NoiseModel
from qadl.passes import fold_global, fold_local

ZZ = Readout("expval", observables=((("Z", 0),),), num_classes=2)


def _one_qubit(readout: Readout = ZZ) -> Circuit:
    """ry(x₀)·ry(θ₀): ⟨Z⟩ = cos(x₀ + θ₀) noiselessly."""
    ops = (Op(Gate.RY, (0,), (E.x(0),)), Op(Gate.RY, (0,), (E.theta(0),)))
    return Circuit(1, ops, num_params=1, num_features=1, readout=readout)


def _two_qubit(readout: Readout) -> Circuit:
    ops = (
        Op(Gate.RY, (0,), (E.x(0),)),
        Op(Gate.RY, (1,), (E.theta(0),)),
        Op(Gate.CX, (0, 1)),
        Op(Gate.RX, (1,), (E.theta(1) + E.x(1),)),
        Op(Gate.CZ, (1, 0)),
        Op(Gate.RY, (0,), (E.theta(2),)),
    )
    return Circuit(2, ops, num_params=3, num_features=2, readout=readout)


def _zne(circuit, noise, scales, method="richardson", fold=fold_global, readout=None):
    mitigation = Mitigation(readout=readout, extrapolation=Extrapolation(method, scales))
    return MitigatedSimulator([fold(circuit, scale=s) for s in scales], noise, mitigation)


@pytest.mark.parametrize("scales", [(1, 3), (1, 3, 5)])
def test_richardson_error_on_a_depolarised_qubit_has_the_predicted_order(scales):
    """Two gates, each followed by depolarising p: ⟨Z⟩(λ) = (1 − p)^{2λ}·cos(x + θ) exactly.

    With κ = −2·ln(1 − p), Richardson's error is y₀·(−1)ⁿ⁺¹(−κ)ⁿ·Πλ/n! + O(κⁿ⁺¹).
    """
    n, theta, x = len(scales), np.array([0.3]), np.array([[0.4]])
    y0 = math.cos(0.7)
    for p in (0.01, 0.005):
        noise = NoiseModel(depolarizing_1q=p)
        kappa = -2 * math.log(1 - p)
        for s in scales:  # the folded circuit's noise is the scaled closed form
            raw = MitigatedSimulator([fold_global(_one_qubit(), scale=s)], noise, Mitigation())
            assert raw.outputs(theta, x)[0, 0] == pytest.approx(y0 * (1 - p) ** (2 * s), abs=1e-12)
        got = _zne(_one_qubit(), noise, scales).outputs(theta, x)[0, 0]
        predicted = y0 * (-kappa) ** n / math.factorial(n) * (-1) ** (n + 1) * math.prod(scales)
        assert got - y0 == pytest.approx(predicted, rel=kappa * sum(scales))
        assert abs(got - y0) < 0.1 * abs(y0 * (1 - p) ** 2 - y0)  # far better than unmitigated


def test_exponential_extrapolation_is_exact_for_depolarising_noise():
    theta, x = np.array([0.3]), np.array([[0.4], [1.9]])
    sim = _zne(_one_qubit(), NoiseModel(depolarizing_1q=0.05), (1, 3, 5), "exponential")
    np.testing.assert_allclose(sim.outputs(theta, x)[:, 0], np.cos([0.7, 2.2]), atol=1e-10)


@pytest.mark.parametrize("method", ["tensored", "full"])
def test_readout_mitigation_recovers_the_noiseless_probabilities(method):
    readout = Readout("probs", qubits=(0, 1), num_classes=3)
    circuit = _two_qubit(readout)
    rng = np.random.default_rng(0)
    theta, x = rng.uniform(-2, 2, 3), rng.uniform(0, 3, (4, 2))
    noise = NoiseModel(readout_error=(0.04, 0.1))
    raw = MitigatedSimulator([circuit], noise, Mitigation()).outputs(theta, x)
    fixed = MitigatedSimulator([circuit], noise, Mitigation(readout=method)).outputs(theta, x)
    want = Simulator(circuit).outputs(theta, x)
    assert np.abs(raw - want).max() > 0.02
    np.testing.assert_allclose(fixed, want, atol=1e-10)


def test_local_and_global_folding_agree_for_single_qubit_depolarising():
    """On one qubit depolarising commutes with every gate: only the gate count matters."""
    noise, theta, x = NoiseModel(depolarizing_1q=0.02), np.array([0.3]), np.array([[0.4]])
    a = _zne(_one_qubit(), noise, (1, 3, 5), fold=fold_global).outputs(theta, x)
    b = _zne(_one_qubit(), noise, (1, 3, 5), fold=fold_local).outputs(theta, x)
    np.testing.assert_allclose(a, b, atol=1e-12)


@pytest.mark.parametrize(
    ("kind", "method", "readout"),
    [
        ("probs", "richardson", "tensored"),
        ("probs", "exponential", None),
        ("expval", "linear", None),
    ],
)
def test_vjp_matches_finite_differences(kind, method, readout):
    if kind == "probs":
        ro = Readout("probs", qubits=(0, 1), num_classes=4)
    else:
        ro = Readout("expval", observables=((("Z", 0),), (("X", 1), ("Z", 0))), num_classes=2)
    noise = NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.04, readout_error=(0.02, 0.05))
    sim = _zne(_two_qubit(ro), noise, (1, 3, 5), method, readout=readout)
    rng = np.random.default_rng(4)
    theta, x = rng.uniform(-2, 2, 3), rng.uniform(0, 3, (2, 2))
    out = sim.outputs(theta, x)
    cot = rng.normal(size=out.shape)
    grads = sim.vjp(theta, x, cotangent=cot)
    np.testing.assert_allclose(grads.outputs, out, atol=1e-12)
    h = 1e-6

    def loss(t, xx):
        return float((sim.outputs(t, xx) * cot).sum())

    for i in range(3):
        d = np.zeros(3)
        d[i] = h
        fd = (loss(theta + d, x) - loss(theta - d, x)) / (2 * h)
        assert grads.theta[i] == pytest.approx(fd, abs=1e-5)
    d = np.zeros_like(x)
    d[1, 0] = h
    assert grads.x[1, 0] == pytest.approx(
        (loss(theta, x + d) - loss(theta, x - d)) / (2 * h), abs=1e-5
    )


def test_mismatches_are_refused():
    c = _one_qubit()
    with pytest.raises(ValueError, match="2 circuits for 3"):
        MitigatedSimulator(
            [c, c], NoiseModel(), Mitigation(extrapolation=Extrapolation("linear", (1, 3, 5)))
        )
    with pytest.raises(ValueError, match="probs readout"):
        MitigatedSimulator(
            [c], NoiseModel(readout_error=(0.1, 0.1)), Mitigation(readout="tensored")
        )


def test_calibration_shots_estimate_the_confusion_matrix():
    """`readout(method = full, calibration_shots = N)`: the estimate converges as N grows."""
    readout = Readout("probs", qubits=(0, 1), num_classes=4)
    circuit = _two_qubit(readout)
    rng = np.random.default_rng(1)
    theta, x = rng.uniform(-2, 2, 3), rng.uniform(0, 3, (3, 2))
    noise = NoiseModel(readout_error=(0.04, 0.1))
    want = Simulator(circuit).outputs(theta, x)
    errors = []
    for shots in (100, 1_000_000):
        mitigation = Mitigation(readout="full", calibration_shots=shots, seed=3)
        got = MitigatedSimulator([circuit], noise, mitigation).outputs(theta, x)
        errors.append(np.abs(got - want).max())
    assert errors[1] < 2e-3 < errors[0]


@pytest.mark.parametrize("engine_method", ["density", "trajectories"])
def test_vjp_after_runs_each_scale_once(engine_method, monkeypatch):
    """``vjp_after``: each scale's engine runs its own ``vjp_after`` once and never
    ``outputs``; ``seed`` sees the mitigated outputs, and by density matrix the result is
    ``outputs`` then ``vjp``'s (a nonlinear cotangent, as a loss gives)."""
    ro = Readout("probs", qubits=(0, 1), num_classes=3)
    noise = NoiseModel(depolarizing_1q=0.01, depolarizing_2q=0.04, readout_error=(0.02, 0.05))
    scales = (1, 3, 5)
    mitigation = Mitigation(readout="tensored", extrapolation=Extrapolation("richardson",
                                                                           scales))
    circuits = [fold_global(_two_qubit(ro), scale=s) for s in scales]
    sim = MitigatedSimulator(circuits, noise, mitigation, method=engine_method)
    rng = np.random.default_rng(5)
    theta, x = rng.uniform(-2, 2, 3), rng.uniform(0, 3, (2, 2))
    calls = []
    for k, engine in enumerate(sim.engines):
        run = engine.vjp_after
        monkeypatch.setattr(engine, "vjp_after",
                            lambda *a, _k=k, _run=run, **kw: calls.append(_k) or _run(*a, **kw))
        monkeypatch.setattr(engine, "outputs", lambda *a, **kw: pytest.fail("second forward"))
    seen = []

    def seed(out):
        seen.append(out)
        return np.sin(out) + out, "aux"

    grads, aux = sim.vjp_after(theta, x, seed=seed)
    assert calls == [0, 1, 2] and aux == "aux" and len(seen) == 1
    np.testing.assert_array_equal(grads.outputs, seen[0])
    monkeypatch.undo()
    if engine_method == "density":
        want = sim.vjp(theta, x, cotangent=seed(sim.outputs(theta, x))[0])
        np.testing.assert_allclose(seen[0], sim.outputs(theta, x), rtol=0, atol=1e-15)
        for name in ("theta", "x"):
            np.testing.assert_allclose(getattr(grads, name), getattr(want, name), rtol=0,
                                       atol=1e-13, err_msg=name)
