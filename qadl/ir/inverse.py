"""The inverse of a sequence of ops: reversed order, each gate replaced by its inverse.

``inverse(block(...))`` in a circuit body lowers the block as usual and then replaces
its ops by these, so the compute-uncompute circuit U(x')† U(x) is an ordinary circuit.
"""

from __future__ import annotations

from dataclasses import replace

from qadl.ir.circuit import Op
from qadl.ir.gates import Gate

__all__ = ["inverse_op", "inverse_ops"]

_SELF_INVERSE = frozenset(
    {Gate.H, Gate.X, Gate.Y, Gate.Z, Gate.CX, Gate.CY, Gate.CZ, Gate.CH, Gate.SWAP, Gate.CCX}
)
_SWAPPED = {
    Gate.S: Gate.SDG, Gate.SDG: Gate.S,
    Gate.T: Gate.TDG, Gate.TDG: Gate.T,
    Gate.SX: Gate.SXDG, Gate.SXDG: Gate.SX,
}
_NEGATED = frozenset(
    {Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.CP, Gate.CRX, Gate.CRY, Gate.CRZ,
     Gate.RXX, Gate.RYY, Gate.RZZ}
)


def inverse_op(op: Op) -> Op | None:
    """The op undoing ``op``, or None when there is none (amplitude encoding)."""
    if op.gate in _SELF_INVERSE:
        return op
    if op.gate in _SWAPPED:
        return replace(op, gate=_SWAPPED[op.gate])
    if op.gate in _NEGATED:
        return replace(op, angles=tuple(-a for a in op.angles))
    if op.gate is Gate.U:  # U(θ, φ, λ)† = U(−θ, −λ, −φ)
        theta, phi, lam = op.angles
        return replace(op, angles=(-theta, -lam, -phi))
    return None


def inverse_ops(ops: list[Op]) -> list[Op] | Op:
    """The inverse sequence, or the first op that has no inverse."""
    out = []
    for op in reversed(ops):
        inv = inverse_op(op)
        if inv is None:
            return op
        out.append(inv)
    return out
