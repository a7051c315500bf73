"""Batched feature states of circuits made of phase layers: CNOT networks and diagonal gates.

Feature maps such as the ZZ map (Havlíček et al. 2019) alternate Hadamard layers with
long runs of ``cx; p(φ); cx`` and single-qubit phases: about 400 state passes per sample
at 12 qubits, most of them permutations. A run of CNOTs and diagonal gates is a *phase
polynomial*: |s⟩ → e^{i f(s)} |L s⟩, where L is the CNOT network's linear map over
GF(2) and f a sum of angle × parity(mask · s) terms (Amy et al., IEEE TCAD 33, 1476
(2014)). Such a run costs one pass per distinct parity mask (a multiply-add per
amplitude, against a shared table of parities), one complex exponential and, if L is
not the identity, one gather; other single-qubit gates are per-sample 2 × 2 matrices.
The compiled kernel (``phase_kernels``) runs one sample per thread. The result is the
exact state (global phases included); only the order of floating-point operations
differs from the simulator's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate

__all__ = ["PhasePlan", "encode", "phase_plan", "phase_states"]

DENSE, PHASE = 0, 1
"""Step kinds of an encoded plan (as in ``phase_kernels``)."""

_DIAGONAL_1Q = {
    Gate.Z: math.pi, Gate.S: math.pi / 2, Gate.SDG: -math.pi / 2,
    Gate.T: math.pi / 4, Gate.TDG: -math.pi / 4,
}
"""Constant phase gates: diag(1, e^{iφ})."""
_DENSE_1Q = (Gate.H, Gate.X, Gate.Y, Gate.SX, Gate.SXDG, Gate.RX, Gate.RY, Gate.U)
_PHASE_GATES = (Gate.CX, Gate.SWAP, Gate.P, Gate.RZ, Gate.CZ, Gate.CP, Gate.RZZ,
                *_DIAGONAL_1Q)


@dataclass(frozen=True)
class PhasePlan:
    """A circuit as steps: ``("dense", op)`` or ``("phase", terms, perm)``.

    ``terms`` are (mask, angle Expr, weight): the phase weight·angle·parity(mask·s), a
    mask 0 being a global phase; ``perm`` maps each basis state s to L s (None: identity).
    """

    num_qubits: int
    steps: tuple[tuple, ...]

    @property
    def passes(self) -> int:
        """Cost of the plan in simulator block passes: one per dense gate; a phase run
        costs its parity rows (a multiply-add per amplitude each, ~4 to a pass), the
        exponential and the gather."""
        total = 0
        for s in self.steps:
            if s[0] == "dense":
                total += 1
            else:
                total += len({mask for mask, _, _ in s[1]}) // 4 + 2 + (s[2] is not None)
        return total


class _Run:
    """One phase polynomial being built: wire parities, phase terms."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.wire = [1 << q for q in range(n)]
        self.terms: list[tuple[int, E.Expr, float]] = []

    def add(self, mask: int, angle: E.Expr, weight: float) -> None:
        self.terms.append((mask, angle, weight))

    def op(self, op: Op) -> None:
        g, qs, w = op.gate, op.qubits, self.wire
        if g is Gate.CX:
            w[qs[1]] ^= w[qs[0]]
        elif g is Gate.SWAP:
            w[qs[0]], w[qs[1]] = w[qs[1]], w[qs[0]]
        elif g is Gate.P:
            self.add(w[qs[0]], op.angles[0], 1.0)
        elif g is Gate.RZ:  # e^{-iφ/2} diag(1, e^{iφ})
            self.add(0, op.angles[0], -0.5)
            self.add(w[qs[0]], op.angles[0], 1.0)
        elif g in _DIAGONAL_1Q:
            self.add(w[qs[0]], E.const(_DIAGONAL_1Q[g]), 1.0)
        elif g in (Gate.CZ, Gate.CP):  # φ·a·b = φ/2 (a + b − a⊕b)
            angle = E.const(math.pi) if g is Gate.CZ else op.angles[0]
            a, b = w[qs[0]], w[qs[1]]
            self.add(a, angle, 0.5)
            self.add(b, angle, 0.5)
            self.add(a ^ b, angle, -0.5)
        elif g is Gate.RZZ:  # e^{-iφ/2 Z⊗Z} = e^{-iφ/2} e^{iφ (a⊕b)}
            self.add(0, op.angles[0], -0.5)
            self.add(w[qs[0]] ^ w[qs[1]], op.angles[0], 1.0)
        else:  # pragma: no cover - phase_plan sends only _PHASE_GATES here
            raise ValueError(g)

    def step(self) -> tuple | None:
        if not self.terms and self.wire == [1 << q for q in range(self.n)]:
            return None
        perm = None
        if self.wire != [1 << q for q in range(self.n)]:
            s = np.arange(1 << self.n)
            perm = np.zeros_like(s)
            for q, mask in enumerate(self.wire):
                perm |= _parity(s & mask) << q
        return ("phase", tuple(self.terms), perm)


def _parity(v: np.ndarray) -> np.ndarray:
    v = v.copy()
    out = np.zeros_like(v)
    while np.any(v):
        out ^= v & 1
        v >>= 1
    return out


