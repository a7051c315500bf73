"""Quantum kernel matrices from feature states: one simulation per sample, BLAS overlaps.

The feature states of N samples are simulated once (N simulations, not N² overlap
circuits; feature maps made of CNOT networks and diagonal gates, like the ZZ map, as
phase polynomials, ``qadl.learn.phase_states``). The fidelity kernel
K[a, b] = |<φ(x_a)|φ(x_b)>|² is then a complex matrix product, computed in tiles so that
the complex intermediate never exceeds a memory cap.
The projected kernel (Huang et al., Nat. Commun. 12, 2631 (2021)) compares one-qubit
reduced states: K = exp(-γ Σ_q ‖ρ_q(x) − ρ_q(x')‖²_F), with ‖ρ − σ‖²_F = ½ |r − s|² for
Bloch vectors r, s. ``shots`` samples each fidelity the way a compute–uncompute circuit
U(x')† U(x) measured ``shots`` times would: the frequency of |0…0>, binomial in K.
"""

from __future__ import annotations

import numpy as np

from qadl.backends.sim import Simulator
from qadl.ir.circuit import Circuit
from qadl.learn.phase_states import phase_plan, phase_states

__all__ = [
    "PHASE_PLAN_MAX_QUBITS",
    "STATE_CHUNK_BYTES",
    "bloch_vectors",
    "feature_states",
    "fidelity_gram",
    "projected_gram",
    "sample_overlaps",
    "tile_rows",
]

STATE_CHUNK_BYTES = 64 << 20
"""States simulated together (the simulator's batch) stay below this many bytes."""

SELF_TILES = 4
"""A self-Gram matrix is computed in at least this many row tiles (5/8 of the products of
one square; at 8 qubits, N = 2000, 0.9 s against 2.0–2.9 s for one tile)."""

SELF_TILE_MIN_ROWS = 64
"""...unless its tiles would have fewer rows than this (small matrices: one product)."""

PHASE_PLAN_MAX_QUBITS = 14
"""Up to this many qubits feature maps of phase layers may run as ``phase_states`` plans
(their parity tables hold 8 bytes per amplitude per row)."""


