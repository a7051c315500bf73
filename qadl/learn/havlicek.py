"""Havlíček et al.'s "ad hoc" data set (Nature 567, 209 (2019)), generated, no download.

Points x ∈ [0, 2π)² are mapped to |Φ(x)> = U_Φ(x) H⊗H U_Φ(x) H⊗H |00> with
U_Φ(x) = exp(-i (x₁ Z₁ + x₂ Z₂ + (π − x₁)(π − x₂) Z₁Z₂)), which is Qiskit's (and qadl's)
``zz_feature_map`` with two repetitions, up to a global phase. A seeded Haar-random
unitary V defines the parity observable O = V† Z₁Z₂ V; a point is labelled 1 when
<Φ(x)|O|Φ(x)> ≥ Δ and 0 when it is ≤ −Δ, and discarded in between (the gap Δ).
"""

from __future__ import annotations

import numpy as np

from qadl.learn.data import Dataset, stratified_split

__all__ = ["havlicek", "havlicek_states"]

_Z = np.array([1.0, -1.0])


def havlicek_states(x: np.ndarray) -> np.ndarray:
    """Feature states (N, 4) of points ``x`` (N, 2); basis index = 2·b₂ + b₁ (qubit 0 low)."""
    x = np.asarray(x, dtype=np.float64)
    z1 = np.tile(_Z, 2)  # qubit 0 is the low bit
    z2 = np.repeat(_Z, 2)
    phase = (
        x[:, :1] * z1 + x[:, 1:2] * z2 + ((np.pi - x[:, :1]) * (np.pi - x[:, 1:2])) * (z1 * z2)
    )
    u = np.exp(-1j * phase)  # (N, 4), the diagonal of U_Φ(x)
    h2 = 0.5 * np.array([[(-1) ** bin(a & b).count("1") for b in range(4)] for a in range(4)])
    psi = np.zeros((len(x), 4), dtype=np.complex128)
    psi[:, 0] = 1.0
    for _ in range(2):
        psi = u * (psi @ h2.T)
    return psi


def _parity_observable(rng: np.random.Generator) -> np.ndarray:
    """V† (Z⊗Z) V for a Haar-random V ∈ U(4)."""
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    q, r = np.linalg.qr(a)
    v = q * (np.diag(r) / np.abs(np.diag(r)))
    zz = np.diag(np.tile(_Z, 2) * np.repeat(_Z, 2)).astype(np.complex128)
    return v.conj().T @ zz @ v


def havlicek(
    samples: int = 200, gap: float = 0.3, test: float = 0.5, seed: int = 7
) -> tuple[Dataset, Dataset]:
    """``samples`` points (half per class) of the ad hoc data set, split stratified.

    Raises:
        ValueError: when ``gap`` leaves too few points to draw from (gap close to 1).
    """
    rng = np.random.default_rng(seed)
    observable = _parity_observable(rng)
    want = samples // 2
    kept: list[list[np.ndarray]] = [[], []]
    count = [0, 0]
    for _ in range(1000):
        x = rng.uniform(0.0, 2 * np.pi, size=(4 * samples + 64, 2))
        psi = havlicek_states(x)
        value = np.einsum("ni,ij,nj->n", psi.conj(), observable, psi).real
        for label, mask in ((1, value >= gap), (0, value <= -gap)):
            take = x[mask][: want + (samples % 2) * label - count[label]]
            kept[label].append(take)
            count[label] += len(take)
        if count[0] >= want and count[1] >= samples - want:
            break
    else:
        raise ValueError(f"gap {gap} leaves too few points: got {count} of {samples}")
    xs = np.concatenate([np.concatenate(kept[0]), np.concatenate(kept[1])])
    ys = np.concatenate([np.zeros(count[0], dtype=np.int64), np.ones(count[1], dtype=np.int64)])
    order = rng.permutation(len(ys))
    xs, ys = xs[order], ys[order]
    train_idx, test_idx = stratified_split(ys, test, seed)
    common = {"num_classes": 2, "feature_range": (0.0, 2 * np.pi)}
    return (
        Dataset(x=xs[train_idx], y=ys[train_idx], name="havlicek.train",
                meta={"gap": gap, "seed": seed}, **common),
        Dataset(x=xs[test_idx], y=ys[test_idx], name="havlicek.test",
                meta={"gap": gap, "seed": seed}, **common),
    )