def phase_plan(circuit: Circuit) -> PhasePlan | None:
    """The plan of ``circuit``, or None if it holds a gate outside this module's set."""
    n = circuit.num_qubits
    steps: list[tuple] = []
    run = _Run(n)
    for op in circuit.ops:
        if op.gate in _PHASE_GATES:
            run.op(op)
        elif op.gate in _DENSE_1Q:
            step = run.step()
            if step is not None:
                steps.append(step)
            run = _Run(n)
            steps.append(("dense", op))
        else:
            return None
    step = run.step()
    if step is not None:
        steps.append(step)
    return PhasePlan(n, tuple(steps))


def _values(angle: E.Expr, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The angle for every sample, (B,)."""
    out = np.zeros(len(x))
    for mono, coef in angle.terms:
        term = np.full(len(x), coef)
        for s in mono:
            if s.kind == E.X:
                term = term * x[:, s.index]
            elif s.kind == E.THETA:
                term = term * theta[s.index]
            else:
                raise ValueError("feature maps have no perturbation symbols")
        out += term
    return out


def _matrix(op: Op, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-sample 2 × 2 matrices (B, 2, 2) of a single-qubit gate."""
    b = len(x)
    g = op.gate
    if g in (Gate.RX, Gate.RY, Gate.U):
        a = [_values(angle, theta, x) for angle in op.angles]
        c, s = np.cos(a[0] / 2), np.sin(a[0] / 2)
        m = np.empty((b, 2, 2), dtype=np.complex128)
        if g is Gate.RX:
            m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -1j * s, -1j * s, c
        elif g is Gate.RY:
            m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
        else:  # U(θ, φ, λ), OpenQASM 3
            phi, lam = a[1], a[2]
            m[:, 0, 0] = c
            m[:, 0, 1] = -np.exp(1j * lam) * s
            m[:, 1, 0] = np.exp(1j * phi) * s
            m[:, 1, 1] = np.exp(1j * (phi + lam)) * c
        return m
    const = {
        Gate.H: np.array([[1, 1], [1, -1]]) / math.sqrt(2),
        Gate.X: np.array([[0, 1], [1, 0]]),
        Gate.Y: np.array([[0, -1j], [1j, 0]]),
        Gate.SX: np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2,
        Gate.SXDG: np.array([[1 - 1j, 1 + 1j], [1 + 1j, 1 - 1j]]) / 2,
    }[g]
    return np.asarray(const, dtype=np.complex128)


def encode(plan: PhasePlan, theta: np.ndarray, x: np.ndarray) -> tuple:
    """The plan as the arrays ``phase_kernels.run_plan`` takes, for features ``x`` (B, F)."""
    b, n = len(x), plan.num_qubits
    kind, arg, lo, hi, perm_of = [], [], [], [], []
    mats: list[np.ndarray] = []
    coefs: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    perms: list[np.ndarray] = []
    s = np.arange(1 << n)
    for step in plan.steps:
        if step[0] == "dense":
            m = _matrix(step[1], theta, x)
            mats.append(np.broadcast_to(m, (b, 2, 2)) if m.ndim == 2 else m)
            kind.append(DENSE), arg.append(len(mats) - 1), lo.append(step[1].qubits[0])
            hi.append(0), perm_of.append(-1)
            continue
        _, terms, perm = step
        masks = sorted({mask for mask, _, _ in terms})
        column = {mask: k for k, mask in enumerate(masks)}
        coef = np.zeros((b, len(masks)))
        for mask, angle, weight in terms:
            coef[:, column[mask]] += weight * _values(angle, theta, x)
        start = sum(len(c.T) for c in coefs)
        coefs.append(coef)
        # mask 0 is the global phase: a row of ones, not the (empty) parity
        rows += [_parity(s & m) if m else np.ones_like(s) for m in masks]
        kind.append(PHASE), arg.append(0), lo.append(start), hi.append(start + len(masks))
        perm_of.append(-1 if perm is None else len(perms))
        if perm is not None:
            perms.append(perm)
    ints = [np.asarray(v, dtype=np.int64) for v in (kind, arg, lo, hi, perm_of)]
    return (
        *ints,
        np.ascontiguousarray(mats, dtype=np.complex128) if mats
        else np.zeros((1, b, 2, 2), dtype=np.complex128),
        np.ascontiguousarray(np.hstack(coefs)) if coefs else np.zeros((b, 1)),
        np.asarray(rows, dtype=np.float64) if rows else np.zeros((1, 1 << n)),
        np.asarray(perms, dtype=np.int64) if perms else np.zeros((1, 1 << n), dtype=np.int64),
    )


def phase_states(plan: PhasePlan, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Final states (B, 2ⁿ) of the plan's circuit from |0…0⟩ for features ``x`` (B, F)."""
    from qadl.learn.phase_kernels import run_plan  # lazy: compiles on first use

    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty((len(x), 1 << plan.num_qubits), dtype=np.complex128)
    run_plan(plan.num_qubits, *encode(plan, np.asarray(theta, dtype=np.float64), x), out)
    return out
