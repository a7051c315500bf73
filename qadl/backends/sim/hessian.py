"""Exact second derivatives: Hessian-vector products w.r.t. gate angles, and the tape's
first and mixed second derivatives w.r.t. θ and x.

Why the angle Hessian is exact (no step size, no truncation error): every tape entry is
the angle of exactly one gate (``_TapeBuilder`` never shares entries), and the gate's
generator has eigenvalues ±1/2 or {0, 1} (two-term rule) or {0, ±1/2} (four-term rule,
controlled rotations). With a fixed cotangent ``c``, ``F(a) = Σ_k c_k f_k(a)`` is therefore,
as a function of one angle ``a_m`` (the others held), a trigonometric polynomial with
those frequencies, and so is every component of its adjoint gradient ``∇F(a)``. The
parameter-shift rule is exact for such functions, so shifting ``a_m`` and differencing
adjoint gradients gives the column ``∂∇F/∂a_m`` of the Hessian exactly (up to rounding).
Amplitudes of ``amplitude`` ops have no shift rule and are refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from qadl.backends.sim.adjoint import adjoint_tape_grads
from qadl.backends.sim.program import SHIFT_FOUR, SHIFT_NONE, SHIFT_TWO, AngleTape, SimProgram

__all__ = [
    "TapeDerivatives",
    "angle_hessian_rows",
    "output_jacobian",
    "serial",
    "tape_derivatives",
]

_H = 0.5 * math.pi
_C_PLUS = (math.sqrt(2.0) + 1.0) / (4.0 * math.sqrt(2.0))
_C_MINUS = (math.sqrt(2.0) - 1.0) / (4.0 * math.sqrt(2.0))
_RULES = {
    SHIFT_TWO: ((_H, 0.5), (-_H, -0.5)),
    SHIFT_FOUR: ((_H, _C_PLUS), (-_H, -_C_PLUS), (3 * _H, -_C_MINUS), (-3 * _H, _C_MINUS)),
}
"""Shift rule -> ``(shift, weight)`` pairs: ``∂g/∂a ≈ Σ weight · g(a + shift)``, exactly."""


@contextmanager
def serial() -> Iterator[None]:
    """Run the kernels on one thread inside the block (restoring the count after).

    Thousands of calls on batches of a few states (an optimizer loop) spend far more in
    waking threads than in simulation: on a busy machine 0.1 s against 0.1 ms per call.
    """
    import numba  # lazy: numba is off the import path

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def angle_hessian_rows(
    program: SimProgram,
    angles: np.ndarray,
    cotangent: np.ndarray,
    rows: np.ndarray,
    w: np.ndarray,
    state: np.ndarray | None = None,
) -> np.ndarray:
    """``(H w)[rows]`` for one sample, ``H = ∂²(Σ_k cotangent_k · output_k)/∂a²``.

    Costs one batched adjoint call of 2 (or 4) shifted copies per requested row.

    Args:
        program: the lowered circuit (with a readout).
        angles: (A,) tape values of the sample.
        cotangent: (K,) fixed weights of the outputs.
        rows: (M,) tape entries whose Hessian row is wanted.
        w: (A,) the vector H is applied to.
        state: (2**n,) input state, or None for |0…0⟩.

    Raises:
        ValueError: a requested entry has no shift rule (an ``amplitude`` op's amplitude).
    """
    rows = np.asarray(rows, dtype=np.int64)
    rules = program.tape.shift_rule[rows]
    if np.any(rules == SHIFT_NONE):
        raise ValueError("amplitudes of `amplitude` ops have no exact second derivative here")
    shifts = [
        (i, m, s, c)
        for i, (m, r) in enumerate(zip(rows, rules, strict=True))
        for s, c in _RULES[int(r)]
    ]
    if not shifts:
        return np.zeros(0)
    owner, entry, step, weight = (np.asarray(col) for col in zip(*shifts, strict=True))
    batch = np.repeat(np.asarray(angles, dtype=np.float64)[None, :], len(shifts), axis=0)
    batch[np.arange(len(shifts)), entry] += step
    init = None if state is None else np.repeat(np.asarray(state)[None, :], len(shifts), axis=0)
    cot = np.repeat(np.asarray(cotangent, dtype=np.float64)[None, :], len(shifts), axis=0)
    _, grads, _ = adjoint_tape_grads(program, batch, init, cot)
    # H is symmetric: row m of H·w is column m (a shifted gradient difference) dotted with w.
    return np.bincount(owner, weights=weight * (grads @ w), minlength=len(rows))


def output_jacobian(
    program: SimProgram, angles: np.ndarray, state: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Outputs (K,) and their Jacobian (K, A) w.r.t. the tape: K adjoint sweeps in one call."""
    k = program.readout.num_outputs
    batch = np.repeat(np.asarray(angles, dtype=np.float64)[None, :], k, axis=0)
    init = None if state is None else np.repeat(np.asarray(state)[None, :], k, axis=0)
    out, jac, _ = adjoint_tape_grads(program, batch, init, np.eye(k))
    return out[0], jac


@dataclass(frozen=True)
class TapeDerivatives:
    """First derivatives of the tape w.r.t. θ and x, and its mixed ∂²a/∂θ∂x, at one point.

    The mixed second derivatives are kept as coordinate lists, since they are non-zero
    only for products such as ``w·x`` of re-uploading encodings.
    """

    jac_theta: np.ndarray
    """(A, P) ∂a/∂θ."""
    jac_x: np.ndarray
    """(A, F) ∂a/∂x."""
    mixed: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    """``(entry, theta_index, x_index, value)`` of every non-zero ∂²a/∂θ∂x."""

    def mixed_contract(self, g_angles: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``Σ_{a,k} g_angles[a] · u[k] · ∂²a/∂θ_k∂x`` (F,)."""
        entry, k, i, value = self.mixed
        out = np.zeros(self.jac_x.shape[1])
        if len(entry):
            np.add.at(out, i, g_angles[entry] * u[k] * value)
        return out


def tape_derivatives(
    tape: AngleTape, theta: np.ndarray, x: np.ndarray, num_features: int
) -> TapeDerivatives:
    """Derivatives of every tape entry at ``(θ, x)`` (δ = 0), from its polynomial terms.

    All terms at once on ``AngleTape.padded_terms``: a symbol's derivative in a term is the
    coefficient times the product of the term's other symbols, multiplied in their order
    (padding multiplies by 1.0, exactly), and sums accumulate in term order, so each value
    is the term-by-term walk's to the bit.
    """
    entry, kind, index = tape.padded_terms
    terms, width = kind.shape
    vals = np.ones((terms, width))
    for k, values in enumerate((theta, x)):
        at = kind == k
        vals[at] = np.asarray(values, dtype=np.float64)[index[at]]
    vals[kind == 2] = 0.0  # δ = 0
    coef = tape.term_coef
    jac = (np.zeros((tape.num_angles, len(theta))), np.zeros((tape.num_angles, num_features)))
    first = np.stack([coef * _product_without(vals, (p,)) for p in range(width)], axis=1)
    rows = np.broadcast_to(entry[:, None], kind.shape)
    for k in (0, 1):
        at = kind == k
        np.add.at(jac[k], (rows[at], index[at]), first[at])
    pairs = [(p, q) for p in range(width) for q in range(width) if p != q]
    if pairs:
        mixed_at = np.stack([(kind[:, p] == 0) & (kind[:, q] == 1) for p, q in pairs], axis=1)
        value = np.stack([coef * _product_without(vals, pq) for pq in pairs], axis=1)
        p_of = np.array([p for p, _ in pairs])
        q_of = np.array([q for _, q in pairs])
        t_of = np.broadcast_to(np.arange(terms)[:, None], mixed_at.shape)[mixed_at]
        pair = np.broadcast_to(np.arange(len(pairs))[None, :], mixed_at.shape)[mixed_at]
        mixed = (entry[t_of], index[t_of, p_of[pair]], index[t_of, q_of[pair]],
                 value[mixed_at])
    else:
        mixed = (np.zeros(0, np.int64),) * 3 + (np.zeros(0),)
    return TapeDerivatives(jac[0], jac[1], mixed)


def _product_without(vals: np.ndarray, skip: tuple[int, ...]) -> np.ndarray:
    """Per row of ``vals``: the product of its columns but ``skip``, in column order."""
    out = np.ones(vals.shape[0])
    for n in range(vals.shape[1]):
        if n not in skip:
            out = out * vals[:, n]
    return out
