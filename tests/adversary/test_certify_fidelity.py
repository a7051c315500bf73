"""The fidelity certificate: sound against a search over all input states, tight for pure states.

The brute force is independent of the bound: SLSQP over every normalised input vector,
minimising the infidelity to the clean state subject to the decision flipping, from
many starts. For 1–2 qubit pure states and projective readouts (two classes, four
classes, three of four renormalised) its minimum equals the certified ``1 − F`` to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.stats import unitary_group

from qadl.adversary.attacks import attack_sweep
from qadl.adversary.certify_fidelity import (
    amplitude_input_radii,
    amplitude_problem,
    fidelity_radius,
    observable_radius,
)
from qadl.adversary.config import AttackConfig
from qadl.backends.sim import Simulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset


def _readout(num_qubits: int, measured: tuple[int, ...], classes: int) -> Readout:
    return Readout(kind="probs", qubits=measured, num_classes=classes)


def _outputs(v: np.ndarray, phi: np.ndarray, num_qubits: int, measured, classes) -> np.ndarray:
    """Raw marginals of outcomes ``0 … classes−1`` of ``measured`` after the unitary ``v``."""
    amp = v @ phi
    probs = np.abs(amp) ** 2
    idx = np.arange(1 << num_qubits)
    outcome = sum(((idx >> q) & 1) << k for k, q in enumerate(measured))
    return np.array([probs[outcome == c].sum() for c in range(classes)])


def _as_state(z: np.ndarray) -> np.ndarray:
    half = len(z) // 2
    phi = z[:half] + 1j * z[half:]
    return phi / np.linalg.norm(phi)


def _min_flip_infidelity(psi, v, y, num_qubits, measured, classes, starts=10, seed=0):
    """Smallest ``1 − |⟨ψ|φ⟩|²`` over states φ whose decision is not ``y`` (brute force)."""
    rng = np.random.default_rng(seed)
    best = np.inf
    for c in range(classes):
        if c == y:
            continue

        def flip(z, c=c):  # p_c ≥ p_y: the decision can leave y
            out = _outputs(v, _as_state(z), num_qubits, measured, classes)
            return out[c] - out[y]

        def infid(z):
            return 1.0 - abs(np.vdot(psi, _as_state(z))) ** 2

        for k in range(starts):
            scale = 0.05 if k < starts // 2 else 1.0
            z0 = np.concatenate([psi.real, psi.imag]) + scale * rng.normal(size=2 * len(psi))
            res = minimize(infid, z0, method="SLSQP",
                           constraints=[{"type": "ineq", "fun": flip}],
                           options={"ftol": 1e-14, "maxiter": 500})
            if res.success and flip(res.x) >= -1e-10:
                best = min(best, infid(res.x))
    return best


CASES = [
    (1, (0,), 2),  # one qubit, two classes
    (2, (0,), 2),  # two qubits, one measured: rank-2 projectors
    (2, (0, 1), 4),  # four classes, every outcome
    (2, (0, 1), 3),  # three of four outcomes, renormalised
]


def _check_tight(num_qubits, measured, classes, seed):
    rng = np.random.default_rng(seed)
    d = 1 << num_qubits
    psi = _as_state(rng.normal(size=2 * d))
    v = unitary_group.rvs(d, random_state=seed)
    out = _outputs(v, psi, num_qubits, measured, classes)
    y = int(np.argmax(out))
    radius = fidelity_radius(_readout(num_qubits, measured, classes), out[None], np.array([y]))[0]
    brute = _min_flip_infidelity(psi, v, y, num_qubits, measured, classes, seed=seed)
    assert brute >= radius**2 - 1e-9  # sound: nothing closer flips
    assert brute == pytest.approx(radius**2, abs=1e-6)  # tight


@pytest.mark.parametrize(("num_qubits", "measured", "classes"), CASES)
@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_radius_is_the_exact_minimal_flipping_infidelity(num_qubits, measured, classes, seed):
    _check_tight(num_qubits, measured, classes, seed)


@pytest.mark.slow
@pytest.mark.parametrize(("num_qubits", "measured", "classes"), CASES)
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_radius_is_tight_on_many_random_states(num_qubits, measured, classes, seed):
    _check_tight(num_qubits, measured, classes, seed)


def test_wrong_decisions_have_radius_zero():
    readout = _readout(1, (0,), 2)
    out = np.array([[0.7, 0.3], [0.2, 0.8]])
    radius = fidelity_radius(readout, out, np.array([1, 1]))
    assert radius[0] == 0.0 and radius[1] > 0.0


def test_two_classes_match_guan_fang_ying():
    """``(√p − √(1 − p))² = 2(1 − F*)``."""
    p = np.array([0.55, 0.7, 0.95, 1.0])
    out = np.column_stack([p, 1 - p])
    radius = fidelity_radius(_readout(1, (0,), 2), out, np.zeros(4, dtype=int))
    np.testing.assert_allclose(2 * radius**2, (np.sqrt(p) - np.sqrt(1 - p)) ** 2, atol=1e-12)


def test_binary_expval_is_the_probability_of_its_eigenspace():
    readout = Readout(kind="expval", observables=(((("Z", 0),)),), num_classes=2)
    e = np.array([[0.4], [-0.6]])
    radius = fidelity_radius(readout, e, np.array([0, 1]))
    expected = fidelity_radius(_readout(1, (0,), 2), np.array([[0.7, 0.3], [0.2, 0.8]]),
                               np.array([0, 1]))
    np.testing.assert_allclose(radius, expected, atol=1e-12)


def test_softmax_observables_use_the_trace_distance_bound():
    """Margin over the spread 4 of a difference of two Pauli products."""
    scores = np.array([[0.8, 0.2, -0.1]])
    radius = observable_radius(scores, np.array([0]))
    assert radius[0] == pytest.approx(0.6 / 4)


# -- amplitude encoding --------------------------------------------------------------------------


def _amplitude_circuit(features: int, factor: float = 1.0) -> Circuit:
    n = max(1, int(np.ceil(np.log2(features))))
    amps = tuple(E.x(i) * factor for i in range(features)) + (E.const(0.0),) * ((1 << n) - features)
    op = Op(Gate.AMPLITUDE, tuple(range(n)), amps)
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    return Circuit(n, (op,), num_features=features, readout=readout)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_amplitude_l2_radius_maps_exactly_to_state_fidelity(seed):
    """An L2 step of norm ``radius·‖x‖`` tangent to its ball reaches sine distance ``radius``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1, 4))
    state_radius = np.array([rng.uniform(0.01, 0.7)])
    l2 = amplitude_input_radii(_amplitude_circuit(4, 2.5), x, state_radius)["l2"][0]
    assert l2 == pytest.approx(state_radius[0] * np.linalg.norm(x))
    u = rng.normal(size=4)
    u -= u @ x[0] / (x[0] @ x[0]) * x[0]
    u /= np.linalg.norm(u)
    s_ = state_radius[0]
    delta = -(s_**2) * x[0] + l2 * np.sqrt(1 - s_**2) * u  # x + δ ⊥ δ: the widest angle
    assert np.linalg.norm(delta) == pytest.approx(l2)
    a, b = x[0] / np.linalg.norm(x[0]), (x[0] + delta) / np.linalg.norm(x[0] + delta)
    assert np.sqrt(1 - (a @ b) ** 2) == pytest.approx(state_radius[0], abs=1e-12)
    # and no L2 step of that size moves the state further (random directions)
    for _ in range(200):
        step = rng.normal(size=4)
        step *= l2 / np.linalg.norm(step)
        b = (x[0] + step) / np.linalg.norm(x[0] + step)
        assert np.sqrt(max(0.0, 1 - (a @ b) ** 2)) <= state_radius[0] + 1e-12


