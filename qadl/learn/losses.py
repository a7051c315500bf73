"""Per-sample classification losses on class probabilities and their gradients."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["EPS", "HINGE_MARGIN", "LOSSES", "cross_entropy", "hinge", "loss_and_grad", "mse"]

EPS = 1e-12
"""Probabilities are floored at this value inside the logarithm of the cross-entropy."""

HINGE_MARGIN = 0.5
"""Required gap between the true class's probability and the best other class's."""

LossFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((y.size, num_classes))
    out[np.arange(y.size), y] = 1.0
    return out


def cross_entropy(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``-log p_y`` per sample (Ren et al.'s loss) and its gradient w.r.t. ``probs``.

    Args:
        probs: class probabilities ``(B, C)``.
        y: integer labels ``(B,)``.

    Returns:
        ``(loss (B,), dloss/dprobs (B, C))``.
    """
    rows = np.arange(y.size)
    p_true = np.maximum(probs[rows, y], EPS)
    grad = np.zeros_like(probs)
    # The floor makes the loss flat below EPS, so the gradient is zero there too.
    grad[rows, y] = np.where(probs[rows, y] > EPS, -1.0 / p_true, 0.0)
    return -np.log(p_true), grad


def mse(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared distance ``Σ_c (p_c − onehot(y)_c)²`` per sample and its gradient."""
    diff = probs - _one_hot(y, probs.shape[1])
    return (diff**2).sum(axis=1), 2.0 * diff


def hinge(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multi-class margin loss ``max(0, m − (p_y − max_{c≠y} p_c))`` with ``m = HINGE_MARGIN``.

    Ties for the best other class send the gradient to the lowest class index.
    """
    rows = np.arange(y.size)
    others = probs.copy()
    others[rows, y] = -np.inf
    rival = np.argmax(others, axis=1)
    slack = HINGE_MARGIN - (probs[rows, y] - probs[rows, rival])
    active = (slack > 0.0).astype(float)
    grad = np.zeros_like(probs)
    grad[rows, y] = -active
    grad[rows, rival] += active
    return np.maximum(slack, 0.0), grad


LOSSES: dict[str, LossFn] = {"cross_entropy": cross_entropy, "mse": mse, "hinge": hinge}
"""Loss name (as written in a ``train`` block) -> function."""


def loss_and_grad(
    name: str | LossFn, probs: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample loss and ``dloss/dprobs`` for the loss called ``name``.

    Args:
        name: one of ``LOSSES``, or a loss function itself (e.g. ``qadl.learn.margin.MarginLoss``).
        probs: class probabilities ``(B, C)``.
        y: integer labels ``(B,)`` in ``0 … C-1``.

    Returns:
        ``(loss (B,), gradient (B, C))``; the gradient is of each sample's own loss.

    Raises:
        ValueError: unknown loss, or shapes/labels that do not fit.
    """
    if not callable(name) and name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    if probs.ndim != 2 or probs.shape[0] != y.size:
        raise ValueError(f"probs {probs.shape} and labels {y.shape} do not match")
    if y.size and (y.min() < 0 or y.max() >= probs.shape[1]):
        raise ValueError(f"labels must lie in 0..{probs.shape[1] - 1}")
    return (name if callable(name) else LOSSES[name])(probs, y)
