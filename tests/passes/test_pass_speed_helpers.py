"""The shortcuts the speed work added agree exactly with the slow definitions they replace."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.gates import Gate
from qadl.passes.cancel_inverses import _cancel_only, _sums_to_zero
from qadl.passes.commute_cancel import _KIND, _bases, _commute, _may_merge
from qadl.passes.drop_identities import _surely_not_identity
from qadl.passes.merge_rotations import add_angles, merge_pair_fast
from qadl.passes.resynth_1q import FORMS, _far_from_identity, _ops_matrix, synthesize
from qadl.passes.rules import commute, is_identity, merge_pair, phase_distance
from qadl.passes.translate_basis import _plus_pi

COEFFS = st.sampled_from(
    [1.0, -1.0, 0.5, -0.5, 2.0, math.pi, -math.pi, 1e-17, 0.1, 0.2, 0.30000000000000004, 3.0]
)
SYMS = st.sampled_from([E.theta(0), E.theta(1), E.x(0), E.x(2), E.delta(0), E.theta(1) * E.x(0)])


@st.composite
def exprs(draw) -> E.Expr:
    expr = E.const(draw(st.sampled_from([0.0, 1.0, -1.0, math.pi, 0.25, -0.25, 1e-300])))
    for _ in range(draw(st.integers(0, 3))):
        expr = expr + draw(COEFFS) * draw(SYMS)
    return expr


@settings(max_examples=300, deadline=None)
@given(exprs(), exprs(), st.booleans())
def test_add_angles_is_expr_addition_exactly(a, b, negate):
    if negate:
        b = -a + (b if b.is_constant else 0.0)
    assert add_angles(a, b).terms == (a + b).terms
    assert repr(add_angles(a, b)) == repr(a + b)
    assert _sums_to_zero(a, b) == (not (a + b).terms)
    assert _plus_pi(a).terms == (a + math.pi).terms


def test_sums_to_zero_keeps_infinite_coefficients():
    inf = E.const(math.inf)
    assert (inf + E.const(-math.inf)).terms  # NaN: kept by Expr
    assert not _sums_to_zero(inf, E.const(-math.inf))


GATES_1Q = [Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.S, Gate.SX, Gate.X, Gate.H, Gate.T, Gate.SDG]
GATES_2Q = [Gate.CX, Gate.CZ, Gate.CRZ, Gate.RZZ, Gate.SWAP, Gate.CP, Gate.RXX]
ANGLES = st.sampled_from([0.0, 1e-13, 1e-7, 0.3, math.pi, 2 * math.pi, 4 * math.pi, -2 * math.pi])


@st.composite
def ops(draw) -> Op:
    gate = draw(st.sampled_from(GATES_1Q + GATES_2Q))
    from qadl.ir.gates import GATES

    info = GATES[gate]
    qubits = tuple(draw(st.permutations([0, 1, 2]))[: info.num_qubits])
    angles = tuple(
        E.const(draw(ANGLES)) if draw(st.booleans()) else E.theta(0) + draw(ANGLES)
        for _ in range(info.num_angles)
    )
    return Op(gate, qubits, angles)


@settings(max_examples=400, deadline=None)
@given(ops(), ops())
def test_pair_prefilters_agree_with_rules(a, b):
    if set(a.qubits) & set(b.qubits):
        assert _commute(_bases(a), _bases(b)) == commute(a, b)
    if merge_pair(a, b, families=True) is not None:
        assert _may_merge(a, _KIND[a.gate], b, _KIND[b.gate])
    assert merge_pair_fast(a, b) == merge_pair(a, b)
    full = merge_pair(a, b)
    exact_identity = full == () or (full is not None and all(not x.terms for x in full[0].angles))
    assert (_cancel_only(a, b) == ()) == exact_identity


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([Gate.RX, Gate.RY, Gate.RZ, Gate.P]), st.floats(-20, 20), st.booleans())
def test_matrix_free_identity_rejections_are_sound(gate, angle, near):
    if near:
        angle = round(angle / (2 * math.pi)) * 2 * math.pi + angle * 1e-12
    op = Op(gate, (0,), (E.const(angle),))
    for atol in (1e-12, 1e-9, 1e-6):
        if _surely_not_identity(op, atol):
            assert not is_identity(op, atol)
        if _far_from_identity(op, atol):
            for form in FORMS:
                assert len(synthesize(_ops_matrix([op]), 0, form, atol)) >= 1


def test_synthesize_still_returns_ops_equal_to_the_matrix():
    rng = np.random.default_rng(3)
    for _ in range(20):
        ops_ = [Op(Gate.RZ, (0,), (E.const(float(rng.normal())),)), Op(Gate.SX, (0,))]
        ops_.append(Op(Gate.RY, (0,), (E.const(float(rng.normal())),)))
        mat = _ops_matrix(ops_)
        for form in FORMS:
            out = synthesize(mat, 0, form, 1e-10)
            got = _ops_matrix(out)
            assert phase_distance(got, mat) < 1e-12
