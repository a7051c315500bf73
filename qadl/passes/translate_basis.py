"""Translate every op into a target's native basis (rx/ry/rz/cz, rz/sx/x/cx …), symbols kept."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate, gate_by_name
from qadl.passes.base import DEFAULT, PassContext, circuit_pass
from qadl.passes.merge_rotations import add_angles
from qadl.source import NO_SPAN

__all__ = ["TranslationError", "native_gates", "orient_swaps", "translate_basis", "translate_op"]

PI = math.pi
G = Gate


class TranslationError(ValueError):
    """An op cannot be expressed in the requested basis (or the basis is not supported)."""


@functools.lru_cache(maxsize=256)
def _const(value: float) -> E.Expr:
    """``E.const`` of the rules' literal angles (π/2, −π/2 …), built once (immutable)."""
    return E.const(value)


@functools.lru_cache(maxsize=4096)
def _fixed_op(gate: Gate, qubits: tuple[int, ...], angles: tuple[float, ...]) -> Op:
    """An op of literal angles only (``rz(π/2) q``, ``sx q``), built once each."""
    return Op(gate, qubits, tuple(_const(a) for a in angles))


def _op(gate: Gate, qubits: tuple[int, ...], *angles: E.Expr | float) -> Op:
    for a in angles:  # any(...) without a generator: most rule ops have literal angles only
        if isinstance(a, E.Expr):
            exprs = [x if isinstance(x, E.Expr) else _const(x) for x in angles]
            return Op(gate, qubits, tuple(exprs))
    return _fixed_op(gate, qubits, angles)


def _a(op: Op, k: int = 0) -> E.Expr:
    return op.angles[k]


def _plus_pi(angle: E.Expr) -> E.Expr:
    """``angle + π`` (the same ``Expr``; ``add_angles`` skips the re-sort)."""
    return add_angles(angle, _const(PI))


Rule = Callable[[Op], list[Op]]

# -- multi-qubit gates -> cx + single-qubit gates --------------------------------------------
_TO_CX: dict[Gate, Rule] = {
    G.CZ: lambda o: [_op(G.H, o.qubits[1:]), _op(G.CX, o.qubits), _op(G.H, o.qubits[1:])],
    G.SWAP: lambda o: [_op(G.CX, o.qubits), _op(G.CX, o.qubits[::-1]), _op(G.CX, o.qubits)],
    G.CY: lambda o: [_op(G.SDG, o.qubits[1:]), _op(G.CX, o.qubits), _op(G.S, o.qubits[1:])],
    G.CH: lambda o: [
        _op(G.S, o.qubits[1:]),
        _op(G.H, o.qubits[1:]),
        _op(G.T, o.qubits[1:]),
        _op(G.CX, o.qubits),
        _op(G.TDG, o.qubits[1:]),
        _op(G.H, o.qubits[1:]),
        _op(G.SDG, o.qubits[1:]),
    ],
    G.CP: lambda o: [
        _op(G.P, o.qubits[:1], _a(o) * 0.5),
        _op(G.CX, o.qubits),
        _op(G.P, o.qubits[1:], _a(o) * -0.5),
        _op(G.CX, o.qubits),
        _op(G.P, o.qubits[1:], _a(o) * 0.5),
    ],
    G.CRZ: lambda o: [
        _op(G.RZ, o.qubits[1:], _a(o) * 0.5),
        _op(G.CX, o.qubits),
        _op(G.RZ, o.qubits[1:], _a(o) * -0.5),
        _op(G.CX, o.qubits),
    ],
    G.CRY: lambda o: [
        _op(G.RY, o.qubits[1:], _a(o) * 0.5),
        _op(G.CX, o.qubits),
        _op(G.RY, o.qubits[1:], _a(o) * -0.5),
        _op(G.CX, o.qubits),
    ],
    G.CRX: lambda o: [_op(G.H, o.qubits[1:]), _op(G.CRZ, o.qubits, _a(o)), _op(G.H, o.qubits[1:])],
    G.RZZ: lambda o: [_op(G.CX, o.qubits), _op(G.RZ, o.qubits[1:], _a(o)), _op(G.CX, o.qubits)],
    G.RXX: lambda o: [
        _op(G.H, o.qubits[:1]),
        _op(G.H, o.qubits[1:]),
        _op(G.RZZ, o.qubits, _a(o)),
        _op(G.H, o.qubits[:1]),
        _op(G.H, o.qubits[1:]),
    ],
    G.RYY: lambda o: [
        _op(G.RX, o.qubits[:1], PI / 2),
        _op(G.RX, o.qubits[1:], PI / 2),
        _op(G.RZZ, o.qubits, _a(o)),
        _op(G.RX, o.qubits[:1], -PI / 2),
        _op(G.RX, o.qubits[1:], -PI / 2),
    ],
    G.CCX: lambda o: _ccx(*o.qubits),
}


