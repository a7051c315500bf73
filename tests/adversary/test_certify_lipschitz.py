"""The Lipschitz certificate: the bound's pieces, and soundness against PGD and a grid search."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.adversary.attacks import attack_sweep
from qadl.adversary.certify_lipschitz import (
    GENERATOR_HALF_SPREAD,
    lipschitz_constants,
    lipschitz_problem,
    lipschitz_radii,
)
from qadl.adversary.config import AttackConfig
from qadl.backends.sim import Simulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import GATES, Gate
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset


@pytest.mark.parametrize("gate", sorted(GENERATOR_HALF_SPREAD, key=lambda g: g.value))
def test_every_generator_has_the_half_spread_in_the_table(gate):
    """``i·U†·∂U/∂a`` by central differences, at random angles, for every angle slot."""
    rng = np.random.default_rng(0)
    fn = GATES[gate].matrix_fn
    for _ in range(3):
        angles = rng.uniform(-np.pi, np.pi, GATES[gate].num_angles)
        for slot in range(len(angles)):
            up, down = angles.copy(), angles.copy()
            up[slot] += 1e-6
            down[slot] -= 1e-6
            dU = (fn(*up) - fn(*down)) / 2e-6
            g = 1j * fn(*angles).conj().T @ dU
            eig = np.linalg.eigvalsh((g + g.conj().T) / 2)
            assert (eig[-1] - eig[0]) / 2 == pytest.approx(GENERATOR_HALF_SPREAD[gate], abs=1e-6)


def test_one_rotation_is_tight():
    """RY(x) then read qubit 0: ``p0 − p1 = cos x``, whose slope reaches 1 = L."""
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    circuit = Circuit(1, (Op(Gate.RY, (0,), (E.x(0),)),), num_features=1, readout=readout)
    assert lipschitz_constants(circuit, np.zeros(0)) == {"l2": 1.0, "linf": 1.0}


def test_weights_from_trained_parameters_enter_the_constant():
    """RY(θ0·x0 + θ1·x1): ``‖w‖₂ = ‖θ‖₂`` and ``‖w‖₁ = ‖θ‖₁``."""
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    angle = E.theta(0) * E.x(0) + E.theta(1) * E.x(1)
    circuit = Circuit(1, (Op(Gate.RY, (0,), (angle,)),), num_params=2, num_features=2,
                      readout=readout)
    consts = lipschitz_constants(circuit, np.array([3.0, -4.0]))
    assert consts["l2"] == pytest.approx(5.0) and consts["linf"] == pytest.approx(7.0)


def test_features_in_disjoint_gates_get_the_spectral_l2_constant():
    """16 pixels, each in its own RX(θ + 2·x_i) (Ren et al.'s layout): L2 = √16·2, L∞ = 16·2."""
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    ops = tuple(Op(Gate.RX, (i % 4,), (E.theta(i) + E.x(i) * 2.0,)) for i in range(16))
    circuit = Circuit(4, ops, num_params=16, num_features=16, readout=readout)
    consts = lipschitz_constants(circuit, np.zeros(16))
    assert consts["l2"] == pytest.approx(8.0) and consts["linf"] == pytest.approx(32.0)


def test_products_of_features_and_amplitudes_are_refused():
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    zz = Op(Gate.RZ, (0,), ((E.const(np.pi) - E.x(0)) * (E.const(np.pi) - E.x(1)),))
    problem = lipschitz_problem(Circuit(1, (zz,), num_features=2, readout=readout))
    assert problem is not None and "not affine" in problem
    amp = Op(Gate.AMPLITUDE, (0,), (E.x(0), E.x(1)))
    problem = lipschitz_problem(Circuit(1, (amp,), num_features=2, readout=readout))
    assert problem is not None and "amplitude" in problem


def _random_model(seed: int, num_qubits: int, num_classes: int):
    """Angle encoding with trained weights ``RY(θ·x + θ')`` then two entangling layers."""
    rng = np.random.default_rng(seed)
    n, ops, k = num_qubits, [], 0
    for layer in range(2):
        for q in range(n):
            angle = E.theta(k) * E.x(q % 2) + E.theta(k + 1)
            ops.append(Op(Gate.RY if layer == 0 else Gate.RX, (q,), (angle,)))
            k += 2
        ops += [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)]
        ops += [Op(Gate.RZ, (q,), (E.theta(k + q),)) for q in range(n)]
        k += n
    measured = (0,) if num_classes == 2 else (0, 1)
    readout = Readout(kind="probs", qubits=measured, num_classes=num_classes)
    circuit = Circuit(n, tuple(ops), num_params=k, num_features=2, readout=readout)
    theta = rng.uniform(-2, 2, k)
    return Classifier(Simulator(circuit), readout), circuit, theta, rng


