"""`evaluate ... { fidelity true }`: |⟨φ(x)|φ(x_adv)⟩|² of amplitude-encoded inputs, or refused."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.fidelity import amplitude_fidelity, encoding_problem
from qadl.errors import QadlError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from tests.adversary.sessions import CIRCLE, CIRCLE_THETA, evaluate_program

AMPLITUDE = """
import encodings.amplitude
data circle = file("data/circle.csv", test = 0.25, seed = 3)
model amp(x: float[2]) on q[1] {
    amplitude_encoding(q, x)
    param θ[1]
    ry(θ[0]) q[0]
    readout probs(q[0])
}
"""


def _amplitude_circuit(extra_angle_input: bool = False) -> Circuit:
    ops = [Op(Gate.AMPLITUDE, (0, 1), tuple(E.x(i) for i in range(4)))]
    ops.append(Op(Gate.RY, (0,), (E.theta(0) + (E.x(0) if extra_angle_input else 0.0),)))
    return Circuit(
        2,
        tuple(ops),
        num_params=1,
        num_features=4,
        readout=Readout("probs", qubits=(0,), num_classes=2),
        name="amp",
    )


def test_fidelity_is_the_squared_overlap_of_the_encoded_states():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4))
    x_adv = x + 0.3 * rng.normal(size=(5, 4))
    got = amplitude_fidelity(_amplitude_circuit(), np.zeros(1), x, x_adv)
    psi = x / np.linalg.norm(x, axis=1, keepdims=True)
    phi = x_adv / np.linalg.norm(x_adv, axis=1, keepdims=True)
    np.testing.assert_allclose(got, np.sum(psi * phi, axis=1) ** 2, atol=1e-12)
    # a rescaled input prepares the same state
    np.testing.assert_allclose(
        amplitude_fidelity(_amplitude_circuit(), np.zeros(1), x, 3.0 * x), 1.0, atol=1e-12
    )


def test_features_that_also_set_rotation_angles_have_no_encoded_state():
    assert encoding_problem(_amplitude_circuit()) is None
    problem = encoding_problem(_amplitude_circuit(extra_angle_input=True))
    assert problem is not None and "ry" in problem
    with pytest.raises(ValueError, match="no encoded-state fidelity"):
        amplitude_fidelity(_amplitude_circuit(True), np.zeros(1), np.ones((1, 4)), np.ones((1, 4)))


def test_evaluate_reports_fidelity_of_amplitude_encoded_images_only_when_asked(tmp_path):
    under = "under [clean, fgsm(epsilon = [0.05, 0.3])]"
    asked = AMPLITUDE + f"evaluate amp on circle.test {under} {{ fidelity true }}\n"
    silent = AMPLITUDE + f"evaluate amp on circle.test {under}\n"
    theta = {"amp": np.array([0.3])}
    (with_fid,) = evaluate_program(asked, theta, tmp_path)
    (without,) = evaluate_program(silent, theta, tmp_path)
    small, large = with_fid.points
    assert 0.0 < large.mean_fidelity < small.mean_fidelity < 1.0
    assert large.min_fidelity <= large.mean_fidelity
    assert all(p.mean_fidelity is None and p.min_fidelity is None for p in without.points)
    # everything else is the same
    assert [p.robust_accuracy for p in with_fid.points] == [
        p.robust_accuracy for p in without.points
    ]


def test_fidelity_on_angle_encoded_inputs_is_a_located_error(tmp_path):
    source = CIRCLE + "evaluate clf on circle.test under [clean, fgsm(epsilon = 0.1)] {\n"
    source += "    fidelity true\n}\n"
    with pytest.raises(QadlError) as caught:
        evaluate_program(source, {"clf": CIRCLE_THETA}, tmp_path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0531"
    assert "not amplitude-encoded" in diagnostic.message
    start = diagnostic.primary.span.start
    assert source[start:].startswith("evaluate clf")
