"""Readouts of density matrices under readout error, and their cotangent operators.

``probs``: the diagonal of ρ marginalised onto the readout qubits, then mixed by the
per-bit confusion matrix. ``expval``: ``Tr(P ρ)`` for Pauli products; a readout error
on each measured ±1 outcome turns ``⟨Π s_q⟩`` into ``Σ_{S ⊆ support} a^{|S^c|} b^{|S|} ⟨P_S⟩``
(``channels.readout_expval_factors``), since the flips are independent given the true bits.
The outputs are linear in ρ, so ``∂L/∂ρ`` (the operator ``Λ`` with ``L = Re⟨Λ, ρ⟩``) does not
depend on ρ: it is a diagonal for ``probs`` and a weighted sum of Pauli products for ``expval``.
"""

from __future__ import annotations

import itertools

import numpy as np

from qadl.backends.sim import channels as ch
from qadl.backends.sim import pauli_transfer as pt
from qadl.ir.circuit import Readout

__all__ = [
    "cotangent_operator",
    "density_outputs",
    "marginal_probs",
    "pauli_action",
    "pauli_cotangent",
    "pauli_marginal",
    "pauli_outputs",
    "pure_cotangent",
    "pure_outputs",
    "readout_terms",
]


def _outcomes(num_qubits: int, qubits: tuple[int, ...]) -> np.ndarray:
    """Outcome index (little-endian over ``qubits``) of every basis state."""
    idx = np.arange(1 << num_qubits)
    out = np.zeros_like(idx)
    for bit, q in enumerate(qubits):
        out |= ((idx >> q) & 1) << bit
    return out


def pauli_action(
    obs: tuple[tuple[str, int], ...], num_qubits: int
) -> tuple[np.ndarray, np.ndarray]:
    """``P|k⟩ = phase[k]·|k ^ flip⟩``: returns ``(flip_index, phase)`` arrays over ``k``."""
    idx = np.arange(1 << num_qubits)
    phase = np.ones(idx.size, dtype=complex)
    mask = 0
    for pauli, q in obs:
        bit = (idx >> q) & 1
        if pauli in ("X", "Y"):
            mask |= 1 << q
        if pauli == "Y":
            phase = phase * 1j * (1 - 2 * bit)
        elif pauli == "Z":
            phase = phase * (1 - 2 * bit)
    return idx ^ mask, phase


def readout_terms(
    readout: Readout, readout_error: tuple[float, float]
) -> list[list[tuple[float, tuple]]]:
    """Per observable: ``(weight, sub-product)`` terms of its observed expectation value."""
    a, b = ch.readout_expval_factors(readout_error)
    out = []
    for obs in readout.observables:
        if readout_error == (0.0, 0.0):
            out.append([(1.0, tuple(obs))])
            continue
        terms = []
        for keep in itertools.product((False, True), repeat=len(obs)):
            sub = tuple(o for o, k in zip(obs, keep, strict=True) if k)
            weight = float(np.prod([b if k else a for k in keep]))
            if weight != 0.0:
                terms.append((weight, sub))
        out.append(terms)
    return out


def _trace_pauli(rho: np.ndarray, obs: tuple, num_qubits: int) -> np.ndarray:
    """``Tr(P ρ_b)`` for a batch ``(B, N, N)``.

    ``P[flip[k], k] = phase[k]`` is the only nonzero entry of column ``k``, so
    ``Tr(Pρ) = Σ_{i,k} P[i,k]·ρ[k,i] = Σ_k phase[k]·ρ[k, flip[k]]``.
    """
    if not obs:
        return np.einsum("bii->b", rho).real
    flip, phase = pauli_action(obs, num_qubits)
    k = np.arange(flip.size)
    return (rho[:, k, flip] * phase).sum(axis=1).real


