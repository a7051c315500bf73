"""`defend KERNEL with adversarial_training(...)`: refusals located, and the refit run."""

from __future__ import annotations

import json

import pytest

from qadl.api import loads
from qadl.errors import QadlError
from qadl.run.session import RunOptions, run_program

HEAD = """import encodings.zz_feature_map
data d = builtin.havlicek(samples = 60, gap = 0.3, test = 0.5, seed = 3)
kernel k(x: float[2]) on q[2] {
    zz_feature_map(q, x, reps = 2)
}
train k on d.train { classifier svm(C = 1.0) }
"""


def _errors(text: str) -> list[tuple[str, str]]:
    with pytest.raises(QadlError) as info:
        loads(text, "k.qadl")
    return [(d.code, text[d.primary.span.start : d.primary.span.end])
            for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("statement", "code", "where"),
    [
        ("defend k with adversarial_training(attack = pgd, epochs = 3) as r", "E0932",
         "epochs = 3"),
        ("defend k with adversarial_training(attack = pgd, schedule = linear) as r", "E0932",
         "schedule = linear"),
        ("defend k with adversarial_training(attack = pgd, examples = on_the_fly) as r",
         "E0932", "examples = on_the_fly"),
        ("defend k with adversarial_training(attack = pgd) as r { batch 10 }", "E0932",
         "batch"),
        ("defend k with lipschitz_regularisation(lambda = 0.1) as r", "E0932",
         "lipschitz_regularisation(lambda = 0.1)"),
        ("kernel k2(x: float[2]) on q[2] { zz_feature_map(q, x) }\n"
         "defend k2 with adversarial_training(attack = pgd) as r", "E0933",
         "defend k2 with adversarial_training(attack = pgd) as r"),
    ],
)
def test_what_a_kernel_defence_cannot_do_is_located(statement, code, where):
    assert (code, where) in _errors(HEAD + statement + "\n")


def test_a_transfer_attack_cannot_train_a_kernel():
    text = HEAD + (
        "attack t on k { method transfer(surrogate = mlp, attack = pgd(epsilon = 0.1)) }\n"
        "defend k with adversarial_training(attack = t) as r\n"
    )
    program = loads(text, "k.qadl")
    from qadl.run.preflight import preflight

    with pytest.raises(QadlError) as info:
        preflight(program)
    assert [d.code for d in info.value.diagnostics] == ["E0721"]


def test_the_defended_kernel_is_refitted_on_adversarial_copies(tmp_path):
    text = HEAD + (
        "attack p on k { method pgd(epsilon = 0.3, steps = 5)\n seed 1 }\n"
        "defend k with adversarial_training(attack = p, ratio = 0.5) as k_robust { seed 2 }\n"
        "evaluate k, k_robust on d.test under [clean, p]\n"
    )
    program = loads(text, "k.qadl")
    assert program.kernels["k_robust"].feature_map == program.kernels["k"].feature_map
    run_program(program, RunOptions(out_dir=tmp_path / "out", progress=False, plots=False))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    record = results["models"]["k_robust"]
    assert record["defended_from"] == "k" and record["attack"] == "p"
    assert record["adversarial_examples"] == 15 and record["epsilon"] == 0.3
    assert record["support_vectors"] != results["models"]["k"]["support_vectors"]
    evaluated = {e["model"]: e for e in results["evaluations"]}
    assert set(evaluated) == {"k", "k_robust"}
    assert evaluated["k_robust"]["clean_accuracy"] >= 0.8
    assert [p["attack"] for p in evaluated["k_robust"]["points"]] == ["p"]


def test_an_aligned_projected_kernel_ridge_is_attacked_and_defended(tmp_path):
    """The aligned θ is used by the attack gradients and by the refit (not the initial θ)."""
    text = """data rings = builtin.circles(samples = 60, noise = 0.05, factor = 0.5, test = 0.5,
                               seed = 2)
kernel k(x: float[2]) on q[2] {
    param w[2] init uniform(0.05, 0.1)
    for i in 0..2 { ry(w[i] * x[i]) q[i] }
    for i in 0..2 { rz(w[i] * x[1 - i]) q[i] }
    type projected(gamma = 2)
}
train k on rings.train {
    align target_alignment
    optimizer adam(lr = 0.2)
    epochs 5
    batch 10
    seed 1
    classifier kernel_ridge(alpha = 0.1)
}
attack p on k { method pgd(norm = l2, epsilon = [0.1, 0.3], steps = 10, restarts = 2)
  seed 1 }
defend k with adversarial_training(attack = p, ratio = 0.3) as kr
evaluate k, kr on rings.test under [clean, p]
"""
    run_program(loads(text, "k.qadl"),
                RunOptions(out_dir=tmp_path / "out", progress=False, plots=False))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["models"]["kr"]["adversarial_examples"] == 9
    evaluated = {e["model"]: e for e in results["evaluations"]}
    k = evaluated["k"]
    assert k["clean_accuracy"] >= 0.9  # the aligned kernel separates the rings
    robust = [p["robust_accuracy"] for p in k["points"]]
    assert robust[1] < robust[0] < k["clean_accuracy"] + 1e-12
    assert all(abs(p["mean_l2"] - p["epsilon"]) < 1e-6 for p in k["points"])


def test_the_defended_kernel_is_a_kernel_to_the_checker():
    text = HEAD + (
        "defend k with adversarial_training(attack = pgd(epsilon = 0.1)) as kr\n"
        "attack lr on kr { method local_rotations(epsilon = 0.1) }\n"
        "evaluate kr on d.test { shots 100 }\n"
        "target t { qubits 2 }\ndevice kr on t\n"
    )
    errors = _errors(text)
    assert ("E0930", "local_rotations(epsilon = 0.1)") in errors
    assert ("E0339", "shots") in errors
    assert ("E0337", "kr") in errors
