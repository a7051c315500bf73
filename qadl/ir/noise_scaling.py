"""Noise scaled by a factor λ: the noise sweeps of ``evaluate { noise_scale [...] }`` and the
channel scaling of ``mitigate zne(scaling = channel)``.

"Scaled by λ" means, per channel of a ``NoiseModel``:

* depolarising probability ``p`` (1q and 2q): ``λ·p``; the channel
  ``(1 − λp)·ρ + λp·I/d`` is then linear in λ (it needs ``λ·p ≤ 1``);
* thermal relaxation: every rate is multiplied by λ, i.e. ``T1 → T1/λ`` and ``T2 → T2/λ``
  (equivalently, every gate lasts λ times longer); ``T2 ≤ 2·T1`` is kept;
* readout error ``(p01, p10)``: ``(λ·p01, λ·p10)`` (each must stay ≤ 1);
* shots are not noise and stay as they are.

λ = 0 is the noiseless device and λ = 1 the declared one.
"""

from __future__ import annotations

from dataclasses import replace

from qadl.ir.target import NoiseModel

__all__ = ["MAX_NOISE_SCALE", "scaled_noise", "scaling_problem"]

MAX_NOISE_SCALE = 100.0
"""Largest noise scale a sweep or channel-scaling ZNE accepts."""


def _rate(time: float | None, factor: float) -> float | None:
    """``T/λ`` (None, i.e. no relaxation, at λ = 0)."""
    return None if time is None or factor == 0 else time / factor


def scaled_noise(noise: NoiseModel, factor: float, *, readout: bool = True) -> NoiseModel:
    """``noise`` with every error strength multiplied by ``factor`` (module doc).

    ``readout=False`` keeps the readout error as declared: zero-noise extrapolation scales
    the gate noise only, as folding does.

    Raises:
        ValueError: When a scaled probability would exceed 1 (see ``scaling_problem``).
    """
    problem = scaling_problem(noise, factor, readout=readout)
    if problem is not None:
        raise ValueError(problem)
    p01, p10 = noise.readout_error
    return replace(
        noise,
        depolarizing_1q=factor * noise.depolarizing_1q,
        depolarizing_2q=factor * noise.depolarizing_2q,
        t1=_rate(noise.t1, factor),
        t2=_rate(noise.t2, factor),
        readout_error=(factor * p01, factor * p10) if readout else noise.readout_error,
    )


def scaling_problem(noise: NoiseModel, factor: float, *, readout: bool = True) -> str | None:
    """Why ``noise`` cannot be scaled by ``factor`` (None: it can)."""
    if factor < 0 or factor > MAX_NOISE_SCALE:
        return f"noise scale {factor:g} outside [0, {MAX_NOISE_SCALE:g}]"
    named = [
        ("depolarizing(1q)", noise.depolarizing_1q),
        ("depolarizing(2q)", noise.depolarizing_2q),
    ]
    if readout:
        named += [("readout_error(p01)", noise.readout_error[0]),
                  ("readout_error(p10)", noise.readout_error[1])]
    for what, p in named:
        if factor * p > 1.0 + 1e-12:
            return f"{what} = {p:g} scaled by {factor:g} is {factor * p:g}, above 1"
    return None
