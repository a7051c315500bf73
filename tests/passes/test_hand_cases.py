"""Hand-written cases for the optimisation passes, each documented as ``before ==> after``."""

from __future__ import annotations

import math

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit
from qadl.ir.gates import Gate
from qadl.passes import (
    cancel_inverses,
    commute_cancel,
    drop_identities,
    merge_rotations,
    resynth_1q,
)
from qadl.testing import assert_equivalent

from .helpers import op

PI = math.pi
t0, t1, t3, x2 = E.theta(0), E.theta(1), E.theta(3), E.x(2)


def circ(n, *ops, params=4, features=3):
    return Circuit(n, tuple(ops), params, features)


def test_drop_identities_constant_zero_and_full_turns():
    """rz(0) q0; rx(4π) q1; cp(2π) q0,q1; crz(2π) q0,q1; rz(θ0 - θ0) q0  ==>  crz(2π) q0,q1."""
    zero = t0 - t0
    c = circ(
        2,
        op(Gate.RZ, 0, angles=(0.0,)),
        op(Gate.RX, 1, angles=(4 * PI,)),
        op(Gate.CP, 0, 1, angles=(2 * PI,)),
        op(Gate.CRZ, 0, 1, angles=(2 * PI,)),
        op(Gate.RZ, 0, angles=(zero,)),
    )
    assert drop_identities(c).ops == (op(Gate.CRZ, 0, 1, angles=(2 * PI,)),)


def test_drop_identities_keeps_symbolic():
    """rz(θ0) q0  ==>  rz(θ0) q0  (a symbol is never assumed zero)."""
    c = circ(1, op(Gate.RZ, 0, angles=(t0,)))
    assert drop_identities(c) == c


def test_cancel_inverses_nested_pairs():
    """h q0; x q0; x q0; h q0; s q1; sdg q1; cz q0,q1; cz q1,q0  ==>  (empty)."""
    c = circ(
        2,
        op(Gate.H, 0),
        op(Gate.X, 0),
        op(Gate.X, 0),
        op(Gate.H, 0),
        op(Gate.S, 1),
        op(Gate.SDG, 1),
        op(Gate.CZ, 0, 1),
        op(Gate.CZ, 1, 0),
    )
    assert cancel_inverses(c).ops == ()


def test_cancel_inverses_respects_direction_and_blockers():
    """cx q0,q1; cx q1,q0; h q0; z q1; h q0  ==>  cx q0,q1; cx q1,q0; z q1.

    The two CX differ in direction, so they stay; the H pair is adjacent on q0 (z acts on q1).
    """
    c = circ(2, op(Gate.CX, 0, 1), op(Gate.CX, 1, 0), op(Gate.H, 0), op(Gate.Z, 1), op(Gate.H, 0))
    assert cancel_inverses(c).ops == (op(Gate.CX, 0, 1), op(Gate.CX, 1, 0), op(Gate.Z, 1))


def test_cancel_inverses_symbolic_rotation_pair():
    """rz(θ0) q0; rz(-θ0) q0  ==>  (empty);  rz(θ0) q0; rz(θ1) q0 stays (that is merging)."""
    assert (
        cancel_inverses(circ(1, op(Gate.RZ, 0, angles=(t0,)), op(Gate.RZ, 0, angles=(-t0,)))).ops
        == ()
    )
    keep = circ(1, op(Gate.RZ, 0, angles=(t0,)), op(Gate.RZ, 0, angles=(t1,)))
    assert cancel_inverses(keep) == keep


def test_merge_rotations_symbolic():
    """rz(θ1 + x2) q0; rz(θ3) q0  ==>  rz(θ1 + θ3 + x2) q0."""
    c = circ(1, op(Gate.RZ, 0, angles=(t1 + x2,)), op(Gate.RZ, 0, angles=(t3,)))
    out = merge_rotations(c)
    assert out.ops == (op(Gate.RZ, 0, angles=(t1 + t3 + x2,)),)
    assert str(out.ops[0].angles[0]) == "theta[1] + theta[3] + x[2]"


def test_merge_rotations_two_qubit_and_symmetric():
    """rzz(θ0) q0,q1; rzz(θ1) q1,q0; crz(1) q0,q1; crz(-1) q0,q1  ==>  rzz(θ0 + θ1) q0,q1."""
    c = circ(
        2,
        op(Gate.RZZ, 0, 1, angles=(t0,)),
        op(Gate.RZZ, 1, 0, angles=(t1,)),
        op(Gate.CRZ, 0, 1, angles=(1.0,)),
        op(Gate.CRZ, 0, 1, angles=(-1.0,)),
    )
    assert merge_rotations(c).ops == (op(Gate.RZZ, 0, 1, angles=(t0 + t1,)),)


