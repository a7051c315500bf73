"""``defend m with lipschitz_regularisation(lambda = …)``: a penalty on the certificate's L₂(θ)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.adversary.certify_lipschitz import lipschitz_constants
from qadl.adversary.lipschitz_penalty import LipschitzPenalty, weight_rows
from qadl.api import loads
from qadl.errors import QadlError
from qadl.run.preflight import preflight
from tests.adversary.sessions import CIRCLE, CIRCLE_THETA, defend_program, load_source

REUPLOAD = """
import encodings.reuploading
data circle = file("data/circle.csv", test = 0.25, seed = 3)
model clf(x: float[2]) on q[2] {
    reuploading(q, x, layers = 2)
    readout probs(q[0]) -> classes 2
}
train clf on circle.train { epochs 1 }
"""

DISJOINT = """
model m(x: float[3]) on q[3] {
    param w[4]
    ry(w[0] * x[0]) q[0]
    ry(w[1] * x[1] + 0.5 * x[2]) q[1]
    rx(w[2] * w[3] * x[2]) q[2]
    cz q[0], q[1]
    cz q[1], q[2]
    readout probs(q[0])
}
"""
"""Features in (mostly) disjoint gates, one weight a product of two parameters."""


def _circuit(source: str, name: str):
    return loads(source, "penalty.qadl").models[name].circuit


def _reupload_theta(seed: int = 0) -> np.ndarray:
    model = load_source(REUPLOAD).models["clf"]
    return model.initial_params(seed)


def _fd(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])


@pytest.mark.parametrize(
    ("theta", "branch"),
    [
        (np.array([1.0, -0.9, 1.1, 0.8]), "spectral"),  # similar weights: √J·σ_max < Σ‖w_j‖
        (np.array([3.0, 0.1, 0.2, 0.3]), "sum"),  # one dominant weight: Σ‖w_j‖ < √J·σ_max
    ],
)
def test_penalty_is_the_certificates_constant_with_its_exact_gradient(theta, branch):
    circuit = _circuit(DISJOINT, "m")
    penalty = LipschitzPenalty(circuit, 0.5)
    value, grad = penalty(theta)
    assert value == pytest.approx(0.5 * lipschitz_constants(circuit, theta)["l2"], rel=1e-12)
    w, _ = weight_rows(circuit, theta)
    total = np.linalg.norm(w, axis=1).sum()
    spectral = np.sqrt(w.shape[0]) * np.linalg.norm(w, 2)
    assert (spectral < total) == (branch == "spectral")
    np.testing.assert_allclose(grad, _fd(lambda t: penalty(t)[0], theta), atol=1e-6)


def test_penalty_gradient_on_a_reuploading_model():
    circuit = load_source(REUPLOAD).models["clf"].circuit
    # away from the initial weights (all 1), where σ_max is degenerate and L has a kink
    theta = _reupload_theta() + np.random.default_rng(1).normal(0.0, 0.3, size=24)
    penalty = LipschitzPenalty(circuit, 1.0)
    value, grad = penalty(theta)
    assert value == pytest.approx(lipschitz_constants(circuit, theta)["l2"], rel=1e-12)
    assert np.count_nonzero(grad) > 0  # the re-uploading weights move L
    np.testing.assert_allclose(grad, _fd(lambda t: penalty(t)[0], theta), atol=1e-6)


def test_regularisation_lowers_the_lipschitz_constant_by_lambda(tmp_path):
    theta = _reupload_theta()
    records, thetas = {}, {}
    for lam in ("0.001", "0.5"):
        source = REUPLOAD + (
            f"defend clf with lipschitz_regularisation(lambda = {lam}, epochs = 1) as robust "
            "{ batch 25; seed 1 }\n"
        )
        session = defend_program(source, {"clf": theta}, tmp_path / lam)
        records[lam] = session.results["models"]["robust"]
        thetas[lam] = session.thetas["robust"]
    for record in records.values():
        assert record["method"] == "lipschitz_regularisation"
        assert record["lipschitz_start"] == pytest.approx(
            lipschitz_constants(load_source(REUPLOAD).models["clf"].circuit, theta)["l2"]
        )
        assert record["lipschitz"] < record["lipschitz_start"]
    # λ is used: a larger weight ends with a smaller constant
    assert records["0.5"]["lipschitz"] < records["0.001"]["lipschitz"] - 0.5
    assert records["0.5"]["weight"] == pytest.approx(0.5)
    assert not np.allclose(thetas["0.001"], thetas["0.5"])


def test_fixed_feature_weights_are_refused_by_check_and_at_run(tmp_path):
    source = CIRCLE + (
        "train clf on circle.train { epochs 1 }\n"
        "defend clf with lipschitz_regularisation(lambda = 0.1) as robust\n"
    )
    message = "`lipschitz_regularisation` cannot train model `clf`: no feature weight"
    with pytest.raises(QadlError) as err:
        preflight(load_source(source))
    (diag,) = err.value.diagnostics
    assert diag.code == "E0540" and message in diag.message
    assert "margin_training(" in (diag.help or "")
    with pytest.raises(QadlError) as err:
        defend_program(source, {"clf": CIRCLE_THETA}, tmp_path)
    (diag,) = err.value.diagnostics
    assert diag.code == "E0540" and message in diag.message


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("lipschitz_regularisation(epochs = 2)", "`lipschitz_regularisation` needs `lambda`"),
        ("lipschitz_regularisation(lambda = 0)", "lambda"),
        ("lipschitz_regularisation(lambda = 1, margin = 0.1)", "margin"),
    ],
)
def test_bad_regularisation_options_are_refused_by_check(method, message):
    source = REUPLOAD + f"defend clf with {method} as robust\n"
    with pytest.raises(QadlError) as err:
        load_source(source)
    assert {d.code for d in err.value.diagnostics} == {"E0520"}
    assert any(message in d.message for d in err.value.diagnostics)


def test_penalty_refuses_models_without_a_lipschitz_bound():
    source = (
        "model m(x: float[2]) on q[2] {\n    amplitude(x) q\n    readout probs(q[0])\n}\n"
    )
    with pytest.raises(ValueError, match="no Lipschitz bound"):
        LipschitzPenalty(_circuit(source, "m"), 1.0)


def test_margin_training_of_trained_feature_weights_points_to_the_regulariser():
    source = REUPLOAD + (
        "defend clf with margin_training(lambda = 1, certify = lipschitz, margin = 0.1) "
        "as robust\n"
    )
    with pytest.raises(QadlError) as err:
        preflight(load_source(source))
    (diag,) = err.value.diagnostics
    assert diag.code == "E0540" and "lipschitz_regularisation(lambda" in diag.message


@pytest.mark.parametrize(
    "method",
    [
        "lipschitz_regularisation(lambda = 0.5, epochs = 1)",
        "margin_training(lambda = 1.0, certify = fidelity, margin = 0.2, epochs = 1)",
    ],
)
def test_the_python_api_trains_as_qadl_run_does(tmp_path, method):
    from qadl.api_model import data_splits

    if method.startswith("margin"):  # fidelity needs states: the quantum-data model
        from tests.adversary.test_certify_closest_flip import PHASE as base
        from tests.adversary.test_certify_closest_flip import PHASE_THETA as theta

        name, data = "phase", "chain"
    else:
        base, theta, name, data = REUPLOAD, _reupload_theta(), "clf", "circle"
    source = base + f"defend {name} with {method} as robust {{ batch 10; seed 1 }}\n"
    session = defend_program(source, {name: theta}, tmp_path)
    program = load_source(source)
    train, _ = data_splits(program, data)
    robust = program.defence("robust")(program.classifier(name, theta), train)
    assert robust.name == "robust"
    np.testing.assert_allclose(robust.params, session.thetas["robust"], atol=1e-10)
    assert not np.allclose(robust.params, theta)


def test_the_python_api_refuses_what_qadl_check_refuses():
    source = CIRCLE + (
        "train clf on circle.train { epochs 1 }\n"
        "defend clf with lipschitz_regularisation(lambda = 0.1) as robust\n"
    )
    program = load_source(source)
    from qadl.api_model import data_splits

    train, _ = data_splits(program, "circle")
    with pytest.raises(QadlError) as err:
        program.defence("robust")(program.classifier("clf", CIRCLE_THETA), train)
    assert err.value.diagnostics[0].code == "E0540"


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(1, 2), (2, 2), (3, 2), (2, 4)]))
def test_penalty_gradient_on_random_trained_weight_models(seed, shape):
    from qadl.ir import expr as E
    from qadl.ir.circuit import Circuit, Op, Readout
    from qadl.ir.gates import Gate

    rng = np.random.default_rng(seed)
    n, features = shape
    ops, k = [], 0
    for layer in range(2):  # RY/RX(θ_k·θ_{k+1}·x_i + θ_{k+2}·x_j + θ_{k+3}), then CZ
        for q in range(n):
            i, j = rng.integers(0, features, 2)
            angle = E.theta(k) * E.theta(k + 1) * E.x(i) + E.theta(k + 2) * E.x(j) + E.theta(k + 3)
            ops.append(Op(Gate.RY if layer == 0 else Gate.RX, (q,), (angle,)))
            k += 4
        ops += [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)]
    readout = Readout(kind="probs", qubits=(0,), num_classes=2)
    circuit = Circuit(n, tuple(ops), num_params=k, num_features=features, readout=readout)
    theta = rng.uniform(-2, 2, k)
    penalty = LipschitzPenalty(circuit, 1.0)
    value, grad = penalty(theta)
    assert value == pytest.approx(lipschitz_constants(circuit, theta)["l2"], rel=1e-12)
    np.testing.assert_allclose(grad, _fd(lambda t: penalty(t)[0], theta), atol=1e-5)
