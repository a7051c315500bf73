"""`train { mitigate ... }`: θ fitted through readout inversion and ZNE (exact gradients)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qadl.cli import main
from tests.mitigation.helpers import model, write_data

PROGRAM = (
    'data d = file("d.csv", test = 0.5, seed = 1)\n'
    "noise lab { depolarizing(1q = 0.02, 2q = 0.1); readout_error(p01 = 0.05, p10 = 0.45) }\n"
    "target lab2 { qubits 2; basis [ry, cx]; coupling chain; noise lab }\n"
    + model("plain")
    + "device plain on lab2\n"
    + model("mitigated")
    + "device mitigated on lab2\n"
    + "train plain on d.train { loss mse; optimizer adam(lr = 0.1); epochs EPOCHS; batch 10; "
    "seed 3 }\n"
    "train mitigated on d.train { loss mse; optimizer adam(lr = 0.1); epochs EPOCHS; batch 10; "
    "seed 3; mitigate [readout, zne(scales = [1, 3])] }\n"
)
EVALUATE = (
    "evaluate plain, mitigated on d.test under [clean] "
    "{ mitigate [readout, zne(scales = [1, 3])] }\n"
)


def _run(root: Path, epochs: int, evaluate: bool) -> dict:
    write_data(root)
    (root / "t.qadl").write_text(
        PROGRAM.replace("EPOCHS", str(epochs)) + (EVALUATE if evaluate else "")
    )
    out = root / "out"
    assert main(["run", str(root / "t.qadl"), "--out", str(out), "--no-plots"]) == 0
    return json.loads((out / "results.json").read_text())


def test_mitigated_training_records_what_it_mitigated(tmp_path: Path) -> None:
    results = _run(tmp_path, 1, evaluate=False)
    models = results["models"]
    assert "mitigation" not in models["plain"]
    assert models["mitigated"]["mitigation"]["zne"]["scales"] == [1, 3]
    assert models["mitigated"]["mitigation"]["readout"]["method"] == "tensored"
    # one epoch from the same seed and batches: the mitigated gradients moved θ elsewhere
    plain = np.load(tmp_path / "out" / "plain.params.npz")["theta"]
    mitigated = np.load(tmp_path / "out" / "mitigated.params.npz")["theta"]
    assert np.max(np.abs(plain - mitigated)) > 1e-3


@pytest.mark.slow
def test_mitigated_training_beats_unmitigated_training_on_the_noisy_device(tmp_path) -> None:
    """A strongly asymmetric readout error (p10 = 0.45) moves the noisy decision threshold to
    p(1) > 0.9: training through the mitigation learns the noiseless task, while the model
    trained on the raw noisy outputs does not, even when mitigated afterwards."""
    results = _run(tmp_path, 6, evaluate=True)
    acc = {e["model"]: e["clean_accuracy"] for e in results["evaluations"]}
    label = " (readout+zne(richardson))"
    assert acc["mitigated" + label] >= acc["plain"] + 0.2
    assert acc["mitigated" + label] > acc["plain" + label]
