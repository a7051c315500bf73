"""Scheduling and fusion: a circuit's ops as kernel blocks, its angles as the tape.

Scheduling keeps the operator exactly (no global phase change): single-qubit gates are
delayed on their wire and fused until a multi-qubit op needs the wire; constant diagonal
two-qubit gates (cz, constant cp/crz/rzz) are gathered into one diagonal group, which all
diagonal ops commute with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qadl.backends.sim.program import (
    F_AMP,
    F_CONST1,
    F_CONST4,
    F_CONSTD4,
    F_CZ,
    F_P,
    F_RX,
    F_RXX,
    F_RY,
    F_RYY,
    F_RZ,
    F_RZZ,
    F_U,
    K_AMP,
    K_CCX,
    K_CM1,
    K_CX,
    K_D1,
    K_D2,
    K_DGRP,
    K_M1,
    K_M2,
    K_SWAP,
    SHIFT_FOUR,
    SHIFT_NONE,
    SHIFT_TWO,
    AngleTape,
    Block,
    Factor,
)
from qadl.ir.circuit import Op
from qadl.ir.expr import DELTA, THETA, Expr, X
from qadl.ir.gates import GATES, Gate

_ROT1 = {Gate.RX: F_RX, Gate.RY: F_RY, Gate.RZ: F_RZ, Gate.P: F_P, Gate.U: F_U}
_CTRL = {Gate.CRX: F_RX, Gate.CRY: F_RY, Gate.CRZ: F_RZ, Gate.CP: F_P}
_PAULI2 = {Gate.RXX: F_RXX, Gate.RYY: F_RYY}
_DIAG1_CODES = frozenset({F_RZ, F_P})

# -- the angle tape -----------------------------------------------------------------------
_KIND_CODE = {THETA: 0, X: 1, DELTA: 2}


class _TapeBuilder:
    """Appends expressions to the tape; one entry per gate angle (never shared)."""

    def __init__(self) -> None:
        self.c0: list[float] = []
        self.term_ptr: list[int] = [0]
        self.term_coef: list[float] = []
        self.sym_ptr: list[int] = [0]
        self.sym_kind: list[int] = []
        self.sym_index: list[int] = []
        self.shift: list[int] = []

    def add(self, expr: Expr, shift_rule: int) -> int:
        """Append ``expr``; return its tape index."""
        const = 0.0
        for mono, coeff in expr.terms:
            if not mono:
                const += coeff
                continue
            self.term_coef.append(coeff)
            for sym in mono:
                self.sym_kind.append(_KIND_CODE[sym.kind])
                self.sym_index.append(sym.index)
            self.sym_ptr.append(len(self.sym_kind))
        self.c0.append(const)
        self.term_ptr.append(len(self.term_coef))
        self.shift.append(shift_rule)
        return len(self.c0) - 1

    def build(self) -> AngleTape:
        i64 = np.int64
        return AngleTape(
            c0=np.asarray(self.c0, dtype=np.float64),
            term_ptr=np.asarray(self.term_ptr, dtype=i64),
            term_coef=np.asarray(self.term_coef, dtype=np.float64),
            sym_ptr=np.asarray(self.sym_ptr, dtype=i64),
            sym_kind=np.asarray(self.sym_kind, dtype=i64),
            sym_index=np.asarray(self.sym_index, dtype=i64),
            shift_rule=np.asarray(self.shift, dtype=i64),
        )


def _shift_rule(gate: Gate) -> int:
    return SHIFT_FOUR if gate in _CTRL else SHIFT_TWO


# -- scheduling and fusion ------------------------------------------------------------------
@dataclass
class _Pending1q:
    """Single-qubit factors waiting on one wire; constants are multiplied as they arrive."""

    factors: list[tuple[int, object]] = field(default_factory=list)
    """(code, tape index) for symbolic gates, (F_CONST1, 2×2 matrix) for constants."""

    def push_const(self, mat: np.ndarray) -> None:
        if self.factors and self.factors[-1][0] == F_CONST1:
            prev = self.factors[-1][1]
            self.factors[-1] = (F_CONST1, mat @ prev)  # later gates multiply on the left
        else:
            self.factors.append((F_CONST1, mat))


def _is_diag(mat: np.ndarray) -> bool:
    return bool(np.all(mat[~np.eye(mat.shape[0], dtype=bool)] == 0))


class _Scheduler:
    """Turns the op list into blocks (see the module docstring for the rules)."""

    def __init__(self, num_qubits: int, tape: _TapeBuilder) -> None:
        self.tape = tape
        self.blocks: list[Block] = []
        self.pending: dict[int, _Pending1q] = {}
        self.group: list[Factor] = []
        self.group_qubits: set[int] = set()
        self.const1: list[np.ndarray] = []
        self.const4: list[np.ndarray] = []
        self.constd4: list[np.ndarray] = []
        self.amp_off: list[int] = []

    # constants tables
    def _c1(self, m: np.ndarray) -> int:
        self.const1.append(np.asarray(m, dtype=np.complex128))
        return len(self.const1) - 1

    def _c4(self, m: np.ndarray) -> int:
        self.const4.append(np.asarray(m, dtype=np.complex128))
        return len(self.const4) - 1

    def _cd4(self, d: np.ndarray) -> int:
        self.constd4.append(np.asarray(d, dtype=np.complex128))
        return len(self.constd4) - 1

    # flushing
    def _emit_group(self) -> None:
        if self.group:
            self.blocks.append(Block(K_DGRP, (), tuple(self.group)))
        self.group = []
        self.group_qubits = set()

    def _flush_qubit(self, q: int) -> None:
        pend = self.pending.pop(q, None)
        if pend is None or not pend.factors:
            return
        if q in self.group_qubits:
            self._emit_group()
        block = self._single_qubit_block(q, pend)
        if block is not None:
            self.blocks.append(block)

    def _single_qubit_block(self, q: int, pend: _Pending1q) -> Block | None:
        factors = []
        diagonal = True
        for code, payload in pend.factors:
            if code == F_CONST1:
                mat = payload  # type: ignore[assignment]
                if np.allclose(mat, np.eye(2), rtol=0.0, atol=1e-15):
                    continue
                diagonal &= _is_diag(mat)
                factors.append(Factor(F_CONST1, self._c1(mat)))
            else:
                diagonal &= code in _DIAG1_CODES
                factors.append(Factor(code, int(payload)))  # type: ignore[arg-type]
        if not factors:
            return None
        return Block(K_D1 if diagonal else K_M1, (q,), tuple(factors))

    def _flush_wires(self, qubits: tuple[int, ...]) -> None:
        for q in qubits:
            self._flush_qubit(q)

    def finish(self) -> None:
        """Emit everything still pending (the diagonal group first: wires wait on it)."""
        self._emit_group()
        for q in sorted(self.pending):
            self._flush_qubit(q)

    # ops
    def add(self, op: Op) -> None:
        """Schedule one op."""
        if op.gate is Gate.AMPLITUDE:
            self._add_amplitude(op)
            return
        info = GATES[op.gate]
        constant = all(a.is_constant for a in op.angles)
        if info.num_qubits == 1:
            self._add_1q(op, constant)
        elif constant and info.diagonal:
            self._flush_wires(op.qubits)
            mat = info.matrix([a.constant_value for a in op.angles])
            a, b = op.qubits
            if op.gate is Gate.CZ:
                self.group.append(Factor(F_CZ, 0, (a, b)))
            else:
                self.group.append(Factor(F_CONSTD4, self._cd4(np.diag(mat)), (a, b)))
            self.group_qubits.update(op.qubits)
        else:
            self._add_other(op, constant)

    def _add_1q(self, op: Op, constant: bool) -> None:
        pend = self.pending.setdefault(op.qubits[0], _Pending1q())
        if constant:
            pend.push_const(GATES[op.gate].matrix([a.constant_value for a in op.angles]))
        else:
            start = -1
            for angle in op.angles:
                idx = self.tape.add(angle, SHIFT_TWO)
                start = idx if start < 0 else start
            pend.factors.append((_ROT1[op.gate], start))

    def _emit(self, block: Block, qubits: tuple[int, ...], diagonal: bool) -> None:
        self._flush_wires(qubits)
        if not diagonal and self.group_qubits & set(qubits):
            self._emit_group()
        self.blocks.append(block)

    def _add_other(self, op: Op, constant: bool) -> None:
        gate, qs = op.gate, op.qubits
        info = GATES[gate]
        if gate is Gate.CX:
            self._emit(Block(K_CX, qs), qs, False)
        elif gate is Gate.SWAP:
            self._emit(Block(K_SWAP, qs), qs, False)
        elif gate is Gate.CCX:
            self._emit(Block(K_CCX, qs), qs, False)
        elif constant:
            mat = info.matrix([a.constant_value for a in op.angles])
            if gate in (Gate.CY, Gate.CH, Gate.CRX, Gate.CRY):
                # controlled(T) has T in rows/cols 1 and 3 (control = qubits[0] set).
                target = mat[np.ix_([1, 3], [1, 3])]
                self._emit(Block(K_CM1, qs, (Factor(F_CONST1, self._c1(target)),)), qs, False)
            else:
                self._emit(Block(K_M2, qs, (Factor(F_CONST4, self._c4(mat)),)), qs, False)
        else:
            idx = self.tape.add(op.angles[0], _shift_rule(gate))
            if gate in _CTRL:
                code = _CTRL[gate]
                self._emit(Block(K_CM1, qs, (Factor(code, idx),)), qs, code in _DIAG1_CODES)
            elif gate is Gate.RZZ:
                self._emit(Block(K_D2, qs, (Factor(F_RZZ, idx),)), qs, True)
            else:
                self._emit(Block(K_M2, qs, (Factor(_PAULI2[gate], idx),)), qs, False)

    def _add_amplitude(self, op: Op) -> None:
        k = len(op.qubits)
        start = -1
        for angle in op.angles:
            idx = self.tape.add(angle, SHIFT_NONE)
            start = idx if start < 0 else start
        offset = len(self.amp_off)
        for j in range(1 << k):
            self.amp_off.append(sum(((j >> bit) & 1) << q for bit, q in enumerate(op.qubits)))
        block = Block(K_AMP, op.qubits, (Factor(F_AMP, start),), (offset, 1 << k))
        self._emit(block, op.qubits, False)

