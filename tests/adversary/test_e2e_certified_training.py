"""`examples/certified_training.qadl`, run as a user runs it (about 20 s: marked slow).

The Lipschitz-regularised model must have the smallest Lipschitz constant and the highest
certified accuracy at L2 ε = 0.1 and 0.2, and every certified accuracy must stay at or
below the empirical (PGD) one of the same model and ε.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qadl.api import load
from qadl.run.session import RunOptions, run_program

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "certified_training.qadl"


def test_lipschitz_regularisation_certifies_more_than_adversarial_training(tmp_path):
    results = run_program(load(EXAMPLE), RunOptions(out_dir=tmp_path, plots=False, progress=False))
    certified, empirical, constant = {}, {}, {}
    for ev in results["evaluations"]:
        model = ev["model"]
        constant[model] = ev["certificates"][0]["lipschitz_constants"]["l2"]
        for row in ev["certified"]:
            certified[model, row["epsilon"]] = row["certified_accuracy"]
        for point in ev["points"]:
            empirical[model, point["epsilon"]] = point["robust_accuracy"]
    assert constant["lipschitz"] < 0.6 * min(constant["reupload"], constant["adversarial"])
    for eps in (0.1, 0.2):
        best = certified["lipschitz", eps]
        assert best > certified["reupload", eps] and best > certified["adversarial", eps]
    for key, value in certified.items():
        assert value <= empirical[key] + 1e-12  # a lower bound never exceeds an upper bound
    assert results["models"]["lipschitz"]["method"] == "lipschitz_regularisation"
