"""Gate algebra the optimising passes share: commutation bases, inverse pairs, rotation merging.

These are small pure functions over ``Op`` values and the gate table; the passes only
decide *where* to apply them.
"""

from __future__ import annotations

import cmath
import math

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.gates import GATES, Gate

__all__ = [
    "FAMILY_CONST",
    "FAMILY_ROT",
    "WIRE_BASES",
    "commute",
    "family_angle",
    "is_identity",
    "is_inverse_pair",
    "merge_pair",
    "phase_distance",
    "same_operands",
]

G = Gate
WIRE_BASES: dict[Gate, tuple[str | None, ...]] = {
    G.H: (None,),
    G.X: ("x",),
    G.Y: ("y",),
    G.Z: ("z",),
    G.S: ("z",),
    G.SDG: ("z",),
    G.T: ("z",),
    G.TDG: ("z",),
    G.SX: ("x",),
    G.SXDG: ("x",),
    G.RX: ("x",),
    G.RY: ("y",),
    G.RZ: ("z",),
    G.P: ("z",),
    G.U: (None,),
    G.CX: ("z", "x"),
    G.CY: ("z", "y"),
    G.CZ: ("z", "z"),
    G.CH: ("z", None),
    G.SWAP: (None, None),
    G.CP: ("z", "z"),
    G.CRX: ("z", "x"),
    G.CRY: ("z", "y"),
    G.CRZ: ("z", "z"),
    G.RXX: ("x", "x"),
    G.RYY: ("y", "y"),
    G.RZZ: ("z", "z"),
    G.CCX: ("z", "z", "x"),
}
"""For each gate and operand: the Pauli basis in which the op is block-diagonal on that qubit.

``"z"`` on qubit ``q`` means the op has the form ``Σ_k |k⟩⟨k|_q ⊗ A_k`` (a control, or
a diagonal); ``"x"``/``"y"`` the same in the X/Y eigenbasis; None means neither.
Two ops that agree (and are not None) on every shared qubit commute: both are then
sums of products of the same projectors on the shared qubits times operators on
disjoint qubits.
"""


def _bases(op: Op) -> tuple[str | None, ...]:
    return WIRE_BASES.get(op.gate, (None,) * len(op.qubits))


def commute(a: Op, b: Op) -> bool:
    """Sufficient test that ``a`` and ``b`` commute (disjoint, or same basis on shared qubits)."""
    shared = set(a.qubits) & set(b.qubits)
    if not shared:
        return True
    if a.gate is Gate.AMPLITUDE or b.gate is Gate.AMPLITUDE:
        return False
    ba = dict(zip(a.qubits, _bases(a), strict=True))
    bb = dict(zip(b.qubits, _bases(b), strict=True))
    return all(ba[q] is not None and ba[q] == bb[q] for q in shared)


FAMILY_CONST: dict[Gate, tuple[str, float]] = {
    G.Z: ("z", math.pi),
    G.S: ("z", math.pi / 2),
    G.SDG: ("z", -math.pi / 2),
    G.T: ("z", math.pi / 4),
    G.TDG: ("z", -math.pi / 4),
    G.X: ("x", math.pi),
    G.SX: ("x", math.pi / 2),
    G.SXDG: ("x", -math.pi / 2),
    G.Y: ("y", math.pi),
}
"""Fixed gates that are rotations of one axis family: gate -> (axis, angle)."""
FAMILY_ROT: dict[Gate, str] = {G.RZ: "z", G.P: "z", G.RX: "x", G.RY: "y"}
"""Parametrised rotations: gate -> axis (P is RZ up to a global phase)."""


def family_angle(op: Op) -> tuple[str, E.Expr] | None:
    """``(axis, a)`` when the single-qubit ``op`` equals ``R_axis(a)`` up to global phase."""
    if op.gate in FAMILY_ROT:
        return FAMILY_ROT[op.gate], op.angles[0]
    if op.gate in FAMILY_CONST:
        axis, angle = FAMILY_CONST[op.gate]
        return axis, E.const(angle)
    return None


def same_operands(a: Op, b: Op) -> bool:
    """True when ``a`` and ``b`` are one gate on the same qubits (any order if symmetric)."""
    if a.gate is not b.gate:
        return False
    if a.qubits == b.qubits:
        return True
    return GATES[a.gate].symmetric and sorted(a.qubits) == sorted(b.qubits)


def is_inverse_pair(a: Op, b: Op) -> bool:
    """Fixed gates on the same operands whose product is the identity (e.g. S, S†)."""
    ia, ib = GATES[a.gate], GATES[b.gate]
    if a.angles or b.angles:
        return False
    if a.gate is b.gate:
        return same_operands(a, b) and ia.self_inverse
    return ia.inverse_of is b.gate and a.qubits == b.qubits and ib.inverse_of is a.gate


def merge_pair(first: Op, second: Op, *, families: bool = False) -> tuple[Op, ...] | None:
    """What ``first`` then ``second`` (adjacent, or commuted together) become, or None.

    Returns ``()`` for an inverse pair, ``(merged,)`` for two rotations about one axis
    (``R(a)·R(b) = R(a+b)``; exact). With ``families``, also single-qubit pairs where one
    is a rotation and the other a fixed gate of the same axis (``RZ(a)·S = RZ(a+π/2)``
    up to global phase); the result keeps the rotation's gate, so no new gate kind appears.
    """
    if is_inverse_pair(first, second):
        return ()
    if same_operands(first, second) and GATES[first.gate].rotation_axis is not None:
        angles = tuple(a + b for a, b in zip(first.angles, second.angles, strict=True))
        return (first.with_angles(angles),)
    if families and len(first.qubits) == 1 and first.qubits == second.qubits:
        return _merge_family(first, second)
    return None


def _merge_family(first: Op, second: Op) -> tuple[Op, ...] | None:
    fa, fb = family_angle(first), family_angle(second)
    if fa is None or fb is None or fa[0] != fb[0]:
        return None
    if first.gate in FAMILY_ROT:
        keep = first
    elif second.gate in FAMILY_ROT:
        keep = second
    else:
        return None
    return (keep.with_angles((fa[1] + fb[1],)),)


def phase_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``min_φ ‖a − e^{iφ}·b‖_F``: how far two operators are apart, up to global phase.

    The best phase is that of ``tr(b†a)``; the norm is taken of the difference itself, so
    the result is linear in the error (a rotation by ``ε`` is ``≈ 0.7·ε`` from the identity).
    Tests on ``|tr(b†a)|`` alone are quadratic (``2 − 2cos(ε/2) ≈ ε²/4``) and would call
    rotations up to ``~1e-4`` rad the identity, so no pass decides equivalence that way.
    """
    phase = cmath.exp(1j * cmath.phase(np.vdot(b, a)))  # phase(0) = 0; no overflow when tiny
    return float(np.linalg.norm(a - phase * b))


def is_identity(op: Op, atol: float) -> bool:
    """True when ``op`` has constant angles and is a global phase times I to ``atol``.

    The distance is ``phase_distance`` (linear in the angle), so only rotations by at most
    ``~1.4·atol`` are identities.
    """
    if op.gate is Gate.AMPLITUDE or not all(a.is_constant for a in op.angles):
        return False
    mat = GATES[op.gate].matrix([a.constant_value for a in op.angles])
    return phase_distance(mat, np.eye(mat.shape[0])) <= atol
