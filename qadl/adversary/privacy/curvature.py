"""Gradient and Hessian of a sample's loss w.r.t. the simulator's outputs, in closed form.

``h(o) = loss(class_probs(o), y)`` composes a readout (marginal renormalisation, the
binary ``expval`` map, or a softmax) with a loss (cross-entropy, squared error, hinge).
Its Hessian is ``J_pᵀ ℓ''(p) J_p + Σ_c ℓ'_c ∇²p_c``; every piece is written out below, so
gradient inversion differentiates the training loss twice without finite differences.
"""

from __future__ import annotations

import numpy as np

from qadl.ir.circuit import Readout
from qadl.learn.losses import EPS, loss_and_grad
from qadl.learn.readout import PROB_FLOOR, class_probs

__all__ = ["loss_curvature"]


def loss_curvature(
    readout: Readout, outputs: np.ndarray, y: int, loss: str, *, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(dh/do (K,), d²h/do² (K, K))`` of one sample with outputs ``o`` and label ``y``."""
    o = np.asarray(outputs, dtype=np.float64)
    probs = class_probs(readout, o[None, :], scale=scale)[0]
    _, grad = loss_and_grad(loss, probs[None, :], np.asarray([y]))
    dl = grad[0]
    d2l = _loss_hessian(loss, probs, y)
    jac, second = _readout_derivatives(readout, o, probs, scale)
    hess = jac.T @ d2l @ jac + np.einsum("c,cjk->jk", dl, second)
    return dl @ jac, hess


def _loss_hessian(loss: str, probs: np.ndarray, y: int) -> np.ndarray:
    """``ℓ''(p)`` (C, C); the hinge is piecewise linear (zero almost everywhere)."""
    c = probs.shape[0]
    if loss == "cross_entropy":
        out = np.zeros((c, c))
        if probs[y] > EPS:
            out[y, y] = 1.0 / probs[y] ** 2
        return out
    if loss == "mse":
        return 2.0 * np.eye(c)
    return np.zeros((c, c))


def _readout_derivatives(
    readout: Readout, o: np.ndarray, probs: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """``J_p`` (C, K) and ``∇²p`` (C, K, K) of the readout map at ``o``."""
    c, k = probs.shape[0], o.shape[0]
    if readout.kind == "probs":
        s = max(float(o.sum()), PROB_FLOOR)
        jac = np.eye(c, k) / s - np.outer(o[:c], np.ones(k)) / s**2
        eye = np.eye(c, k)
        # ∂²(o_c/s)/∂o_j∂o_k = −δ_cj/s² − δ_ck/s² + 2·o_c/s³
        second = -eye[:, :, None] / s**2 - eye[:, None, :] / s**2 + 2.0 * o[:c, None, None] / s**3
        return jac, second
    if readout.num_classes == 2 and k == 1:  # binary expval: ((1 + e)/2, (1 − e)/2)
        return np.array([[0.5], [-0.5]]), np.zeros((2, 1, 1))
    p = probs
    eye = np.eye(c)
    dp = eye - p[None, :]  # dp[c, j] = δ_cj − p_j
    jac = scale * p[:, None] * dp
    # ∂/∂o_k [s·p_c(δ_cj − p_j)] = s²[p_c(δ_ck − p_k)(δ_cj − p_j) − p_c p_j(δ_jk − p_k)]
    second = scale**2 * (
        p[:, None, None] * dp[:, None, :] * dp[:, :, None]
        - p[:, None, None] * p[None, :, None] * dp[None, :, :]
    )
    return jac, second
