"""DP-SGD (Abadi et al. 2016): per-sample gradients clipped, summed, and noised.

Every optimizer step of a run with ``TrainConfig.dp`` uses, instead of the batch's mean
gradient, the release

    g̃ = (Σ_b clip_C(∇θ ℓ_b) + N(0, σ²C² I)) / B,      clip_C(g) = g · min(1, C/‖g‖),

so one sample changes the sum by at most C (in L2) and each step is the Gaussian
mechanism with noise multiplier σ. The noise comes from the run's generator, so a seeded
run (and one resumed from its checkpoint) is reproducible. The (ε, δ) over the run is
the accountant's (``qadl.adversary.privacy.accountant``), computed by the run layer from
the steps taken and the sampling rate ``B/N``.

Per-sample gradients come from the simulator's batch path, which runs one sample per
thread and keeps each sample's θ gradient (``Gradients.theta_per_sample``); where it
sums over the batch directly (parameter shift, registers run amplitude-parallel) each
sample is differentiated on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DPConfig", "clip_and_noise", "per_sample_gradients"]


@dataclass(frozen=True)
class DPConfig:
    """``dp(clip = C, noise = σ, delta = δ)`` of a ``train`` block."""

    clip: float = 1.0
    """L2 norm every sample's gradient is clipped to (the sensitivity of the sum)."""
    noise: float = 1.0
    """Noise multiplier σ: the noise's standard deviation is ``σ · clip`` (0: clipping only)."""
    delta: float = 1e-5
    """The δ of the run's (ε, δ) guarantee."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.clip) and self.clip > 0.0):
            raise ValueError("dp clip must be a finite number > 0")
        if not (math.isfinite(self.noise) and self.noise >= 0.0):
            raise ValueError("dp noise must be a finite number >= 0")
        if not 0.0 < self.delta < 1.0:
            raise ValueError("dp delta must be in (0, 1)")


def clip_and_noise(per_sample: np.ndarray, dp: DPConfig, rng: np.random.Generator) -> np.ndarray:
    """The DP-SGD release ``(Σ_b clip_C(g_b) + N(0, σ²C² I)) / B`` of per-sample gradients
    ``(B, P)``; the noise is drawn from ``rng`` only when σ > 0."""
    norms = np.linalg.norm(per_sample, axis=1)
    # min(1, C/‖g‖), written so that a zero gradient stays zero without a division by 0
    factors = dp.clip / np.maximum(norms, dp.clip)
    total = factors @ per_sample
    if dp.noise > 0.0:
        total = total + rng.normal(0.0, dp.noise * dp.clip, size=total.shape)
    return total / per_sample.shape[0]


def per_sample_gradients(grads: Any, batch_size: int, one: Any) -> np.ndarray:
    """``(B, P)`` gradients of each sample's loss.

    ``grads`` are the gradients of the batch's **mean** loss; where the simulator kept
    each sample's part (``theta_per_sample``) that part times B is the sample's
    gradient. Otherwise ``one(b)`` gives sample b's gradient (a batch of one).
    """
    parts = getattr(grads, "theta_per_sample", None)
    if parts is not None and parts.shape[0] == batch_size:
        return parts * batch_size
    return np.stack([one(b) for b in range(batch_size)])
