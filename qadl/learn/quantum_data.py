"""Generated quantum data: many-body states labelled by phase, by sparse exact methods (n ≤ 12).

Conventions: qubit ``j`` is bit ``j`` of a basis index (little-endian, as everywhere in
qadl); ``|1⟩`` is an excitation (``n_j = |1⟩⟨1|``, ``σ⁺ = |1⟩⟨0|``); Hamiltonians are
in units of their first coupling (g or J) with ħ = 1, so times are in units of 1/g.

Three families:

- ``aubry_andre``: quench dynamics of the Aubry–André chain (Ren et al. 2022, Fig. 2):
  the Néel state evolved under ``H = g Σ (σ⁺_j σ⁻_{j+1} + h.c.) + Σ V_j n_j`` with the
  quasi-periodic potential ``V_j = V cos(2π α j + φ)``, ``α = (√5 − 1)/2``. Strong
  disorder (``V ≥ 4g``) keeps the initial Néel pattern (label 0, "localized"); weak
  disorder (``V ≤ g``) spreads it (label 1, "thermal"). The AA self-dual point is V = 2g.
- ``ising``: ground states of ``H = −J Σ Z_j Z_{j+1} − h Σ X_j``; ferromagnetic
  (label 0, ``h/J < 1``) vs paramagnetic (label 1, ``h/J > 1``).
- ``cluster_ising``: ground states of ``H = −Σ Z_{j−1} X_j Z_{j+1} − h1 Σ X_j − h2 Σ X_j X_{j+1}``;
  for ``h2 = 0`` the model is self-dual with its transition at ``h1 = 1``: the
  cluster (Z2×Z2 SPT) phase for ``h1 < 1`` (label 0) and the trivial paramagnet for
  ``h1 > 1`` (label 1). For ``h2 ≠ 0`` the boundary moves (and an antiferromagnet
  appears for large ``h2``; Cong, Choi & Lukin, Nat. Phys. 2019, Fig. 2), so the
  labels are only the phases when ``h2`` stays small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from qadl.learn.cache import cached_arrays
from qadl.learn.data import Dataset, stratified_split

if TYPE_CHECKING:
    import scipy.sparse as sp  # imported where used: `qadl check` needs only MAX_QUBITS

__all__ = [
    "GOLDEN",
    "MAX_QUBITS",
    "Boundary",
    "aubry_andre",
    "aubry_andre_hamiltonian",
    "cluster_ising",
    "cluster_ising_hamiltonian",
    "excitation_profile",
    "ground_state",
    "ising",
    "ising_hamiltonian",
    "neel_state",
    "pauli_string",
]

MAX_QUBITS = 12
"""Largest register the generators accept (4096 amplitudes per sample)."""

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
"""The Aubry–André quasi-periodicity α."""

Boundary = Literal["open", "periodic"]


def _check_qubits(n: int) -> None:
    if not 2 <= n <= MAX_QUBITS:
        raise ValueError(f"quantum data needs 2..{MAX_QUBITS} qubits, got {n}")


def pauli_string(n: int, paulis: Mapping[int, str]) -> sp.csr_matrix:
    """The sparse ``2^n × 2^n`` matrix of a Pauli product, e.g. ``{0: "Z", 3: "X"}``.

    Built directly from bit masks: column ``c`` has its single nonzero in row
    ``c ^ flip`` where ``flip`` marks the X/Y qubits.
    """
    import scipy.sparse as sp

    cols = np.arange(1 << n)
    flip = sum(1 << q for q, p in paulis.items() if p in "XY")
    values = np.ones(cols.size, dtype=complex)
    for q, p in paulis.items():
        bit = (cols >> q) & 1
        if p in "ZY":
            values *= 1 - 2 * bit
        if p == "Y":
            values *= 1j  # Y = i X Z: Z acts first, then X
        elif p not in "XZ":
            raise ValueError(f"unknown Pauli {p!r}")
    return sp.csr_matrix((values, (cols ^ flip, cols)), shape=(1 << n, 1 << n))


def _bonds(n: int, boundary: Boundary) -> list[tuple[int, int]]:
    bonds = [(j, j + 1) for j in range(n - 1)]
    if boundary == "periodic" and n > 2:
        bonds.append((n - 1, 0))
    return bonds


def neel_state(n: int) -> np.ndarray:
    """The Néel state with qubits 1, 3, 5, … excited (0-based; little-endian index).

    Written as a ket over qubits 0 … n−1 from left to right this is ``|0101…⟩``,
    Ren et al.'s initial state (their "X on qubits 2, 4, …, 10", 1-based).
    """
    psi = np.zeros(1 << n, dtype=complex)
    psi[sum(1 << j for j in range(1, n, 2))] = 1.0
    return psi


def aubry_andre_hamiltonian(
    potentials: np.ndarray, g: float = 1.0, boundary: Boundary = "open"
) -> sp.csr_matrix:
    """``g Σ (σ⁺_j σ⁻_{j+1} + h.c.) + Σ V_j n_j`` with hopping ``(XX + YY)/2``."""
    import scipy.sparse as sp

    n = len(potentials)
    dim = 1 << n
    h = sp.csr_matrix((dim, dim), dtype=complex)
    for a, b in _bonds(n, boundary):
        h = h + 0.5 * g * (pauli_string(n, {a: "X", b: "X"}) + pauli_string(n, {a: "Y", b: "Y"}))
    occupation = ((np.arange(dim)[:, None] >> np.arange(n)) & 1) @ np.asarray(potentials, float)
    return (h + sp.diags(occupation)).tocsr()


def excitation_profile(states: np.ndarray) -> np.ndarray:
    """``⟨n_j⟩`` (the probability of reading 1) for each qubit of each state, ``(N, n)``."""
    states = np.atleast_2d(states)
    n = states.shape[1].bit_length() - 1
    bits = (np.arange(states.shape[1])[:, None] >> np.arange(n)) & 1
    return (np.abs(states) ** 2) @ bits


def _aa_build(n, per_class, time, g, ranges, seed, boundary) -> dict[str, np.ndarray]:
    from scipy.sparse.linalg import expm_multiply

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(ranges)), per_class)
    amplitude = np.concatenate([rng.uniform(lo, hi, per_class) for lo, hi in ranges]) * g
    phase = -rng.uniform(-np.pi, np.pi, labels.size)  # uniform in (−π, π]
    sites = np.arange(n)
    potentials = amplitude[:, None] * np.cos(2 * np.pi * GOLDEN * sites + phase[:, None])
    start = neel_state(n)
    states = np.array(
        [
            expm_multiply(-1j * time * aubry_andre_hamiltonian(v, g, boundary), start)
            for v in potentials
        ]
    )
    return {"states": states, "y": labels, "V": amplitude, "phi": phase, "potentials": potentials}


def _to_split(arrays, *, num_classes, test, seed, name, meta) -> tuple[Dataset, Dataset]:
    y = arrays["y"]
    train_idx, test_idx = stratified_split(y, test, seed)
    extra = {k: v for k, v in arrays.items() if k not in ("states", "y")}
    whole = Dataset(
        states=arrays["states"], y=y, num_classes=num_classes, name=name, meta={**meta, **extra}
    )

    return (
        replace(whole.take(train_idx), name=f"{name}.train"),
        replace(whole.take(test_idx), name=f"{name}.test"),
    )


def aubry_andre(
    qubits: int = 10,
    samples: int = 600,
    time: float = 3.0,
    g: float = 1.0,
    localized: tuple[float, float] = (4.0, 5.0),
    thermal: tuple[float, float] = (0.0, 1.0),
    test: float = 1 / 6,
    seed: int = 7,
    boundary: Boundary = "open",
    cache: bool = True,
) -> tuple[Dataset, Dataset]:
    """Quenched Aubry–André states labelled localized (0) or thermal (1), as in Ren et al.

    Each sample draws ``V`` uniformly from its class's range (in units of ``g``) and
    ``φ`` uniformly from (−π, π], and evolves the Néel state for ``time`` (units of 1/g)
    with ``scipy.sparse.linalg.expm_multiply``.

    Args:
        qubits: chain length n (2 … 12).
        samples: total number of states, half per class.
        time: evolution time t·g.
        g: hopping strength (also the unit of ``localized`` and ``thermal``).
        localized: range of V/g for label 0.
        thermal: range of V/g for label 1.
        test: fraction in the stratified test part (Ren et al.: 100 of 600).
        seed: seed of the sampling and the split.
        boundary: open chain (the device) or periodic ring.
        cache: store/load the states under ``qadl.learn.cache.cache_dir()``.

    Returns:
        ``(train, test)`` datasets of states; ``meta`` holds ``V``, ``phi`` and ``potentials``.
    """
    _check_qubits(qubits)
    params = dict(
        qubits=qubits,
        samples=samples,
        time=time,
        g=g,
        localized=list(localized),
        thermal=list(thermal),
        seed=seed,
        boundary=boundary,
    )
    arrays = cached_arrays(
        "aubry_andre",
        params,
        lambda: _aa_build(qubits, samples // 2, time, g, (localized, thermal), seed, boundary),
        use_cache=cache,
    )
    return _to_split(arrays, num_classes=2, test=test, seed=seed, name="aubry_andre", meta=params)


def ising_hamiltonian(
    n: int, h: float, j: float = 1.0, boundary: Boundary = "open"
) -> sp.csr_matrix:
    """Transverse-field Ising ``−J Σ Z_a Z_b − h Σ X_j``."""
    import scipy.sparse as sp

    dim = 1 << n
    ham = sp.csr_matrix((dim, dim), dtype=complex)
    for a, b in _bonds(n, boundary):
        ham = ham - j * pauli_string(n, {a: "Z", b: "Z"})
    for q in range(n):
        ham = ham - h * pauli_string(n, {q: "X"})
    return ham.tocsr()


def cluster_ising_hamiltonian(
    n: int, h1: float, h2: float = 0.0, boundary: Boundary = "open"
) -> sp.csr_matrix:
    """Cluster-Ising ``−Σ Z_{j−1} X_j Z_{j+1} − h1 Σ X_j − h2 Σ X_j X_{j+1}``.

    With open boundaries the three-body terms run over ``j = 1 … n−2``.
    """
    import scipy.sparse as sp

    dim = 1 << n
    ham = sp.csr_matrix((dim, dim), dtype=complex)
    centres = range(n) if boundary == "periodic" else range(1, n - 1)
    for c in centres:
        ham = ham - pauli_string(n, {(c - 1) % n: "Z", c: "X", (c + 1) % n: "Z"})
    for q in range(n):
        ham = ham - h1 * pauli_string(n, {q: "X"})
    for a, b in _bonds(n, boundary):
        ham = ham - h2 * pauli_string(n, {a: "X", b: "X"})
    return ham.tocsr()


def ground_state(hamiltonian: sp.spmatrix) -> np.ndarray:
    """The lowest eigenvector (``eigsh``, smallest algebraic), with a fixed global phase.

    The phase is chosen so that the largest-magnitude amplitude is real and positive,
    which makes generated data reproducible across runs. Near-degenerate ground
    spaces (ordered phases on open chains) give some state in that space.
    """
    from scipy.sparse.linalg import eigsh

    v0 = np.ones(hamiltonian.shape[0]) / math.sqrt(hamiltonian.shape[0])
    _, vecs = eigsh(hamiltonian, k=1, which="SA", v0=v0, tol=1e-10)
    psi = vecs[:, 0].astype(complex)
    k = int(np.argmax(np.abs(psi)))
    return psi * (abs(psi[k]) / psi[k]) / np.linalg.norm(psi)


def _ground_build(make, n, per_class, ranges, seed) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(ranges)), per_class)
    fields = np.concatenate([rng.uniform(lo, hi, per_class) for lo, hi in ranges])
    states = np.array([ground_state(make(n, h)) for h in fields])
    return {"states": states, "y": labels, "h": fields}


def _phase_data(
    name: str,
    hamiltonian,
    ranges: tuple[tuple[float, float], tuple[float, float]],
    params: dict,
    *,
    test: float,
    cache: bool,
) -> tuple[Dataset, Dataset]:
    """Ground states of ``hamiltonian(n, h)`` for h drawn in each class's range, cached, split.

    ``params`` (qubits, samples, seed and the model's own parameters) keys the disk cache.
    """
    _check_qubits(params["qubits"])
    arrays = cached_arrays(
        name,
        params,
        lambda: _ground_build(
            hamiltonian, params["qubits"], params["samples"] // 2, ranges, params["seed"]
        ),
        use_cache=cache,
    )
    return _to_split(
        arrays, num_classes=2, test=test, seed=params["seed"], name=name, meta=params
    )


def ising(
    qubits: int = 8,
    samples: int = 200,
    ferro: tuple[float, float] = (0.0, 0.9),
    para: tuple[float, float] = (1.1, 2.0),
    j: float = 1.0,
    boundary: Boundary = "open",
    test: float = 0.2,
    seed: int = 7,
    cache: bool = True,
) -> tuple[Dataset, Dataset]:
    """Transverse-field Ising ground states: ferromagnetic (0, h/J in ``ferro``) vs paramagnet (1).

    The finite chain's crossover is smeared around h/J = 1, so the default ranges leave
    a gap of ±0.1 around it; set them to (0, 1) and (1, 2) to sample right up to it.
    """
    params = dict(
        qubits=qubits, samples=samples, ferro=list(ferro), para=list(para), j=j,
        boundary=boundary, seed=seed,
    )
    return _phase_data(
        "ising", lambda n, h: ising_hamiltonian(n, h, j, boundary), (ferro, para), params,
        test=test, cache=cache,
    )


def cluster_ising(
    qubits: int = 8,
    samples: int = 200,
    spt: tuple[float, float] = (0.0, 0.8),
    trivial: tuple[float, float] = (1.2, 2.0),
    h2: float = 0.0,
    boundary: Boundary = "periodic",
    test: float = 0.2,
    seed: int = 7,
    cache: bool = True,
) -> tuple[Dataset, Dataset]:
    """Cluster-Ising ground states: SPT (0, h1 in ``spt``) vs trivial paramagnet (1).

    Periodic by default: the open chain has a four-fold degenerate edge-mode ground
    space in the SPT phase, so ``eigsh`` would return an arbitrary state in it.
    """
    params = dict(
        qubits=qubits, samples=samples, spt=list(spt), trivial=list(trivial), h2=h2,
        boundary=boundary, seed=seed,
    )
    return _phase_data(
        "cluster_ising", lambda n, h: cluster_ising_hamiltonian(n, h, h2, boundary),
        (spt, trivial), params, test=test, cache=cache,
    )
