"""Exact second derivatives for gradient inversion, against finite differences.

Finite differences here only check: the product under test (``GradientOracle.mixed_hvp``,
``angle_hessian_rows``, ``loss_curvature``) is computed without any step size.
"""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.privacy.curvature import loss_curvature
from qadl.adversary.privacy.matching import GradientOracle, match
from qadl.backends.sim import Simulator
from qadl.backends.sim.adjoint import adjoint_tape_grads
from qadl.backends.sim.hessian import angle_hessian_rows, tape_derivatives
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.learn.classifier import Classifier
from qadl.learn.losses import loss_and_grad
from qadl.learn.readout import class_probs, class_probs_vjp
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source

READOUTS = {
    "probs": Readout("probs", qubits=(0, 1), num_classes=3),
    "binary_expval": Readout("expval", observables=((("Z", 0), ("Z", 1)),), num_classes=2),
    "softmax": Readout(
        "expval", observables=((("Z", 0),), (("X", 1),), (("Y", 0),)), num_classes=3
    ),
}


def _fd_jacobian(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    cols = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))]
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("readout", READOUTS, ids=str)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_loss_curvature_matches_differences_of_its_gradient(readout, loss):
    ro = READOUTS[readout]
    rng = np.random.default_rng(3)
    o = rng.uniform(0.1, 0.6, ro.num_outputs)

    def grad(out):
        probs = class_probs(ro, out[None, :], scale=1.7)
        _, dp = loss_and_grad(loss, probs, np.array([1]))
        return class_probs_vjp(ro, out[None, :], dp, scale=1.7)[0]

    g, h = loss_curvature(ro, o, 1, loss, scale=1.7)
    np.testing.assert_allclose(g, grad(o), atol=1e-12)
    np.testing.assert_allclose(h, _fd_jacobian(grad, o), atol=1e-6)
    assert np.abs(h).max() > 1e-3  # a curvature that can be wrong


def _controlled_circuit() -> Circuit:
    """Two-term (ry, rzz) and four-term (cry, cp) rules on a 2-qubit circuit."""
    t, x = E.theta, E.x
    ops = (
        Op(Gate.RY, (0,), (t(0) + x(0),)),
        Op(Gate.RX, (1,), (x(1),)),
        Op(Gate.CRY, (0, 1), (t(1) * x(1),)),
        Op(Gate.RZZ, (0, 1), (t(2),)),
        Op(Gate.CP, (1, 0), (t(3) + x(0),)),
        Op(Gate.RY, (1,), (t(4),)),
    )
    return Circuit(2, ops, num_params=5, num_features=2, readout=READOUTS["probs"], name="ctl")


def test_angle_hessian_rows_equal_differences_of_the_adjoint_gradient():
    sim = Simulator(_controlled_circuit())
    rng = np.random.default_rng(0)
    angles = sim.angles(rng.normal(size=5), rng.normal(size=(1, 2)))[0]
    cot, w = rng.normal(size=3), rng.normal(size=angles.size)
    rows = np.arange(angles.size)

    def grad(a):
        return adjoint_tape_grads(sim.program, a[None, :], None, cot[None, :])[1][0]

    exact = angle_hessian_rows(sim.program, angles, cot, rows, w)
    np.testing.assert_allclose(exact, _fd_jacobian(grad, angles) @ w, atol=1e-7)
    assert set(sim.program.tape.shift_rule) == {1, 2}  # both rules were exercised


def test_tape_mixed_derivatives_of_a_product():
    circuit = _controlled_circuit()
    sim = Simulator(circuit)
    d = tape_derivatives(sim.program.tape, np.arange(5.0), np.array([0.5, 2.0]), 2)
    entry, k, i, value = d.mixed
    # only cry(θ1·x1) mixes: ∂²/∂θ1∂x1 = 1
    assert list(k) == [1] and list(i) == [1] and value.tolist() == [1.0]
    assert d.jac_x[entry[0], 1] == pytest.approx(1.0)  # ∂(θ1·x1)/∂x1 = θ1


REUPLOAD = """
import encodings.reuploading
import encodings.zz_feature_map
data circle = file("data/circle.csv", test = 0.25, seed = 7)
model reupload(x: float[2]) on q[2] {
    reuploading(q, x, layers = 2)
    readout probs(q[0]) -> classes 2
}
model zz(x: float[2]) on q[2] {
    zz_feature_map(q, x, reps = 2, entanglement = "full")
    param θ[4]
    for i in 0..2 { ry(θ[i]) q[i] }
    cz q[0], q[1]
    for i in 0..2 { rx(θ[2 + i]) q[i] }
    readout expval(Z q[0], Z q[1]) -> classes 2
}
"""


