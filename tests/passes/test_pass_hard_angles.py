"""Passes, levels and targets on the angles that break quadratic equivalence tests.

Angles are tiny (1e-8 … 1e-3), exact multiples of π/4, near-multiples (k·π/4 ± 1e-7 or
± 1e-8), and pairs that nearly cancel (``r(a) … r(-a ± 1e-8)``), besides generic ones;
rotations by ``ε`` sit between two CX on the same pair, so dropping them would let the
CX cancel. Every comparison uses ``operator_distance`` (linear in the error: a rotation
by ``ε`` shows as ``≈ ε/2``) with tolerance 1e-10, far below the smallest drawn angle.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.passes import REGISTRY, PassContext, compile_for_target, optimize
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import (
    circuit_unitary,
    embedded_distance,
    operator_distance,
    random_bindings,
    reference_outputs,
    reference_state,
)

TOL = 1e-10
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TARGETS = {"chain10": chain_target(), "heavy_hex27": heavy_hex_27()}

tiny = st.builds(
    lambda sign, exponent: sign * 10.0**exponent, st.sampled_from([1.0, -1.0]), st.floats(-8, -3)
)
quarter = st.integers(-8, 8).map(lambda k: k * math.pi / 4)
near_quarter = st.builds(
    lambda k, off: k * math.pi / 4 + off,
    st.integers(-8, 8),
    st.sampled_from([1e-7, -1e-7, 1e-8, -1e-8]),
)
generic = st.floats(-math.pi, math.pi, allow_nan=False)
hard_angles = st.one_of(tiny, quarter, near_quarter, generic)

ROT_1Q = [Gate.RX, Gate.RY, Gate.RZ, Gate.P]
ROT_2Q = [Gate.RZZ, Gate.CRZ, Gate.CP, Gate.RXX]
FIXED = [Gate.H, Gate.X, Gate.S, Gate.SDG, Gate.T, Gate.SX, Gate.CX, Gate.CZ]
SYMBOL = E.theta(0)


@st.composite
def pieces(draw, n: int) -> list[Op]:
    """One building block: a gate, a nearly-cancelling pair, or ``cx · r(ε) · cx``."""
    qubits = draw(st.permutations(range(n)))
    kind = draw(st.sampled_from(["gate", "pair", "sandwich", "fixed"]))
    if kind == "fixed":
        gate = draw(st.sampled_from(FIXED))
        return [Op(gate, tuple(qubits[: 2 if gate in (Gate.CX, Gate.CZ) else 1]))]
    if kind == "sandwich":
        a, b = qubits[:2]
        gate = draw(st.sampled_from(ROT_1Q))
        where = draw(st.sampled_from([a, b]))
        eps = draw(st.one_of(tiny, near_quarter))
        return [Op(Gate.CX, (a, b)), Op(gate, (where,), (E.const(eps),)), Op(Gate.CX, (a, b))]
    gate = draw(st.sampled_from(ROT_1Q + ROT_2Q))
    on = tuple(qubits[: 1 if gate in ROT_1Q else 2])
    angle = draw(hard_angles)
    first = E.const(angle)
    if draw(st.integers(0, 4)) == 0:
        first = first + SYMBOL  # symbolic ones must pass through untouched
    if kind == "gate":
        return [Op(gate, on, (first,))]
    residue = draw(st.sampled_from([1e-8, -1e-8, 1e-6, 0.0]))
    second = -first + residue
    middle = []
    if draw(st.booleans()) and n > len(on):
        other = next(q for q in range(n) if q not in on)
        middle = [Op(Gate.CZ, (on[0], other))] if gate in (Gate.RZ, Gate.P) else []
    return [Op(gate, on, (first,)), *middle, Op(gate, on, (second,))]


@st.composite
def hard_circuits(draw, max_qubits: int = 3) -> Circuit:
    n = draw(st.integers(2, max_qubits))
    ops: list[Op] = []
    for _ in range(draw(st.integers(1, 6))):
        ops += draw(pieces(n))
    return Circuit(n, tuple(ops), 1, 0, 0)


def _bindings(circuit: Circuit, seed: int = 0):
    return random_bindings(np.random.default_rng(seed), circuit)


def _distance(actual: Circuit, expected: Circuit) -> float:
    b = _bindings(expected)
    return operator_distance(circuit_unitary(expected, *b), circuit_unitary(actual, *b))


OPERATOR_PASSES = [
    "drop-identities",
    "cancel-inverses",
    "merge-rotations",
    "commute-cancel",
    "resynth-1q",
    "resynth-2q",
    "translate-basis",
]


@pytest.mark.parametrize("name", OPERATOR_PASSES)
@SETTINGS
@given(c=hard_circuits())
def test_every_operator_pass_keeps_hard_angles(name, c):
    out = REGISTRY[name](c, ctx=PassContext(verify=True))
    assert _distance(out, c) <= TOL


@pytest.mark.parametrize("form", ["u", "zyz", "xyz", "zsx"])
@SETTINGS
@given(c=hard_circuits())
def test_resynth_1q_every_form_keeps_hard_angles(form, c):
    assert _distance(REGISTRY["resynth-1q"](c, form=form), c) <= TOL


READOUT_PASSES = ["lightcone", "drop-diagonal-before-measure", "drop-initial-diagonal"]


@pytest.mark.parametrize("name", READOUT_PASSES)
@SETTINGS
@given(c=hard_circuits(), measured=st.integers(0, 1))
def test_readout_passes_keep_outputs_with_hard_angles(name, c, measured):
    """Readout values from ``|0…0⟩`` (the passes' promise) after a generic prefix.

    The prefix makes the outputs depend linearly on every later angle (from ``|0⟩`` a
    lone ``ry(ε)`` moves ``⟨Z⟩`` only by ``ε²/2``).
    """
    prefix = tuple(
        Op(Gate.U, (q,), (E.const(0.7 + q), E.const(0.3 * q - 1.1), E.const(0.5)))
        for q in range(c.num_qubits)
    )
    readout = Readout("expval", observables=((("Z", measured),), (("X", c.num_qubits - 1),)))
    c = replace(c, ops=prefix + c.ops, readout=readout)
    out = REGISTRY[name](c, ctx=PassContext(verify=True))
    b = _bindings(c)
    want = reference_outputs(c, reference_state(c, *b))
    got = reference_outputs(out, reference_state(out, *b))
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@SETTINGS
@given(c=hard_circuits())
def test_every_level_keeps_the_operator_with_hard_angles(level, c):
    assert _distance(optimize(c, level), c) <= TOL


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("level", [0, 1, 2, 3])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=hard_circuits())
def test_every_level_on_both_targets_keeps_the_operator(target, level, c):
    compiled = compile_for_target(c, TARGETS[target], level, seed=3, report=False)
    d = embedded_distance(
        compiled.circuit, c, compiled.layout, compiled.final_permutation, _bindings(c)
    )
    assert d <= TOL


def _sandwich(eps: float, gate: Gate = Gate.RY) -> Circuit:
    ops = (Op(Gate.CX, (0, 1)), Op(gate, (1,), (E.const(eps),)), Op(Gate.CX, (0, 1)))
    return Circuit(2, ops)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_ry_5e_5_between_two_cx_survives(target, level):
    """Regression: resynth-1q dropped ``ry(5e-5)`` at -O3 on heavy_hex27, then the CXs cancelled."""
    c = _sandwich(5e-5)
    compiled = compile_for_target(c, TARGETS[target], level, seed=3, report=False)
    d = embedded_distance(compiled.circuit, c, compiled.layout, compiled.final_permutation)
    assert d <= TOL
    assert sum(len(op.qubits) == 2 for op in compiled.circuit.ops) == 2  # the CXs stay
    assert _distance(optimize(c, level), c) <= TOL


@pytest.mark.parametrize("eps", [1e-3, 1e-5, 5e-5, 1e-8, 1e-11])
def test_resynth_1q_zsx_keeps_every_small_rotation(eps):
    """The zsx form's candidates are accepted only within ~1e-12 in operator distance."""
    c = Circuit(1, (Op(Gate.SX, (0,)), Op(Gate.RY, (0,), (E.const(eps),)), Op(Gate.SXDG, (0,))))
    out = REGISTRY["resynth-1q"](c, form="zsx")
    assert _distance(out, c) <= 1e-12


def test_a_rotation_below_the_tolerance_is_dropped_and_the_error_stays_below_it():
    """Equivalence is claimed within PassContext.atol (1e-12): ``rz(1e-13)`` is the identity."""
    c = _sandwich(1e-13, Gate.RZ)
    out = optimize(c, 3)
    assert out.ops == ()
    assert _distance(out, c) <= 1e-12


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-9, 1e-11])
def test_phase_distance_is_linear_in_the_angle(eps):
    """A rotation by ε is ``2√2·sin(ε/4) ≈ 0.707·ε`` from the identity, at every scale."""
    from qadl.ir.gates import GATES
    from qadl.passes.rules import is_identity, phase_distance

    for gate in ROT_1Q:
        d = phase_distance(GATES[gate].matrix([eps]), np.eye(2))
        assert d == pytest.approx(2 * math.sqrt(2) * math.sin(eps / 4), rel=1e-4)
        assert not is_identity(Op(gate, (0,), (E.const(eps),)), 1e-12)


@pytest.mark.parametrize("eps", [1e-3, 1e-6, 1e-8])
def test_min_cx_count_sees_small_entangling_angles(eps):
    """``exp(iε·ZZ)`` needs 2 CX however small ε is (``|tr γ| = 4`` was a quadratic test)."""
    from qadl.passes.kak import min_cx_count

    zz = np.diag(np.exp(1j * eps * np.array([1, -1, -1, 1])))
    assert min_cx_count(zz) == 2
    assert min_cx_count(np.eye(4)) == 0