def test_merge_rotations_not_across_other_axis():
    """rx(θ0) q0; rz(θ1) q0; rx(θ3) q0  ==>  unchanged."""
    c = circ(
        1, op(Gate.RX, 0, angles=(t0,)), op(Gate.RZ, 0, angles=(t1,)), op(Gate.RX, 0, angles=(t3,))
    )
    assert merge_rotations(c) == c


def test_commute_cancel_rz_through_cx_control():
    """rz(θ0) q0; cx q0,q1; rz(θ1) q0; cx q0,q1  ==>  rz(θ0 + θ1) q0."""
    c = circ(
        2,
        op(Gate.RZ, 0, angles=(t0,)),
        op(Gate.CX, 0, 1),
        op(Gate.RZ, 0, angles=(t1,)),
        op(Gate.CX, 0, 1),
    )
    out = commute_cancel(c)
    assert out.ops == (op(Gate.RZ, 0, angles=(t0 + t1,)),)
    assert_equivalent(out, c)


def test_commute_cancel_x_rotation_through_cx_target():
    """rx(θ0) q1; cx q0,q1; rx(θ1) q1  ==>  rx(θ0 + θ1) q1; cx q0,q1."""
    c = circ(2, op(Gate.RX, 1, angles=(t0,)), op(Gate.CX, 0, 1), op(Gate.RX, 1, angles=(t1,)))
    out = commute_cancel(c)
    assert out.ops == (op(Gate.RX, 1, angles=(t0 + t1,)), op(Gate.CX, 0, 1))
    assert_equivalent(out, c)


def test_commute_cancel_rz_through_cz_and_diagonals():
    """cz q0,q1; rz(θ0) q1; t q0; cz q0,q1; rz(θ1) q1; s q1  ==>  rz(θ0 + θ1 + π/2) q1; t q0."""
    c = circ(
        2,
        op(Gate.CZ, 0, 1),
        op(Gate.RZ, 1, angles=(t0,)),
        op(Gate.T, 0),
        op(Gate.CZ, 0, 1),
        op(Gate.RZ, 1, angles=(t1,)),
        op(Gate.S, 1),
    )
    out = commute_cancel(c)
    assert len(out.ops) == 2
    assert op(Gate.T, 0) in out.ops
    assert_equivalent(out, c)


def test_commute_cancel_blocked_by_h():
    """rz(θ0) q0; h q0; rz(θ1) q0  ==>  unchanged (H does not commute with RZ)."""
    c = circ(1, op(Gate.RZ, 0, angles=(t0,)), op(Gate.H, 0), op(Gate.RZ, 0, angles=(t1,)))
    assert commute_cancel(c) == c


def test_commute_cancel_cx_pair_around_target_rotation_blocked():
    """cx q0,q1; rz(θ0) q1; cx q0,q1  ==>  unchanged (RZ on the target does not commute with CX)."""
    c = circ(2, op(Gate.CX, 0, 1), op(Gate.RZ, 1, angles=(t0,)), op(Gate.CX, 0, 1))
    assert commute_cancel(c) == c


def test_commute_cancel_cx_pair_sharing_control():
    """cx q0,q1; cx q0,q2; cx q0,q1  ==>  cx q0,q2."""
    c = circ(3, op(Gate.CX, 0, 1), op(Gate.CX, 0, 2), op(Gate.CX, 0, 1))
    assert commute_cancel(c).ops == (op(Gate.CX, 0, 2),)


def test_resynth_run_to_one_u():
    """h q0; t q0; h q0; s q0; rz(θ0) q0; x q0; y q0  ==>  u(…) q0; rz(θ0) q0; u(…) q0."""
    c = circ(
        1,
        op(Gate.H, 0),
        op(Gate.T, 0),
        op(Gate.H, 0),
        op(Gate.S, 0),
        op(Gate.RZ, 0, angles=(t0,)),
        op(Gate.X, 0),
        op(Gate.Y, 0),
    )
    out = resynth_1q(c)
    assert [o.gate for o in out.ops] == [Gate.U, Gate.RZ, Gate.U]
    assert_equivalent(out, c)


