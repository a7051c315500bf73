"""Readout-error mitigation: invert the confusion matrix, then project onto the simplex.

A readout error with per-bit confusion matrix ``C[observed, true]`` turns the true outcome
distribution ``p`` of ``m`` measured bits into ``(C ⊗ … ⊗ C)·p``. Mitigation applies the
inverse — per bit (``tensored``: ``m`` solves of a 2×2 system) or as one ``2^m × 2^m``
matrix (``full``, m ≤ ``MAX_FULL_BITS``; needed when the matrix is estimated from
calibration circuits, whose noise need not factorise) — and projects the result, a
quasi-distribution once shot noise enters, onto the probability simplex (the closest
distribution in Euclidean distance). Everything is linear except the projection, whose
Jacobian is piecewise constant: ``projection_vjp`` is exact wherever the support is stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qadl.backends.sim import channels as ch

__all__ = [
    "MAX_FULL_BITS",
    "ReadoutMitigator",
    "calibrated_confusion",
    "project_simplex",
    "projection_vjp",
]

MAX_FULL_BITS = 8
"""Largest number of measured bits the full (``2^m × 2^m``) inversion handles."""


def full_confusion(readout_error: tuple[float, float], num_bits: int) -> np.ndarray:
    """``C ⊗ … ⊗ C`` (little-endian outcomes) of a per-bit readout error."""
    # row k of the mixed identity is C·e_k, column k of C
    return ch.apply_confusion(np.eye(1 << num_bits), readout_error, num_bits).T


def calibrated_confusion(
    readout_error: tuple[float, float], num_bits: int, shots: int, rng: np.random.Generator
) -> np.ndarray:
    """The ``2^m × 2^m`` confusion matrix estimated from calibration circuits.

    One circuit per basis state ``|k⟩`` (``x`` on the bits of ``k``), read ``shots``
    times under the declared readout error: column ``k`` holds the observed frequencies.
    """
    exact = full_confusion(readout_error, num_bits)
    # column k of the exact matrix is the observed distribution of prepared state |k⟩
    return ch.sample_counts(exact.T, shots, rng).T


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``(B, K)`` onto ``{p ≥ 0, Σ p = 1}``.

    The sort-based algorithm of Held, Wolfe and Crowder (1974): ``p = max(v − τ, 0)``
    with the threshold ``τ`` that makes the row sum to one.
    """
    v = np.asarray(v, dtype=float)
    u = -np.sort(-v, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    k = np.arange(1, v.shape[1] + 1)
    support = u - css / k > 0
    rho = support.shape[1] - 1 - np.argmax(support[:, ::-1], axis=1)
    tau = css[np.arange(v.shape[0]), rho] / (rho + 1)
    return np.maximum(v - tau[:, None], 0.0)


def projection_vjp(projected: np.ndarray, cotangent: np.ndarray) -> np.ndarray:
    """``cotangentᵀ · ∂project_simplex`` at a point whose projection is ``projected``.

    On the support ``S`` (positive entries) the projection is ``v_S − τ(v_S)``, with
    Jacobian ``I − 11ᵀ/|S|``; off it the output is 0 whatever ``v`` does.
    """
    active = projected > 0
    count = np.maximum(active.sum(axis=1, keepdims=True), 1)
    mean = (cotangent * active).sum(axis=1, keepdims=True) / count
    return np.where(active, cotangent - mean, 0.0)


@dataclass(frozen=True)
class ReadoutMitigator:
    """Undo a per-bit readout error on distributions over ``num_bits`` measured bits.

    Args:
        readout_error: ``(p(1|0), p(0|1))`` of every measured bit.
        num_bits: ``m``.
        method: ``"tensored"`` (the inverse 2×2 matrix on every bit) or ``"full"`` (one
            ``2^m × 2^m`` inverse; ``m ≤ MAX_FULL_BITS``).
        confusion: The full matrix to invert (``calibrated_confusion``); None uses the
            declared error exactly. Only with ``method="full"``.
    """

    readout_error: tuple[float, float]
    num_bits: int
    method: str = "tensored"
    confusion: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.method not in ("tensored", "full"):
            raise ValueError(f"unknown readout mitigation {self.method!r} (tensored, full)")
        if self.method == "full" and self.num_bits > MAX_FULL_BITS:
            raise ValueError(
                f"full readout inversion handles at most {MAX_FULL_BITS} bits, got {self.num_bits}"
            )
        if self.confusion is not None and self.method != "full":
            raise ValueError("a calibrated confusion matrix is inverted with method='full'")
        p10, p01 = self.readout_error
        if abs(1.0 - p10 - p01) < 1e-12:
            raise ValueError(
                f"readout error {self.readout_error} is not invertible: p01 + p10 = 1 "
                "erases the measured bit"
            )

    def _inverse(self) -> np.ndarray:
        if self.method == "tensored":
            return np.linalg.inv(ch.confusion_matrix(self.readout_error))
        conf = self.confusion
        if conf is None:
            conf = full_confusion(self.readout_error, self.num_bits)
        return np.linalg.inv(conf)

    def unmix(self, observed: np.ndarray) -> np.ndarray:
        """``C⁻¹·p`` for each row of ``(B, 2^m)``: a quasi-distribution (may be negative)."""
        inv = self._inverse()
        if self.method == "tensored":
            return ch.apply_confusion_matrix(np.asarray(observed, float), inv, self.num_bits)
        return np.asarray(observed, float) @ inv.T

    def unmix_vjp(self, cotangent: np.ndarray) -> np.ndarray:
        """``C⁻ᵀ·g``: the cotangent of ``unmix``'s input (it is linear)."""
        inv = self._inverse()
        if self.method == "tensored":
            return ch.apply_confusion_matrix(np.asarray(cotangent, float), inv.T, self.num_bits)
        return np.asarray(cotangent, float) @ inv

    def __call__(self, observed: np.ndarray) -> np.ndarray:
        """The mitigated distributions: ``project_simplex(C⁻¹·p)``."""
        return project_simplex(self.unmix(observed))
