"""The (ε, δ) of a DP-SGD training run (``train … { dp(clip, noise, delta) }``).

Every step releases the clipped, noised gradient of one mini-batch (``qadl.learn.dp``).
The accountant (``qadl.adversary.privacy.accountant``) composes the steps taken with the
sampling rate ``q = B/N`` of a batch of B among the N samples the run draws from. The
batches are consecutive slices of a shuffled pass, not Poisson samples; accounting them
as Poisson sampling at rate B/N is what DP-SGD libraries report for shuffled batches
(Abadi et al. 2016 did the same), and the record says so. In federated training each
client's steps are accounted on its own data: its ε is a guarantee for its own samples.
"""

from __future__ import annotations

import math
from typing import Any

from qadl.learn.data import Dataset
from qadl.learn.dp import DPConfig
from qadl.learn.train import TrainConfig, TrainResult, split_validation

__all__ = ["SAMPLING_NOTE", "dp_epsilon", "dp_record", "dp_text", "training_dp_record"]

SAMPLING_NOTE = "shuffled batches, accounted as Poisson sampling at rate batch/samples"
"""How the record's sampling rate relates to the batches actually drawn."""


def dp_epsilon(dp: DPConfig, samples: int, batch: int, steps: int) -> float | None:
    """ε at ``dp.delta`` after ``steps`` steps of batches of ``batch`` among ``samples``;
    None (no guarantee) without noise or without a step."""
    if dp.noise == 0.0 or steps == 0:
        return None
    # imported here: the accountant imports SciPy (a fifth of a second), for DP runs only
    from qadl.adversary.privacy.accountant import gaussian_epsilon

    return gaussian_epsilon(min(1.0, batch / samples), dp.noise, steps, dp.delta)


def dp_record(dp: DPConfig, samples: list[int], batch: int, steps: int) -> dict[str, Any]:
    """``results.json`` record of a run whose ``len(samples)`` clients (1: centralized
    training) each took ``steps`` steps on their own ``samples[k]`` samples."""
    eps = [dp_epsilon(dp, n, batch, steps) for n in samples]
    worst = None if any(e is None for e in eps) else max(eps)
    record: dict[str, Any] = {
        "clip": dp.clip,
        "noise": dp.noise,
        "delta": dp.delta,
        "epsilon": worst,
        "steps": steps,
        "sampling_rate": min(1.0, batch / min(samples)),
        "sampling": SAMPLING_NOTE,
        "accountant": "rdp",
    }
    if len(samples) > 1:
        record["client_epsilon"] = eps
    return record


def dp_text(record: dict[str, Any]) -> str:
    """One line for the run's log: the guarantee and what it was computed from."""
    eps = record["epsilon"]
    guarantee = (
        "no guarantee (noise 0)" if eps is None else f"(ε, δ) = ({eps:.3g}, {record['delta']:g})"
    )
    per = " per client (worst)" if "client_epsilon" in record else ""
    return (
        f"  -> DP-SGD clip {record['clip']:g}, noise {record['noise']:g}: {guarantee}{per} "
        f"after {record['steps']} steps at sampling rate {record['sampling_rate']:.3g}"
    )


def training_dp_record(
    config: TrainConfig, train: Dataset, result: TrainResult, federated: dict[str, Any] | None
) -> dict[str, Any]:
    """The record of a finished DP-SGD run: centralized (``federated`` None: every epoch
    run is a pass over the kept training samples) or federated (its results record:
    every client took ``local_steps`` steps in each round)."""
    rounds = len(result.history.epoch)
    if federated is not None:
        steps = rounds * int(federated["local_steps"])
        return dp_record(config.dp, list(federated["client_sizes"]), config.batch, steps)
    kept, _ = split_validation(train, config.validation, config.seed)
    steps = rounds * math.ceil(len(kept) / config.batch)
    return dp_record(config.dp, [len(kept)], config.batch, steps)
