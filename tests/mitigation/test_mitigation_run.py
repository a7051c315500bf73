"""`evaluate { mitigate ... }` end to end: both evaluations in results.json, exact recovery."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qadl.api import load
from qadl.backends.sim import Simulator
from qadl.cli import main
from qadl.learn.classifier import Classifier
from qadl.run.configs import load_data
from tests.mitigation.helpers import model, write_data

PROGRAM = (
    'data d = file("d.csv", test = 0.5, seed = 1)\n'
    + model("m")
    + """noise misread { readout_error(p01 = 0.1, p10 = 0.3) }
noise lab { depolarizing(1q = 0.01, 2q = 0.05); readout_error(p01 = 0.02, p10 = 0.05) }
target reader { qubits 2; basis [ry, cx]; coupling chain; noise misread }
target lab2 { qubits 2; basis [ry, cx]; coupling chain; noise lab }
device m on reader
train m on d.train { loss mse; optimizer adam(lr = 0.1); epochs 3; batch 10; seed 3 }
evaluate m on d.test under [clean] { mitigate readout }
"""
)


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mitigate")
    write_data(root)
    (root / "m.qadl").write_text(PROGRAM)
    zne = (
        PROGRAM.replace("device m on reader", "device m on lab2")
        .replace(
            "{ mitigate readout }",
            "{ mitigate [readout, zne(scales = [1, 3], extrapolation = linear, folding = local)] }",
        )
        .replace("under [clean]", "under [clean, fgsm(epsilon = 0.3)]")
    )
    (root / "zne.qadl").write_text(zne)
    return root


def test_readout_mitigation_restores_the_noiseless_decisions(program_dir: Path) -> None:
    out = program_dir / "out"
    assert main(["run", str(program_dir / "m.qadl"), "--out", str(out), "--no-plots"]) == 0
    results = json.loads((out / "results.json").read_text())
    by_model = {e["model"]: e for e in results["evaluations"]}
    assert set(by_model) == {"m", "m (readout)"}
    assert results["mitigation"]["m (readout)"]["readout"]["method"] == "tensored"

    # readout inversion gives the noiseless probabilities, hence the noiseless decisions
    program = load(program_dir / "m.qadl")
    model, theta = program.models["m"], np.load(out / "m.params.npz")["theta"]
    noiseless = Classifier(Simulator(model.circuit), model.circuit.readout)
    test = load_data(program.datasets["d"])[1]
    want = float(np.mean(noiseless.predict(theta, x=test.x) == test.y))
    assert by_model["m (readout)"]["clean_accuracy"] == pytest.approx(want, abs=1e-12)


def test_zne_evaluation_attacks_the_mitigated_classifier(program_dir: Path) -> None:
    out = program_dir / "out_zne"
    assert main(["run", str(program_dir / "zne.qadl"), "--out", str(out), "--no-plots"]) == 0
    results = json.loads((out / "results.json").read_text())
    label = "m (readout+zne(linear))"
    by_model = {e["model"]: e for e in results["evaluations"]}
    assert set(by_model) == {"m", label}
    zne = results["mitigation"][label]["zne"]
    assert zne == {
        "scales": [1, 3], "extrapolation": "linear", "order": None, "folding": "local",
        "scaling": "fold",
    }
    point = by_model[label]["points"][0]
    assert point["attack"] == "fgsm" and 0.0 < point["mean_linf"] <= 0.3 + 1e-9
