"""Finite-shot readout: sampled class probabilities and unbiased gradients of their expected loss.

A device does not return the readout values ``o`` of ``Simulator.outputs``; it returns
counts of measurement outcomes. With ``N`` shots:

- ``probs`` readouts: each shot measures the readout qubits once, so the counts of the
  ``2^m`` basis outcomes are multinomial. Outcomes ``≥ C`` are pooled into one "rest"
  cell (probability ``1 − Σ_c o_c``) and discarded as in the exact readout; the
  estimated outputs are ``n_c / N``, renormalised over the classes by
  ``qadl.learn.readout.class_probs``. A sample whose ``N`` shots all land in the rest
  cell gets uniform class probabilities (there is no evidence for any class).
- ``expval`` readouts: each observable is measured on its own ``N`` shots, each giving
  ``±1`` with ``P(+1) = (1 + o_k) / 2``; the estimate is ``2 n_k / N − 1``, mapped to
  classes exactly as the exact expectation value would be.

Training with shots minimises the **shot-noise objective**
``J(θ) = E_n[ L(p̂(n)) ]``, the expected loss of the class probabilities estimated from
``N`` shots (the loss a device run reports, on average). ``J`` is a polynomial of degree
``N`` in the outputs ``o`` (a Bernstein polynomial), and its derivative has an exact
finite-difference form: for multinomial counts ``n ~ Mult(N, o)``,

    ∂J/∂o_j = N · E_{m ~ Mult(N−1, o)} [ F(m + e_j) − F(m + e_rest) ],

with ``F(n) = L(p̂(n))`` (the rest cell is the constraint ``o_rest = 1 − Σ o_c``). For
independent binomials per observable, ``∂J/∂o_k = (N/2) · E[F(m + e_k) − F(m)]`` where
``m_k ~ Bin(N−1, q_k)`` and every other count ``~ Bin(N, q_j)``. ``shot_loss_and_cotangent``
draws one such ``m`` per sample and returns ``N · (F(m + e_j) − F(m + e_rest))``, an
**unbiased** estimate of ``∂J/∂o``; the simulator then pulls it back through the
exact Jacobian ``∂o/∂θ`` (adjoint or parameter shift). The product is unbiased for
``∇J`` because ``∂o/∂θ`` is exact here (on a device, a parameter-shift estimate of
``∂o/∂θ`` from independent shots would keep it unbiased). The reported loss
``F(m + one more shot)`` uses ``N`` shots and is unbiased for ``J``.

Every draw comes from the caller's ``numpy.random.Generator``, so a seeded run is
reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qadl.ir.circuit import Readout
from qadl.learn.losses import loss_and_grad
from qadl.learn.readout import class_probs

__all__ = [
    "MAX_SHOTS",
    "sample_counts",
    "sample_outputs",
    "sample_readout",
    "shot_loss_and_cotangent",
]

MAX_SHOTS = 10**9
"""Largest shot count accepted (counts stay exact in float64 and int64)."""


def _check_shots(shots: int) -> int:
    if isinstance(shots, bool) or int(shots) != shots or not 1 <= shots <= MAX_SHOTS:
        raise ValueError(f"shots must be an integer in 1..{MAX_SHOTS}, got {shots!r}")
    return int(shots)


def _cells(readout: Readout, outputs: np.ndarray) -> np.ndarray:
    """Per-sample outcome probabilities: ``(B, C + 1)`` for probs, ``(B, K)`` P(+1) for expval."""
    o = np.asarray(outputs, dtype=float)
    if o.ndim != 2 or o.shape[1] != readout.num_outputs:
        raise ValueError(
            f"readout expects outputs of shape (B, {readout.num_outputs}), got {o.shape}"
        )
    if readout.kind == "probs":
        p = np.clip(o, 0.0, 1.0)
        rest = np.clip(1.0 - p.sum(axis=1, keepdims=True), 0.0, 1.0)
        cells = np.concatenate([p, rest], axis=1)
        # Rounding can leave the row sum at 1 ± 1e-16; the multinomial wants exactly <= 1.
        return cells / cells.sum(axis=1, keepdims=True)
    return np.clip((1.0 + o) / 2.0, 0.0, 1.0)


def sample_counts(
    readout: Readout, outputs: np.ndarray, shots: int, rng: np.random.Generator
) -> np.ndarray:
    """Outcome counts of ``shots`` measurements per sample.

    Returns:
        ``probs``: ``(B, C + 1)`` multinomial counts (the last cell pools outcomes ``≥ C``).
        ``expval``: ``(B, K)`` counts of the ``+1`` outcome of each observable.
    """
    shots = _check_shots(shots)
    cells = _cells(readout, outputs)
    if readout.kind == "probs":
        return rng.multinomial(shots, cells).astype(np.int64)
    return rng.binomial(shots, cells).astype(np.int64)


def _outputs_from_counts(readout: Readout, counts: np.ndarray, shots: int) -> np.ndarray:
    """Estimated readout values from counts (``probs``: the class cells only)."""
    if readout.kind == "probs":
        return counts[..., : readout.num_classes] / shots
    return 2.0 * counts / shots - 1.0


def _probs_from_counts(
    readout: Readout, counts: np.ndarray, shots: int, scale: float
) -> np.ndarray:
    """Class probabilities of count vectors ``(..., cells)``, mapped as the exact readout."""
    lead = counts.shape[:-1]
    est = _outputs_from_counts(readout, counts.reshape(-1, counts.shape[-1]), shots)
    probs = class_probs(readout, est, scale=scale)
    if readout.kind == "probs":
        dead = est.sum(axis=1) == 0.0
        probs[dead] = 1.0 / readout.num_classes
    return probs.reshape(*lead, readout.num_classes)


def sample_outputs(
    readout: Readout, outputs: np.ndarray, shots: int, rng: np.random.Generator
) -> np.ndarray:
    """Finite-shot estimates of the simulator's readout values ``(B, K)`` (see module doc)."""
    return _outputs_from_counts(readout, sample_counts(readout, outputs, shots, rng), shots)


