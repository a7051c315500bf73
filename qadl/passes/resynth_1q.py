"""Resynthesise runs of constant single-qubit gates as one U gate or a short native sequence."""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.base import DEFAULT, PassContext, circuit_pass, is_fixed
from qadl.passes.kak import det
from qadl.passes.kak_batch import products, within_phase
from qadl.passes.rules import phase_distance

__all__ = [
    "FORMS",
    "Spec",
    "clear_cache",
    "first_matches",
    "resynth_1q",
    "spec_matrix",
    "spec_ops",
    "synthesize",
    "zyz_angles",
]


def zyz_angles(mat: np.ndarray) -> tuple[float, float, float]:
    """``(θ, φ, λ)`` with ``mat ∝ RZ(φ)·RY(θ)·RZ(λ) ∝ U(θ, φ, λ)`` for a 2×2 unitary."""
    v = mat / cmath.sqrt(det(mat))
    a, b = v[0, 0], v[1, 0]
    theta = 2.0 * math.atan2(abs(b), abs(a))
    # Below 1e-15 the lost split of φ and λ moves the matrix by less than its rounding.
    if abs(b) < 1e-15:
        return theta, 0.0, -2.0 * cmath.phase(a)  # a pure Z rotation
    if abs(a) < 1e-15:
        return theta, 2.0 * cmath.phase(b), 0.0
    plus, minus = -2.0 * cmath.phase(a), 2.0 * cmath.phase(b)
    return theta, (plus + minus) / 2.0, (plus - minus) / 2.0


_SNAP = 1e-13
"""Radians an angle may move to become a multiple of π/8: rounding noise only, far below
the equivalence tolerance (an op moved by ``δ`` is ``≈ 0.7·δ`` away)."""


def _snap(angle: float) -> float:
    """``angle`` rounded to a multiple of π/8 when within rounding noise (``_SNAP``) of one."""
    nearest = round(angle / (math.pi / 8)) * (math.pi / 8)
    return nearest + 0.0 if abs(angle - nearest) <= _SNAP else angle


def _wrap(angle: float) -> float:
    """The angle in (-π, π] (RZ(a + 2π) = -RZ(a): the same up to global phase)."""
    wrapped = _snap(math.remainder(angle, 2.0 * math.pi))
    return math.pi if wrapped == -math.pi else wrapped


Spec = list[tuple[Gate, tuple[float, ...]]]
"""A candidate sequence as (gate, float angles) pairs: no ``Expr`` is built until it is chosen."""


def _rz_spec(angle: float, atol: float) -> Spec:
    return _rot_spec(Gate.RZ, angle, atol)


def _rot_spec(gate: Gate, angle: float, atol: float) -> Spec:
    angle = _wrap(angle)
    return [] if abs(angle) <= atol else [(gate, (angle,))]


def _u_spec(t: float, p: float, lam: float, atol: float) -> list[Spec]:
    return [[(Gate.U, (t, _wrap(p), _wrap(lam)))]]


def _zyz_spec(t: float, p: float, lam: float, atol: float) -> list[Spec]:
    return [[*_rz_spec(lam, atol), *_rot_spec(Gate.RY, t, atol), *_rz_spec(p, atol)]]


def _xyz_spec(t: float, p: float, lam: float, atol: float) -> list[Spec]:
    """ZYZ or ZXZ (``RY(θ) = RZ(π/2)·RX(θ)·RZ(-π/2)``), whichever drops more zero angles."""
    half = math.pi / 2
    rx = _rot_spec(Gate.RX, t, atol)
    zxz = [*_rz_spec(lam - half, atol), *rx, *_rz_spec(p + half, atol)]
    lone = _rot_spec(Gate.RX, -t, atol)  # pure X rotations (zxz covers the +θ sign)
    return [*_zyz_spec(t, p, lam, atol), zxz, lone]


def _zsx_spec(t: float, p: float, lam: float, atol: float) -> list[Spec]:
    sx: Spec = [(Gate.SX, ())]
    half = math.pi / 2
    return [
        _rz_spec(p + lam, atol),
        [*_rz_spec(lam - half, atol), *sx, *_rz_spec(p + half, atol)],
        [*_rz_spec(lam - half, atol), (Gate.X, ()), *_rz_spec(p + half, atol)],
        [
            *_rz_spec(lam, atol),
            *sx,
            *_rz_spec(t + math.pi, atol),
            *sx,
            *_rz_spec(p + math.pi, atol),
        ],
    ]


FORMS: dict[str, Callable[[float, float, float, float], list[Spec]]] = {
    "u": _u_spec,
    "zyz": _zyz_spec,
    "xyz": _xyz_spec,
    "zsx": _zsx_spec,
}
"""Output form -> candidate sequences for ``U(θ, φ, λ)`` as specs: ``FORMS[form](θ, φ, λ,
atol)`` (rotations by at most ``atol`` left out). ``spec_ops`` writes one as ops."""
_SHORTEST = {"u": 1, "zyz": 0, "xyz": 0, "zsx": 0}
"""Fewest ops any candidate of the form can have (a run this short is never replaced)."""


