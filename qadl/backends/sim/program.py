"""Lower a ``Circuit`` to a ``SimProgram``: flat NumPy arrays, the simulator's only view of the IR.

A ``SimProgram`` has three parts, all plain arrays so that compiled kernels (and other
back ends such as the noisy simulator) can walk them without touching Python objects:

* the **angle tape** (``AngleTape``): every symbolic gate angle (and every amplitude of an
  ``amplitude`` op) is one tape entry ``a = c0[a] + Σ_t coef[t]·Π_{s∈t} value(s)``, stored
  CSR-like (``term_ptr`` → terms, ``sym_ptr`` → symbol occurrences), so the angles of a
  whole batch and their Jacobian back to θ, x and δ are computed in compiled code;
* the **block list**: the circuit after scheduling and fusion. Each block is one pass of
  a kernel over the state (a fused single-qubit block, a controlled 2×2, a 4×4, a 4-entry
  diagonal, a group of constant diagonal two-qubit gates, a permutation, an amplitude
  preparation). A block is a range of **factors** (``fac_*``): the gates it multiplies,
  each with a matrix code and either a tape index (symbolic angles) or a constant-table
  index;
* the **readout** (``ReadoutProgram``): marginal probabilities or Pauli products.

Scheduling keeps the operator exactly (no global phase change): single-qubit gates are
delayed on their wire and fused until a multi-qubit op needs the wire; constant diagonal
two-qubit gates (cz, constant cp/crz/rzz) are gathered into one diagonal group, which all
diagonal ops commute with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.expr import DELTA, THETA, Expr, X
from qadl.ir.gates import GATES, Gate

__all__ = [
    "AngleTape",
    "Block",
    "Factor",
    "ReadoutProgram",
    "SimProgram",
    "block_kind_name",
    "build_program",
]

# -- block kinds: which kernel runs the block -----------------------------------------------
K_M1 = 0
"""Fused single-qubit block, general 2×2 (qubit in ``qubits[b, 0]``)."""
K_D1 = 1
"""Fused single-qubit block whose factors are all diagonal."""
K_CM1 = 2
"""Controlled 2×2: control ``qubits[b, 0]``, target ``qubits[b, 1]``; one factor (target matrix)."""
K_M2 = 3
"""General 4×4 on ``(qubits[b, 0], qubits[b, 1])`` (little-endian); one factor."""
K_D2 = 4
"""Four-entry diagonal on ``(qubits[b, 0], qubits[b, 1])``; one factor."""
K_DGRP = 5
"""Group of constant diagonal two-qubit factors, each with its own qubits in ``fac_q``.