def _ccx(a: int, b: int, c: int) -> list[Op]:
    """The textbook 6-CNOT Toffoli (Nielsen & Chuang Fig. 4.9)."""
    return [
        _op(G.H, (c,)),
        _op(G.CX, (b, c)),
        _op(G.TDG, (c,)),
        _op(G.CX, (a, c)),
        _op(G.T, (c,)),
        _op(G.CX, (b, c)),
        _op(G.TDG, (c,)),
        _op(G.CX, (a, c)),
        _op(G.T, (b,)),
        _op(G.T, (c,)),
        _op(G.H, (c,)),
        _op(G.CX, (a, b)),
        _op(G.T, (a,)),
        _op(G.TDG, (b,)),
        _op(G.CX, (a, b)),
    ]


def _cx_via_cz(o: Op, basis: frozenset[Gate]) -> list[Op]:
    target = o.qubits[1:]
    if G.RY in basis:  # RY(π/2)·Z·RY(-π/2) = X: one native op on each side instead of an H
        return [_op(G.RY, target, -PI / 2), _op(G.CZ, o.qubits), _op(G.RY, target, PI / 2)]
    return [_op(G.H, target), _op(G.CZ, o.qubits), _op(G.H, target)]


# -- single-qubit gates, one table per kind of 1q basis (each equal up to global phase) ---------
_Z_ANGLE = {G.Z: PI, G.S: PI / 2, G.SDG: -PI / 2, G.T: PI / 4, G.TDG: -PI / 4}


def _z_like(o: Op) -> E.Expr:
    return _a(o) if o.gate in (G.RZ, G.P) else E.const(_Z_ANGLE[o.gate])


