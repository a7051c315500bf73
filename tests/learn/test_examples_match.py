"""The hand-built Ren et al. circuits used by the learning checks are the examples' circuits."""

from __future__ import annotations

from pathlib import Path

import pytest

import qadl

from .circuits import ren2022_image_circuit, ren2022_quantum_circuit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("example", "model", "build"),
    [
        ("ren2022_images.qadl", "classifier", ren2022_image_circuit),
        ("ren2022_quantum_data.qadl", "phase", ren2022_quantum_circuit),
    ],
)
def test_example_lowers_to_the_hand_built_circuit(example, model, build) -> None:
    lowered = qadl.load(str(EXAMPLES / example)).model(model).circuit
    mine = build()
    assert lowered.ops == mine.ops
    assert lowered.readout == mine.readout
    assert (lowered.num_params, lowered.num_features, lowered.state_input) == (
        mine.num_params,
        mine.num_features,
        mine.state_input,
    )
