"""``evaluate … { certify [...] }`` end to end: certified ≤ empirical; results.json, CSV, plot."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from qadl.adversary.report import certified_table
from qadl.errors import QadlError
from qadl.run.context import RunOptions, Session
from qadl.run.outputs import write_json
from qadl.run.preflight import preflight
from tests.adversary.sessions import CIRCLE, CIRCLE_THETA, evaluate_program, load_source

QUANTUM = """
data chain = builtin.ising(qubits = 3, samples = 40, test = 0.5, seed = 3)
model phase(psi: state) on q[3] {
    param θ[6]
    for j in 0..3 { ry(θ[j]) q[j] }
    cx q[0], q[1]
    cx q[1], q[2]
    for j in 0..3 { rz(θ[3 + j]) q[j] }
    readout probs(q[1]) -> classes 2
}
attack rot on phase { method local_rotations(epsilon = [0.02, 0.1], steps = 15, fidelity = 0.99) }
evaluate phase on chain.test under [clean, rot] { certify [fidelity, smoothing(p = 0.1)] }
"""

AMPLITUDE = """
import encodings.amplitude
data digits = builtin.digits(classes = [1, 9], size = 4x4, normalize = l2, test = 0.2, seed = 7)
model amp(x: float[16]) on q[4] {
    amplitude_encoding(q, x)
    param θ[4]
    for i in 0..3 { cx q[i], q[i + 1] }
    for i in 0..4 { ry(θ[i]) q[i] }
    readout probs(q[0])
}
evaluate amp on digits.test under [clean, pgd(norm = l2, epsilon = [0.02, 0.1], steps = 20)] {
    certify [fidelity, smoothing(p = 0.05)]
    samples 30
}
"""


def _certified_never_above_empirical(evaluation, methods=("fidelity", "lipschitz")):
    """A certificate is a lower bound on robust accuracy: no attack can beat it."""
    empirical = {(p.attack, p.epsilon): p.robust_accuracy for p in evaluation.points}
    compared = 0
    for c in evaluation.certified:
        if c.method in methods:
            assert c.certified_accuracy <= empirical[(c.attack, c.epsilon)] + 1e-12, c
            compared += 1
    return compared


def test_lipschitz_on_angle_encoded_features(tmp_path):
    source = CIRCLE + """