def feature_states(
    circuit: Circuit, x: np.ndarray, theta: np.ndarray | None = None
) -> np.ndarray:
    """The states (N, 2**n) complex128 the feature map prepares for each row of ``x``
    (``theta``: a trainable feature map's parameters; None for a fixed one)."""
    sim = Simulator(circuit)
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty((len(x), 1 << circuit.num_qubits), dtype=np.complex128)
    chunk = max(1, STATE_CHUNK_BYTES // (16 << circuit.num_qubits))
    theta = np.zeros(circuit.num_params) if theta is None else theta
    plan = phase_plan(circuit) if circuit.num_qubits <= PHASE_PLAN_MAX_QUBITS else None
    # a plan is worth it when its passes undercut the simulator's blocks (the ZZ map
    # at 12 qubits: 70 against 420)
    if plan is not None and plan.passes < len(sim.program.kind):
        for start in range(0, len(x), chunk):
            out[start : start + chunk] = phase_states(plan, theta, x[start : start + chunk])
        return out
    for start in range(0, len(x), chunk):
        out[start : start + chunk] = sim.states(theta, x=x[start : start + chunk])
    return out


def tile_rows(dim: int, columns: int, memory_bytes: int) -> int:
    """Rows of a tile whose overlaps (complex, then squared: 24 bytes per entry) and
    conjugated row states (16 bytes per amplitude) fit the cap."""
    per_row = 24 * max(columns, 1) + 16 * dim
    return max(1, int(memory_bytes // per_row))


def fidelity_gram(
    a: np.ndarray, b: np.ndarray | None = None, *, memory_bytes: int = 256 << 20
) -> np.ndarray:
    """|<a_i|b_j>|² for state rows ``a`` (M, D) and ``b`` (N, D); ``b`` None: ``a`` with itself.

    Row tiles of ``a`` are multiplied against ``b`` (one ZGEMM each); the tile's complex
    block stays below ``memory_bytes``. For the self-Gram only the blocks on and above
    the diagonal are computed (half the work) and mirrored; its diagonal is set to 1
    (states are normalised; rounding would leave 1 ± 1e-16).
    """
    same = b is None
    b = a if b is None else b
    out = np.empty((len(a), len(b)))
    rows = tile_rows(a.shape[1], len(b), memory_bytes)
    if same:  # one tile would compute the whole square: split it to skip the lower half
        rows = min(rows, max(SELF_TILE_MIN_ROWS, -(-len(a) // SELF_TILES)))
    bt = b.T  # a view: no copy of the states
    for start in range(0, len(a), rows):
        stop = min(start + rows, len(a))
        first = start if same else 0
        block = a[start:stop].conj() @ bt[:, first:]
        np.abs(block, out=block)
        out[start:stop, first:] = block.real**2
        if same:  # mirror in place: no second N x N array
            _mirror_rows(out, start, stop)
    if same:
        np.fill_diagonal(out, 1.0)
    return out


def bloch_vectors(states: np.ndarray, num_qubits: int) -> np.ndarray:
    """Bloch vectors (N, 3·n) of every qubit's reduced state, ordered (x, y, z) per qubit."""
    n = len(states)
    out = np.empty((n, 3 * num_qubits))
    for q in range(num_qubits):
        # basis index bit q is qubit q: split the index as (high, bit q, low)
        psi = states.reshape(n, 1 << (num_qubits - 1 - q), 2, 1 << q)
        a0, a1 = psi[:, :, 0, :], psi[:, :, 1, :]
        rho01 = np.einsum("nij,nij->n", a0, a1.conj())
        p0 = np.einsum("nij,nij->n", a0, a0.conj()).real
        p1 = np.einsum("nij,nij->n", a1, a1.conj()).real
        out[:, 3 * q] = 2 * rho01.real
        out[:, 3 * q + 1] = -2 * rho01.imag
        out[:, 3 * q + 2] = p0 - p1
    return out


def projected_gram(
    ra: np.ndarray,
    rb: np.ndarray | None = None,
    *,
    gamma: float = 1.0,
    memory_bytes: int = 256 << 20,
) -> np.ndarray:
    """exp(-γ Σ_q ‖ρ_q − σ_q‖²_F) from Bloch vectors ``ra`` (M, 3n) and ``rb`` (N, 3n).

    Computed in row tiles of at most ``memory_bytes`` (16 bytes per entry: squared
    distances, then their exponential); the self-kernel is mirrored in place.
    """
    same = rb is None
    rb = ra if rb is None else rb
    out = np.empty((len(ra), len(rb)))
    rows = max(1, int(memory_bytes // (16 * max(len(rb), 1))))
    norms_b = (rb**2).sum(1)
    for start in range(0, len(ra), rows):
        stop = min(start + rows, len(ra))
        first = start if same else 0
        part = ra[start:stop]
        sq = (part**2).sum(1)[:, None] + norms_b[None, first:] - 2.0 * (part @ rb[first:].T)
        np.maximum(sq, 0.0, out=sq)  # rounding may leave -1e-16
        out[start:stop, first:] = np.exp(-gamma * 0.5 * sq)
        if same:
            _mirror_rows(out, start, stop)
    if same:
        np.fill_diagonal(out, 1.0)
    return out


def sample_overlaps(
    exact: np.ndarray, shots: int, rng: np.random.Generator, *, symmetric: bool, rows: int = 512
) -> np.ndarray:
    """Each entry re-estimated as (number of |0…0> outcomes in ``shots`` runs) / ``shots``.

    A symmetric (self) Gram matrix is sampled once per pair, on and above the diagonal,
    and mirrored; its diagonal is 1 (x against itself returns |0…0> every time). Rows
    are sampled ``rows`` at a time, so the only large allocation is the result.
    """
    out = np.empty_like(exact)
    for start in range(0, len(exact), rows):
        stop = min(start + rows, len(exact))
        first = start if symmetric else 0
        p = np.clip(exact[start:stop, first:], 0.0, 1.0)
        out[start:stop, first:] = rng.binomial(shots, p) / shots
        if symmetric:
            _mirror_rows(out, start, stop)
    if symmetric:
        np.fill_diagonal(out, 1.0)
    return out


def _mirror_rows(out: np.ndarray, start: int, stop: int) -> None:
    """Complete rows ``start:stop`` of a symmetric matrix whose upper triangle is filled.

    Rows before ``start`` are complete, so the block left of the diagonal is the transpose
    of the one above it; the diagonal block is mirrored from its own upper triangle.
    """
    out[start:stop, :start] = out[:start, start:stop].T
    diag = out[start:stop, start:stop]
    diag[...] = np.triu(diag) + np.triu(diag, 1).T
