"""Resynthesise constant two-qubit blocks with the fewest CX their operator allows (0 to 3)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected

__all__ = ["block_unitary", "min_cx_count", "resynth_2q", "synthesize_2q"]

_Y = np.array([[0, -1j], [1j, 0]])
_YY = np.kron(_Y, _Y)
_SWAP = GATES[Gate.SWAP].matrix()
_CX = GATES[Gate.CX].matrix()  # control = local qubit 0 (the low bit)
_I2 = np.eye(2)


def block_unitary(ops: list[Op], pair: tuple[int, int]) -> np.ndarray:
    """The 4×4 unitary of constant ops on ``pair`` (little-endian: ``pair[0]`` is the low bit)."""
    u = np.eye(4, dtype=complex)
    for op in ops:
        m = GATES[op.gate].matrix([a.constant_value for a in op.angles])
        if len(op.qubits) == 1:
            m = np.kron(_I2, m) if op.qubits[0] == pair[0] else np.kron(m, _I2)
        elif op.qubits != pair:
            m = _SWAP @ m @ _SWAP
        u = m @ u
    return u


def min_cx_count(u: np.ndarray, atol: float = 1e-9) -> int:
    """Fewest CX any circuit for ``u`` needs (Shende, Bullock & Markov, PRA 69, 062321 (2004)).

    With ``γ = V·(Y⊗Y)·Vᵀ·(Y⊗Y)`` for ``V = u/det(u)^{1/4}``: 0 CX iff ``γ = ±I``; 1 iff
    ``tr γ = 0`` and ``γ² = -I``; 2 iff ``tr γ`` is real; otherwise 3. The fourth-root
    ambiguity multiplies γ by ±1, which none of the tests see.
    """
    v = u / np.linalg.det(u) ** 0.25
    gamma = v @ _YY @ v.T @ _YY
    trace = np.trace(gamma)
    if abs(trace.imag) <= atol * 10 and abs(abs(trace.real) - 4.0) <= atol * 10:
        return 0  # γ = ±I (SWAP has γ = ±iI: |tr γ| = 4 but 3 CX)
    if abs(trace) <= atol * 10 and np.allclose(gamma @ gamma, -np.eye(4), atol=atol * 10):
        return 1
    if abs(trace.imag) <= atol * 10:
        return 2
    return 3


def _u3(t: float, p: float, lam: float) -> np.ndarray:
    return GATES[Gate.U].matrix([t, p, lam])


def _template(params: np.ndarray, k: int) -> np.ndarray:
    """``U⊗U`` then ``k`` times ``CX·(U⊗U)``; ``params`` holds 6 angles per layer."""
    layers = params.reshape(k + 1, 6)
    u = np.kron(_u3(*layers[0, 3:]), _u3(*layers[0, :3]))
    for j in range(1, k + 1):
        u = np.kron(_u3(*layers[j, 3:]), _u3(*layers[j, :3])) @ _CX @ u
    return u


def _fit(u: np.ndarray, k: int, rng: np.random.Generator, starts: int) -> np.ndarray | None:
    """Angles of the ``k``-CX template equal to ``u`` up to phase, by Levenberg–Marquardt."""
    from scipy.optimize import least_squares  # scipy only when a block is worth resynthesising

    def residual(x: np.ndarray) -> np.ndarray:
        diff = _template(x[:-1], k) - np.exp(1j * x[-1]) * u
        return np.concatenate([diff.real.ravel(), diff.imag.ravel()])

    for _ in range(starts):
        x0 = rng.uniform(-math.pi, math.pi, 6 * (k + 1) + 1)
        fit = least_squares(residual, x0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
        if np.max(np.abs(residual(fit.x))) < 1e-10:
            return fit.x[:-1]
    return None


def synthesize_2q(u: np.ndarray, pair: tuple[int, int], k: int, seed: int = 0) -> list[Op] | None:
    """Ops equal to ``u`` on ``pair`` up to global phase with exactly ``k`` CX, or None.

    Single-qubit layers are ``U(θ, φ, λ)`` gates; those equal to the identity are left
    out. The fit is checked to 1e-10 before it is returned.
    """
    params = _fit(u, k, np.random.default_rng(seed), starts=12)
    if params is None:
        return None
    layers = params.reshape(k + 1, 6)
    ops: list[Op] = []
    for j in range(k + 1):
        if j:
            ops.append(Op(Gate.CX, pair))
        for q, angles in ((pair[0], layers[j, :3]), (pair[1], layers[j, 3:])):
            m = _u3(*angles)
            if abs(abs(np.trace(m)) - 2.0) > 1e-12:  # not a phase times I
                ops.append(Op(Gate.U, (q,), tuple(E.const(float(a)) for a in angles)))
    return ops


@dataclass
class _Block:
    """Constant ops on one qubit pair, consecutive on both wires (local to ``resynth_2q``)."""

    pair: tuple[int, int]
    items: list[tuple[int, Op]] = field(default_factory=list)

    @property
    def two_qubit(self) -> int:
        return sum(len(op.qubits) == 2 for _, op in self.items)


def _constant(op: Op, ctx: PassContext) -> bool:
    return (
        op.gate is not Gate.AMPLITUDE
        and len(op.qubits) <= 2
        and all(a.is_constant for a in op.angles)
        and not is_protected(op, ctx)
    )


def _emit(block: _Block, out: list[tuple[int, int, Op]]) -> None:
    """Append the block's ops, or a verified shorter resynthesis at its last position."""
    ops = [op for _, op in block.items]
    if block.two_qubit >= 2:
        u = block_unitary(ops, block.pair)
        k = min_cx_count(u)
        if k < block.two_qubit:
            new = synthesize_2q(u, block.pair, k)
            if new is not None and len(new) <= len(ops):  # fewer CX, never more ops
                last = block.items[-1][0]
                out.extend((last, j, op) for j, op in enumerate(new))
                return
    out.extend((pos, 0, op) for pos, op in block.items)