evaluate clf on circle.test under [clean, fgsm(epsilon = [0.05, 0.2]),
                                   pgd(norm = l2, epsilon = 0.1, steps = 5)] {
    certify lipschitz
    samples 20
}
"""
    (ev,) = evaluate_program(source, {"clf": CIRCLE_THETA}, tmp_path, plots=True)
    assert _certified_never_above_empirical(ev) == 3
    units = {(c.attack, c.unit) for c in ev.certified}
    assert units == {("fgsm", "linf"), ("pgd", "l2")}
    (cert,) = ev.certificates
    assert cert.constants["l2"] > 0 and cert.constants["linf"] >= cert.constants["l2"] - 1e-12
    # the curve falls with ε and starts at the clean accuracy
    eps, acc = ev.certified_curve("lipschitz", "fgsm")
    assert eps[0] == 0 and acc[0] == pytest.approx(ev.clean_accuracy)
    assert np.all(np.diff(acc) <= 1e-12)
    # the dense curve of the plot: monotone, and equal to the points at the attack's ε
    (dense,) = [c for c in ev.certified_curves if c.attack == "fgsm"]
    assert dense.epsilons[0] == 0 and dense.epsilons[-1] == pytest.approx(0.2)
    assert np.all(np.diff(dense.accuracy) <= 1e-12)
    for e, a in zip(eps[1:], acc[1:], strict=True):
        k = int(np.argmin(np.abs(np.array(dense.epsilons) - e)))
        assert dense.epsilons[k] == pytest.approx(e) and dense.accuracy[k] == pytest.approx(a)
    with (tmp_path / "certified_radii.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 20 and {r["unit"] for r in rows} == {"l2", "linf"}
    wrong = [r for r in rows if r["label"] != r["prediction"]]
    assert all(float(r["radius"]) == 0.0 for r in wrong)
    assert (tmp_path / "plots" / "accuracy_vs_epsilon.png").stat().st_size > 0
    table = certified_table([ev])
    assert "certified robustness" in table and "lipschitz" in table and "gap" in table
    data = ev.to_json()
    write_json(tmp_path / "r.json", data)
    back = json.loads((tmp_path / "r.json").read_text())
    assert back["certified"][0]["method"] == "lipschitz"
    constants = back["certificates"][0]["lipschitz_constants"]
    assert constants["l2"] == pytest.approx(cert.constants["l2"])


def test_fidelity_and_smoothing_on_quantum_data(tmp_path):
    program = load_source(QUANTUM)
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, 6)
    (ev,) = evaluate_program(program, {"phase": theta}, tmp_path)
    assert _certified_never_above_empirical(ev) == 2
    methods = {c.method for c in ev.certificates}
    assert methods == {"fidelity", "smoothing(p = 0.1)"}
    fid = next(c for c in ev.certificates if c.method == "fidelity")
    assert fid.accuracy == pytest.approx(ev.clean_accuracy)
    # the attack's fidelity floor 0.99 caps its budget at √0.01 = 0.1 in √(1 − F)
    at = {c.epsilon: c.certified_accuracy for c in ev.certified if c.method == "fidelity"}
    expected = float(np.mean((fid.pred == fid.y) & (fid.radii["state"] > 0.1)))
    assert at[0.1] == pytest.approx(expected)


def test_fidelity_maps_l2_attacks_on_amplitude_features(tmp_path):
    program = load_source(AMPLITUDE)
    theta = np.random.default_rng(1).uniform(-np.pi, np.pi, 4)
    (ev,) = evaluate_program(program, {"amp": theta}, tmp_path)
    assert _certified_never_above_empirical(ev) == 2
    fid = next(c for c in ev.certificates if c.method == "fidelity")
    assert set(fid.radii) == {"state", "l2", "linf"}
    assert {c.unit for c in ev.certified} == {"l2"}


def _preflight_errors(source: str) -> list[str]:
    program = load_source(source)
    with pytest.raises(QadlError) as err:
        preflight(program)
    return [f"{d.code}: {d.message}" for d in err.value.diagnostics if d.code.startswith("E054")]


def _preflight_errors_or_none(source: str) -> list[str]:
    try:
        preflight(load_source(source))
    except QadlError as err:
        return [f"{d.code}: {d.message}" for d in err.diagnostics if d.code.startswith("E054")]
    return []


def test_methods_that_do_not_apply_are_refused_before_running():
    errors = _preflight_errors(QUANTUM.replace("smoothing(p = 0.1)", "lipschitz"))
    assert errors == [
        "E0540: `certify lipschitz` cannot certify model `phase`: its inputs are quantum "
        "states, not features (certify it with `fidelity`)"
    ]
    errors = _preflight_errors(CIRCLE + "evaluate clf on circle.test { certify [fidelity] }")
    assert errors == [
        "E0540: `certify fidelity` cannot certify model `clf`: its features are not "
        "amplitude-encoded (no `amplitude` op) (certify it with `lipschitz`)"
    ]


def test_a_device_with_shots_is_refused():
    source = QUANTUM.replace(
        "model phase", "target dev { qubits 3\n shots 100 }\nmodel phase"
    ) + "device phase on dev\n"
    errors = _preflight_errors(source)
    assert len(errors) == 1 and errors[0].startswith("E0541: `certify`: model `phase` runs on")


def test_session_runs_without_certify_unchanged(tmp_path):
    """No ``certify``: no certified keys in results.json and no CSV."""
    program = load_source(CIRCLE + "evaluate clf on circle.test under [clean] { samples 5 }")
    session = Session(program, RunOptions(out_dir=tmp_path, progress=False, plots=False))
    session.thetas["clf"] = CIRCLE_THETA
    from qadl.run.evaluations import run_evaluations

    (ev,) = run_evaluations(session)
    assert "certified" not in ev.to_json()
    assert not (tmp_path / "certified_radii.csv").exists()


def test_a_noisy_device_is_certified_with_its_exact_noisy_probabilities(tmp_path):
    """Density matrices with gate noise, T1 and readout error: certified ≤ empirical still."""
    source = QUANTUM.replace(
        "model phase",
        "target dev { qubits 3\n depolarizing(1q = 0.01, 2q = 0.03)\n"
        " readout_error(p01 = 0.02, p10 = 0.04)\n t1 50us\n gate_time(1q = 50ns, 2q = 200ns) }\n"
        "model phase",
    ) + "device phase on dev\n"
    program = load_source(source)
    assert _preflight_errors_or_none(source) == []  # density matrices: exact probabilities
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, 6)
    (ev,) = evaluate_program(program, {"phase": theta}, tmp_path)
    assert _certified_never_above_empirical(ev) == 2
    smooth = next(c for c in ev.certificates if c.method.startswith("smoothing"))
    fid = next(c for c in ev.certificates if c.method == "fidelity")
    assert smooth.radii["state"].max() > 0 and fid.radii["state"].max() > 0


def test_exact_verification_writes_the_closest_flipping_states(tmp_path):
    program = load_source(QUANTUM.replace("smoothing(p = 0.1)", "exact"))
    theta = np.random.default_rng(0).uniform(-np.pi, np.pi, 6)
    (ev,) = evaluate_program(program, {"phase": theta}, tmp_path)
    exact = next(c for c in ev.certificates if c.method == "exact")
    fid = next(c for c in ev.certificates if c.method == "fidelity")
    np.testing.assert_allclose(exact.radii["state"], fid.radii["state"], atol=1e-12)
    saved = np.load(tmp_path / "closest_flips.npz")
    assert saved["phase_states"].shape == (len(ev_labels := saved["phase_label"]), 8)
    from tests.adversary.sessions import _session

    session = _session(program, {"phase": theta}, tmp_path / "again")
    clf = session.classifier("phase")
    assert np.all(clf.predict(theta, state=saved["phase_states"]) != ev_labels)


def test_exact_verification_of_a_noisy_model_is_refused():
    source = QUANTUM.replace("smoothing(p = 0.1)", "exact").replace(
        "model phase", "target dev { qubits 3\n depolarizing(1q = 0.01, 2q = 0.03) }\nmodel phase"
    ) + "device phase on dev\n"
    errors = _preflight_errors_or_none(source)
    assert len(errors) == 1 and errors[0].startswith("E0540: `certify exact` cannot verify")