_RXYZ: dict[Gate, Rule] = {
    G.H: lambda o: [_op(G.RZ, o.qubits, PI), _op(G.RY, o.qubits, PI / 2)],
    G.X: lambda o: [_op(G.RX, o.qubits, PI)],
    G.Y: lambda o: [_op(G.RY, o.qubits, PI)],
    G.SX: lambda o: [_op(G.RX, o.qubits, PI / 2)],
    G.SXDG: lambda o: [_op(G.RX, o.qubits, -PI / 2)],
    G.U: lambda o: [
        _op(G.RZ, o.qubits, _a(o, 2)),
        _op(G.RY, o.qubits, _a(o, 0)),
        _op(G.RZ, o.qubits, _a(o, 1)),
    ],
    **{
        g: (lambda o: [_op(G.RZ, o.qubits, _z_like(o))]) for g in (G.Z, G.S, G.SDG, G.T, G.TDG, G.P)
    },
}
_ZSX: dict[Gate, Rule] = {
    G.H: lambda o: [_op(G.RZ, o.qubits, PI / 2), _op(G.SX, o.qubits), _op(G.RZ, o.qubits, PI / 2)],
    G.X: lambda o: [_op(G.SX, o.qubits), _op(G.SX, o.qubits)],
    G.Y: lambda o: [_op(G.RZ, o.qubits, PI), _op(G.X, o.qubits)],
    G.SXDG: lambda o: [_op(G.RZ, o.qubits, PI), _op(G.SX, o.qubits), _op(G.RZ, o.qubits, PI)],
    G.RX: lambda o: [
        _op(G.RZ, o.qubits, PI / 2),
        _op(G.SX, o.qubits),
        _op(G.RZ, o.qubits, _plus_pi(_a(o))),
        _op(G.SX, o.qubits),
        _op(G.RZ, o.qubits, PI / 2),
    ],
    G.RY: lambda o: [
        _op(G.SX, o.qubits),
        _op(G.RZ, o.qubits, _plus_pi(_a(o))),
        _op(G.SX, o.qubits),
        _op(G.RZ, o.qubits, PI),
    ],
    G.U: lambda o: [
        _op(G.RZ, o.qubits, _a(o, 2)),
        _op(G.SX, o.qubits),
        _op(G.RZ, o.qubits, _plus_pi(_a(o, 0))),
        _op(G.SX, o.qubits),
        _op(G.RZ, o.qubits, _plus_pi(_a(o, 1))),
    ],
    **{
        g: (lambda o: [_op(G.RZ, o.qubits, _z_like(o))]) for g in (G.Z, G.S, G.SDG, G.T, G.TDG, G.P)
    },
}
_U_ONLY: dict[Gate, Rule] = {
    G.RX: lambda o: [_op(G.U, o.qubits, _a(o), -PI / 2, PI / 2)],
    G.RY: lambda o: [_op(G.U, o.qubits, _a(o), 0.0, 0.0)],
    G.RZ: lambda o: [_op(G.U, o.qubits, 0.0, 0.0, _a(o))],
    G.P: lambda o: [_op(G.U, o.qubits, 0.0, 0.0, _a(o))],
    G.H: lambda o: [_op(G.U, o.qubits, PI / 2, 0.0, PI)],
    G.X: lambda o: [_op(G.U, o.qubits, PI, 0.0, PI)],
    G.Y: lambda o: [_op(G.U, o.qubits, PI, PI / 2, PI / 2)],
    G.SX: lambda o: [_op(G.U, o.qubits, PI / 2, -PI / 2, PI / 2)],
    G.SXDG: lambda o: [_op(G.U, o.qubits, -PI / 2, -PI / 2, PI / 2)],
    **{
        g: (lambda o: [_op(G.U, o.qubits, 0.0, 0.0, _z_like(o))])
        for g in (G.Z, G.S, G.SDG, G.T, G.TDG)
    },
}


@dataclass(frozen=True)
class _Plan:
    """How to reach one basis: its gates, the two-qubit entangler and the 1q rule table."""

    basis: frozenset[Gate]
    entangler: Gate
    one_qubit: dict[Gate, Rule]


def native_gates(basis: tuple[str, ...]) -> frozenset[Gate]:
    """The gates spelled in ``basis``.

    Raises:
        TranslationError: for a name that is not a gate.
    """
    gates = set()
    for name in basis:
        gate = gate_by_name(name)
        if gate is None or gate is G.AMPLITUDE:
            raise TranslationError(f"unknown gate {name!r} in basis {list(basis)}")
        gates.add(gate)
    return frozenset(gates)


def _plan(basis: tuple[str, ...]) -> _Plan:
    gates = native_gates(basis)
    if {G.RX, G.RY, G.RZ} <= gates:
        table = _RXYZ
    elif {G.RZ, G.SX, G.X} <= gates:
        table = _ZSX
    elif G.U in gates:
        table = _U_ONLY
    else:
        raise TranslationError(
            f"basis {list(basis)} has no supported single-qubit set (rx/ry/rz, rz/sx/x or u)"
        )
    if G.CX in gates:
        entangler = G.CX
    elif G.CZ in gates:
        entangler = G.CZ
    else:
        raise TranslationError(f"basis {list(basis)} has no cx or cz")
    return _Plan(gates, entangler, table)


def _expand(op: Op, plan: _Plan) -> list[Op] | None:
    if op.gate is G.CX:
        return _cx_via_cz(op, plan.basis)
    if op.gate in _TO_CX:
        return _TO_CX[op.gate](op)
    if op.gate in plan.one_qubit:
        return plan.one_qubit[op.gate](op)
    if op.gate in _RXYZ:  # e.g. rx into rz/sx: go through a gate the table knows
        return _RXYZ[op.gate](op)
    return None


def translate_op(op: Op, basis: tuple[str, ...]) -> list[Op]:
    """``op`` as a sequence of ``basis`` gates (equal up to global phase), tags and span kept.

    Raises:
        TranslationError: for ``amplitude`` ops (expand them first, which needs bound
            features) and for bases without a supported gate set.
    """
    return _translate(op, _plan(basis), 0)


