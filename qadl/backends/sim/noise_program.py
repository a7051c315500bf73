"""Circuit + NoiseModel -> NoiseProgram: per-op superoperators as flat arrays for the noisy kernels.

Density matrices are stored row-major and flattened, ``vec(ρ)[i·2^n + j] = ρ[i, j]``, so
the flat vector is a "statevector" of ``2n`` virtual qubits: virtual qubit ``q`` is the
column (ket†) copy of qubit ``q`` and virtual qubit ``q + n`` its row (ket) copy. A
gate ``U`` on qubits ``Q`` then acts as the ``2k``-qubit matrix ``U ⊗ Ū`` on the virtual
qubits ``(Q, Q + n)`` — the same little-endian gather/multiply/scatter kernel as a
statevector gate — and the noise channels that follow it are folded into one
``4^k × 4^k`` superoperator ``S = N · (U ⊗ Ū)`` per op and sample.

Angle derivatives use the exact shift identity for the gate table (every matrix entry
is a trigonometric polynomial with frequencies in {0, ½, 1} in each angle):
``U'(a) = c₁·(U(a+π) − U(a−π)) + c₂·(U(a+π/2) − U(a−π/2))``, ``c₁ = (1−√2)/4``, ``c₂ = ½``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from qadl.backends.sim import channels as ch
from qadl.ir.circuit import Circuit
from qadl.ir.expr import DELTA, THETA, Expr, Sym
from qadl.ir.gates import GATES, Gate
from qadl.ir.target import NoiseModel

__all__ = [
    "SHIFT_RULE",
    "NoiseProgram",
    "compile_noise_program",
    "embed_superop",
    "eval_batch",
]

SHIFT_RULE: tuple[tuple[float, float], ...] = (
    (math.pi, (1.0 - math.sqrt(2.0)) / 4.0),
    (-math.pi, -(1.0 - math.sqrt(2.0)) / 4.0),
    (math.pi / 2, 0.5),
    (-math.pi / 2, -0.5),
)
"""``(shift, coefficient)`` pairs: ``f'(a) = Σ c·f(a + s)`` for frequencies {0, ½, 1}."""