def spec_ops(spec: Spec, q: int) -> list[Op]:
    """The ops of a candidate ``spec`` on qubit ``q`` (angles as constant expressions)."""
    return [Op(gate, (q,), tuple(E.const(a) for a in angles)) for gate, angles in spec]


def _op_matrix(op: Op) -> np.ndarray:
    return GATES[op.gate].matrix([a.constant_value for a in op.angles])


def _ops_matrix(ops: list[Op]) -> np.ndarray:
    mat = np.eye(2, dtype=complex)
    for op in ops:
        mat = _op_matrix(op) @ mat
    return mat


def spec_matrix(spec: Spec) -> np.ndarray:
    """``_ops_matrix(spec_ops(spec, q))`` without the ops (``E.const(a)`` holds ``a + 0.0``)."""
    mat = np.eye(2, dtype=complex)
    for gate, angles in spec:
        mat = GATES[gate].matrix([0.0 + a for a in angles]) @ mat
    return mat


def _same_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    """``min_φ ‖a − e^{iφ}b‖_F ≤ atol``: linear in the error (see ``rules.phase_distance``)."""
    return phase_distance(a, b) <= atol


def _first_match(mat: np.ndarray, form: str, atol: float, limit: float) -> Spec | None:
    """The shortest candidate of ``form`` equal to ``mat`` up to phase, if under ``limit`` ops."""
    t, p, lam = zyz_angles(mat)
    for spec in sorted(FORMS[form](t, p, lam, atol), key=len):
        if len(spec) >= limit:
            return None
        if _same_up_to_phase(spec_matrix(spec), mat, atol):
            return spec
    return None


def synthesize(mat: np.ndarray, qubit: int, form: str, atol: float = 1e-12) -> list[Op]:
    """The shortest candidate of ``form`` equal to the 2×2 unitary ``mat`` up to global phase."""
    spec = _first_match(mat, form, atol, math.inf)
    if spec is None:
        raise ArithmeticError(f"{form} synthesis failed for {mat!r}")  # pragma: no cover
    return spec_ops(spec, qubit)


RunKey = tuple[tuple[Gate, tuple], ...]
_RUNS: dict[tuple[RunKey, str, float], Spec | None] = {}
"""``_first_match`` verdicts by (run key, form, atol), kept for the process: the fixed
point meets the same runs round after round, and post-routing rounds meet them again."""
_RUNS_SIZE = 4096
_MISSING = object()


def clear_cache() -> None:
    """Forget the remembered run verdicts (first-compile timing)."""
    _RUNS.clear()


_SIN_HALF = frozenset({Gate.RX, Gate.RY, Gate.RZ, Gate.P})


def _far_from_identity(op: Op, atol: float) -> bool:
    """True when the one-op run ``op`` surely matches no empty candidate (so it stays).

    A lone op is replaced only by ``[]``, which needs ``phase_distance(U, I) ≤ atol``; for
    ``rx ry rz p`` by ``a`` that distance is ``2√2·min(|sin(a/4)|, |cos(a/4)|)``, at least
    ``√2·|sin(a/2)|``: above ``1.4·atol`` when ``|sin(a/2)| > atol`` (far beyond rounding).
    """
    if op.gate not in _SIN_HALF:
        return False
    a = op.angles[0].constant_value
    if not abs(a) < 1e6:
        return False
    return abs(math.sin(a / 2)) > atol


def _flush(
    run: list[tuple[int, Op]],
    form: str,
    out: list[tuple[float, int, Op]],
    ctx: PassContext,
    seen: dict[tuple[RunKey, str, float], Spec | None],
    pending: list[tuple[list[tuple[int, Op]], tuple[RunKey, str, float]]],
) -> None:
    """Emit ``run`` (positions and ops on one qubit) as is or as its shorter resynthesis.

    Only candidates strictly shorter than the run are built and checked; the verdict for
    a run is remembered in ``seen`` by its gates and exact angle terms (not its qubit),
    the form and the tolerance. A run without a verdict yet waits in ``pending``
    (``_decide``).
    """
    atol = ctx.atol
    if len(run) <= _SHORTEST[form] or (len(run) == 1 and _far_from_identity(run[0][1], atol)):
        out += [(pos, 0, op) for pos, op in run]
        return
    key = (tuple([(op.gate, tuple([a.terms for a in op.angles])) for _, op in run]), form, atol)
    spec = seen.get(key, _MISSING)
    if spec is _MISSING:
        pending.append((run, key))
    else:
        _emit(run, spec, out)


def _emit(run: list[tuple[int, Op]], spec: Spec | None, out: list[tuple[float, int, Op]]) -> None:
    """Append the run's ops, or its resynthesis ``spec`` at the run's last position."""
    if spec is not None:
        last, qubit = run[-1][0], run[0][1].qubits[0]
        out += [(last, k, op) for k, op in enumerate(spec_ops(spec, qubit))]
    else:
        out += [(pos, 0, op) for pos, op in run]


