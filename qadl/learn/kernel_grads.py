"""Input gradients of quantum kernels: d/dx Σ_n W[b, n] K(x_b, x_n) in one adjoint sweep.

Fidelity kernel: Σ_n W_n |⟨ψ_n|ψ(x)⟩|² = ⟨ψ(x)|M|ψ(x)⟩ with M = Σ_n W_n |ψ_n⟩⟨ψ_n|, so
its gradient is one sweep seeded by the cotangent state c = 2Mψ(x) = 2 Ψᵀ(W ∘ Ψ*ψ(x)):
two matrix products, never N sweeps. Projected kernel: the chain runs through the
one-qubit Bloch vectors b_k = ⟨ψ|P_k|ψ⟩ (P_k = X_q, Y_q, Z_q), so c = 2 Σ_k (∂f/∂b_k) P_k ψ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qadl.backends.sim import Simulator
from qadl.ir.circuit import Circuit
from qadl.learn.kernels import bloch_vectors, fidelity_gram, projected_gram

__all__ = ["KernelMap"]


@dataclass(frozen=True, eq=False)
class KernelMap:
    """A kernel's feature map compared against fixed training features (equality is
    identity: the fields hold arrays).

    ``train`` holds the training side: feature states (N, 2**n) for ``fidelity``,
    Bloch vectors (N, 3n) for ``projected``; ``theta`` the feature map's parameters
    (after alignment; None: a fixed feature map).
    """

    circuit: Circuit
    kind: str
    gamma: float
    train: np.ndarray
    memory_bytes: int = 256 << 20
    """Cap on a kernel-row tile's working set."""
    theta: np.ndarray | None = None
    sim: Simulator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("fidelity", "projected"):
            raise ValueError(f"unknown kernel type {self.kind!r}")
        sim = Simulator(self.circuit)
        object.__setattr__(self, "sim", sim)
        theta = np.zeros(sim.num_params) if self.theta is None else np.asarray(self.theta)
        object.__setattr__(self, "theta", theta)

    @property
    def num_qubits(self) -> int:
        """n."""
        return self.sim.num_qubits

    def states(self, x: np.ndarray) -> np.ndarray:
        """Feature states (B, 2**n) of the rows of ``x``."""
        return self.sim.states(self.theta, x=np.asarray(x, dtype=np.float64))

    def rows(
        self, x: np.ndarray, columns: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Kernel rows K(x_b, x_n) (B, N) against the training side (or its ``columns``),
        and the feature states of ``x`` (reused by ``row_vjp``)."""
        psi = self.states(x)
        train = self.train if columns is None else self.train[columns]
        if self.kind == "fidelity":
            return fidelity_gram(psi, train, memory_bytes=self.memory_bytes), psi
        own = bloch_vectors(psi, self.num_qubits)
        return projected_gram(own, train, gamma=self.gamma, memory_bytes=self.memory_bytes), psi

    def row_vjp(self, x: np.ndarray, psi: np.ndarray, weights: np.ndarray,
                rows: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """d/dx_b Σ_n weights[b, n] · K(x_b, x_n) (B, F).

        ``psi`` and ``rows`` are what ``rows(x, columns)`` returned for the same ``x``.
        """
        train = self.train if columns is None else self.train[columns]
        if self.kind == "fidelity":
            overlaps = psi @ train.conj().T  # ⟨ψ_n|ψ(x_b)⟩
            cot = 2.0 * ((weights * overlaps) @ train)
        else:
            own = bloch_vectors(psi, self.num_qubits)
            wk = weights * rows
            # ∂/∂b Σ_n W_n exp(-γ/2 ‖b − b_n‖²) = -γ Σ_n W_n K_n (b − b_n)
            g_bloch = -self.gamma * (wk.sum(axis=1, keepdims=True) * own - wk @ train)
            cot = _pauli_cotangent(psi, g_bloch, self.num_qubits)
        return self.sim.state_vjp(self.theta, x=np.asarray(x, dtype=np.float64),
                                  cotangent_state=cot).x


def _pauli_cotangent(psi: np.ndarray, g_bloch: np.ndarray, num_qubits: int) -> np.ndarray:
    """c = 2 Σ_q (g_x X_q + g_y Y_q + g_z Z_q) ψ for per-qubit weights ``g_bloch`` (B, 3n)."""
    b = len(psi)
    out = np.zeros_like(psi)
    for q in range(num_qubits):
        view = psi.reshape(b, 1 << (num_qubits - 1 - q), 2, 1 << q)  # (high, bit q, low)
        a0, a1 = view[:, :, 0, :], view[:, :, 1, :]
        gx, gy, gz = (g_bloch[:, 3 * q + k, None, None] for k in range(3))
        acc = out.reshape(view.shape)
        acc[:, :, 0, :] += (gx - 1j * gy) * a1 + gz * a0
        acc[:, :, 1, :] += (gx + 1j * gy) * a0 - gz * a1
    return 2.0 * out
