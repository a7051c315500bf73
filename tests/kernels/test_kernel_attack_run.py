"""`qadl run` with attacks on kernels: white-box, transfers both ways, tables and plots."""

from __future__ import annotations

import json

import pytest

from qadl.api import loads
from qadl.errors import QadlError
from qadl.run.session import RunOptions, run_program

PROGRAM = """import encodings.zz_feature_map
import ansatz.hardware_efficient
data ad_hoc = builtin.havlicek(samples = 60, gap = 0.3, test = 0.5, seed = 3)
kernel k(x: float[2]) on q[2] {
    zz_feature_map(q, x, reps = 2)
    type fidelity
}
model vqc(x: float[2]) on q[2] {
    zz_feature_map(q, x, reps = 2)
    hardware_efficient(q, layers = 2, rotations = [ry, rz], entangler = cz)
    readout expval(Z q[0] * Z q[1]) -> classes 2
}
train k on ad_hoc.train { classifier svm(C = 1.0) }
train vqc on ad_hoc.train {
    optimizer adam(lr = 0.1)
    epochs 3
    batch 10
    seed 1
}
attack pgd_sweep on k {
    method pgd(norm = linf, epsilon = [0.1, 0.3], steps = 5, random_start = true)
    seed 2
}
attack to_kernel on k { method transfer(from = vqc, attack = bim(epsilon = 0.3, steps = 3)) }
attack to_vqc on vqc { method transfer(from = k, attack = bim(epsilon = 0.3, steps = 3)) }
evaluate vqc, k on ad_hoc.test under [clean, pgd_sweep, to_kernel, to_vqc,
                                      fgsm(norm = l2, epsilon = 0.5)]
"""


def _run(tmp_path, text=PROGRAM, plots=False):
    options = RunOptions(out_dir=tmp_path / "out", progress=False, plots=plots)
    run_program(loads(text, "k.qadl"), options)
    return json.loads((tmp_path / "out" / "results.json").read_text())


def test_kernel_and_vqc_share_one_table_under_the_same_attacks(tmp_path):
    results = _run(tmp_path, plots=True)
    by_model = {e["model"]: e for e in results["evaluations"]}
    kernel = by_model["k"]
    attacks = [(p["attack"], p["epsilon"]) for p in kernel["points"]]
    assert attacks == [("pgd_sweep", 0.1), ("pgd_sweep", 0.3), ("fgsm", 0.5),
                       ("to_kernel", 0.3), ("to_vqc", 0.3)]
    assert [(p["attack"], p["epsilon"]) for p in by_model["vqc"]["points"]] == attacks
    assert kernel["clean_accuracy"] >= 0.9
    for p in kernel["points"]:
        assert p["n"] == 30 and p["robust_accuracy"] <= kernel["clean_accuracy"] + 1e-12
        if p["attack"] == "pgd_sweep":
            assert p["mean_linf"] <= p["epsilon"] + 1e-12
    assert kernel["metrics"]["accuracy"] == kernel["clean_accuracy"]
    assert "roc_auc" in kernel["metrics"]
    assert (tmp_path / "out" / "plots").is_dir()
    assert any("robust" in p.name or "curve" in p.name or "accuracy" in p.name
               for p in (tmp_path / "out" / "plots").iterdir())


def test_a_targeted_class_the_kernel_does_not_have_is_refused_by_check():
    from qadl.run.preflight import preflight

    text = PROGRAM.replace("    seed 2\n", "    seed 2\n    targeted 5\n").replace(
        "evaluate vqc, k on", "evaluate k on")
    with pytest.raises(QadlError) as info:
        preflight(loads(text, "k.qadl"))
    (diag,) = info.value.diagnostics
    assert diag.code == "E0530" and "kernel `k` has classes 0..1" in diag.message
    assert text[diag.primary.span.start:].startswith("attack pgd_sweep on k")
