"""Class probabilities from a circuit's readout values, and their vector-Jacobian product."""

from __future__ import annotations

import numpy as np

from qadl.ir.circuit import Readout

__all__ = ["PROB_FLOOR", "class_probs", "class_probs_vjp"]

PROB_FLOOR = 1e-12
"""Smallest total marginal mass used when renormalising (avoids 0/0 on dead outcomes)."""


def _is_binary_expval(readout: Readout) -> bool:
    return readout.kind == "expval" and len(readout.observables) == 1 and readout.num_classes == 2


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _check_outputs(readout: Readout, outputs: np.ndarray) -> np.ndarray:
    outputs = np.asarray(outputs, dtype=float)
    if outputs.ndim != 2 or outputs.shape[1] != readout.num_outputs:
        raise ValueError(
            f"readout expects outputs of shape (B, {readout.num_outputs}), got {outputs.shape}"
        )
    softmax = readout.kind == "expval" and not _is_binary_expval(readout)
    if softmax and readout.num_outputs != readout.num_classes:
        raise ValueError(
            f"softmax readout needs one observable per class: {readout.num_outputs} "
            f"observables for {readout.num_classes} classes"
        )
    return outputs


def class_probs(readout: Readout, outputs: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """Turn simulator outputs ``(B, K)`` into class probabilities ``(B, C)``.

    - ``probs``: the marginals of outcomes ``0 … C-1`` renormalised to sum to one
      (outcomes ``≥ C`` of the measured qubits are discarded, as in post-selection).
    - ``expval`` with one observable and two classes: ``((1 + e) / 2, (1 - e) / 2)``,
      i.e. class 0 is the +1 eigenspace (for ``Z``: the probabilities of 0 and 1).
    - ``expval`` otherwise: ``softmax(scale · e)`` over one observable per class.

    Args:
        readout: the circuit's readout.
        outputs: readout values from ``Simulator.outputs``, shape ``(B, K)``.
        scale: inverse temperature of the softmax (softmax case only).

    Returns:
        Rows of non-negative numbers summing to one.
    """
    outputs = _check_outputs(readout, outputs)
    if readout.kind == "probs":
        total = np.maximum(outputs.sum(axis=1, keepdims=True), PROB_FLOOR)
        return outputs / total
    if _is_binary_expval(readout):
        e = outputs[:, 0]
        return np.column_stack([(1.0 + e) / 2.0, (1.0 - e) / 2.0])
    return _softmax(scale * outputs)


def class_probs_vjp(
    readout: Readout, outputs: np.ndarray, cotangent: np.ndarray, *, scale: float = 1.0
) -> np.ndarray:
    """Pull a cotangent on the class probabilities back to the simulator outputs.

    Args:
        readout: the circuit's readout.
        outputs: the outputs ``class_probs`` was evaluated at, ``(B, K)``.
        cotangent: ``dL/dprobs``, shape ``(B, C)``.
        scale: the softmax scale used in ``class_probs``.

    Returns:
        ``dL/doutputs``, shape ``(B, K)`` — the ``cotangent`` argument of ``Simulator.vjp``.
    """
    outputs = _check_outputs(readout, outputs)
    g = np.asarray(cotangent, dtype=float)
    if readout.kind == "probs":
        total = np.maximum(outputs.sum(axis=1, keepdims=True), PROB_FLOOR)
        probs = outputs / total
        # d(o_c / s)/d o_j = δ_cj / s − o_c / s²
        return (g - (g * probs).sum(axis=1, keepdims=True)) / total
    if _is_binary_expval(readout):
        return ((g[:, 0] - g[:, 1]) / 2.0)[:, None]
    probs = _softmax(scale * outputs)
    return scale * probs * (g - (g * probs).sum(axis=1, keepdims=True))