def _radii(clf, circuit, theta, x, y, local=True):
    """Radii with the second-order local bound (the larger, so the one to attack)."""
    def gradient(cot):
        return clf.sim.vjp(theta, x=x, cotangent=cot).x

    return lipschitz_radii(circuit.readout, clf.sim.outputs(theta, x=x), y,
                           lipschitz_constants(circuit, theta), gradient if local else None)


def test_the_local_bound_is_never_smaller_and_sometimes_larger():
    clf, circuit, theta, rng = _random_model(5, 2, 3)
    x = rng.uniform(-1, 1, (30, 2))
    y = clf.predict(theta, x=x)
    local, plain = _radii(clf, circuit, theta, x, y), _radii(clf, circuit, theta, x, y, False)
    for norm in ("l2", "linf"):
        assert np.all(local[norm] >= plain[norm] - 1e-15)
        assert np.any(local[norm] > 1.2 * plain[norm])


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(1, 2), (2, 2), (2, 3)]))
def test_no_pgd_flips_a_sample_inside_its_radius(seed, shape):
    clf, circuit, theta, rng = _random_model(seed, *shape)
    x = rng.uniform(-1, 1, (4, 2))
    y = clf.predict(theta, x=x)  # every sample is right: radii are positive
    radii = _radii(clf, circuit, theta, x, y)
    for norm in ("l2", "linf"):
        for i in range(len(y)):
            data = Dataset(x=x[i : i + 1], y=y[i : i + 1], name="probe",
                           num_classes=clf.num_classes)
            eps = 0.999 * radii[norm][i]
            config = AttackConfig("pgd", norm=norm, epsilon=eps, steps=40, restarts=4,
                                  random_start=True, seed=seed, clip_to_range=False)
            (result,) = attack_sweep(clf, theta, data, config)
            assert not result.success[0], (norm, i, eps)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_dense_grid_in_the_ball_never_flips(seed):
    """For two features: 81 × 81 points filling the L∞ ball of radius 0.999·r."""
    clf, circuit, theta, rng = _random_model(seed, 2, 2)
    x = rng.uniform(-1, 1, (3, 2))
    y = clf.predict(theta, x=x)
    radii = _radii(clf, circuit, theta, x, y)
    grid = np.linspace(-1, 1, 81)
    offsets = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    for i in range(len(y)):
        probes = x[i] + 0.999 * radii["linf"][i] * offsets
        assert np.all(clf.predict(theta, x=probes) == y[i])


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_softmax_over_observables_is_sound_on_a_grid(seed):
    """Three observables (Z0, Z1, X0·X1), softmax decision: h(M) = 2 for a difference."""
    rng = np.random.default_rng(seed)
    ops, k = [], 0
    for layer in range(2):
        for q in range(2):
            angle = E.theta(k) * E.x(q) + E.theta(k + 1)
            ops.append(Op(Gate.RY if layer == 0 else Gate.RX, (q,), (angle,)))
            k += 2
        ops.append(Op(Gate.CZ, (0, 1)))
    observables = ((("Z", 0),), (("Z", 1),), (("X", 0), ("X", 1)))
    readout = Readout(kind="expval", observables=observables, num_classes=3)
    circuit = Circuit(2, tuple(ops), num_params=k, num_features=2, readout=readout)
    theta = rng.uniform(-2, 2, k)
    clf = Classifier(Simulator(circuit), readout)
    x = rng.uniform(-1, 1, (3, 2))
    y = clf.predict(theta, x=x)
    radii = _radii(clf, circuit, theta, x, y)
    grid = np.linspace(-1, 1, 81)
    offsets = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    for i in range(len(y)):
        assert radii["linf"][i] > 0
        assert np.all(clf.predict(theta, x=x[i] + 0.999 * radii["linf"][i] * offsets) == y[i])
