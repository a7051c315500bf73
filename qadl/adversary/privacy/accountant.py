"""Rényi-DP accountant of the (sub)sampled Gaussian mechanism, and its (ε, δ).

One release of a sum of per-sample values clipped to norm C, plus Gaussian noise of
standard deviation σ·C, with each sample included with probability q, has Rényi DP of
integer order α (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled
Gaussian Mechanism", §3.3)

    ε_α = log A_α / (α − 1),   A_α = Σ_{k=0}^{α} C(α, k) (1 − q)^{α−k} q^k e^{(k² − k)/(2σ²)},

which is ``α/(2σ²)`` for q = 1, for every real α > 1. T releases compose by adding ε_α.
The conversion to (ε, δ) is that of Balle et al. 2020 (Proposition 12, also used by
Google's ``dp-accounting`` and Opacus):

    ε = min_α [ T·ε_α + log((α − 1)/α) − (log δ + log α)/(α − 1) ].

For q < 1 only integer orders are used (fractional ones need a series this module does
not implement), which can only overestimate ε slightly: within 1% of ``dp-accounting``
on the settings of the tests.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp

__all__ = ["ORDERS", "gaussian_epsilon", "rdp_sampled_gaussian"]

ORDERS = tuple(1.0 + x / 10.0 for x in range(1, 100)) + tuple(range(11, 257)) + (512, 1024)
"""Rényi orders tried (the fractional ones only where the closed form holds, q = 1)."""


def rdp_sampled_gaussian(q: float, sigma: float, alpha: float) -> float:
    """ε_α of one release with sampling rate ``q`` and noise multiplier ``sigma``."""
    if q == 1.0:
        return alpha / (2.0 * sigma**2)
    a = int(alpha)
    k = np.arange(a + 1)
    log_binom = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
    terms = log_binom + k * math.log(q) + (a - k) * math.log1p(-q) + (k * k - k) / (2 * sigma**2)
    return float(logsumexp(terms)) / (a - 1)


def gaussian_epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """The ε of ``steps`` releases at (ε, δ)-DP (see the module docstring)."""
    if not (0.0 < q <= 1.0 and sigma > 0.0 and steps >= 1 and 0.0 < delta < 1.0):
        raise ValueError("need 0 < q <= 1, sigma > 0, steps >= 1 and 0 < delta < 1")
    orders = [a for a in ORDERS if q == 1.0 or float(a).is_integer()]
    best = math.inf
    for alpha in orders:
        rdp = steps * rdp_sampled_gaussian(q, sigma, alpha)
        eps = (
            rdp + math.log((alpha - 1) / alpha) - (math.log(delta) + math.log(alpha)) / (alpha - 1)
        )
        best = min(best, eps)
    return max(best, 0.0)
