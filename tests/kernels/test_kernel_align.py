"""Kernel alignment: trainable feature maps, the alignment, its gradient, and `align` runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qadl.api import loads
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.alignment import (
    AlignConfig,
    align_feature_map,
    alignment,
    alignment_gradient,
    target_matrix,
)
from qadl.learn.kernel_classifiers import fit_kernel_classifier
from qadl.learn.kernels import bloch_vectors, feature_states, fidelity_gram, projected_gram
from qadl.run.session import RunOptions, run_program

KERNEL = """kernel k(x: float[2]) on q[3] {
    param w[6] init uniform(0, 1)
    for i in 0..3 { ry(w[i] * x[i % 2]) q[i] }
    for i in 0..2 { cx q[i], q[i + 1] }
    for i in 0..3 { rz(w[i + 3] + x[(i + 1) % 2]) q[i] }
    cx q[2], q[0]
    for i in 0..3 { ry(w[i]) q[i] }
    type TYPE
}
"""


def _kernel(kind: str = "fidelity"):
    return loads(KERNEL.replace("TYPE", kind), "k.qadl").kernels["k"]


def _qiskit_states(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The same feature map built in Qiskit (qubit q is bit q of the index in both)."""
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    out = []
    for row in x:
        qc = QuantumCircuit(3)
        for i in range(3):
            qc.ry(w[i] * row[i % 2], i)
        for i in range(2):
            qc.cx(i, i + 1)
        for i in range(3):
            qc.rz(w[i + 3] + row[(i + 1) % 2], i)
        qc.cx(2, 0)
        for i in range(3):
            qc.ry(w[i], i)
        out.append(Statevector(qc).data)
    return np.array(out)


def test_a_trainable_feature_map_lowers_with_its_parameters():
    kernel = _kernel()
    assert kernel.num_params == 6 and kernel.param_init[0].name == "w"
    theta = kernel.initial_params(3)
    assert np.all((theta >= 0) & (theta <= 1))


def test_target_matrix_is_yy_for_two_classes_and_a_simplex_gram_for_more():
    y = np.array([0, 1, 1, 0])
    signs = 2.0 * y - 1.0
    assert np.array_equal(target_matrix(y, 2), np.outer(signs, signs))
    t = target_matrix(np.array([0, 1, 2]), 3)
    assert np.allclose(t, np.where(np.eye(3) == 1, 1.0, -0.5))


def test_alignment_equals_a_numpy_computation_from_qiskit_statevectors():
    pytest.importorskip("qiskit")
    kernel = _kernel()
    rng = np.random.default_rng(4)
    w, x, y = rng.uniform(0, 2, 6), rng.uniform(0, 3, (9, 2)), rng.integers(0, 2, 9)
    ref = _qiskit_states(w, x)
    k_ref = np.abs(ref.conj() @ ref.T) ** 2
    yy = np.outer(2.0 * y - 1, 2.0 * y - 1)
    expected = np.sum(k_ref * yy) / (np.linalg.norm(k_ref) * np.linalg.norm(yy))
    states = feature_states(kernel.feature_map, x, w)
    assert alignment(fidelity_gram(states), target_matrix(y, 2)) == pytest.approx(
        expected, abs=1e-12
    )


@pytest.mark.parametrize("kind", ["fidelity", "projected(gamma = 0.7)"])
def test_alignment_gradient_matches_central_finite_differences(kind):
    kernel = _kernel(kind)
    rng = np.random.default_rng(7)
    theta, x, y = rng.uniform(0, 2, 6), rng.uniform(0, 3, (8, 2)), rng.integers(0, 3, 8)
    target = target_matrix(y, 3)

    def value(t: np.ndarray) -> float:
        states = feature_states(kernel.feature_map, x, t)
        if kernel.kind == "projected":
            gram = projected_gram(bloch_vectors(states, 3), gamma=kernel.gamma)
        else:
            gram = fidelity_gram(states)
        return alignment(gram, target)

    a, grad = alignment_gradient(
        Simulator(kernel.feature_map), theta, x, target, kind=kernel.kind, gamma=kernel.gamma
    )
    assert a == pytest.approx(value(theta), abs=1e-12)
    assert np.max(np.abs(grad)) > 1e-3  # a gradient that could be wrong
    h = 1e-5
    fd = np.array([(value(theta + h * e) - value(theta - h * e)) / (2 * h) for e in np.eye(6)])
    assert np.max(np.abs(fd - grad)) < h  # central differences: error O(h²) + rounding


def test_alignment_is_deterministic_for_a_seed():
    kernel = _kernel()
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 3, (10, 2)), rng.integers(0, 2, 10)
    config = AlignConfig("adam", (("lr", 0.1),), epochs=2, batch=4, seed=5)
    sim = Simulator(kernel.feature_map)
    first = align_feature_map(sim, kernel.initial_params(0), x, y, 2, config)
    again = align_feature_map(sim, kernel.initial_params(0), x, y, 2, config)
    assert np.array_equal(first.theta, again.theta) and first.history == again.history
    assert len(first.history) == 3


# ---- `qadl run` ----------------------------------------------------------------------------------

PROGRAM = """data d = builtin.circles(samples = 60, noise = 0.05, factor = 0.5, test = 0.5,
                        seed = 2)
kernel k(x: float[2]) on q[2] {
    param w[2] init uniform(0.05, 0.1)
    for i in 0..2 { ry(w[i] * x[i]) q[i] }
    for i in 0..2 { rz(w[i] * x[1 - i]) q[i] }
}
train k on d.train {
    align target_alignment
    optimizer adam(lr = 0.2)
    epochs 8
    batch 10
    seed 1
    classifier svm(C = 1.0)
}
evaluate k on d.test
"""


