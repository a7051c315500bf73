"""`train { mitigate ... }`: θ fitted through readout inversion and ZNE (exact gradients)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qadl.cli import main

MODEL = """
model NAME(x: float[2]) on q[2] {
    param θ[4]
    ry(x[0]) q[0]
    ry(x[1]) q[1]
    ry(θ[0]) q[0]
    ry(θ[1]) q[1]
    cx q[0], q[1]
    ry(θ[2]) q[0]
    ry(θ[3]) q[1]
    readout probs(q[1]) -> classes 2
}
device NAME on lab2
"""

PROGRAM = (
    'data d = file("d.csv", test = 0.5, seed = 1)\n'
    "noise lab { depolarizing(1q = 0.02, 2q = 0.1); readout_error(p01 = 0.05, p10 = 0.45) }\n"
    "target lab2 { qubits 2; basis [ry, cx]; coupling chain; noise lab }\n"
    + MODEL.replace("NAME", "plain")
    + MODEL.replace("NAME", "mitigated")
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
    rng = np.random.default_rng(0)
    x = rng.uniform(0, np.pi, (40, 2))
    y = (np.cos(x[:, 0]) * np.cos(x[:, 1]) > 0).astype(int)
    rows = "\n".join(f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(x, y, strict=True))
    (root / "d.csv").write_text("x1,x2,label\n" + rows + "\n")
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
