"""Unitary folding: scale a circuit's noise by an odd factor without changing its operator.

Zero-noise extrapolation runs a circuit at several noise levels. On a device the noise
cannot be turned up, but the circuit can be lengthened: ``U → U (U† U)^k`` keeps the
operator and multiplies the number of noisy gates by ``2k + 1`` (Giurgica-Tiron et al.,
"Digital zero noise extrapolation for quantum error mitigation", 2020). As an IR pass,
the folded circuit is what both the simulator and the emitted OpenQASM run.
"""

from __future__ import annotations

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected

__all__ = ["check_scale", "fold_global", "fold_local", "inverse_op"]


def check_scale(scale: int) -> int:
    """``scale`` itself when it is an odd integer ≥ 1.

    Raises:
        ValueError: For anything else (folding multiplies gates by 1, 3, 5, …).
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1 or scale % 2 == 0:
        raise ValueError(f"a folding scale is an odd integer >= 1 (1, 3, 5, ...), got {scale!r}")
    return scale


def inverse_op(op: Op) -> Op:
    """The op that undoes ``op`` exactly (no global phase): G†.

    Raises:
        ValueError: For ``amplitude`` (a state preparation, not a unitary on all states).
    """
    info = GATES[op.gate]
    if op.gate is Gate.AMPLITUDE:
        raise ValueError("amplitude encoding is a state preparation and has no inverse op")
    if info.self_inverse:
        return op
    if info.inverse_of is not None:
        return Op(info.inverse_of, op.qubits, tags=op.tags, span=op.span)
    if op.gate is Gate.U:  # U(θ, φ, λ)† = U(−θ, −λ, −φ)
        theta, phi, lam = op.angles
        return op.with_angles((-theta, -lam, -phi))
    if info.rotation_axis is not None:  # exp(−i a G/2)† = exp(+i a G/2)
        return op.with_angles(tuple(-a for a in op.angles))
    raise ValueError(f"no inverse known for gate {op.gate.value}")  # pragma: no cover


def _split_preparation(circuit: Circuit) -> tuple[tuple[Op, ...], tuple[Op, ...]]:
    """Amplitude preparations (they come first on their qubits) and the unitary rest."""
    prep = tuple(op for op in circuit.ops if op.gate is Gate.AMPLITUDE)
    rest = tuple(op for op in circuit.ops if op.gate is not Gate.AMPLITUDE)
    return prep, rest


@circuit_pass("fold-global")
def fold_global(circuit: Circuit, /, *, ctx: PassContext = DEFAULT, scale: int = 3) -> Circuit:
    """Fold the whole circuit: ``U → U (U† U)^k`` with ``scale = 2k + 1``.

    ``amplitude`` preparations stay once, at the start (they prepare the input state).
    Protected ops are folded with the rest: the circuit is repeated as a whole.

    Precondition: ``scale`` is an odd integer ≥ 1. Keeps: the operator exactly; the
    number of unitary ops is multiplied by ``scale``. Cost: O(scale · ops).
    """
    k = (check_scale(scale) - 1) // 2
    if k == 0:
        return circuit
    prep, body = _split_preparation(circuit)
    inverse = tuple(inverse_op(op) for op in reversed(body))
    return circuit.with_ops(prep + body + (inverse + body) * k)


@circuit_pass("fold-local")
def fold_local(circuit: Circuit, /, *, ctx: PassContext = DEFAULT, scale: int = 3) -> Circuit:
    """Fold every gate in place: ``G → G (G† G)^k`` with ``scale = 2k + 1``.

    ``amplitude`` preparations and ops carrying a protected tag are left as they are.

    Precondition: ``scale`` is an odd integer ≥ 1. Keeps: the operator exactly; every
    other op becomes ``scale`` ops. Cost: O(scale · ops).
    """
    k = (check_scale(scale) - 1) // 2
    if k == 0:
        return circuit
    ops: list[Op] = []
    for op in circuit.ops:
        ops.append(op)
        if op.gate is Gate.AMPLITUDE or is_protected(op, ctx):
            continue
        ops.extend((inverse_op(op), op) * k)
    return circuit.with_ops(ops)