``aux[b] = (t, 1)``: the group's whole diagonal is row ``t`` of ``dtab`` (small registers);
``aux[b] = (0, 0)``: computed on the fly from the factors (large registers)."""
K_CX = 6
"""CNOT: control ``qubits[b, 0]``, target ``qubits[b, 1]``."""
K_SWAP = 7
"""SWAP of ``qubits[b, 0]`` and ``qubits[b, 1]``."""
K_CCX = 8
"""Toffoli: controls ``qubits[b, 0:2]``, target ``qubits[b, 2]``."""
K_AMP = 9
"""Amplitude preparation; ``aux[b] = (offset into amp_off, 2**k)``, tape entries from the factor."""

_KIND_NAMES = ("m1", "d1", "cm1", "m2", "d2", "dgrp", "cx", "swap", "ccx", "amp")

# -- factor codes: how a factor's matrix is built ---------------------------------------------
F_CONST1 = 0
"""Constant 2×2 from ``const1[arg]``."""
F_RX, F_RY, F_RZ, F_P, F_U = 1, 2, 3, 4, 5
"""Single-qubit rotations; angles from the tape starting at ``arg``."""
F_CONST4 = 6
"""Constant 4×4 from ``const4[arg]``."""
F_RXX, F_RYY = 7, 8
"""Two-qubit Pauli rotations (4×4)."""
F_RZZ = 9
"""ZZ rotation (4-entry diagonal)."""
F_CONSTD4 = 10
"""Constant 4-entry diagonal from ``constd4[arg]``."""
F_CZ = 11
"""CZ inside a diagonal group (a sign flip, no table)."""
F_AMP = 12
"""Amplitudes of an ``amplitude`` op (tape entries ``arg … arg + 2**k - 1``)."""
F_CZMASK = 13
"""Every cz (a, a + d) of a diagonal group with the same distance d, as one parity:
``fac_q = (d, mask)``, sign ``(-1)^popcount(i & (i >> d) & mask)`` (large registers)."""

# -- shift rules for parameter-shift differentiation, per tape entry -----------------------
SHIFT_NONE = 0
"""No shift rule (amplitudes): differentiated analytically."""
SHIFT_TWO = 1
"""Two-term rule, generator eigenvalues ±1/2 (or {0, 1})."""
SHIFT_FOUR = 2
"""Four-term rule, generator eigenvalues {0, ±1/2} (controlled rotations, cp)."""

_ROT1 = {Gate.RX: F_RX, Gate.RY: F_RY, Gate.RZ: F_RZ, Gate.P: F_P, Gate.U: F_U}
_CTRL = {Gate.CRX: F_RX, Gate.CRY: F_RY, Gate.CRZ: F_RZ, Gate.CP: F_P}
_PAULI2 = {Gate.RXX: F_RXX, Gate.RYY: F_RYY}
_DIAG1_CODES = frozenset({F_RZ, F_P})
_NUM_FACTOR_ANGLES = {F_RX: 1, F_RY: 1, F_RZ: 1, F_P: 1, F_U: 3, F_RXX: 1, F_RYY: 1, F_RZZ: 1}


@dataclass(frozen=True)
class AngleTape:
    """Every symbolic angle as a polynomial, flattened CSR-style.

    Entry ``a`` has value ``c0[a] + Σ_{t in term_ptr[a]:term_ptr[a+1]} coef[t] ·
    Π_{s in sym_ptr[t]:sym_ptr[t+1]} v(sym_kind[s], sym_index[s])`` where kind 0/1/2 reads
    θ/x/δ. A symbol may repeat inside one term (``θ0·θ0``).
    """

    c0: np.ndarray
    """(A,) float64 constant parts."""
    term_ptr: np.ndarray
    """(A+1,) int64: terms of entry ``a``."""
    term_coef: np.ndarray
    """(T,) float64 coefficients."""
    sym_ptr: np.ndarray
    """(T+1,) int64: symbol occurrences of term ``t``."""
    sym_kind: np.ndarray
    """(S,) int64: 0 = θ, 1 = x, 2 = δ."""
    sym_index: np.ndarray
    """(S,) int64: index into that vector."""
    shift_rule: np.ndarray
    """(A,) int64: SHIFT_NONE / SHIFT_TWO / SHIFT_FOUR for parameter-shift."""

    @property
    def num_angles(self) -> int:
        """Number of tape entries A."""
        return int(self.c0.shape[0])

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The kernels' tuple ``(c0, term_ptr, term_coef, sym_ptr, sym_kind, sym_index)``."""
        return (self.c0, self.term_ptr, self.term_coef, self.sym_ptr, self.sym_kind, self.sym_index)


@dataclass(frozen=True)
class ReadoutProgram:
    """The readout as arrays.

    ``kind`` 0 (probs): outputs are the probabilities of outcomes ``0 … num_classes-1`` of
    ``qubits`` (little-endian over that tuple). ``kind`` 1 (expval): output ``k`` is
    ``Re⟨ψ|P_k|ψ⟩`` with ``P_k = coeff[k] · X^{xmask[k]} · Z^{zmask[k]}`` (Z applied first).
    """

    kind: int
    qubits: np.ndarray
    """(R,) int64 readout qubits (probs)."""
    num_classes: int
    xmask: np.ndarray
    """(K,) int64 bit flips of each Pauli product."""
    zmask: np.ndarray
    """(K,) int64 sign bits of each Pauli product."""
    coeff: np.ndarray
    """(K,) complex128 phases of each Pauli product (i for each Y)."""

    @property
    def num_outputs(self) -> int:
        """K, the outputs per sample."""
        return self.num_classes if self.kind == 0 else int(self.xmask.shape[0])

    def arrays(self) -> tuple:
        """The tuple the kernels take: ``(kind, qubits, num_classes, xmask, zmask, coeff)``."""
        return (self.kind, self.qubits, self.num_classes, self.xmask, self.zmask, self.coeff)