def sample_readout(
    readout: Readout,
    outputs: np.ndarray,
    shots: int,
    rng: np.random.Generator,
    *,
    scale: float = 1.0,
) -> np.ndarray:
    """Class probabilities ``(B, C)`` estimated from ``shots`` measurements per sample.

    Args:
        readout: the circuit's readout.
        outputs: exact readout values from ``Simulator.outputs``, shape ``(B, K)``.
        shots: measurements per sample (per observable for ``expval``), ``>= 1``.
        rng: the source of every draw (seed it for reproducible results).
        scale: softmax inverse temperature, as in ``class_probs``.

    Returns:
        Rows summing to one; their expectation is *not* the exact probabilities in
        general (renormalisation and softmax are non-linear), but ``N → ∞`` converges to them.
    """
    counts = sample_counts(readout, outputs, shots, rng)
    return _probs_from_counts(readout, counts, shots, scale)


def shot_loss_and_cotangent(
    readout: Readout,
    outputs: np.ndarray,
    y: np.ndarray,
    shots: int,
    rng: np.random.Generator,
    *,
    loss: str = "cross_entropy",
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sampled per-sample losses and an unbiased estimate of ``∂J/∂outputs``.

    ``J`` is the expected loss of the ``shots``-shot class estimate (module doc).

    Args:
        readout: the circuit's readout.
        outputs: exact readout values ``(B, K)`` at the current θ.
        y: labels ``(B,)``.
        shots: N, ``>= 1``.
        rng: source of the draws.
        loss: a name in ``qadl.learn.losses.LOSSES``.
        scale: softmax inverse temperature.

    Returns:
        ``(loss (B,), cotangent (B, K))``: each loss is ``L(p̂)`` from N shots (unbiased
        for that sample's ``J``), and ``cotangent[b]`` is unbiased for ``∂J_b/∂o_b``.
        Divide the cotangent by ``B`` for the gradient of the batch mean.
    """
    shots = _check_shots(shots)
    y = np.asarray(y, dtype=np.int64).reshape(-1)
    cells = _cells(readout, outputs)
    width = cells.shape[1]

    def f(counts: np.ndarray) -> np.ndarray:  # (B, W) -> (B,)
        return loss_and_grad(loss, _probs_from_counts(readout, counts, shots, scale), y)[0]

    if readout.kind == "probs":
        # N − 1 shots for the derivative, plus one more for the N-shot loss.
        base = rng.multinomial(shots - 1, cells).astype(np.int64)
        last = rng.multinomial(1, cells).astype(np.int64)
        f_bumped = _map_rows(f, [_bump(base, j) for j in range(width)])  # (B, W)
        # d o_rest = −Σ d o_c: the rest cell is the reference of every difference.
        cot = shots * (f_bumped[:, :-1] - f_bumped[:, -1:])
    else:
        base = rng.binomial(shots - 1, cells).astype(np.int64)
        last = rng.binomial(1, cells).astype(np.int64)
        # q_k = (1 + o_k)/2, so ∂/∂o_k = ½ ∂/∂q_k; the other observables keep all N shots.
        full = base + last
        lower = [_replace(full, base, k) for k in range(width)]
        upper = [_bump(m, k) for k, m in enumerate(lower)]
        cot = 0.5 * shots * (_map_rows(f, upper) - _map_rows(f, lower))
    return f(base + last), cot


def _bump(counts: np.ndarray, j: int) -> np.ndarray:
    out = counts.copy()
    out[:, j] += 1
    return out


def _replace(full: np.ndarray, base: np.ndarray, j: int) -> np.ndarray:
    """``full`` with column ``j`` taken from ``base`` (that observable has N − 1 shots)."""
    out = full.copy()
    out[:, j] = base[:, j]
    return out


def _map_rows(f: Callable[[np.ndarray], np.ndarray], variants: list[np.ndarray]) -> np.ndarray:
    """``f`` (``(B, W) -> (B,)``) of each count array in ``variants``, as columns ``(B, J)``."""
    return np.stack([f(v) for v in variants], axis=1)
