"""Noise channels as Kraus operators, readout confusion matrices and shot sampling.

Conventions (shared with ``density.py`` and ``trajectories.py``):

* Kraus operators are little-endian over the qubits they act on, like the gate table.
* Depolarizing with probability ``p`` on ``k`` qubits (``d = 2**k``) is
  ``E(ρ) = (1 − p)·ρ + p·Tr(ρ)·I/d``: with probability ``p`` the register is replaced
  by the maximally mixed state. Because ``I/d·Tr ρ = d⁻²·Σ_P PρP`` over the ``d²``
  Pauli products, its Kraus operators are ``√(1 − p + p/d²)·I`` and ``√(p/d²)·P``.
* Average gate fidelity of that channel (Nielsen 2002, ``F = (d·F_e + 1)/(d + 1)`` with
  entanglement fidelity ``F_e = 1 − p + p/d²``) is ``F = 1 − p·(d − 1)/d``, hence
  ``p = (1 − F)·d/(d − 1)``: ``p = 2(1 − F)`` for one qubit, ``p = 4(1 − F)/3`` for two.
* Thermal relaxation during a gate of duration ``t``: amplitude damping with
  ``γ = 1 − exp(−t/T1)`` followed by pure dephasing with ``1/T_φ = 1/T2 − 1/(2·T1)``.
  Amplitude damping alone already decays coherences by ``√(1 − γ) = exp(−t/(2T1))``;
  the phase-damping factor ``exp(−t/T_φ)`` brings the total to ``exp(−t/T2)``.
* Readout error ``(p(1|0), p(0|1))`` is the column-stochastic confusion matrix
  ``C = [[1 − p(1|0), p(0|1)], [p(1|0), 1 − p(0|1)]]``; observed = C · true.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from qadl.ir.target import NoiseModel

__all__ = [
    "Channel",
    "amplitude_damping",
    "apply_confusion",
    "apply_confusion_matrix",
    "channel_superop",
    "compose",
    "confusion_matrix",
    "dephasing_rate",
    "depolarizing",
    "depolarizing_from_fidelity",
    "gate_noise",
    "is_trace_preserving",
    "pauli_basis",
    "phase_damping",
    "readout_expval_factors",
    "sample_counts",
    "sample_expvals",
    "thermal_relaxation",
]

_PAULI_1Q = (
    np.eye(2, dtype=complex),
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.array([[1, 0], [0, -1]], dtype=complex),
)


@dataclass(frozen=True, eq=False)
class Channel:
    """A CPTP map on ``num_qubits`` qubits given by its Kraus operators.

    ``unitary_mixture`` is True when every Kraus operator is a scaled unitary, so a
    trajectory can pick one with state-independent probabilities ``probs``.
    """

    name: str
    """Short description, e.g. ``depolarizing(p=0.001)``."""
    kraus: tuple[np.ndarray, ...]
    """Kraus operators ``K_m`` (``2^k × 2^k``, little-endian) with ``Σ K_m† K_m = I``."""
    unitary_mixture: bool = False
    """Every ``K_m = √q_m · U_m`` with ``U_m`` unitary."""

    @property
    def num_qubits(self) -> int:
        """Number of qubits the channel acts on."""
        return int(self.kraus[0].shape[0]).bit_length() - 1

    @property
    def probs(self) -> np.ndarray:
        """For a unitary mixture: the probabilities ``q_m`` of each Kraus branch."""
        d = self.kraus[0].shape[0]
        return np.array([np.vdot(k, k).real / d for k in self.kraus])

    def apply(self, rho: np.ndarray) -> np.ndarray:
        """``Σ_m K_m ρ K_m†`` for a density matrix on exactly this channel's qubits."""
        return sum(k @ rho @ k.conj().T for k in self.kraus)


def pauli_basis(num_qubits: int) -> list[np.ndarray]:
    """All ``4**k`` Pauli products, little-endian, identity first."""
    out = []
    for labels in itertools.product(range(4), repeat=num_qubits):
        mat = np.ones((1, 1), dtype=complex)
        for lab in labels:  # labels[0] ends up most significant
            mat = np.kron(mat, _PAULI_1Q[lab])
        out.append(mat)
    return out


