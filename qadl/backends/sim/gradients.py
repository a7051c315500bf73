"""The ``Gradients`` record and the chain rule from gate angles back to θ, x and δ."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Gradients", "outputs_then_vjp"]


@dataclass(frozen=True)
class Gradients:
    """Outputs of a batch and the vector-Jacobian product of a cotangent through them.

    With ``L = Σ_{b,k} cotangent[b, k] · outputs[b, k]``:
    """

    outputs: np.ndarray
    """(B, K) readout values."""
    theta: np.ndarray
    """(P,) dL/dθ, summed over the batch."""
    x: np.ndarray | None = None
    """(B, F) dL/dx per sample; None when the circuit reads no feature."""
    delta: np.ndarray | None = None
    """(B, D) dL/dδ per sample; None when the circuit reads no perturbation."""
    state: np.ndarray | None = None
    """(B, 2**n) dL/dRe(ψ₀) + 1j·dL/dIm(ψ₀) of the input state; None without state input."""
    theta_per_sample: np.ndarray | None = None
    """(B, P) each sample's part of ``theta`` where the batch ran one sample per thread
    (DP-SGD clips these); None where the simulator summed over the batch directly."""


def outputs_then_vjp(
    sim: Any, theta, x, delta, state, seed: Callable, method: str
) -> tuple[Gradients, Any]:
    """``vjp_after`` for a simulator that cannot keep its forward pass: ``outputs``, then
    ``vjp`` with ``seed(outputs) = (cotangent, aux)``; returns ``(Gradients, aux)``."""
    cot, aux = seed(sim.outputs(theta, x=x, delta=delta, state=state))
    grads = sim.vjp(theta, x=x, delta=delta, state=state, cotangent=cot, method=method)
    return grads, aux
