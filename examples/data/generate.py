"""Regenerate the small CSV data sets used by examples/reuploading.qadl and zz_feature_map.qadl.

Run from the repository root: ``python examples/data/generate.py``. Deterministic (fixed seeds).

* ``circle.csv``: Pérez-Salinas et al. (Quantum 4, 226, 2020) circle problem. Points uniform
  in [-1, 1]², label 1 inside the circle of radius sqrt(2/π) (so both classes cover half the
  square's area), 400 samples.
* ``havlicek.csv``: Havlíček et al. (Nature 567, 209, 2019) style data. x uniform in
  [0, 2π)², label = sign of f(x) = ⟨Φ(x)| V† Z₀Z₁ V |Φ(x)⟩ with |Φ(x)⟩ = U_Φ(x) H U_Φ(x) H |00⟩
  (Qiskit's ZZFeatureMap, reps = 2) and a fixed random V ∈ U(4); points with |f| < 0.3
  (the gap Δ) are rejected; 60 samples per class.
* ``du3.csv``: teacher–student data for examples/noise_defence.qadl: x uniform in
  [0, π]³, label = [P(qubit 2 = 1) > 1/2] under Du et al.'s 3-qubit circuit (RY encoding,
  3 layers of RY + CNOT(0,1), CNOT(1,2)) with fixed random teacher angles; points
  with |P − 1/2| < 0.1 are rejected; 150 samples per class. So the data are learnable by
  the model, and the noise/attack comparison is not confounded by underfitting.
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
    """Qiskit's ZZFeatureMap (full entanglement, reps 2) applied to |0…0⟩, little-endian."""
    n = len(x)
    dim = 1 << n
    idx = np.arange(dim)
    z = [1 - 2 * ((idx >> i) & 1) for i in range(n)]  # Z eigenvalue of qubit i
    # U_Φ = Π P(2x_i) · Π_{i<j} exp-phase 2(π-x_i)(π-x_j) on odd parity, up to global phase.
    phase = sum(x[i] * (1 - z[i]) for i in range(n))
    for i in range(n):
        for j in range(i + 1, n):
            phase = phase + (np.pi - x[i]) * (np.pi - x[j]) * (1 - z[i] * z[j])
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    hn = np.ones((1, 1))
    for _ in range(n):
        hn = np.kron(hn, h)
    psi = np.zeros(dim, dtype=complex)
    psi[0] = 1.0
    for _ in range(2):
        psi = np.exp(1j * phase) * (hn @ psi)
    return psi


def havlicek(per_class: int = 60, gap: float = 0.3, seed: int = 7, n: int = 2) -> np.ndarray:
    """Rows (x0, …, x_{n-1}, label) of the ZZ-feature-map separable data set."""
    rng = np.random.default_rng(seed)
    dim = 1 << n
    a = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    v, _ = np.linalg.qr(a)
    parity = np.ones(1)
    for _ in range(n):
        parity = np.kron(parity, [1, -1])
    obs = v.conj().T @ np.diag(parity).astype(complex) @ v
    rows: list[list[float]] = []
    counts = [0, 0]
    while min(counts) < per_class:
        x = rng.uniform(0.0, 2 * np.pi, n)
        psi = _zz_state(x)
        f = float(np.real(np.vdot(psi, obs @ psi)))
        if abs(f) < gap:
            continue
        label = int(f < 0)
        if counts[label] < per_class:
            counts[label] += 1
            rows.append([*x, label])
    return np.asarray(rows)


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a / 2), np.sin(a / 2)
    return np.array([[c, -s], [s, c]])


def _du_probability(x: np.ndarray, theta: np.ndarray) -> float:
    """P(qubit 2 = 1) of Du et al.'s classifier (little-endian, dense 8-dim state)."""
    psi = np.zeros((2, 2, 2))  # axes: qubit 2, qubit 1, qubit 0
    psi[0, 0, 0] = 1.0

    def ry(state: np.ndarray, q: int, a: float) -> np.ndarray:
        axis = 2 - q
        return np.moveaxis(np.tensordot(_ry(a), state, axes=([1], [axis])), 0, axis)

    def cx(state: np.ndarray, c: int, t: int) -> np.ndarray:
        out = state.copy()
        sel = [slice(None)] * 3
        sel[2 - c] = 1
        sub = out[tuple(sel)]
        t_axis = (2 - t) - (1 if (2 - t) > (2 - c) else 0)
        out[tuple(sel)] = np.flip(sub, axis=t_axis)
        return out

    for i in range(3):
        psi = ry(psi, i, x[i])
    for layer in range(3):
        for i in range(3):
            psi = ry(psi, i, theta[3 * layer + i])
        psi = cx(cx(psi, 0, 1), 1, 2)
    return float(np.sum(psi[1] ** 2))


def du3(per_class: int = 150, gap: float = 0.1, seed: int = 7) -> np.ndarray:
    """Rows (x0, x1, x2, label) labelled by a random teacher of Du et al.'s circuit."""
    rng = np.random.default_rng(seed)
    teacher = rng.uniform(0.0, 2 * np.pi, 9)
    rows: list[list[float]] = []
    counts = [0, 0]
    while min(counts) < per_class:
        x = rng.uniform(0.0, np.pi, 3)
        p1 = _du_probability(x, teacher)
        if abs(p1 - 0.5) < gap:
            continue
        label = int(p1 > 0.5)
        if counts[label] < per_class:
            counts[label] += 1
            rows.append([*x, label])
    return np.asarray(rows)


def _write(name: str, table: np.ndarray) -> None:
    header = ",".join([f"x{i}" for i in range(table.shape[1] - 1)] + ["label"])
    fmt = ["%.10f"] * (table.shape[1] - 1) + ["%d"]
    np.savetxt(HERE / name, table, delimiter=",", header=header, comments="", fmt=fmt)


if __name__ == "__main__":
    _write("circle.csv", circle())
    _write("havlicek.csv", havlicek())
    _write("du3.csv", du3())