def test_amplitudes_that_are_not_plain_features_are_refused():
    circuit = _amplitude_circuit(2)
    bent = (*circuit.ops[0].angles[:1], E.x(1) + 1.0)
    problem = amplitude_problem(circuit.with_ops([Op(Gate.AMPLITUDE, (0,), bent)]))
    assert problem is not None and "plain feature" in problem
    twice = (E.x(0), E.x(0))
    problem = amplitude_problem(circuit.with_ops([Op(Gate.AMPLITUDE, (0,), twice)]))
    assert problem is not None and "two amplitudes" in problem
    assert amplitude_problem(circuit) is None


def _amplitude_model(seed: int, features: int):
    """Amplitude encoding, then RY layers and a CX: a classifier of the encoded state."""
    rng = np.random.default_rng(seed)
    base = _amplitude_circuit(features)
    n = base.num_qubits
    ops = list(base.ops) + [Op(Gate.RY, (q,), (E.theta(q),)) for q in range(n)]
    ops += [Op(Gate.CX, (0, 1))] if n > 1 else []
    ops += [Op(Gate.RY, (q,), (E.theta(n + q),)) for q in range(n)]
    circuit = Circuit(n, tuple(ops), num_params=2 * n, num_features=features,
                      readout=base.readout)
    return Classifier(Simulator(circuit), circuit.readout), circuit, rng.uniform(-3, 3, 2 * n), rng


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_no_l2_pgd_flips_an_amplitude_sample_inside_its_radius(seed):
    clf, circuit, theta, rng = _amplitude_model(seed, 4)
    x = rng.uniform(0.2, 1.0, (4, 4))
    y = clf.predict(theta, x=x)
    radius = fidelity_radius(circuit.readout, clf.sim.outputs(theta, x=x), y)
    l2 = amplitude_input_radii(circuit, x, radius)["l2"]
    for i in range(len(y)):
        data = Dataset(x=x[i : i + 1], y=y[i : i + 1], name="probe", num_classes=2)
        config = AttackConfig("pgd", norm="l2", epsilon=0.999 * l2[i], steps=40, restarts=4,
                              random_start=True, seed=seed, clip_to_range=False)
        (result,) = attack_sweep(clf, theta, data, config)
        assert not result.success[0]


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_dense_grid_in_the_l2_disk_never_flips_an_amplitude_sample(seed):
    """Two features on one qubit: 201 × 201 points filling the disk of radius 0.999·r."""
    clf, circuit, theta, rng = _amplitude_model(seed, 2)
    x = rng.uniform(0.2, 1.0, (3, 2))
    y = clf.predict(theta, x=x)
    radius = fidelity_radius(circuit.readout, clf.sim.outputs(theta, x=x), y)
    l2 = amplitude_input_radii(circuit, x, radius)["l2"]
    grid = np.linspace(-1, 1, 201)
    offsets = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    offsets = offsets[np.linalg.norm(offsets, axis=1) <= 1.0]
    for i in range(len(y)):
        assert np.all(clf.predict(theta, x=x[i] + 0.999 * l2[i] * offsets) == y[i])
    # real amplitudes and a real circuit: the bound and the map are exact, so 1.5 times
    # the radius crosses the decision boundary for every sample
    for i in range(len(y)):
        assert np.any(clf.predict(theta, x=x[i] + 1.5 * l2[i] * offsets) != y[i])


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_softmax_observable_radius_is_sound_against_a_state_search(seed):
    """Z0, Z1, X0·X1 after a random unitary: no state within the radius flips the argmax."""
    rng = np.random.default_rng(seed)
    z, x = np.diag([1.0, -1.0]), np.array([[0.0, 1.0], [1.0, 0.0]])
    eye = np.eye(2)
    # little-endian: qubit 0 is the last tensor factor
    obs = [np.kron(eye, z), np.kron(z, eye), np.kron(x, x)]
    v = unitary_group.rvs(4, random_state=seed)
    psi = _as_state(rng.normal(size=8))

    def scores(phi):
        out = v @ phi
        return np.array([np.real(np.vdot(out, o @ out)) for o in obs])

    s = scores(psi)
    y = int(np.argmax(s))
    radius = observable_radius(s[None], np.array([y]))[0]
    for c in range(3):
        if c == y:
            continue
        for _ in range(6):
            z0 = np.concatenate([psi.real, psi.imag]) + 0.05 * rng.normal(size=8)
            res = minimize(
                lambda q, c=c: -(scores(_as_state(q))[c] - scores(_as_state(q))[y]), z0,
                method="SLSQP",
                constraints=[{"type": "ineq", "fun": lambda q: (0.999 * radius) ** 2
                              - (1 - abs(np.vdot(psi, _as_state(q))) ** 2)}],
            )
            inside = 1 - abs(np.vdot(psi, _as_state(res.x))) ** 2 <= radius**2
            if inside:
                assert scores(_as_state(res.x))[c] < scores(_as_state(res.x))[y]