def _oracles():
    program = load_source(REUPLOAD)
    c = encoding_circuit(3, 2, 4)
    yield "encoding", Classifier(Simulator(c), c.readout), "cross_entropy"
    for name, loss in (("reupload", "mse"), ("zz", "cross_entropy")):
        m = program.models[name]
        yield name, Classifier(Simulator(m.circuit), m.circuit.readout, m.readout_scale), loss


@pytest.mark.parametrize("case", list(_oracles()), ids=lambda c: c[0])
def test_mixed_hvp_equals_differences_of_the_adjoint_gradient(case):
    """∂/∂x [u · ∇θ L] from the exact HVP vs central differences of the adjoint ∇θ L."""
    _, clf, loss = case
    rng = np.random.default_rng(5)
    oracle = GradientOracle(clf, rng.normal(size=clf.num_params), loss)
    x, u = rng.uniform(0.2, 1.5, oracle.num_features), rng.normal(size=clf.num_params)
    exact = oracle.mixed_hvp(x, 1, u)
    fd = _fd_jacobian(lambda v: np.array(u @ oracle.shared_gradient(v, [1])), x)
    np.testing.assert_allclose(exact, fd, atol=2e-7)
    assert np.abs(exact).max() > 1e-3


@pytest.mark.parametrize("kind", ["l2", "cosine"])
def test_matching_gradient(kind):
    rng = np.random.default_rng(1)
    d, g = rng.normal(size=6), rng.normal(size=6)
    _, u = match(kind, d, g)
    fd = _fd_jacobian(lambda v: np.array(match(kind, v, g)[0]), d)
    np.testing.assert_allclose(u, fd, atol=1e-7)
    assert match(kind, g, g)[0] == pytest.approx(0.0, abs=1e-12)


def _walked_tape_derivatives(tape, theta, x, num_features):
    """The definition: walk every term of every entry, one symbol at a time."""
    values = (np.asarray(theta, dtype=np.float64), np.asarray(x, dtype=np.float64))
    jac = (np.zeros((tape.num_angles, len(theta))), np.zeros((tape.num_angles, num_features)))
    mixed = []

    def product(vals, skip):
        out = 1.0
        for n, v in enumerate(vals):
            if n not in skip:
                out *= v
        return out

    for a in range(tape.num_angles):
        for t in range(tape.term_ptr[a], tape.term_ptr[a + 1]):
            lo, hi = tape.sym_ptr[t], tape.sym_ptr[t + 1]
            kinds, index = tape.sym_kind[lo:hi], tape.sym_index[lo:hi]
            vals = [values[k][j] if k < 2 else 0.0 for k, j in zip(kinds, index, strict=True)]
            for p, (kp, jp) in enumerate(zip(kinds, index, strict=True)):
                if kp < 2:
                    jac[kp][a, jp] += tape.term_coef[t] * product(vals, (p,))
                if kp == 0:
                    mixed += [(a, jp, jq, tape.term_coef[t] * product(vals, (p, q)))
                              for q, (kq, jq) in enumerate(zip(kinds, index, strict=True))
                              if q != p and kq == 1]
    return jac, mixed


@pytest.mark.parametrize("seed", range(12))
def test_tape_derivatives_equal_the_term_walk_bit_for_bit(seed):
    """The vectorised derivatives (all terms at once) against the term-by-term walk:
    Jacobians and every mixed entry, in the same order, equal to the bit; the random
    circuits' angles are affine or quadratic in θ, x and δ (repeated symbols included)."""
    from qadl.testing import random_circuit

    rng = np.random.default_rng(seed)
    circuit = random_circuit(rng, 3, 25, num_params=4, num_features=3, num_deltas=1)
    tape = Simulator(circuit).program.tape
    theta, x = rng.uniform(-2, 2, 4), rng.uniform(-2, 2, 3)
    if seed % 3 == 0:
        theta[seed % 4] = 0.0  # a zero factor
    got = tape_derivatives(tape, theta, x, 3)
    (jac_theta, jac_x), mixed = _walked_tape_derivatives(tape, theta, x, 3)
    np.testing.assert_array_equal(got.jac_theta, jac_theta)
    np.testing.assert_array_equal(got.jac_x, jac_x)
    want = [np.array([m[c] for m in mixed]) for c in range(4)]
    for column, ref in zip(got.mixed, want, strict=True):
        np.testing.assert_array_equal(column, ref.reshape(column.shape))