def test_alignment_rises_and_the_aligned_kernel_classifies_better(tmp_path):
    program = loads(PROGRAM, "k.qadl")
    out = tmp_path / "out"
    run_program(program, RunOptions(out_dir=out, progress=False, plots=True))
    record = json.loads((out / "results.json").read_text())["models"]["k"]
    history = record["alignment"]
    assert len(history) == 9 and history[-1] > history[0] + 0.1
    theta = np.load(out / record["params"])["theta"]
    assert theta.shape == (2,) and not np.allclose(theta, program.kernels["k"].initial_params(1))
    assert (out / "plots" / "k_alignment.png").stat().st_size > 0

    # the untrained map (θ as initialised from the same seed) on the same splits
    kernel = program.kernels["k"]
    train, test = _splits(program, out)
    before = _svm_accuracy(kernel, kernel.initial_params(1), train, test)
    after = _svm_accuracy(kernel, theta, train, test)
    assert after == pytest.approx(record["clean_test_accuracy"])
    assert before <= 0.7 and after >= before + 0.25


def _splits(program, out):
    from qadl.program import DataRef
    from qadl.run.context import Session

    session = Session(program, RunOptions(out_dir=out, progress=False, plots=False))
    training = program.kernel_trainings[0]
    test = DataRef(training.data.dataset, "test")
    return session.split(training.data, training.span), session.split(test, training.span)


def _svm_accuracy(kernel, theta, train, test) -> float:
    a = feature_states(kernel.feature_map, train.x, theta)
    b = feature_states(kernel.feature_map, test.x, theta)
    fitted = fit_kernel_classifier("svm", 1.0, fidelity_gram(a), train.y, 2)
    return float(np.mean(fitted.predict(fidelity_gram(b, a)) == test.y))


def _record(out) -> dict:
    return json.loads((out / "results.json").read_text())["models"]["k"]


def test_a_capped_alignment_resumes_bit_for_bit(tmp_path, monkeypatch):
    import qadl.learn.alignment as alignment_module

    steps = []
    gradient = alignment_module.alignment_gradient
    monkeypatch.setattr(
        alignment_module, "alignment_gradient", lambda *a, **k: steps.append(1) or gradient(*a, **k)
    )
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    program = loads(PROGRAM, "k.qadl")
    run_program(program, RunOptions(out_dir=straight, progress=False, plots=False))
    per_epoch = len(steps) // 8
    run_program(program, RunOptions(out_dir=resumed, progress=False, plots=False, max_epochs=3))
    assert len(_record(resumed)["alignment"]) == 4  # --max-epochs caps the alignment
    steps.clear()
    run_program(program, RunOptions(out_dir=resumed, progress=False, plots=False, resume=True))
    assert len(steps) == 5 * per_epoch  # epochs 4 to 8 only
    assert _record(resumed)["alignment"] == _record(straight)["alignment"]
    theta = [np.load(d / "k.params.npz")["theta"] for d in (straight, resumed)]
    assert np.array_equal(theta[0], theta[1])

    other = loads(PROGRAM.replace("seed 1", "seed 2"), "k.qadl")
    with pytest.raises(QadlError) as info:
        run_program(other, RunOptions(out_dir=resumed, progress=False, plots=False, resume=True))
    assert info.value.diagnostics[0].code == "E0724"


# ---- refusals ------------------------------------------------------------------------------------

HEAD = """import encodings.zz_feature_map
data d = builtin.havlicek(samples = 40, seed = 1)
kernel fixed(x: float[2]) on q[2] { zz_feature_map(q, x, reps = 2) }
"""


def _errors(text: str) -> list[tuple[str, str]]:
    with pytest.raises(QadlError) as info:
        loads(text, "k.qadl")
    return [
        (d.code, text[d.primary.span.start : d.primary.span.end]) for d in info.value.diagnostics
    ]


@pytest.mark.parametrize(
    ("options", "code", "where"),
    [
        ("classifier svm; align centred", "E0940", "centred"),
        ("classifier svm; epochs 3", "E0941", "epochs"),
        ("classifier svm; batch 8", "E0941", "batch"),
        ("classifier svm; align target_alignment; optimizer spsa(lr = 0.1)", "E0502",
         "spsa(lr = 0.1)"),
        ("classifier svm; align target_alignment; batch 1", "E0502", "1"),
        ("classifier svm; align target_alignment; epochs 0", "E0502", "0"),
        ("classifier svm; align target_alignment; optimizer adam(lr = -1)", "E0502",
         "adam(lr = -1)"),
    ],
)
def test_bad_alignment_options_are_located(options, code, where):
    text = KERNEL.replace("TYPE", "fidelity") + HEAD + f"train k on d.train {{ {options} }}\n"
    assert (code, where) in _errors(text)


def test_align_needs_parameters_and_parameters_need_align():
    statement = "train fixed on d.train { classifier svm; align target_alignment }"
    assert ("E0943", "align target_alignment") in _errors(HEAD + statement + "\n")
    statement = "train k on d.train { classifier svm }"
    text = KERNEL.replace("TYPE", "fidelity") + HEAD + statement + "\n"
    assert ("E0942", statement) in _errors(text)