def test_resynth_forms_use_only_their_gates():
    """A long constant run becomes ≤ 3 ops of rz/ry (zyz) or ≤ 5 of rz/sx/x (zsx)."""
    rng = np.random.default_rng(3)
    gates = [Gate.H, Gate.T, Gate.SX, Gate.S, Gate.Y]
    ops = [op(gates[int(rng.integers(len(gates)))], 0) for _ in range(9)]
    c = circ(1, *ops)
    for form, allowed, most in (
        ("zyz", {Gate.RZ, Gate.RY}, 3),
        ("zsx", {Gate.RZ, Gate.SX, Gate.X}, 5),
    ):
        out = resynth_1q(c, form=form)
        assert {o.gate for o in out.ops} <= allowed and len(out.ops) <= most
        assert_equivalent(out, c)


def test_resynth_identity_run_disappears():
    """h q0; h q0 (protected nothing)  ==>  (empty) in the zyz form; a run of one op is kept."""
    assert resynth_1q(circ(1, op(Gate.H, 0), op(Gate.H, 0)), form="zyz").ops == ()
    single = circ(1, op(Gate.H, 0))
    assert resynth_1q(single, form="zyz") == single


def test_resynth_xyz_form_finds_a_single_rx():
    """ry(-π/2) q0; rz(0.3) q0; ry(π/2) q0  ==>  rx(±0.3) q0 in the xyz form (zyz needs 3)."""
    c = circ(
        1,
        op(Gate.RY, 0, angles=(-PI / 2,)),
        op(Gate.RZ, 0, angles=(0.3,)),
        op(Gate.RY, 0, angles=(PI / 2,)),
    )
    out = resynth_1q(c, form="xyz")
    assert len(out.ops) == 1 and out.ops[0].gate is Gate.RX
    assert abs(abs(out.ops[0].angles[0].constant_value) - 0.3) < 1e-12
    assert_equivalent(out, c)
    assert len(resynth_1q(c, form="zyz").ops) == 3


def test_resynth_snaps_angles_to_multiples_of_pi_over_8():
    """h q0; s q0  ==>  u(π/2, π/2, π) q0 with exact π multiples (stable golden text)."""
    out = resynth_1q(circ(1, op(Gate.H, 0), op(Gate.S, 0)))
    assert [a.constant_value / (PI / 8) for a in out.ops[0].angles] == [4.0, 4.0, 8.0]


def test_resynth_2q_four_cx_block_to_one():
    """h q0; cx q1,q0; t q1; cx q0,q1; h q1; cx q1,q0; s q0; cx q0,q1; sx q1
    ==>  h q0; u q0; u q1; cx q0,q1; u q0; u q1  (the block's invariants say 1 CX suffices).
    """
    from qadl.passes import resynth_2q
    from qadl.passes.kak import block_unitary, min_cx_count

    c = circ(
        2,
        op(Gate.H, 0), op(Gate.CX, 1, 0), op(Gate.T, 1), op(Gate.CX, 0, 1), op(Gate.H, 1),
        op(Gate.CX, 1, 0), op(Gate.S, 0), op(Gate.CX, 0, 1), op(Gate.SX, 1),
    )  # fmt: skip
    assert min_cx_count(block_unitary(list(c.ops[1:]), (0, 1))) == 1
    out = resynth_2q(c, gates="u")  # h/t/s/sx have no continuous form: ask for U gates
    assert [o.gate for o in out.ops] == [Gate.H, Gate.U, Gate.U, Gate.CX, Gate.U, Gate.U]
    assert_equivalent(out, c)


def test_resynth_2q_cx_counts_of_known_gates():
    """SWAP needs 3, CZ 1, RZZ(0.3) 2, CX·CX 0, H⊗S 0 (Shende–Bullock–Markov invariants)."""
    from qadl.passes.kak import block_unitary, min_cx_count

    cases = [
        ([op(Gate.SWAP, 0, 1)], 3),
        ([op(Gate.CZ, 0, 1)], 1),
        ([op(Gate.RZZ, 0, 1, angles=(0.3,))], 2),
        ([op(Gate.CX, 0, 1), op(Gate.CX, 0, 1)], 0),
        ([op(Gate.H, 0), op(Gate.S, 1)], 0),
    ]
    for ops, want in cases:
        assert min_cx_count(block_unitary(ops, (0, 1))) == want


def test_resynth_2q_leaves_symbolic_blocks():
    """cx q0,q1; rz(θ0) q1; cx q0,q1  ==>  unchanged (a symbolic angle ends the block)."""
    from qadl.passes import resynth_2q

    c = circ(2, op(Gate.CX, 0, 1), op(Gate.RZ, 1, angles=(t0,)), op(Gate.CX, 0, 1))
    assert resynth_2q(c) == c
