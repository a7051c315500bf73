"""Device noise on shared gradients: a model bound to a noisy device shares gradients
computed under the device's noise; the attacker inverts them with the noiseless model."""

from __future__ import annotations

import numpy as np

from qadl.run.session import RunOptions, run_program
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import INV, PROGRAM, TRAIN

DEVICE = """
noise lab { depolarizing(1q = 0.01, 2q = 0.05) }
target lab2 { qubits 2; basis [rx, ry, rz, cz]; coupling chain; noise lab }
device clf on lab2
"""
ATTACK = INV.format(args="restarts = 2, samples = 2, steps = 60", opts="; clip [-1, 1]; seed 2")


def _inversion(text: str, tmp_path) -> dict:
    options = RunOptions(tmp_path / "o", plots=False, progress=False)
    return run_program(load_source(text), options)["privacy"]["inv"]


def test_device_noise_blurs_the_shared_gradient(tmp_path):
    """Same model, θ and samples: noiseless gradients are inverted to rounding, gradients
    under the device's depolarizing noise only to ~1e-1 (the attacker's model is ideal)."""
    ideal = _inversion(PROGRAM + TRAIN + ATTACK, tmp_path)
    noisy = _inversion(PROGRAM + DEVICE + TRAIN + ATTACK, tmp_path)
    assert ideal["device"] is None and noisy["device"] == "lab2"
    assert ideal["recovered_fraction"] == 1.0 and ideal["median_error"] < 1e-6
    assert noisy["recovered_fraction"] == 0.0
    assert 1e-3 < noisy["median_error"] < 1.0
    # the noisy gradient is not matched exactly by any input of the noiseless model
    assert min(noisy["matching_loss"]) > 1e6 * max(ideal["matching_loss"])
    assert np.isfinite(noisy["mean_relative_error"])
