"""`qadl run` simulates a model bound to a noisy device with the NoisySimulator.

The program is examples/noise_defence.qadl.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qadl.api import load
from qadl.backends.sim import NoisySimulator, Simulator
from qadl.backends.sim.density import DensityMatrixSimulator
from qadl.run.context import RunOptions, Session

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "noise_defence.qadl"


def test_noisy_device_gets_noisy_simulator(tmp_path):
    """`device noisy on noisy3` (depolarizing 0.05 / 0.2) -> density matrices.

    The clean model stays exact.
    """
    program = load(EXAMPLE)
    session = Session(program, RunOptions(out_dir=str(tmp_path)))
    noisy, clean = session.classifier("noisy"), session.classifier("clean")
    assert isinstance(noisy.sim, NoisySimulator) and noisy.sim.method == "density"
    assert isinstance(clean.sim, Simulator)
    noise = program.target_of("noisy").noise
    assert (noise.depolarizing_1q, noise.depolarizing_2q) == (0.05, 0.2)
    theta = np.linspace(0.1, 0.9, noisy.num_params)
    x = np.array([[0.3, 1.0, 2.0]])
    expected = DensityMatrixSimulator(program.model("noisy").circuit, noise).outputs(theta, x)
    np.testing.assert_allclose(noisy.sim.outputs(theta, x), expected, atol=1e-14)
    assert not np.allclose(noisy.sim.outputs(theta, x), clean.sim.outputs(theta, x), atol=1e-3)
