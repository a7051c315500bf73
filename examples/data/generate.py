"""Regenerate the small CSV data sets used by examples/reuploading.qadl and zz_feature_map.qadl.

Run from the repository root: ``python examples/data/generate.py``. Deterministic (fixed seeds).

* ``circle.csv``: Pérez-Salinas et al. (Quantum 4, 226, 2020) circle problem. Points uniform
  in [-1, 1]², label 1 inside the circle of radius sqrt(2/π) (so both classes cover half the
  square's area), 400 samples.
* ``havlicek.csv``: Havlíček et al. (Nature 567, 209, 2019) style data. x uniform in
  [0, 2π)², label = sign of f(x) = ⟨Φ(x)| V† Z₀Z₁ V |Φ(x)⟩ with |Φ(x)⟩ = U_Φ(x) H U_Φ(x) H |00⟩
  (Qiskit's ZZFeatureMap, reps = 2) and a fixed random V ∈ U(4); points with |f| < 0.3
  (the gap Δ) are rejected; 60 samples per class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def circle(n: int = 400, seed: int = 7) -> np.ndarray:
    """Rows (x0, x1, label) of the circle problem."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 2))
    y = (np.sum(x**2, axis=1) < 2.0 / np.pi).astype(int)
    return np.column_stack([x, y])


def _zz_state(x: np.ndarray) -> np.ndarray:
    """ZZFeatureMap(2 qubits, reps 2) applied to |00⟩ (little-endian), as a dense product."""
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    hh = np.kron(h, h)
    z = np.array([1, -1])
    # U_Φ = exp(i Σ φ_S Z_S) up to phase: P(2x0) ⊗ P(2x1) and the ZZ phase 2(π-x0)(π-x1).
    z0 = np.tile(z, 2)  # bit 0 = qubit 0 (little-endian)
    z1 = np.repeat(z, 2)
    phase = x[0] * (1 - z0) + x[1] * (1 - z1) + (np.pi - x[0]) * (np.pi - x[1]) * (1 - z0 * z1)
    u_phi = np.diag(np.exp(1j * phase))
    psi = np.zeros(4, dtype=complex)
    psi[0] = 1.0
    for _ in range(2):
        psi = u_phi @ (hh @ psi)
    return psi


def havlicek(per_class: int = 60, gap: float = 0.3, seed: int = 7) -> np.ndarray:
    """Rows (x0, x1, label) of the ZZ-feature-map separable data set."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    v, _ = np.linalg.qr(a)
    parity = np.diag(np.kron([1, -1], [1, -1])).astype(complex)
    obs = v.conj().T @ parity @ v
    rows: list[list[float]] = []
    counts = [0, 0]
    while min(counts) < per_class:
        x = rng.uniform(0.0, 2 * np.pi, 2)
        psi = _zz_state(x)
        f = float(np.real(np.vdot(psi, obs @ psi)))
        if abs(f) < gap:
            continue
        label = int(f < 0)
        if counts[label] < per_class:
            counts[label] += 1
            rows.append([x[0], x[1], label])
    return np.asarray(rows)


def _write(name: str, table: np.ndarray) -> None:
    header = ",".join([f"x{i}" for i in range(table.shape[1] - 1)] + ["label"])
    fmt = ["%.10f"] * (table.shape[1] - 1) + ["%d"]
    np.savetxt(HERE / name, table, delimiter=",", header=header, comments="", fmt=fmt)


if __name__ == "__main__":
    _write("circle.csv", circle())
    _write("havlicek.csv", havlicek())