@dataclass(frozen=True)
class Factor:
    """One gate inside a block, before flattening (builder-internal, kept for inspection)."""

    code: int
    arg: int
    qubits: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Block:
    """One kernel pass, before flattening."""

    kind: int
    qubits: tuple[int, ...]
    factors: tuple[Factor, ...] = ()
    aux: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class SimProgram:
    """A circuit as flat arrays (see the module docstring for the layout).

    Reusable by any state-based back end: walk ``kind`` in order; block ``b`` has
    factors ``fac_ptr[b]:fac_ptr[b+1]``.
    """

    num_qubits: int
    num_params: int
    num_features: int
    num_deltas: int
    state_input: bool
    tape: AngleTape
    kind: np.ndarray
    """(NB,) int64 block kinds (``K_*``)."""
    qubits: np.ndarray
    """(NB, 3) int64 block qubits (unused slots 0)."""
    aux: np.ndarray
    """(NB, 2) int64 extra integers (amplitude blocks)."""
    fac_ptr: np.ndarray
    """(NB+1,) int64 factor ranges."""
    fac_code: np.ndarray
    """(NF,) int64 factor matrix codes (``F_*``)."""
    fac_arg: np.ndarray
    """(NF,) int64 tape start (symbolic) or constant-table index."""
    fac_q: np.ndarray
    """(NF, 2) int64 factor qubits (diagonal groups only)."""
    const1: np.ndarray
    """(N1, 2, 2) complex128 constant single-qubit matrices."""
    const4: np.ndarray
    """(N4, 4, 4) complex128 constant two-qubit matrices."""
    constd4: np.ndarray
    """(ND, 4) complex128 constant two-qubit diagonals."""
    dtab: np.ndarray
    """(NT, 2**n) complex128 full diagonals of diagonal groups (deduplicated), or (0, 1)."""
    amp_off: np.ndarray
    """(M,) int64 basis offsets of amplitude entries: entry k is at ``base + amp_off[off + k]``."""
    readout: ReadoutProgram | None
    blocks: tuple[Block, ...] = field(default=(), compare=False, repr=False)
    """The blocks before flattening (for printing and tests)."""

    @property
    def num_blocks(self) -> int:
        """Number of kernel passes."""
        return int(self.kind.shape[0])

    @property
    def num_angles(self) -> int:
        """Number of tape entries."""
        return self.tape.num_angles

    def arrays(self) -> tuple:
        """The tuple the kernels take (order fixed by ``kernels.py``)."""
        return (
            self.kind, self.qubits, self.aux, self.fac_ptr, self.fac_code, self.fac_arg,
            self.fac_q, self.const1, self.const4, self.constd4, self.amp_off, self.dtab,
        )

    def describe(self) -> str:
        """One line per block: kind, qubits and factor codes (for debugging and docs)."""
        lines = []
        for b in self.blocks:
            codes = ",".join(str(f.code) for f in b.factors)
            lines.append(f"{block_kind_name(b.kind)} q={list(b.qubits)} f=[{codes}]")
        return "\n".join(lines)


def block_kind_name(kind: int) -> str:
    """Short name of a block kind (``m1``, ``cz`` …)."""
    return _KIND_NAMES[kind]


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


def _flatten_blocks(blocks: list[Block]) -> dict[str, np.ndarray]:
    i64 = np.int64
    kinds = np.array([b.kind for b in blocks], dtype=i64)
    qubits = np.zeros((len(blocks), 3), dtype=i64)
    aux = np.zeros((len(blocks), 2), dtype=i64)
    fac_ptr = [0]
    codes: list[int] = []
    args: list[int] = []
    fqs: list[tuple[int, int]] = []
    for i, b in enumerate(blocks):
        if b.kind != K_AMP:
            qubits[i, : len(b.qubits)] = b.qubits
        aux[i] = b.aux
        for f in b.factors:
            codes.append(f.code)
            args.append(f.arg)
            fqs.append(f.qubits)
        fac_ptr.append(len(codes))
    return {
        "kind": kinds,
        "qubits": qubits,
        "aux": aux,
        "fac_ptr": np.asarray(fac_ptr, dtype=i64),
        "fac_code": np.asarray(codes, dtype=i64),
        "fac_arg": np.asarray(args, dtype=i64),
        "fac_q": np.asarray(fqs, dtype=i64).reshape(-1, 2),
    }


# -- readout -------------------------------------------------------------------------------
def _pauli_product(obs: tuple[tuple[str, int], ...]) -> tuple[int, int, complex]:
    """``P_last ⋯ P_first`` as ``c · X^x · Z^z``, composing one Pauli at a time."""
    xm, zm, c = 0, 0, 1.0 + 0j
    for pauli, q in obs:
        bit = 1 << q
        if pauli in ("Z", "Y"):
            # Z_q · X^x = (-1)^{x_q} X^x · Z_q
            if xm & bit:
                c = -c
            zm ^= bit
        if pauli in ("X", "Y"):
            xm ^= bit
        if pauli == "Y":  # Y = i·X·Z
            c *= 1j
    return xm, zm, c