def depolarizing(p: float, num_qubits: int = 1) -> Channel:
    """Depolarizing channel ``(1 − p)ρ + p·I/d`` on ``num_qubits`` qubits.

    Args:
        p: Probability of replacing the register by the maximally mixed state,
            ``0 ≤ p ≤ d²/(d² − 1)`` (complete positivity).
        num_qubits: ``k``; ``d = 2**k``.

    Returns:
        The channel with ``4**k`` Pauli Kraus operators.

    Raises:
        ValueError: When ``p`` is outside the completely positive range.
    """
    d2 = 4**num_qubits
    if not 0.0 <= p <= d2 / (d2 - 1):
        raise ValueError(f"depolarizing probability {p} outside [0, {d2 / (d2 - 1):.4g}]")
    paulis = pauli_basis(num_qubits)
    weights = [1.0 - p + p / d2] + [p / d2] * (d2 - 1)
    kraus = tuple(math.sqrt(w) * m for w, m in zip(weights, paulis, strict=True))
    return Channel(f"depolarizing{num_qubits}q(p={p:g})", kraus, unitary_mixture=True)


def depolarizing_from_fidelity(fidelity: float, num_qubits: int) -> float:
    """Depolarizing probability whose average gate fidelity is ``fidelity``.

    ``F = 1 − p·(d − 1)/d`` (module docstring), so ``p = (1 − F)·d/(d − 1)``.

    Args:
        fidelity: Average gate fidelity in ``[0, 1]``.
        num_qubits: Number of qubits ``k`` of the gate; ``d = 2**k``.

    Returns:
        The probability ``p`` for ``depolarizing(p, k)``.
    """
    d = 2**num_qubits
    return (1.0 - fidelity) * d / (d - 1)


def amplitude_damping(gamma: float) -> Channel:
    """Energy relaxation ``|1⟩ → |0⟩`` with probability ``gamma``.

    Args:
        gamma: Decay probability, ``1 − exp(−t/T1)`` for a duration ``t``.

    Returns:
        The one-qubit channel with Kraus ``[[1,0],[0,√(1−γ)]]`` and ``[[0,√γ],[0,0]]``.
    """
    k0 = np.array([[1, 0], [0, math.sqrt(1 - gamma)]], dtype=complex)
    k1 = np.array([[0, math.sqrt(gamma)], [0, 0]], dtype=complex)
    return Channel(f"amplitude_damping(γ={gamma:g})", (k0, k1))


def phase_damping(lam: float) -> Channel:
    """Pure dephasing: off-diagonal elements shrink by ``√(1 − lam)``.

    Args:
        lam: Phase-damping parameter, ``1 − exp(−2t/T_φ)`` for a duration ``t``.

    Returns:
        The one-qubit channel with Kraus ``diag(1, √(1−λ))`` and ``diag(0, √λ)``.
    """
    k0 = np.array([[1, 0], [0, math.sqrt(1 - lam)]], dtype=complex)
    k1 = np.array([[0, 0], [0, math.sqrt(lam)]], dtype=complex)
    return Channel(f"phase_damping(λ={lam:g})", (k0, k1))


def dephasing_rate(t1: float | None, t2: float | None) -> float:
    """Pure-dephasing rate ``1/T_φ = 1/T2 − 1/(2·T1)`` (0 when T2 is absent).

    Raises:
        ValueError: When ``T2 > 2·T1`` (unphysical).
    """
    if t2 is None:
        return 0.0
    rate = 1.0 / t2 - (0.5 / t1 if t1 is not None else 0.0)
    if rate < -1e-12:
        raise ValueError(f"T2 = {t2} exceeds 2·T1 = {2 * t1}")
    return max(rate, 0.0)


def compose(first: Channel, second: Channel) -> Channel:
    """The channel ``second ∘ first`` on the same qubits (Kraus products)."""
    kraus = tuple(b @ a for a in first.kraus for b in second.kraus)
    return Channel(
        f"{second.name}∘{first.name}", kraus, first.unitary_mixture and second.unitary_mixture
    )


def thermal_relaxation(duration: float, t1: float | None, t2: float | None) -> Channel | None:
    """Amplitude damping (T1) then pure dephasing (T_φ) over ``duration``; None if trivial.

    Args:
        duration: Gate duration, in the unit of ``t1``/``t2``.
        t1: Energy relaxation time, or None for no amplitude damping.
        t2: Coherence time, or None for no extra dephasing.

    Returns:
        A one-qubit channel, or None when the duration is 0 or both times are absent.
    """
    if duration <= 0.0 or (t1 is None and t2 is None):
        return None
    parts = []
    if t1 is not None:
        parts.append(amplitude_damping(1.0 - math.exp(-duration / t1)))
    rate = dephasing_rate(t1, t2)
    if rate > 0.0:
        parts.append(phase_damping(1.0 - math.exp(-2.0 * duration * rate)))
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = compose(out, part)
    return out