@circuit_pass("resynth-2q")
def resynth_2q(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Replace each constant two-qubit block by a circuit with its minimal CX count.

    A block is a maximal run of constant ops on one pair of qubits, consecutive on both
    wires (single-qubit ops on either wire join the open block). Its 4×4 unitary's CX
    count ``k`` follows from the Shende–Bullock–Markov invariants; when ``k`` is below
    the block's two-qubit op count, a ``k``-CX template with ``U`` layers is fitted
    numerically (Levenberg–Marquardt, seeded, checked to 1e-10) and replaces the block
    when it has no more ops in total; if the fit fails the block is kept. Symbolic ops
    end blocks: their angles are not numbers. ``translate-basis`` and ``resynth-1q`` turn
    the ``U`` gates into native ones.

    Not deterministic bit for bit, hence in no optimisation level (opt in with
    ``--passes``): the least-squares iterations depend on last-bit rounding that varies
    with memory alignment, and a block has many equivalent decompositions, so two runs
    can return different (each verified) circuits with the same CX count.

    Precondition: none. Keeps: the operator up to global phase. Cost: O(ops), plus a small
    least-squares fit (≤ 25 parameters) per reducible block.
    """
    open_blocks: dict[int, _Block] = {}
    out: list[tuple[int, int, Op]] = []

    def close(q: int) -> None:
        block = open_blocks.get(q)
        if block is not None:
            for p in block.pair:
                open_blocks.pop(p, None)
            _emit(block, out)

    for pos, op in enumerate(circuit.ops):
        if not _constant(op, ctx):
            for q in op.qubits:
                close(q)
            out.append((pos, 0, op))
        elif len(op.qubits) == 1 and op.qubits[0] in open_blocks:
            open_blocks[op.qubits[0]].items.append((pos, op))
        elif len(op.qubits) == 1:
            out.append((pos, 0, op))
        else:
            a, b = op.qubits
            block = open_blocks.get(a)
            if block is None or block is not open_blocks.get(b):
                close(a)
                close(b)
                block = _Block((min(a, b), max(a, b)))
                open_blocks[a] = open_blocks[b] = block
            block.items.append((pos, op))
    for q in sorted(open_blocks):
        close(q)
    out.sort(key=lambda item: (item[0], item[1]))
    ops = tuple(op for _, _, op in out)
    return circuit if ops == circuit.ops else circuit.with_ops(ops)