def density_outputs(
    rho: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """Exact (infinite-shot) readout values of a batch of density matrices ``(B, N, N)``.

    Args:
        rho: Density matrices.
        readout: What to read.
        num_qubits: ``n`` with ``N = 2**n``.
        readout_error: ``(p(1|0), p(0|1))`` on every measured qubit.

    Returns:
        ``(B, K)`` outputs.
    """
    if readout.kind == "probs":
        return marginal_probs(rho, readout, num_qubits, readout_error)[:, : readout.num_classes]
    cols = []
    for terms in readout_terms(readout, readout_error):
        cols.append(sum(w * _trace_pauli(rho, sub, num_qubits) for w, sub in terms))
    return np.stack(cols, axis=1)


def marginal_probs(
    rho: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``(B, 2^m)`` observed outcome distribution of the readout qubits."""
    return _marginal(np.einsum("bii->bi", rho).real, readout, num_qubits, readout_error)


def _marginal(
    diag: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``marginal_probs`` from the diagonals ``(B, 2^n)``."""
    outcome = _outcomes(num_qubits, readout.qubits)
    m = len(readout.qubits)
    marg = np.zeros((diag.shape[0], 1 << m))
    for o in range(1 << m):
        marg[:, o] = diag[:, outcome == o].sum(axis=1)
    if readout_error != (0.0, 0.0):
        marg = ch.apply_confusion(marg, readout_error, m)
    return marg


def cotangent_operator(
    cotangent: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``Λ_b`` (B, N, N) with ``Σ_k cot[b,k]·out[b,k] = Re⟨Λ_b, ρ_b⟩`` for every ρ.

    Args:
        cotangent: ``(B, K)`` ``∂L/∂outputs``.
        readout: The readout the outputs came from.
        num_qubits: ``n``.
        readout_error: As in ``density_outputs``.

    Returns:
        Hermitian operators, dense.
    """
    batch = cotangent.shape[0]
    dim = 1 << num_qubits
    lam = np.zeros((batch, dim, dim), dtype=complex)
    if readout.kind == "probs":
        idx = np.arange(dim)
        lam[:, idx, idx] = _probs_diagonal(cotangent, readout, num_qubits, readout_error)
        return lam
    k = np.arange(dim)
    for col, terms in enumerate(readout_terms(readout, readout_error)):
        for weight, sub in terms:
            coeff = weight * cotangent[:, col]
            if not sub:
                lam[:, k, k] += coeff[:, None]
                continue
            flip, phase = pauli_action(sub, num_qubits)
            # ⟨P, ρ⟩ = Σ conj(P_ij) ρ_ij = Tr(P ρ) (P Hermitian): Λ gets P itself,
            # P[flip[k], k] = phase[k]
            lam[:, flip, k] += coeff[:, None] * phase[None, :]
    return lam


def _probs_diagonal(
    cotangent: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``(B, 2^n)`` diagonal of Λ for a probs readout.

    Each basis state gets ``∂L/∂p_true`` of its outcome.
    """
    m = len(readout.qubits)
    cot = np.zeros((cotangent.shape[0], 1 << m))
    cot[:, : readout.num_classes] = cotangent
    if readout_error != (0.0, 0.0):
        # ∂L/∂p_true = Cᵀ·∂L/∂p_obs: the same bitwise mixing with the transposed matrix
        cot = ch.apply_confusion_matrix(cot, ch.confusion_matrix(readout_error).T, m)
    return cot[:, _outcomes(num_qubits, readout.qubits)]


def pure_outputs(
    psi: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """Readout values ``(R, K)`` of pure states ``(R, 2^n)``.

    Includes readout error; exact (no shots).
    """
    if readout.kind == "probs":
        probs = np.abs(psi) ** 2
        outcome = _outcomes(num_qubits, readout.qubits)
        m = len(readout.qubits)
        marg = np.stack([probs[:, outcome == o].sum(axis=1) for o in range(1 << m)], axis=1)
        if readout_error != (0.0, 0.0):
            marg = ch.apply_confusion(marg, readout_error, m)
        return marg[:, : readout.num_classes]
    cols = []
    for terms in readout_terms(readout, readout_error):
        total = np.zeros(psi.shape[0])
        for weight, sub in terms:
            flip, phase = pauli_action(sub, num_qubits)
            # ⟨ψ|P|ψ⟩ = Σ_k conj(ψ[flip[k]])·phase[k]·ψ[k]
            total += weight * (psi[:, flip].conj() * phase * psi).sum(axis=1).real
        cols.append(total)
    return np.stack(cols, axis=1)


def pure_cotangent(
    psi: np.ndarray,
    cotangent: np.ndarray,
    readout: Readout,
    num_qubits: int,
    readout_error: tuple[float, float],
) -> np.ndarray:
    """``2·Λψ`` (R, 2^n): for ``L = Σ_k cot_k·⟨ψ|O_k|ψ⟩``, ``dL = Re⟨2Λψ, dψ⟩``."""
    if readout.kind == "probs":
        return 2.0 * _probs_diagonal(cotangent, readout, num_qubits, readout_error) * psi
    out = np.zeros_like(psi)
    for col, terms in enumerate(readout_terms(readout, readout_error)):
        for weight, sub in terms:
            flip, phase = pauli_action(sub, num_qubits)
            out[:, flip] += 2.0 * weight * cotangent[:, col : col + 1] * phase * psi
    return out


def pauli_marginal(
    c: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``marginal_probs`` of Pauli vectors ``(B, 4^n)`` (``pauli_transfer``)."""
    diag = pt.walsh(c[:, : 1 << num_qubits])
    return _marginal(diag, readout, num_qubits, readout_error)


def pauli_outputs(
    c: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``density_outputs`` of Pauli vectors ``(B, 4^n)``: ``Tr(P ρ) = √(2^n)·c_P``."""
    if readout.kind == "probs":
        marg = pauli_marginal(c, readout, num_qubits, readout_error)
        return marg[:, : readout.num_classes]
    scale = np.sqrt(1 << num_qubits)
    cols = []
    for terms in readout_terms(readout, readout_error):
        cols.append(sum(w * scale * c[:, pt.pauli_index(sub, num_qubits)] for w, sub in terms))
    return np.stack(cols, axis=1)


def pauli_cotangent(
    cotangent: np.ndarray, readout: Readout, num_qubits: int, readout_error: tuple[float, float]
) -> np.ndarray:
    """``cotangent_operator`` in the Pauli basis: ``λ`` (B, 4^n) with ``L = ⟨λ, c⟩``."""
    dim = 1 << num_qubits
    lam = np.zeros((cotangent.shape[0], dim * dim))
    if readout.kind == "probs":
        lam[:, :dim] = pt.walsh(_probs_diagonal(cotangent, readout, num_qubits, readout_error))
        return lam
    scale = np.sqrt(dim)
    for col, terms in enumerate(readout_terms(readout, readout_error)):
        for weight, sub in terms:
            lam[:, pt.pauli_index(sub, num_qubits)] += weight * scale * cotangent[:, col]
    return lam