def gate_noise(noise: NoiseModel, num_qubits: int) -> tuple[tuple[Channel, tuple[int, ...]], ...]:
    """The channels that follow a ``num_qubits``-qubit gate, with the gate-local qubits they act on.

    One-qubit gates get ``depolarizing_1q``; gates on two or more qubits get the
    ``k``-qubit depolarizing channel with probability ``depolarizing_2q``; then every
    qubit of the gate relaxes for the gate's duration (``time_1q`` or ``time_2q``).

    Args:
        noise: The device noise model.
        num_qubits: Arity of the gate.

    Returns:
        ``(channel, positions)`` pairs; ``positions`` index the gate's qubit tuple.
    """
    out: list[tuple[Channel, tuple[int, ...]]] = []
    p = noise.depolarizing_1q if num_qubits == 1 else noise.depolarizing_2q
    if p > 0.0:
        out.append((depolarizing(p, num_qubits), tuple(range(num_qubits))))
    duration = noise.time_1q if num_qubits == 1 else noise.time_2q
    relax = thermal_relaxation(duration, noise.t1, noise.t2)
    if relax is not None:
        out.extend((relax, (i,)) for i in range(num_qubits))
    return tuple(out)


def channel_superop(channel: Channel) -> np.ndarray:
    """Superoperator of ``channel`` acting on the row-major vectorisation of ρ.

    With ``vec(ρ)[i·d + j] = ρ[i, j]`` one has ``vec(KρK†) = (K ⊗ K̄)·vec(ρ)``.
    """
    return sum(np.kron(k, k.conj()) for k in channel.kraus)


def is_trace_preserving(channel: Channel, atol: float = 1e-12) -> bool:
    """True when ``Σ K_m† K_m = I`` within ``atol``."""
    total = sum(k.conj().T @ k for k in channel.kraus)
    return bool(np.allclose(total, np.eye(total.shape[0]), atol=atol))


def confusion_matrix(readout_error: tuple[float, float]) -> np.ndarray:
    """Column-stochastic ``2×2`` matrix ``C[observed, true]`` from ``(p(1|0), p(0|1))``."""
    p10, p01 = readout_error
    return np.array([[1.0 - p10, p01], [p10, 1.0 - p01]])


def apply_confusion(
    probs: np.ndarray, readout_error: tuple[float, float], num_bits: int
) -> np.ndarray:
    """Mix a batch of outcome distributions over ``num_bits`` bits by the per-bit confusion matrix.

    Args:
        probs: ``(B, 2**num_bits)`` true outcome probabilities (little-endian bits).
        readout_error: ``(p(1|0), p(0|1))``, the same for every bit.
        num_bits: Number of measured bits.

    Returns:
        ``(B, 2**num_bits)`` observed probabilities ``(C ⊗ … ⊗ C)·p``.
    """
    return apply_confusion_matrix(probs, confusion_matrix(readout_error), num_bits)


def apply_confusion_matrix(probs: np.ndarray, conf: np.ndarray, num_bits: int) -> np.ndarray:
    """Apply the same ``2×2`` matrix ``conf`` to every bit of ``(B, 2**num_bits)`` distributions."""
    batch = probs.shape[0]
    # axis 1 + j of the reshaped array is bit num_bits-1-j (little-endian flattening)
    arr = probs.reshape((batch,) + (2,) * num_bits)
    for axis in range(1, num_bits + 1):
        arr = np.moveaxis(np.tensordot(arr, conf, axes=([axis], [1])), -1, axis)
    return arr.reshape(batch, -1)


def readout_expval_factors(readout_error: tuple[float, float]) -> tuple[float, float]:
    """``(a, b)`` with ``E[s_observed | s_true] = a + b·s_true`` for a ±1 outcome.

    ``a = p(0|1) − p(1|0)`` and ``b = 1 − p(1|0) − p(0|1)``.
    """
    p10, p01 = readout_error
    return p01 - p10, 1.0 - p10 - p01


def sample_counts(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Estimate each row of ``probs`` from ``shots`` multinomial samples.

    Args:
        probs: ``(B, M)`` outcome distributions (rows are clipped at 0 and renormalised).
        shots: Number of shots per row.
        rng: Seeded generator.

    Returns:
        ``(B, M)`` relative frequencies ``counts / shots``.
    """
    p = np.clip(probs, 0.0, None)
    p = p / p.sum(axis=1, keepdims=True)
    return np.stack([rng.multinomial(shots, row) for row in p]) / shots


def sample_expvals(expvals: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Estimate ±1-valued expectation values from ``shots`` binomial samples each.

    Args:
        expvals: ``(B, K)`` exact expectation values in ``[-1, 1]``.
        shots: Shots per observable.
        rng: Seeded generator.

    Returns:
        ``(B, K)`` sample means of the ±1 outcomes.
    """
    p_plus = np.clip((1.0 + expvals) / 2.0, 0.0, 1.0)
    return 2.0 * rng.binomial(shots, p_plus) / shots - 1.0