def _translate(op: Op, plan: _Plan, depth: int) -> list[Op]:
    if op.gate in plan.basis:
        return [op]
    if op.gate is G.AMPLITUDE:
        raise TranslationError(
            "amplitude preparation cannot be translated symbolically: its angles are not "
            "polynomials of the features; expand it with bound features first (qadl.ir.stateprep)"
        )
    expanded = _expand(op, plan) if depth < 8 else None
    if expanded is None:
        raise TranslationError(
            f"no rule translates {op.gate.value} into {sorted(g.value for g in plan.basis)}"
        )
    out: list[Op] = []
    carry = bool(op.tags) or op.span is not NO_SPAN  # else the rule's ops already match
    for new in expanded:
        if carry:
            new = Op(new.gate, new.qubits, new.angles, op.tags, span=op.span)
        if new.gate in plan.basis:
            out.append(new)
        else:
            out.extend(_translate(new, plan, depth + 1))
    return out


def _neighbour_cx(ops: list[Op], index: int, step: int) -> Op | None:
    """The CX next to ``ops[index]`` (a SWAP) on both its wires, looking in direction ``step``."""
    pair = set(ops[index].qubits)
    j = index + step
    while 0 <= j < len(ops):
        touched = pair & set(ops[j].qubits)
        if touched:
            other = ops[j]
            return other if other.gate is G.CX and set(other.qubits) == pair else None
        j += step
    return None


def orient_swaps(ops: list[Op]) -> list[Op]:
    """Replace each SWAP by three CX oriented so that a CX next to it on the same pair cancels.

    ``cx a,b; swap a,b`` becomes ``cx a,b; cx a,b; cx b,a; cx a,b``, whose first pair the
    cancellation passes remove: routing then costs 2 CX instead of 4 there.
    """
    out: list[Op] = []
    for i, op in enumerate(ops):
        if op.gate is not G.SWAP:
            out.append(op)
            continue
        a, b = op.qubits
        before, after = _neighbour_cx(ops, i, -1), _neighbour_cx(ops, i, 1)
        if before is not None:
            a, b = before.qubits
        elif after is not None:
            a, b = after.qubits
        out += [
            Op(G.CX, (a, b), (), op.tags, span=op.span),
            Op(G.CX, (b, a), (), op.tags, span=op.span),
            Op(G.CX, (a, b), (), op.tags, span=op.span),
        ]
    return out


@circuit_pass("translate-basis")
def translate_basis(
    circuit: Circuit,
    /,
    *,
    ctx: PassContext = DEFAULT,
    basis: tuple[str, ...] = ("rz", "sx", "x", "cx"),
) -> Circuit:
    """Rewrite every op outside ``basis`` into basis gates by fixed, symbolic rules.

    Two-qubit and three-qubit gates go to CX plus single-qubit gates (``cp``, ``crz``,
    ``rzz`` … by the textbook identities, halving angles symbolically), CX becomes CZ
    between two ``ry(∓π/2)`` (or ``h``) when CZ is the native entangler, and single-qubit
    gates go through one table per basis kind: ``ry(a)`` in rz/sx becomes
    ``sx; rz(a + π); sx; rz(π)``, so a symbolic ``a`` survives. Qubits are not changed,
    so a routed circuit stays on its coupled pairs. A SWAP is oriented so that a CX next to
    it on the same pair cancels against one of its three CX (``orient_swaps``).

    Args:
        circuit: the circuit (no ``amplitude`` ops).
        ctx: pass options (unused: protected ops are translated too).
        basis: gate names of the target, e.g. ``("rx", "ry", "rz", "cz")``.

    Raises:
        TranslationError: for amplitude ops or unsupported bases.

    Precondition: no amplitude op. Keeps: the operator up to global phase. Cost: O(ops).
    """
    # Protected ops are translated too: a device cannot run a non-native gate.
    plan = _plan(basis)
    if all(op.gate in plan.basis for op in circuit.ops):
        return circuit
    ops = list(circuit.ops)
    if G.SWAP not in plan.basis:
        ops = orient_swaps(ops)
    ops = [new for op in ops for new in _translate(op, plan, 0)]
    return circuit.with_ops(ops)