@dataclass(frozen=True, eq=False)
class NoiseProgram:
    """The flat, numeric view of a circuit and its noise that the noisy kernels run.

    Ops are in circuit order. Op ``j`` acts on ``qubits[j]`` with angle slots
    ``slot_start[j] … slot_start[j] + num_angles(j) − 1`` of the angle vector.
    """

    num_qubits: int
    gates: tuple[Gate, ...]
    """Gate of each op."""
    qubits: tuple[tuple[int, ...], ...]
    """Qubits of each op."""
    slot_start: tuple[int, ...]
    """First angle slot of each op."""
    angles: tuple[Expr, ...]
    """Angle expression of every slot."""
    angle_grads: tuple[tuple[tuple[Sym, Expr], ...], ...]
    """Per slot: ``(symbol, ∂angle/∂symbol)`` for every symbol it depends on."""
    noise_superops: tuple[np.ndarray | None, ...]
    """Per op: the ``4^k × 4^k`` superoperator of the channels after it (None: no noise)."""
    noise_channels: tuple[tuple[tuple[ch.Channel, tuple[int, ...]], ...], ...]
    """Per op: the channels after it and the absolute qubits each acts on (for trajectories)."""
    num_params: int
    num_features: int
    num_deltas: int
    amplitude_ops: tuple[tuple[tuple[int, ...], int], ...] = ()
    """``(qubits, first slot)`` of every ``amplitude`` op: ``2**len(qubits)`` slots each.

    They prepare the initial state (``initial_state``); ``verify`` guarantees that they
    precede every other op on their qubits, and ops on other qubits commute with them.
    """

    @property
    def num_ops(self) -> int:
        """Number of ops."""
        return len(self.gates)

    @property
    def num_slots(self) -> int:
        """Length of the angle vector."""
        return len(self.angles)

    def slots(self, j: int) -> slice:
        """The angle slots of op ``j``."""
        start = self.slot_start[j]
        return slice(start, start + GATES[self.gates[j]].num_angles)

    def virtual_positions(self, j: int) -> tuple[int, ...]:
        """Virtual qubits of op ``j``'s superoperator: columns ``Q`` then rows ``Q + n``."""
        q = self.qubits[j]
        return q + tuple(p + self.num_qubits for p in q)

    def angle_values(
        self, theta: np.ndarray, x: np.ndarray | None, delta: np.ndarray | None, batch: int
    ) -> np.ndarray:
        """``(B, num_slots)`` numeric angles for a batch."""
        out = np.empty((batch, self.num_slots))
        for s, expr in enumerate(self.angles):
            out[:, s] = eval_batch(expr, theta, x, delta, batch)
        return out

    def chain(
        self,
        slot_grads: np.ndarray,
        theta: np.ndarray,
        x: np.ndarray | None,
        delta: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Chain ``dL/d(angle slots)`` (B, A) to ``dL/dθ``, ``dL/dx`` and ``dL/dδ``.

        ``dL/dθ`` is summed over the batch.
        """
        batch = slot_grads.shape[0]
        g_theta = np.zeros(self.num_params)
        g_x = np.zeros((batch, self.num_features)) if self.num_features else None
        g_delta = np.zeros((batch, self.num_deltas)) if self.num_deltas else None
        for s, pairs in enumerate(self.angle_grads):
            col = slot_grads[:, s]
            for sym, dexpr in pairs:
                contrib = col * eval_batch(dexpr, theta, x, delta, batch)
                if sym.kind == THETA:
                    g_theta[sym.index] += contrib.sum()
                elif sym.kind == DELTA:
                    g_delta[:, sym.index] += contrib  # type: ignore[index]
                else:
                    g_x[:, sym.index] += contrib  # type: ignore[index]
        return g_theta, g_x, g_delta


def _local_index(num_qubits: int, qubits: tuple[int, ...]) -> np.ndarray:
    """Index of every basis state in the register ``qubits`` (``qubits[0]`` least significant)."""
    idx = np.arange(1 << num_qubits)
    out = np.zeros_like(idx)
    for bit, q in enumerate(qubits):
        out |= ((idx >> q) & 1) << bit
    return out


def initial_state(prog: NoiseProgram, angles: np.ndarray) -> np.ndarray:
    """``(B, 2^n)`` product of the normalised amplitude registers, ``|0⟩`` elsewhere."""
    n, batch = prog.num_qubits, angles.shape[0]
    psi = np.zeros((batch, 1 << n), dtype=complex)
    covered = sum(1 << q for qs, _ in prog.amplitude_ops for q in qs)
    support = (np.arange(1 << n) & ~covered) == 0
    values = np.ones((batch, int(support.sum())))
    for qs, start in prog.amplitude_ops:
        amp = angles[:, start : start + (1 << len(qs))]
        amp = amp / np.linalg.norm(amp, axis=1, keepdims=True)
        values *= amp[:, _local_index(n, qs)[support]]
    psi[:, support] = values
    return psi


def amplitude_slot_grads(prog: NoiseProgram, angles: np.ndarray, g_state: np.ndarray) -> np.ndarray:
    """Chain ``dL/dRe ψ₀ + i·dL/dIm ψ₀`` (B, 2^n) to the amplitude slots (B, A).

    ψ₀ is real and multilinear in the normalised registers ``â_r``; ``â = a/‖a‖`` has
    Jacobian ``(I − â âᵀ)/‖a‖``.
    """
    n = prog.num_qubits
    out = np.zeros_like(angles)
    covered = sum(1 << q for qs, _ in prog.amplitude_ops for q in qs)
    support = (np.arange(1 << n) & ~covered) == 0
    g = g_state[:, support].real
    normed, locals_ = [], []
    for qs, start in prog.amplitude_ops:
        amp = angles[:, start : start + (1 << len(qs))]
        norm = np.linalg.norm(amp, axis=1, keepdims=True)
        normed.append((amp / norm, norm))
        locals_.append(_local_index(n, qs)[support])
    for r, (qs, start) in enumerate(prog.amplitude_ops):
        weight = g.copy()
        for other, (hat, _) in enumerate(normed):
            if other != r:
                weight *= hat[:, locals_[other]]
        dhat = np.zeros((angles.shape[0], 1 << len(qs)))
        for b in range(angles.shape[0]):
            dhat[b] = np.bincount(locals_[r], weights=weight[b], minlength=1 << len(qs))
        hat, norm = normed[r]
        out[:, start : start + (1 << len(qs))] = (
            dhat - hat * (hat * dhat).sum(axis=1, keepdims=True)
        ) / norm
    return out


def eval_batch(
    expr: Expr, theta: np.ndarray, x: np.ndarray | None, delta: np.ndarray | None, batch: int
) -> np.ndarray:
    """Evaluate an angle expression for every sample: θ is shared, x and δ are ``(B, ·)``."""
    total = np.zeros(batch)
    for mono, coeff in expr.terms:
        term = np.full(batch, coeff)
        for s in mono:
            if s.kind == THETA:
                term = term * theta[s.index]
            elif s.kind == DELTA:
                term = term * delta[:, s.index]  # type: ignore[index]
            else:
                term = term * x[:, s.index]  # type: ignore[index]
        total += term
    return total


def _embed(op: np.ndarray, position: int, num_qubits: int) -> np.ndarray:
    """A one-qubit operator at little-endian ``position`` of a ``num_qubits`` register."""
    out = np.ones((1, 1), dtype=complex)
    for p in reversed(range(num_qubits)):  # kron puts its first factor in the high bits
        out = np.kron(out, op if p == position else np.eye(2))
    return out


def _local_superop(
    channels: tuple[tuple[ch.Channel, tuple[int, ...]], ...], k: int
) -> np.ndarray | None:
    """Compose the gate-local channels into one ``4^k × 4^k`` superoperator (None if none)."""
    if not channels:
        return None
    total = np.eye(4**k, dtype=complex)
    for channel, positions in channels:
        if channel.num_qubits == k:
            kraus = channel.kraus
        else:
            kraus = tuple(_embed(kr, positions[0], k) for kr in channel.kraus)
        total = ch.channel_superop(ch.Channel(channel.name, kraus)) @ total
    return total


def compile_noise_program(circuit: Circuit, noise: NoiseModel) -> NoiseProgram:
    """Flatten a circuit and a noise model for the noisy simulators.

    Args:
        circuit: The IR circuit; ``amplitude`` ops become the initial state (noiseless
            preparation) and are not gates of the program.
        noise: Which channels follow each gate (see ``channels.gate_noise``).

    Returns:
        The NoiseProgram.

    Raises:
        ValueError: For ``amplitude`` ops in a circuit that takes an input state.
    """
    gates, qubits, starts, angles, grads, superops, chans, amps = [], [], [], [], [], [], [], []
    for op in circuit.ops:
        if op.gate is Gate.AMPLITUDE:
            if circuit.state_input:
                raise ValueError("amplitude encoding needs |0…0⟩ on its qubits, not an input state")
            amps.append((tuple(op.qubits), len(angles)))
            for a in op.angles:
                angles.append(a)
                grads.append(tuple((s, a.grad(s)) for s in sorted(a.symbols(), key=Sym.sort_key)))
            continue
        k = len(op.qubits)
        gates.append(op.gate)
        qubits.append(tuple(op.qubits))
        starts.append(len(angles))
        for a in op.angles:
            angles.append(a)
            syms = sorted(a.symbols(), key=Sym.sort_key)
            grads.append(tuple((s, a.grad(s)) for s in syms))
        local = ch.gate_noise(noise, k)
        superops.append(_local_superop(local, k))
        chans.append(tuple((c, tuple(op.qubits[i] for i in pos)) for c, pos in local))
    return NoiseProgram(
        circuit.num_qubits,
        tuple(gates),
        tuple(qubits),
        tuple(starts),
        tuple(angles),
        tuple(grads),
        tuple(superops),
        tuple(chans),
        circuit.num_params,
        circuit.num_features,
        circuit.num_deltas,
        tuple(amps),
    )


_FREQS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
"""Frequencies of every matrix entry of a one-angle gate, as a function of its angle."""


@functools.cache
def _fourier(gate: Gate) -> np.ndarray:
    """``(5, d, d)`` coefficients ``c_ω`` with ``U(a) = Σ_ω c_ω·e^{iωa}`` (one-angle gates).

    Fitted exactly from five samples ``a_k = 4πk/5``, where the basis is a 5-point DFT.
    """
    angles = 4.0 * np.pi * np.arange(5) / 5.0
    basis = np.exp(1j * np.outer(angles, _FREQS))  # (sample, ω)
    samples = np.stack([GATES[gate].matrix((a,)) for a in angles])
    coeffs = np.linalg.solve(basis, samples.reshape(5, -1))
    return coeffs.reshape(samples.shape)


def gate_matrices(gate: Gate, angle_rows: np.ndarray) -> np.ndarray:
    """``(B, 2^k, 2^k)`` unitaries of ``gate`` for angle rows ``(B, num_angles)``."""
    info = GATES[gate]
    if info.num_angles == 0:
        return np.broadcast_to(info.matrix(()), (angle_rows.shape[0],) + (2**info.num_qubits,) * 2)
    if info.num_angles == 1:
        phases = np.exp(1j * np.outer(angle_rows[:, 0], _FREQS))
        return np.einsum("bw,wij->bij", phases, _fourier(gate))
    return np.stack([info.matrix(tuple(row)) for row in angle_rows])


def gate_derivatives(gate: Gate, angle_rows: np.ndarray, which: int) -> np.ndarray:
    """``(B, 2^k, 2^k)`` exact ``∂U/∂angle[which]`` (Fourier form, or ``SHIFT_RULE`` for ``u``)."""
    if GATES[gate].num_angles == 1:
        phases = 1j * _FREQS * np.exp(1j * np.outer(angle_rows[:, 0], _FREQS))
        return np.einsum("bw,wij->bij", phases, _fourier(gate))
    total = None
    for shift, coeff in SHIFT_RULE:
        rows = angle_rows.copy()
        rows[:, which] += shift
        term = coeff * gate_matrices(gate, rows)
        total = term if total is None else total + term
    return total  # type: ignore[return-value]


def _batched_kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a_b ⊗ b_b`` (B, d², d²); broadcasting, several times faster than ``einsum`` here."""
    batch, d, _ = a.shape
    return (a[:, :, None, :, None] * b[:, None, :, None, :]).reshape(batch, d * d, d * d)


def batched_superops(u: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
    """``N · (U_b ⊗ Ū_b)`` for a batch of unitaries ``u`` (B, d, d) -> (B, d², d²)."""
    kron = _batched_kron(u, u.conj())
    return kron if noise is None else noise @ kron


def batched_dsuperops(u: np.ndarray, du: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
    """``N · (dU ⊗ Ū + U ⊗ dŪ)``: derivative of ``batched_superops`` along one angle."""
    kron = _batched_kron(du, u.conj()) + _batched_kron(u, du.conj())
    return kron if noise is None else noise @ kron


def embed_superop(
    superop: np.ndarray, op_qubits: tuple[int, ...], block_qubits: tuple[int, ...]
) -> np.ndarray:
    """Embed ``(B, 4^k, 4^k)`` superoperators on ``op_qubits`` into the space of ``block_qubits``.

    Local layout of both: bits ``0 … k−1`` are the column copies of the qubits in order,
    bits ``k … 2k−1`` the row copies (``virtual_positions``). Bits of the block that the op
    does not touch pass through unchanged.
    """
    if op_qubits == block_qubits:
        return superop
    local, same_rest = _embedding(op_qubits, block_qubits)
    return superop[:, local[:, None], local[None, :]] * same_rest


@functools.cache
def _embedding(op_qubits: tuple[int, ...], block_qubits: tuple[int, ...]):
    """Op-local index of every block index, and the mask of index pairs the op may connect."""
    kb = len(block_qubits)
    where = [block_qubits.index(q) for q in op_qubits]
    bits = where + [w + kb for w in where]  # block bit of each op-local bit
    dim = 1 << (2 * kb)
    idx = np.arange(dim)
    local = np.zeros(dim, dtype=np.int64)
    for i, bb in enumerate(bits):
        local |= ((idx >> bb) & 1) << i
    rest_mask = (dim - 1) ^ sum(1 << bb for bb in bits)
    same_rest = (idx[:, None] & rest_mask) == (idx[None, :] & rest_mask)
    return local, same_rest
