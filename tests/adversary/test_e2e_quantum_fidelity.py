"""Issue 4's quantum-data criterion on the shipped example, run as a user runs it.

`examples/ren2022_quantum_fidelity.qadl`: local rotations that keep the fidelity to the
clean state >= 0.95 must flip >= 80% of the correctly classified test states, and
adversarial training must bring the accuracy on adversarial states back to >= 90%.
About 30 s (10 qubits, 600 states).
"""

from __future__ import annotations

from pathlib import Path

from qadl.api import load
from qadl.run.session import RunOptions, run_program

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ren2022_quantum_fidelity.qadl"


def test_fidelity_bounded_local_rotations_flip_most_labels_and_the_defence_recovers(tmp_path):
    results = run_program(load(EXAMPLE), RunOptions(out_dir=tmp_path, plots=False, progress=False))
    points = {(e["model"], p["attack"]): p for e in results["evaluations"] for p in e["points"]}
    clean = {e["model"]: e["clean_accuracy"] for e in results["evaluations"]}
    attack = points[("phase", "rot95")]
    assert clean["phase"] >= 0.95
    assert attack["min_fidelity"] >= 0.95 - 1e-9
    assert attack["success_rate"] >= 0.80
    assert clean["robust"] >= 0.95
    assert points[("robust", "rot95")]["robust_accuracy"] >= 0.90
    assert points[("robust", "from_clean")]["robust_accuracy"] >= 0.90
    assert points[("robust", "from_clean")]["min_fidelity"] >= 0.95 - 1e-9
