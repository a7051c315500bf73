"""`attack … { method gradient_inversion(…) }` from source: check-time refusals (E0532, E0560,
E0502) and a run that writes the attack's record to results.json (E0561–E0564 refusals)."""

from __future__ import annotations

import json

import pytest

from qadl.errors import QadlError
from qadl.run.session import RunOptions, run_program
from tests.adversary.sessions import load_source

PROGRAM = """
import encodings.angle
data circle = file("data/circle.csv", test = 0.25, seed = 3)
model clf(x: float[2]) on q[2] {
    angle_encoding(q, x)
    param θ[4]
    cz q[0], q[1]
    for i in 0..2 { ry(θ[i]) q[i] }
    cz q[0], q[1]
    for i in 0..2 { rx(θ[2 + i]) q[i] }
    readout expval(Z q[0] * Z q[1]) -> classes 2
}
"""
TRAIN = "train clf on circle.train { epochs 1; batch 32; seed 3 }\n"
INV = "attack inv on clf {{ method gradient_inversion({args}) {opts} }}\n"


def _codes(text: str) -> list[tuple[str, str]]:
    with pytest.raises(QadlError) as info:
        load_source(text)
    return [(d.code, d.message) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("snippet", "code", "words"),
    [
        (INV.format(args="", opts="; targeted 1"), "E0532", "no class"),
        (INV.format(args="", opts="; until wrong_class >= 0.5"), "E0532", "stopping rule"),
        (INV.format(args="loss = l1", opts=""), "E0502", "expected one of l2, cosine"),
        (INV.format(args="restarts = 0", opts=""), "E0502", "restarts"),
        (INV.format(args="optimizer = adam", opts=""), "E0502", "lbfgs, nelder_mead"),
        (INV.format(args="stpes = 3", opts=""), "E0502", "did you mean `steps`"),
        (
            INV.format(args="", opts="") + "evaluate clf on circle.test under [clean, inv]",
            "E0560",
            "privacy attack",
        ),
        (
            INV.format(args="", opts="")
            + "attack t on clf { method transfer(surrogate = mlp, attack = inv) }",
            "E0560",
            "transfer",
        ),
        (
            INV.format(args="", opts="")
            + "defend clf with adversarial_training(attack = inv) as robust",
            "E0560",
            "adversarial training",
        ),
        (
            "evaluate clf on circle.test under [gradient_inversion(samples = 2)]",
            "E0521",
            "unknown attack method",
        ),
        (
            "train clf on circle.train { federated(clients = 8); early_stop 2 }",
            "E0519",
            "early_stop",
        ),
    ],
)
def test_refused_at_check(snippet, code, words):
    found = _codes(PROGRAM + TRAIN + snippet)
    assert any(c == code and words in m for c, m in found), found


def test_accepted_options():
    spec = load_source(
        PROGRAM
        + TRAIN
        + INV.format(
            args="loss = cosine, restarts = 2, steps = 9, batch = 2, samples = 3, "
            "optimizer = nelder_mead, tolerance = 1e-3, at = initial",
            opts="; clip [-1, 1]; seed 4",
        )
    ).attacks["inv"]
    assert spec.method.name == "gradient_inversion"
    assert spec.method.get("optimizer") == "nelder_mead" and spec.options["seed"] == 4


def _run(text: str, tmp_path):
    options = RunOptions(out_dir=tmp_path / "out", plots=False, progress=False)
    return run_program(load_source(text), options)


def test_run_writes_privacy_record(tmp_path, capsys):
    text = (
        PROGRAM
        + TRAIN
        + INV.format(args="restarts = 2, samples = 1, steps = 60", opts="; clip [-1, 1]; seed 2")
    )
    results = _run(text, tmp_path)
    record = json.loads((tmp_path / "out" / "results.json").read_text())["privacy"]["inv"]
    assert record == results["privacy"]["inv"]
    assert record["model"] == "clf" and record["box"] == [-1.0, 1.0] and record["inputs"] == 1
    # this model sees both features through its parity: single samples are recovered
    assert record["recovered_fraction"] == 1.0
    assert record["median_error"] < 1e-4
    # features in the box [-1, 1] (R = 2) within 1e-4 of the truth: PSNR above 20·log10(2e4)
    assert record["median_psnr_db"] > 86.0
    out = capsys.readouterr().out
    assert "recovered" in out and "inv" in out.split("recovered")[-1]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (PROGRAM + INV.format(args="", opts=""), "E0561"),
        (PROGRAM + TRAIN + INV.format(args="samples = 200, batch = 2", opts=""), "E0564"),
    ],
)
def test_refused_at_run(text, code, tmp_path):
    with pytest.raises(QadlError) as info:
        _run(text, tmp_path)
    assert [d.code for d in info.value.diagnostics] == [code]
    span = info.value.diagnostics[0].primary.span
    assert text[span.start : span.end].startswith("attack inv on clf")


STATES = """
data chain = builtin.aubry_andre(qubits = 2, samples = 20, test = 0.25)
model phase(psi: state) on q[2] {
    param θ[2]
    for j in 0..2 { ry(θ[j]) q[j] }
    readout probs(q[0])
}
train phase on chain.train { epochs 1 }
attack inv on phase { method gradient_inversion(labels = inferred) }
"""
AMPLITUDE = """
import encodings.amplitude
data circle = file("data/circle.csv", test = 0.25, seed = 3)
model amp(x: float[2]) on q[1] {
    amplitude_encoding(q, x)
    param θ[1]
    ry(θ[0]) q[0]
    readout probs(q[0])
}
train amp on circle.train { epochs 1 }
attack inv on amp { method gradient_inversion() }
"""


@pytest.mark.parametrize(("text", "code"), [(STATES, "E0964"), (AMPLITUDE, "E0563")])
def test_refused_before_training(text, code, tmp_path, capsys):
    with pytest.raises(QadlError) as info:
        _run(text, tmp_path)
    assert [d.code for d in info.value.diagnostics] == [code]
    assert "epoch" not in capsys.readouterr().out  # refused before any work


def test_attacks_on_a_defended_model(tmp_path):
    """A defended name resolves to its model before the defence has run (the pre-check)."""
    text = (
        PROGRAM
        + TRAIN
        + "defend clf with adversarial_training(attack = fgsm(epsilon = 0.1), epochs = 1)"
        + " as robust { batch 32 }\n"
        + "attack inv on robust { method gradient_inversion(restarts = 1, samples = 1, "
        + "steps = 5); clip [-1, 1] }\n"
        + "attack mia on robust { method membership_inference(samples = 10) }\n"
    )
    results = _run(text, tmp_path)
    assert set(results["privacy"]) == {"inv", "mia"}
    assert results["privacy"]["inv"]["model"] == "robust"
    assert results["privacy"]["mia"]["members"] == 10
