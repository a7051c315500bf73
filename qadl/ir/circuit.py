"""The circuit IR: immutable ops over angle expressions, a readout, and the circuit that holds them.

The ordered op tuple is the truth; the networkx DAG (``ir/dag.py``) is a view derived
on demand. Qubit order is Qiskit's little-endian one: qubit 0 is the least
significant bit of a basis-state index.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from qadl.ir.expr import DELTA, THETA, Expr, SymKind, X
from qadl.ir.gates import GATES, Gate
from qadl.source import NO_SPAN, Span

__all__ = ["Circuit", "Op", "Pauli", "Readout", "ReadoutKind"]

ReadoutKind = Literal["probs", "expval"]
Pauli = Literal["X", "Y", "Z"]


@dataclass(frozen=True, slots=True)
class Op:
    """One gate application: ``gate`` on ``qubits`` with symbolic ``angles``.

    For ``Gate.AMPLITUDE`` the qubits are the register being prepared (``qubits[0]`` is
    the least significant bit) and ``angles`` holds its ``2**len(qubits)`` unnormalised
    real amplitudes; the op prepares ``a / ||a||`` from ``|0…0⟩`` on those qubits and
    must come before any other op touching them.
    """

    gate: Gate
    qubits: tuple[int, ...]
    angles: tuple[Expr, ...] = ()
    tags: frozenset[str] = frozenset()
    """Free-form markers; passes leave ops carrying a protected tag untouched."""
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)
    _hash: int | None = field(default=None, init=False, compare=False, repr=False)
    """The hash, computed on first use: passes look the same ops up round after round."""

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = hash((self.gate, self.qubits, self.angles, self.tags))
            object.__setattr__(self, "_hash", h)
        return h

    def __getstate__(self) -> tuple:
        """The fields without the cached hash (string hashes differ between processes)."""
        return tuple(getattr(self, name) for name in _OP_STATE)

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(_OP_STATE, state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_hash", None)

    @property
    def info(self):  # -> GateInfo (kept untyped to avoid a cycle in the docs build)
        """The gate table entry of this op's gate."""
        return GATES[self.gate]

    @property
    def is_parametric(self) -> bool:
        """True when some angle has a symbol in it."""
        return any(not a.is_constant for a in self.angles)

    def with_angles(self, angles: tuple[Expr, ...]) -> Op:
        """A copy with other angles (span and tags kept)."""
        return replace(self, angles=angles)

    def __str__(self) -> str:
        args = f"({', '.join(map(str, self.angles))})" if self.angles else ""
        return f"{self.gate.value}{args} " + ", ".join(f"q[{q}]" for q in self.qubits)


_OP_STATE = ("gate", "qubits", "angles", "tags", "span")


@dataclass(frozen=True, slots=True)
class Readout:
    """How class scores are read from the final state.

    ``probs``: the marginal distribution of ``qubits`` (little-endian over that tuple);
    the outputs are the probabilities of outcomes ``0 … num_classes-1``.
    ``expval``: the outputs are the expectation values of ``observables``, each a Pauli
    product given as ``((pauli, qubit), …)``.
    """

    kind: ReadoutKind
    qubits: tuple[int, ...] = ()
    observables: tuple[tuple[tuple[Pauli, int], ...], ...] = ()
    num_classes: int = 2

    @property
    def num_outputs(self) -> int:
        """Length of the output vector the simulator produces per sample."""
        return self.num_classes if self.kind == "probs" else len(self.observables)

    def measured_qubits(self) -> frozenset[int]:
        """Every qubit the readout looks at (the light cone's seed)."""
        if self.kind == "probs":
            return frozenset(self.qubits)
        return frozenset(q for obs in self.observables for _, q in obs)


@dataclass(frozen=True, slots=True)
class Circuit:
    """A flat circuit over ``num_qubits`` qubits with symbolic angles.

    ``num_params``/``num_features``/``num_deltas`` are the lengths of the θ, x and δ
    vectors the angles index into. ``state_input`` is True when the circuit acts on
    an input state supplied at run time (quantum data) instead of ``|0…0⟩``.
    """

    num_qubits: int
    ops: tuple[Op, ...]
    num_params: int = 0
    num_features: int = 0
    num_deltas: int = 0
    readout: Readout | None = None
    state_input: bool = False
    name: str = "circuit"

    def with_ops(self, ops: tuple[Op, ...] | list[Op]) -> Circuit:
        """A copy with another op sequence (everything else kept)."""
        return replace(self, ops=tuple(ops))

    def num_symbols(self, kind: SymKind) -> int:
        """Declared length of the θ, x or δ vector."""
        return {THETA: self.num_params, X: self.num_features, DELTA: self.num_deltas}[kind]

    def __len__(self) -> int:
        return len(self.ops)