def _decide(
    pending: list[tuple[list[tuple[int, Op]], tuple[RunKey, str, float]]],
    form: str,
    atol: float,
    seen: dict[tuple[RunKey, str, float], Spec | None],
) -> None:
    """The verdicts of the ``pending`` runs, their matrices computed in one stacked batch."""
    runs = {key: [op for _, op in run] for run, key in pending if key not in seen}
    mats = products([[_op_matrix(op) for op in ops] for ops in runs.values()], 2)
    limits = [len(ops) for ops in runs.values()]
    for key, spec in zip(runs, _first_matches(mats, form, atol, limits), strict=True):
        seen[key] = spec


def _first_matches(mats: np.ndarray, form: str, atol: float, limits: list[int]) -> list:
    """``_first_match(mats[i], form, atol, limits[i])`` of each matrix, the same specs."""
    candidates = []
    for mat, limit in zip(mats, limits, strict=True):
        specs = sorted(FORMS[form](*zyz_angles(mat), atol), key=len)
        candidates.append([spec for spec in specs if len(spec) < limit])
    return first_matches(mats, candidates, atol)


def first_matches(mats: np.ndarray, candidates: list[list[Spec]], atol: float) -> list:
    """For each matrix of the stack ``mats``, the first of its ``candidates`` equal to it up
    to phase within ``atol``, or None.

    Every candidate is checked, in stacked calls: the candidates' matrices as
    ``spec_matrix`` builds them (``products``) and the phase-distance tests as
    ``kak_batch.within_phase`` decides them (``phase_distance``'s own decisions); each
    matrix then takes its first candidate that passes, in order.
    """
    rows = [i for i, specs in enumerate(candidates) for _ in specs]
    specs = [spec for group in candidates for spec in group]
    out: list[Spec | None] = [None] * len(mats)
    if not specs:
        return out
    gates = [[GATES[g].matrix([0.0 + a for a in angles]) for g, angles in spec] for spec in specs]
    passed = within_phase(products(gates, 2), mats[rows], atol).tolist()
    for i, spec, ok in zip(reversed(rows), reversed(specs), reversed(passed), strict=True):
        if ok:
            out[i] = spec  # the last one written is the first in order
    return out


@circuit_pass("resynth-1q")
def resynth_1q(circuit: Circuit, /, *, ctx: PassContext = DEFAULT, form: str = "u") -> Circuit:
    """Replace each run of constant single-qubit ops on one wire by a shorter equivalent.

    Args:
        circuit: the circuit to simplify.
        ctx: pass options; protected and symbolic ops end a run.
        form: ``"u"`` (one ``U(θ, φ, λ)``), ``"zyz"`` (``rz ry rz``), ``"xyz"`` (``rz ry rz``
            or ``rz rx rz``, whichever is shorter, for rx/ry/rz bases) or
            ``"zsx"`` (``rz sx rz sx rz`` and shorter ``rz``/``rz sx rz``/``rz x rz``
            special cases, for IBM's rz/sx/x).

    A run is replaced only when the new sequence is strictly shorter, so the op count
    never grows; the product matrix is matched up to global phase within ``ctx.atol``
    in ``rules.phase_distance`` (linear in the error: a dropped rotation is at most
    ``~1.4·ctx.atol`` rad).

    Precondition: none. Keeps: the operator up to global phase. Cost: O(ops); each run's
    verdict is kept for the process by its gates and exact angles (``clear_cache``).
    """
    if form not in FORMS:
        raise ValueError(f"unknown resynthesis form {form!r}; choose from {sorted(FORMS)}")
    runs: dict[int, list[tuple[int, Op]]] = {}
    out: list[tuple[float, int, Op]] = []
    if len(_RUNS) > _RUNS_SIZE:
        _RUNS.clear()
    seen = _RUNS
    pending: list[tuple[list[tuple[int, Op]], tuple[RunKey, str, float]]] = []
    for pos, op in enumerate(circuit.ops):
        qubits = op.qubits
        if len(qubits) == 1 and op.gate is not Gate.AMPLITUDE and is_fixed(op, ctx):
            run = runs.get(qubits[0])  # a constant single-qubit op: it joins its wire's run
            if run is None:
                runs[qubits[0]] = [(pos, op)]
            else:
                run.append((pos, op))
            continue
        for q in qubits:
            if runs.get(q):
                _flush(runs.pop(q), form, out, ctx, seen, pending)
        out.append((pos, 0, op))
    for q in sorted(runs):
        _flush(runs[q], form, out, ctx, seen, pending)
    if pending:
        _decide(pending, form, ctx.atol, seen)
        for run, key in pending:
            _emit(run, seen[key], out)
    out.sort()  # by (position, index): unique, so the ops are never compared
    ops = tuple([op for _, _, op in out])
    return circuit if ops == circuit.ops else circuit.with_ops(ops)
