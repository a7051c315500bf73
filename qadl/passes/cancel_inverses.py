"""Cancel adjacent pairs whose product is the identity (H·H, CZ·CZ, S·Sdg, RZ(a)·RZ(-a))."""

from __future__ import annotations

from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES
from qadl.passes._stack import rebuild_adjacent
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_protected
from qadl.passes.rules import merge_pair

__all__ = ["cancel_inverses"]


_INVERSE = {g: info.inverse_of for g, info in GATES.items()}


def _cancel_only(first: Op, second: Op) -> tuple[Op, ...] | None:
    if first.gate is not second.gate and _INVERSE[first.gate] is not second.gate:
        return None  # merge_pair would say None: neither one gate nor an inverse pair
    merged = merge_pair(first, second)
    if merged is None:
        return None
    if not merged:
        return ()
    # Rotations cancel only when the summed angles are exactly zero (RZ(a)·RZ(-a)).
    if all(not a.terms for a in merged[0].angles):
        return ()
    return None


@circuit_pass("cancel-inverses")
def cancel_inverses(circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
    """Remove adjacent inverse pairs acting on the same qubits.

    Two ops are adjacent when no op between them touches any of their qubits. Pairs:
    self-inverse gates (``h x y z cx cy cz ch swap ccx``; symmetric ones in either
    qubit order), ``s/sdg``, ``t/tdg``, ``sx/sxdg``, and rotations whose angles add up
    to exactly zero (symbolic ones included: ``rz(θ0)·rz(-θ0)``).

    Precondition: none. Keeps: the operator exactly. Cost: O(ops) with per-qubit stacks.
    """
    ops = rebuild_adjacent(
        circuit.ops, _cancel_only, skip=lambda op: is_protected(op, ctx), drop=lambda op: False
    )
    return circuit if len(ops) == len(circuit.ops) else circuit.with_ops(ops)