def _readout_program(readout: Readout | None) -> ReadoutProgram | None:
    if readout is None:
        return None
    i64 = np.int64
    if readout.kind == "probs":
        return ReadoutProgram(
            0, np.asarray(readout.qubits, dtype=i64), readout.num_classes,
            np.zeros(0, i64), np.zeros(0, i64), np.zeros(0, np.complex128),
        )
    prods = [_pauli_product(obs) for obs in readout.observables]
    return ReadoutProgram(
        1, np.zeros(0, i64), readout.num_outputs,
        np.asarray([p[0] for p in prods], dtype=i64),
        np.asarray([p[1] for p in prods], dtype=i64),
        np.asarray([p[2] for p in prods], dtype=np.complex128),
    )


TABLE_MAX_QUBITS = 16
"""Diagonal groups get a precomputed full diagonal up to this register size."""
_TABLE_MAX_BYTES = 1 << 25


def _group_diagonal(num_qubits: int, factors: tuple[Factor, ...], constd4: list[np.ndarray]):
    idx = np.arange(1 << num_qubits, dtype=np.int64)
    diag = np.ones(idx.size, dtype=np.complex128)
    for f in factors:
        a, b = f.qubits
        k = ((idx >> a) & 1) | (((idx >> b) & 1) << 1)
        if f.code == F_CZ:
            diag[k == 3] *= -1.0
        else:
            diag *= constd4[f.arg][k]
    return diag


def _cz_masks(factors: tuple[Factor, ...]) -> tuple[Factor, ...]:
    """Merge the cz factors of a group by qubit distance into ``F_CZMASK`` factors."""
    masks: dict[int, int] = {}
    others = []
    for f in factors:
        if f.code == F_CZ:
            a, b = sorted(f.qubits)
            masks[b - a] = masks.get(b - a, 0) | (1 << a)
        else:
            others.append(f)
    merged = [Factor(F_CZMASK, 0, (d, m)) for d, m in sorted(masks.items())]
    return (*merged, *others)


def _diagonal_tables(num_qubits: int, blocks: list[Block], constd4: list[np.ndarray]):
    """Give each diagonal group a (shared when equal) precomputed diagonal if it pays."""
    rows: dict[tuple[Factor, ...], int] = {}
    tables: list[np.ndarray] = []
    out = []
    budget = _TABLE_MAX_BYTES // (16 << num_qubits)
    for block in blocks:
        if block.kind == K_DGRP and num_qubits <= TABLE_MAX_QUBITS:
            row = rows.get(block.factors)
            if row is None and len(tables) < budget:
                row = rows[block.factors] = len(tables)
                tables.append(_group_diagonal(num_qubits, block.factors, constd4))
            if row is not None:
                block = Block(K_DGRP, (), block.factors, (row, 1))
        elif block.kind == K_DGRP:
            block = Block(K_DGRP, (), _cz_masks(block.factors))
        out.append(block)
    dtab = np.stack(tables) if tables else np.zeros((0, 1), dtype=np.complex128)
    return out, dtab


def _table(items: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    if not items:
        return np.zeros((0, *shape), dtype=np.complex128)
    return np.ascontiguousarray(np.stack(items), dtype=np.complex128)


def build_program(circuit: Circuit) -> SimProgram:
    """Lower ``circuit`` to a ``SimProgram`` (pure NumPy; compiles nothing).

    Args:
        circuit: a verified circuit (``qadl.ir.verify``); at most 62 qubits.

    Returns:
        The flat program. Its operator equals the circuit's exactly (no global phase).
    """
    if circuit.num_qubits > 62:
        raise ValueError("the statevector simulator handles at most 62 qubits")
    tape = _TapeBuilder()
    sched = _Scheduler(circuit.num_qubits, tape)
    for op in circuit.ops:
        sched.add(op)
    sched.finish()
    blocks, dtab = _diagonal_tables(circuit.num_qubits, sched.blocks, sched.constd4)
    flat = _flatten_blocks(blocks)
    return SimProgram(
        num_qubits=circuit.num_qubits,
        num_params=circuit.num_params,
        num_features=circuit.num_features,
        num_deltas=circuit.num_deltas,
        state_input=circuit.state_input,
        tape=tape.build(),
        const1=_table(sched.const1, (2, 2)),
        const4=_table(sched.const4, (4, 4)),
        constd4=_table(sched.constd4, (4,)),
        amp_off=np.asarray(sched.amp_off, dtype=np.int64),
        dtab=dtab,
        readout=_readout_program(circuit.readout),
        blocks=tuple(blocks),
        **flat,
    )


def num_factor_angles(code: int) -> int:
    """How many tape entries a factor of ``code`` reads (0 for constants)."""
    return _NUM_FACTOR_ANGLES.get(code, 0)

