"""The Pauli basis of density matrices: real state vectors and real transfer matrices.

In the orthonormal basis ``{I, Z, X, Y}/√2`` per qubit a density matrix is a real vector
``c_P = Tr(P ρ)/√(2^n)`` and a Hermiticity-preserving superoperator a real matrix (the
Pauli transfer matrix ``R = W† S W``). The density-matrix simulator runs in this basis:
a ``16 × 16`` real block costs a quarter of the multiply-adds of the complex
superoperator and sweeps half the memory.

Layout: the component of a Pauli string sits where ``vec(ρ)`` keeps the matching entry
(see ``noise_program``): for qubit ``q``, column bit ``q`` and row bit ``q + n`` hold the
digit ``I = (0, 0)``, ``Z = (1, 0)``, ``X = (0, 1)``, ``Y = (1, 1)``. So the first ``2^n``
entries are the diagonal ``{I, Z}^n`` strings, ``c[s] = ⟨Z^s⟩/√(2^n)`` (bit ``q`` of ``s``
puts ``Z`` on qubit ``q``).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "SINGLE_QUBIT_BASIS",
    "block_basis",
    "from_pauli",
    "pauli_index",
    "to_pauli",
    "transfer_matrices",
    "walsh",
    "zero_state",
]

_R = 1.0 / np.sqrt(2.0)
SINGLE_QUBIT_BASIS = _R * np.array(
    [[1, 1, 0, 0], [0, 0, 1, -1j], [0, 0, 1, 1j], [1, -1, 0, 0]], dtype=complex
)
"""``W``: ``vec(ρ) = W c`` on one qubit; rows ``ρ00, ρ01, ρ10, ρ11``, columns ``I, Z, X, Y``."""

_DIGIT = {"I": 0, "Z": 1, "X": 2, "Y": 3}


@functools.cache
def block_basis(num_qubits: int) -> np.ndarray:
    """``W`` of a ``k``-qubit block in the kernels' local layout ``(4^k, 4^k)``.

    Local bit ``a < k`` is the column copy of the block's qubit ``a``, bit ``k + a`` its
    row copy (``noise_program.embed_superop``).
    """
    k = num_qubits
    idx = np.arange(1 << (2 * k))
    out = np.ones((idx.size, idx.size), dtype=complex)
    for a in range(k):
        local = ((idx >> a) & 1) + 2 * ((idx >> (k + a)) & 1)
        out = out * SINGLE_QUBIT_BASIS[local[:, None], local[None, :]]
    return out


def transfer_matrices(superops: np.ndarray, num_qubits: int) -> np.ndarray:
    """Real Pauli transfer matrices ``(B, D, D)`` of Hermiticity-preserving superoperators.

    The imaginary part of ``W† S W`` is rounding error (zero in exact arithmetic) and
    is dropped.
    """
    w = block_basis(num_qubits)
    return np.ascontiguousarray((w.conj().T @ superops @ w).real)


def walsh(values: np.ndarray) -> np.ndarray:
    """``⊗_q H/√2`` along the last axis (length ``2^n``): the diagonal ↔ ``{I, Z}^n`` map.

    It is its own inverse; ``c[:2^n] = walsh(diag ρ)`` and ``diag ρ = walsh(c[:2^n])``.
    """
    out = np.array(values, dtype=float)
    size = out.shape[-1]
    half = 1
    while half < size:
        view = out.reshape(*out.shape[:-1], size // (2 * half), 2, half)
        lo, hi = view[..., 0, :].copy(), view[..., 1, :]
        view[..., 0, :] = (lo + hi) * _R
        view[..., 1, :] = (lo - hi) * _R
        half *= 2
    return out


def zero_state(batch: int, num_qubits: int) -> np.ndarray:
    """``|0…0⟩⟨0…0|`` in the Pauli basis: ``1/√(2^n)`` on every ``{I, Z}^n`` string."""
    dim = 1 << num_qubits
    out = np.zeros((batch, dim * dim))
    out[:, :dim] = 1.0 / np.sqrt(dim)
    return out


def pauli_index(obs: tuple[tuple[str, int], ...], num_qubits: int) -> int:
    """Index of the Pauli string ``obs`` (``(letter, qubit)`` pairs) in the vector."""
    out = 0
    for letter, q in obs:
        digit = _DIGIT[letter]
        out |= (digit & 1) << q
        out |= (digit >> 1) << (q + num_qubits)
    return out


def to_pauli(rho: np.ndarray, num_qubits: int) -> np.ndarray:
    """Pauli components ``(B, 4^n)`` of flattened Hermitian matrices ``(B, 4^n)``."""
    from qadl.backends.sim.noise_kernels import change_basis

    out = np.array(rho, dtype=complex).reshape(rho.shape[0], -1)
    change_basis(out, np.ascontiguousarray(SINGLE_QUBIT_BASIS.conj().T).ravel(), num_qubits)
    return np.ascontiguousarray(out.real)


def from_pauli(c: np.ndarray, num_qubits: int) -> np.ndarray:
    """Flattened matrices ``(B, 4^n)`` (complex) of Pauli components ``(B, 4^n)``."""
    from qadl.backends.sim.noise_kernels import change_basis

    out = np.array(c, dtype=complex)
    change_basis(out, SINGLE_QUBIT_BASIS.ravel(), num_qubits)
    return out
