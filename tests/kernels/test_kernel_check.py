"""Kernel declarations and statements: what `qadl check` accepts, and every refusal located."""

from __future__ import annotations

import pytest

from qadl.api import loads
from qadl.errors import QadlError

HEAD = """import encodings.zz_feature_map
data d = builtin.havlicek(samples = 40, seed = 1)
"""
KERNEL = """kernel k(x: float[2]) on q[2] {
    zz_feature_map(q, x, reps = 2)
    type fidelity
}
"""
TRAIN = "train k on d.train { classifier svm(C = 1.0) }\n"


def _errors(text: str) -> list[tuple[str, str]]:
    """(code, source text under the primary label) of every diagnostic."""
    with pytest.raises(QadlError) as info:
        loads(text, "k.qadl")
    return [
        (d.code, text[d.primary.span.start : d.primary.span.end]) for d in info.value.diagnostics
    ]


def test_a_kernel_program_lowers_to_its_feature_map():
    program = loads(HEAD + KERNEL + TRAIN + "evaluate k on d.test\n", "k.qadl")
    kernel = program.kernels["k"]
    assert (kernel.kind, kernel.num_qubits, kernel.num_features) == ("fidelity", 2, 2)
    assert kernel.feature_map.readout is None and kernel.feature_map.num_params == 0
    assert len(kernel.feature_map.ops) > 4
    (training,) = program.kernel_trainings
    assert (training.kernel, training.classifier, training.strength) == ("k", "svm", 1.0)
    assert program.models == {} and program.trainings == ()


def test_type_defaults_to_fidelity_and_projected_takes_gamma():
    text = HEAD + KERNEL.replace("type fidelity", "type projected(gamma = 0.25)") + TRAIN
    assert loads(text, "k.qadl").kernels["k"].gamma == pytest.approx(0.25)
    plain = HEAD + KERNEL.replace("    type fidelity\n", "")
    assert loads(plain, "k.qadl").kernels["k"].kind == "fidelity"


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        ("zz_feature_map(q, x)\n    readout probs(q[0])", "E0330", "readout probs(q[0])"),
        ("zz_feature_map(q, x)\n    type fidelity\n    type fidelity", "E0332", "type fidelity"),
        ("zz_feature_map(q, x)\n    type gaussian", "E0333", "gaussian"),
        ("zz_feature_map(q, x)\n    type projected(gamma = -1)", "E0333", "projected(gamma = -1)"),
    ],
)
def test_bad_kernel_bodies_are_located(body, code, where):
    text = HEAD + f"kernel k(x: float[2]) on q[2] {{\n    {body}\n}}\n"
    assert (code, where) in _errors(text)


def test_a_trainable_block_in_a_feature_map_must_be_aligned():
    text = (
        "import ansatz.real_amplitudes\n"
        "data d = builtin.havlicek(samples = 40, seed = 1)\n"
        "kernel k(x: float[2]) on q[2] {\n    real_amplitudes(q, reps = 1)\n"
        "    rz(x[0]) q[0]\n    rz(x[1]) q[1]\n}\n"
        "train k on d.train { classifier svm }\n"
    )
    assert ("E0942", "train k on d.train { classifier svm }") in _errors(text)


def test_a_kernel_takes_one_feature_vector():
    text = HEAD + "kernel k(psi: state) on q[2] { h q }\n"
    assert ("E0334", "psi: state") in _errors(text)


@pytest.mark.parametrize(
    ("statement", "code", "where"),
    [
        ("train k on d.train { classifier svm; optimizer adam(lr = 0.1) }", "E0941", "optimizer"),
        ("train k on d.train { classifier svm; loss mse }", "E0336", "loss"),
        ("train k on d.train { classifier forest }", "E0502", "forest"),
        ("train k on d.train { classifier svm(C = 0) }", "E0502", "svm(C = 0)"),
        ("train k on d.train { classifier svm; shots 0 }", "E0502", "0"),
        ("train k on d.train { seed 1 }", "E0508", "train k on d.train { seed 1 }"),
        ("train k on d.train { classifier svm; seed 3 }", "E0336", "seed"),
        ("attack a on k { method local_rotations(epsilon = 0.1) }", "E0930",
         "local_rotations(epsilon = 0.1)"),
        ("attack a on k { method membership_inference }", "E0931", "membership_inference"),
        ("attack a on k { method transfer(surrogate = mlp, attack = local_rotations) }",
         "E0930", "transfer(surrogate = mlp, attack = local_rotations)"),
        ("defend k with margin_training(lambda = 1, certify = fidelity, margin = 0.1) as r",
         "E0932", "margin_training(lambda = 1, certify = fidelity, margin = 0.1)"),
        ("target t { qubits 2 }\ndevice k on t", "E0337", "k"),
    ],
)
def test_bad_kernel_statements_are_located(statement, code, where):
    assert (code, where) in _errors(HEAD + KERNEL + statement + "\n")


def test_shots_are_refused_for_a_projected_kernel():
    kernel = KERNEL.replace("type fidelity", "type projected(gamma = 1)")
    text = HEAD + kernel + "train k on d.train { classifier svm; shots 100 }\n"
    assert ("E0336", "shots") in _errors(text)


def test_kernels_are_attacked_on_their_features_only():
    attacked = "evaluate k on d.test under [clean, fgsm(epsilon = 0.1), a]\n"
    declared = "attack a on k { method pgd(epsilon = [0.1, 0.2]) }\n"
    program = loads(HEAD + KERNEL + TRAIN + declared + attacked, "k.qadl")
    assert program.attacks["a"].model == "k"
    text = HEAD + KERNEL + TRAIN + "evaluate k on d.test under [local_rotations(epsilon = 0.1)]\n"
    assert ("E0930", "local_rotations(epsilon = 0.1)") in _errors(text)
    text = HEAD + KERNEL + TRAIN + "evaluate k on d.test { shots 100 }\n"
    assert ("E0339", "shots") in _errors(text)


def test_kernel_data_must_be_features_of_the_right_size():
    text = (
        "import encodings.zz_feature_map\n"
        "data d = builtin.digits(classes = [0, 1], size = 4x4)\n"
        + KERNEL
        + TRAIN
    )
    assert ("E0550", TRAIN.strip()) in _errors(text)


def test_a_havlicek_set_too_small_to_split_is_refused_by_check(tmp_path):
    from qadl.api import diagnose

    path = tmp_path / "small.qadl"
    path.write_text(HEAD.replace("samples = 40", "samples = 4") + KERNEL + TRAIN)
    (diag,) = diagnose(path)
    assert diag.code == "E0702" and "samples" in (diag.help or "")
