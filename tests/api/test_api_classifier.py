"""``Program.classifier``: the model as ``qadl run`` builds it, with exact derivatives."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import qadl
from qadl.backends.sim import NoisySimulator, Simulator
from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.run.context import RunOptions, Session

THETA = np.array([0.3, -0.7, 1.1, 0.4])
X = np.array([[0.2, 1.5], [2.5, 0.3], [1.0, 1.0]])
Y = np.array([0, 1, 1])


def test_import_qadl_stays_light():
    """`import qadl` and `qadl.load` pull in no Numba, scikit-learn or Qiskit."""
    code = (
        "import sys, qadl; qadl.runs; "
        "print(sorted(m for m in ('numba', 'sklearn', 'qiskit', 'matplotlib', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_noisy_device_is_kept(program_file, tmp_path):
    """A model on a noisy device comes out noisy (it used to come out noiseless)."""
    program = qadl.load(program_file)
    noisy, clean = program.classifier("n", THETA), program.classifier("m", THETA)
    assert isinstance(noisy.core.sim, NoisySimulator) and isinstance(clean.core.sim, Simulator)
    assert noisy.shots == 200 and clean.shots is None
    noise = program.target_of("n").noise
    out = DensityMatrixSimulator(program.models["n"].circuit, noise, shots=0).outputs(THETA, X)
    np.testing.assert_allclose(noisy.predict_proba(X), noisy.probs_from_outputs(out), atol=1e-12)
    assert not np.allclose(noisy.predict_proba(X), clean.predict_proba(X), atol=1e-3)
    # the very probabilities `qadl run` computes
    session = Session(program, RunOptions(out_dir=tmp_path / "out"))
    run_probs = session.classifier("n").predict_proba(THETA, x=X)
    np.testing.assert_allclose(noisy.predict_proba(X), run_probs, atol=1e-12)


def test_default_params_are_the_training_start(program_file):
    """Without params: the θ `qadl run` starts training from (the train block's seed)."""
    program = qadl.load(program_file)
    expected = program.models["m"].initial_params(3)
    np.testing.assert_allclose(program.classifier("m").params, expected)


def _fd(f, a, h=1e-6):
    """Central differences of ``f`` (an array) along every entry of ``a``."""
    cols = []
    for i in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[i] += h
        down[i] -= h
        cols.append((f(up) - f(down)) / (2 * h))
    return np.stack(cols, axis=-1)


@pytest.mark.parametrize("name", ["m", "n"])
def test_derivatives_match_finite_differences(program_file, name):
    """Jacobians, input gradients and θ gradients, noiseless and noisy."""
    clf = qadl.load(program_file).classifier(name, THETA)
    jac = clf.jacobian(X)
    assert jac.shape == (3, 2, 2)
    for b in range(3):
        fd = _fd(lambda row, b=b: clf.predict_proba(row[None])[0], X[b].copy())
        np.testing.assert_allclose(jac[b], fd, atol=1e-6)
    for loss in ("cross_entropy", "mse", "hinge"):
        grads = clf.input_gradients(X, Y, loss=loss)
        for b in range(3):
            fd = _fd(
                lambda row, b=b, loss=loss: clf.losses(row[None], Y[b : b + 1], loss=loss)[0],
                X[b].copy(),
            )
            np.testing.assert_allclose(grads[b], fd, atol=1e-6)
        fd_theta = _fd(
            lambda t, loss=loss: clf.with_params(t).losses(X, Y, loss=loss).mean(), THETA.copy()
        )
        np.testing.assert_allclose(clf.param_gradient(X, Y, loss=loss), fd_theta, atol=1e-6)
    per_sample = clf.param_gradient(X, Y, per_sample=True)
    assert per_sample.shape == (3, 4)
    fd_first = _fd(lambda t: clf.with_params(t).losses(X[:1], Y[:1])[0], THETA.copy())
    np.testing.assert_allclose(per_sample[0], fd_first, atol=1e-6)
    np.testing.assert_allclose(per_sample.mean(axis=0), clf.param_gradient(X, Y), atol=1e-12)


def test_shots_sample_the_probabilities(program_file):
    """`shots=` estimates probabilities from counts: multiples of 1/shots, near the exact ones."""
    clf = qadl.load(program_file).classifier("m", THETA)
    sampled = clf.predict_proba(X, shots=4000, seed=1)
    np.testing.assert_allclose(sampled * 4000, np.round(sampled * 4000), atol=1e-9)
    np.testing.assert_allclose(sampled, clf.predict_proba(X), atol=0.05)
    np.testing.assert_array_equal(sampled, clf.predict_proba(X, shots=4000, seed=1))


def test_bad_arguments_are_clear(program_file):
    program = qadl.load(program_file)
    clf = program.classifier("m", THETA)
    with pytest.raises(ValueError, match=r"shape \(B, 2\), got an array of shape \(3, 3\)"):
        clf.predict_proba(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="has 4 parameters"):
        clf.with_params(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        program.classifier("m", np.array([0.0, np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        clf.losses(X, Y, loss="l1")
    with pytest.raises(ValueError, match=r"labels must be 3 integers"):
        clf.losses(X, np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="positive integer"):
        clf.predict_proba(X, shots=0)
    with pytest.raises(KeyError, match=r"no model `k`.*known: hard, m, n"):
        program.classifier("k")
    with pytest.raises(KeyError, match="no data `nope`"):
        program.data("nope")


def test_data_is_the_runs_split(program_file, tmp_path):
    """`program.data` gives the splits `qadl run` trains and tests on."""
    from qadl.program import DataRef

    program = qadl.load(program_file)
    train, test = program.data("pts")
    assert (len(train), len(test)) == (30, 10)
    session = Session(program, RunOptions(out_dir=tmp_path / "out"))
    run_test = session.split(DataRef("pts", "test"), program.datasets["pts"].span)
    np.testing.assert_array_equal(test.x, run_test.x)
    np.testing.assert_array_equal(test.y, run_test.y)
