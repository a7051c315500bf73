"""The ``SimProgram`` layout: flat NumPy arrays, the simulator's only view of the IR.

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

``build.build_program`` lowers a ``Circuit`` to a ``SimProgram``; ``schedule`` holds the
scheduling and fusion rules.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "AngleTape",
    "Block",
    "Factor",
    "ReadoutProgram",
    "SimProgram",
    "block_kind_name",
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

    @functools.cached_property
    def padded_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(entry (T,), kind (T, D), index (T, D))``: each term's entry, and its symbols'
        kinds and indices in order, padded to the largest degree ``D`` with kind -1."""
        terms = len(self.term_coef)
        degree = np.diff(self.sym_ptr)
        width = int(degree.max()) if terms else 0
        entry = np.repeat(np.arange(self.num_angles), np.diff(self.term_ptr))
        kind = np.full((terms, width), -1, dtype=np.int64)
        index = np.zeros((terms, width), dtype=np.int64)
        slot = np.arange(width)[None, :] < degree[:, None]
        kind[slot] = self.sym_kind
        index[slot] = self.sym_index
        return entry, kind, index


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

    @functools.cached_property
    def soa_tables(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The diagonal tables split into real and imaginary parts when every block has a
        split-array kernel (``soa_plan.soa_supported``), else None; computed once."""
        from qadl.backends.sim.soa_plan import soa_supported, split_tables  # no import cycle

        return split_tables(self) if soa_supported(self) else None

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


def num_factor_angles(code: int) -> int:
    """How many tape entries a factor of ``code`` reads (0 for constants)."""
    return _NUM_FACTOR_ANGLES.get(code, 0)

