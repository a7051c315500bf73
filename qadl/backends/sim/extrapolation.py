"""Zero-noise extrapolation: the value at noise scale 0 of values measured at scales λ₁ … λₙ.

- ``richardson``: the polynomial of degree n − 1 through every point (Richardson, 1911);
  its value at 0 is ``Σ γᵢ yᵢ`` with ``γᵢ = Πⱼ≠ᵢ λⱼ / (λⱼ − λᵢ)``. For ``y(λ)`` smooth,
  the error is ``−y⁽ⁿ⁾(0)·Πλᵢ / n! + O(λⁿ⁺¹)``.
- ``linear``: the least-squares line's intercept; ``polynomial``: the least-squares
  polynomial of degree ``order`` (< n). Both, like Richardson, are fixed linear
  combinations ``w·y`` of the measured values.
- ``exponential``: ``y(λ) = y∞ + s·e^{z₀ + z₁λ}`` with a known asymptote ``y∞`` (the value
  of a fully depolarised state), fitted as a least-squares line through
  ``log|y − y∞|``: Mitiq's ``ExpFactory(asymptote=…)``. Exact for global depolarising noise.

Every method has an exact vector-Jacobian product, so gradients pass through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EXTRAPOLATIONS", "Extrapolation", "fit_weights"]

EXTRAPOLATIONS = ("richardson", "linear", "polynomial", "exponential")
_TINY = 1e-12
"""Smallest |y − y∞| whose logarithm the exponential fit takes."""


def fit_weights(scales: tuple[float, ...], order: int) -> np.ndarray:
    """``w`` with ``w·y`` the value at 0 of the least-squares polynomial of ``order``.

    Raises:
        ValueError: For ``order ≥ len(scales)`` or repeated scales.
    """
    lam = np.asarray(scales, dtype=float)
    if order >= lam.size:
        raise ValueError(f"a degree-{order} fit needs more than {order} scales, got {lam.size}")
    if np.unique(lam).size != lam.size:
        raise ValueError(f"scales must differ, got {scales}")
    vander = np.vander(lam, order + 1, increasing=True)
    # intercept row of the pseudo-inverse: the fit's coefficient of λ⁰
    return np.linalg.pinv(vander)[0]


@dataclass(frozen=True)
class Extrapolation:
    """One extrapolation method over fixed ``scales``.

    Args:
        method: One of ``EXTRAPOLATIONS``.
        scales: Noise scale factors λᵢ (distinct).
        order: Degree of ``polynomial`` (``richardson`` uses n − 1, ``linear`` and
            ``exponential`` 1).
    """

    method: str
    scales: tuple[float, ...]
    order: int | None = None

    def __post_init__(self) -> None:
        if self.method not in EXTRAPOLATIONS:
            raise ValueError(f"unknown extrapolation {self.method!r} ({', '.join(EXTRAPOLATIONS)})")
        if self.method == "polynomial" and self.order is None:
            raise ValueError("polynomial extrapolation needs an order")
        fit_weights(self.scales, self.degree)  # validates the scales against the degree

    @property
    def degree(self) -> int:
        """Degree of the fitted polynomial (of ``log|y − y∞|`` for ``exponential``)."""
        if self.method == "richardson":
            return len(self.scales) - 1
        if self.method == "polynomial":
            return int(self.order)  # type: ignore[arg-type]
        return 1

    @property
    def weights(self) -> np.ndarray:
        """``w`` (one per scale) of the linear fit."""
        return fit_weights(self.scales, self.degree)

    def __call__(self, values: np.ndarray, asymptote: np.ndarray | float = 0.0) -> np.ndarray:
        """Zero-noise values from ``values[i]`` measured at ``scales[i]`` (any trailing shape).

        ``asymptote`` (broadcast to one value's shape) is used by ``exponential`` only.
        """
        values = np.asarray(values, dtype=float)
        w = self.weights
        if self.method != "exponential":
            return np.tensordot(w, values, axes=1)
        sign, shifted = self._shift(values, asymptote)
        return asymptote + sign * np.exp(np.tensordot(w, np.log(shifted), axes=1))

    def vjp(
        self, values: np.ndarray, cotangent: np.ndarray, asymptote: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """Cotangents of ``values`` (shape of ``values``) from that of the result."""
        values = np.asarray(values, dtype=float)
        w = self.weights.reshape((-1,) + (1,) * (values.ndim - 1))
        if self.method != "exponential":
            return w * cotangent[None]
        sign, shifted = self._shift(values, asymptote)
        out = sign * np.exp(np.tensordot(self.weights, np.log(shifted), axes=1))
        # d out / d yᵢ = out·wᵢ·d log|yᵢ − y∞| / d yᵢ = out·wᵢ / (yᵢ − y∞) (0 where floored)
        raw = values - asymptote
        inverse = np.where(np.abs(raw) > _TINY, 1.0 / np.where(raw == 0, 1.0, raw), 0.0)
        return w * (cotangent * out)[None] * inverse

    @staticmethod
    def _shift(values: np.ndarray, asymptote) -> tuple[np.ndarray, np.ndarray]:
        """The common sign of ``y − y∞`` (that of the mean) and ``max(|y − y∞|, tiny)``."""
        shifted = values - asymptote
        sign = np.where(shifted.mean(axis=0) < 0, -1.0, 1.0)
        return sign, np.maximum(np.abs(shifted), _TINY)
