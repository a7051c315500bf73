"""Geometry of perturbations: L∞/L2 norms, ball projections, steepest-ascent steps, random points.

Every function works row-wise on a batch ``(B, F)`` and is pure NumPy, so the update rules
of all attacks can be unit-tested without a model.
"""

from __future__ import annotations

import numpy as np

from qadl.adversary.config import Norm

__all__ = [
    "clip_to_range",
    "l1_normalize",
    "perturbation_norms",
    "project",
    "random_in_ball",
    "random_on_sphere",
    "renormalize_rows",
    "signed",
    "steepest_step",
]

_TINY = 1e-12
SIGN_THRESHOLD = 1e-12
"""Gradient entries with ``|g| <= SIGN_THRESHOLD · max|g|`` of their row count as zero."""


def _row_norm(v: np.ndarray, norm: Norm) -> np.ndarray:
    if norm == "linf":
        return np.max(np.abs(v), axis=1, initial=0.0)
    return np.linalg.norm(v, axis=1)


def perturbation_norms(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row L∞ and L2 norms of a perturbation batch ``(B, F)``.

    Returns:
        ``(linf, l2)``, each of shape ``(B,)``.
    """
    delta = np.asarray(delta, dtype=float)
    return _row_norm(delta, "linf"), _row_norm(delta, "l2")


def project(delta: np.ndarray, norm: Norm, epsilon: float) -> np.ndarray:
    """Euclidean projection of each row onto the ``norm`` ball of radius ``epsilon``.

    L∞: clip each entry to ``[-ε, ε]``; L2: rescale rows longer than ε to length ε.
    """
    if norm == "linf":
        return np.clip(delta, -epsilon, epsilon)
    lengths = _row_norm(delta, "l2")
    scale = np.minimum(1.0, epsilon / np.maximum(lengths, _TINY))
    return delta * scale[:, None]


def signed(grad: np.ndarray) -> np.ndarray:
    """``sign(g)`` row-wise, with 0 for entries at most ``SIGN_THRESHOLD`` times the row's max |g|.

    A feature outside the readout's light cone has a gradient that is zero in exact
    arithmetic but ~1e-17 in floating point; its sign is rounding noise, and a signed step
    would move it by ±α for nothing (inflating the reported L2). Such entries are treated
    as the exact zeros they are.
    """
    grad = np.asarray(grad, dtype=float)
    scale = np.max(np.abs(grad), axis=-1, keepdims=True, initial=0.0)
    return np.where(np.abs(grad) > SIGN_THRESHOLD * scale, np.sign(grad), 0.0)


def steepest_step(grad: np.ndarray, norm: Norm, alpha: float) -> np.ndarray:
    """The step of size ``alpha`` in ``norm`` that increases a linear function most.

    L∞: ``α·sign(g)`` (FGSM), entries below ``SIGN_THRESHOLD`` of the row's largest
    counting as zero (see ``signed``); L2: ``α·g/‖g‖₂`` (rows with zero gradient stay put).
    """
    if norm == "linf":
        return alpha * signed(grad)
    lengths = _row_norm(grad, "l2")
    return alpha * grad / np.maximum(lengths, _TINY)[:, None]


def l1_normalize(grad: np.ndarray) -> np.ndarray:
    """Rows divided by their mean absolute value (MIM's gradient normalisation)."""
    scale = np.mean(np.abs(grad), axis=1)
    return grad / np.maximum(scale, _TINY)[:, None]


def random_in_ball(
    rng: np.random.Generator, shape: tuple[int, int], norm: Norm, epsilon: float
) -> np.ndarray:
    """Uniform random points inside the ``norm`` ball of radius ``epsilon`` (PGD's random start)."""
    if norm == "linf":
        return rng.uniform(-epsilon, epsilon, size=shape)
    direction = random_on_sphere(rng, shape, "l2", 1.0)
    radius = epsilon * rng.random(shape[0]) ** (1.0 / max(shape[1], 1))
    return direction * radius[:, None]


def random_on_sphere(
    rng: np.random.Generator, shape: tuple[int, int], norm: Norm, epsilon: float
) -> np.ndarray:
    """Random points of norm exactly ``epsilon``: random signs (L∞) or random directions (L2).

    This is the random-noise baseline a gradient attack of the same budget must beat.
    """
    if norm == "linf":
        return epsilon * rng.choice((-1.0, 1.0), size=shape)
    g = rng.normal(size=shape)
    return epsilon * g / np.maximum(_row_norm(g, "l2"), _TINY)[:, None]


def clip_to_range(x: np.ndarray, feature_range: tuple[float, float] | None) -> np.ndarray:
    """Clip features to the valid range ``(lo, hi)``; ``None`` leaves them unchanged."""
    if feature_range is None:
        return x
    lo, hi = feature_range
    return np.clip(x, lo, hi)


def renormalize_rows(x: np.ndarray) -> np.ndarray:
    """Rescale each row to unit L2 norm (all-zero rows stay zero)."""
    lengths = _row_norm(x, "l2")
    return x / np.maximum(lengths, _TINY)[:, None]
