"""``Program.attack`` / ``Program.evaluation``: the file's statements, callable on your arrays."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import qadl
from qadl.errors import QadlError
from qadl.run.context import RunOptions, Session
from qadl.run.evaluations import run_evaluations

THETA = np.array([0.3, -0.7, 1.1, 0.4])


def test_evaluation_matches_qadl_run(program_file, tmp_path):
    """The same clean accuracy and robust points as `qadl run`'s evaluation."""
    program = qadl.load(program_file)
    session = Session(program, RunOptions(out_dir=tmp_path / "out", plots=False))
    session.thetas["m"] = THETA
    session.program = replace(program, evaluations=program.evaluations[:1])
    (expected,) = run_evaluations(session)
    _, test = program.data("pts")
    clf = program.classifier("m", THETA)
    got = program.evaluation(0)(clf, test)  # `samples 8` applies
    assert got.n == expected.n == 8
    assert got.clean_accuracy == pytest.approx(expected.clean_accuracy)
    assert len(got.points) == len(expected.points) == 2
    for a, b in zip(got.points, expected.points, strict=True):
        assert (a.attack, a.epsilon) == (b.attack, b.epsilon)
        assert a.robust_accuracy == pytest.approx(b.robust_accuracy)
        assert a.mean_linf == pytest.approx(b.mean_linf, abs=1e-9)


def test_attack_on_own_arrays(program_file):
    """`attack(clf, x, y, feature_range=…)`: one result per ε, inside the ball and the clip."""
    program = qadl.load(program_file)
    attack = program.attack("sweep")
    assert attack.epsilons == (0.1, 0.3)
    _, test = program.data("pts")
    clf = program.classifier("m", THETA)
    results = attack(clf, test.x, test.y)
    assert [r.epsilon for r in results] == [0.1, 0.3]
    for r in results:
        assert np.max(np.abs(r.x_adv - test.x)) <= r.epsilon + 1e-9
        assert r.x_adv.min() >= 0 and r.x_adv.max() <= 3  # `clip [0, 3]`
        # success (untargeted: a wrong label) is judged by the classifier's own predictions
        np.testing.assert_array_equal(r.success, clf.predict(r.x_adv) != test.y)
    # the same attack on a Dataset gives the same adversarial points
    again = attack(clf, test)
    np.testing.assert_allclose(again[1].x_adv, results[1].x_adv, atol=1e-12)


def test_transfer_attacks_are_refused_where_declared(program_file):
    program = qadl.load(program_file)
    with pytest.raises(QadlError, match="transfer attack") as err:
        program.attack("moved")
    (diag,) = err.value.diagnostics
    assert diag.code == "E0852"
    text = program_file.read_text()
    assert text[diag.primary.span.start :].startswith("attack moved")
    with pytest.raises(QadlError, match="transfer attack") as err:
        program.evaluation(1)
    (diag,) = err.value.diagnostics
    assert diag.code == "E0852"
    assert text[diag.primary.span.start :].startswith("evaluate m on pts.test under [clean, moved]")


def test_bad_lookups(program_file):
    program = qadl.load(program_file)
    with pytest.raises(KeyError, match=r"no attack `nope`.*known: moved, sweep"):
        program.attack("nope")
    with pytest.raises(IndexError, match="3 evaluate statement"):
        program.evaluation(3)
    with pytest.raises(QadlError, match=r"`evaluate \{ certify … \}` runs only in") as err:
        program.evaluation(2)  # refused, not ignored
    assert err.value.diagnostics[0].code == "E0856"
    clf = program.classifier("m", THETA)
    with pytest.raises(TypeError, match="pass labels y"):
        program.attack("sweep")(clf, np.zeros((2, 2)))


def test_defence_matches_qadl_run(program_file, tmp_path):
    """`program.defence("hard")(clf, train)`: the θ `qadl run`'s `defend` statement trains."""
    from qadl.run.training import run_defences

    program = qadl.load(program_file)
    session = Session(program, RunOptions(out_dir=tmp_path / "out", plots=False, progress=False))
    session.thetas["m"] = THETA
    run_defences(session)
    train, test = program.data("pts")
    defence = program.defence("hard")
    assert defence.attack == "sweep" and defence.config.ratio == 0.5
    hard = defence(program.classifier("m", THETA), train, test=test)
    assert hard.name == "hard"
    np.testing.assert_allclose(hard.params, session.thetas["hard"], atol=1e-10)
    assert not np.allclose(hard.params, THETA)
    # and it is the classifier `program.classifier("hard", params=…)` rebuilds
    again = program.classifier("hard", session.thetas["hard"])
    np.testing.assert_allclose(again.predict_proba(test.x), hard.predict_proba(test.x))
    with pytest.raises(KeyError, match=r"no defence `\.\.\. as m`"):
        program.defence("m")


def test_quantum_data_model():
    """A model with `input state`: local-rotation attacks and complex state gradients."""
    from pathlib import Path

    program = qadl.load(Path(__file__).resolve().parents[1] / "run" / "tiny_quantum.qadl")
    _, test = program.data("chain")
    clf = program.classifier("phase")
    results = program.attack("rotations")(clf, test.states[:6], test.y[:6])
    assert [r.epsilon for r in results] == [0.2, 0.6]
    for r in results:
        assert r.states_adv.shape == (6, 16)
        np.testing.assert_allclose(np.linalg.norm(r.states_adv, axis=1), 1.0, atol=1e-9)
    psi, y = test.states[:3], test.y[:3]
    grads = clf.input_gradients(psi, y)
    assert grads.dtype == complex
    h = 1e-6
    for step, part in ((h, np.real), (1j * h, np.imag)):
        e = np.zeros(16, complex)
        e[5] = step
        fd = (clf.losses(psi + e, y) - clf.losses(psi - e, y)) / (2 * h)
        np.testing.assert_allclose(part(grads[:, 5]), fd, atol=1e-6)
