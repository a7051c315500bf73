"""Circuit analyses: plain functions returning frozen dataclasses (no property set)."""

from __future__ import annotations

from dataclasses import dataclass

from qadl.ir.circuit import Circuit
from qadl.ir.gates import Gate
from qadl.ir.target import Target

__all__ = ["CircuitStats", "circuit_stats", "non_native_ops", "uncoupled_ops"]


@dataclass(frozen=True, slots=True)
class CircuitStats:
    """Size of a circuit, as the ``--report`` table and the benchmarks print it."""

    ops: int
    """Number of ops."""
    two_qubit: int
    """Number of ops on two or more qubits."""
    depth: int
    """Length of the longest chain of ops that share qubits (ASAP layers)."""


def circuit_stats(circuit: Circuit) -> CircuitStats:
    """Count ops, multi-qubit ops and depth in one per-qubit scan. Cost O(ops)."""
    level = [0] * circuit.num_qubits
    two = 0
    for op in circuit.ops:
        if len(op.qubits) >= 2:
            two += 1
        top = 1 + max((level[q] for q in op.qubits), default=0)
        for q in op.qubits:
            level[q] = top
    return CircuitStats(len(circuit.ops), two, max(level, default=0))


def non_native_ops(circuit: Circuit, target: Target) -> tuple[int, ...]:
    """Indices of ops whose gate is not in ``target.basis``."""
    basis = frozenset(target.basis)
    return tuple(i for i, op in enumerate(circuit.ops) if op.gate not in basis)


def uncoupled_ops(circuit: Circuit, target: Target) -> tuple[int, ...]:
    """Indices of two-qubit ops on a pair the target does not couple (or wider ops).

    ``Gate.AMPLITUDE`` is reported too when it spans several qubits: it is not a device
    instruction.
    """
    coupled = {(min(a, b), max(a, b)) for a, b in target.coupling}
    bad = []
    for i, op in enumerate(circuit.ops):
        if (
            len(op.qubits) > 2
            or (op.gate is Gate.AMPLITUDE and len(op.qubits) > 1)
            or (len(op.qubits) == 2 and (min(op.qubits), max(op.qubits)) not in coupled)
        ):
            bad.append(i)
    return tuple(bad)
