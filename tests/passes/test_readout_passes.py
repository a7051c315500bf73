"""lightcone and drop-diagonal-before-measure: they keep readout values, not the operator."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Readout
from qadl.ir.gates import GATES, Gate
from qadl.passes import PassContext, drop_diagonal_before_measure, drop_initial_diagonal, lightcone
from qadl.passes.lightcone import backward_lightcone
from qadl.testing import random_bindings, reference_outputs, reference_state

from .helpers import PROPERTY, assert_same_outputs, op, random_case, random_readout, seeds

CTX = PassContext(verify=True)


def test_lightcone_hand_case():
    """Readout probs(q0) on 4 qubits.

    q0: ─h─■──────────rz(θ0)─     kept: h q0, cx q0,q1, x q1 (before the cx), rz q0
    q1: ─x─X──■─────────────       dropped: cx q1,q2 (after q1's last contact with q0),
    q2: ─h────X──ry(θ1)─────                h q2, ry q2, rx q3
    q3: ─rx(1)──────────────
    """
    t0, t1 = E.theta(0), E.theta(1)
    c = Circuit(
        4,
        (
            op(Gate.H, 0),
            op(Gate.X, 1),
            op(Gate.H, 2),
            op(Gate.RX, 3, angles=(1.0,)),
            op(Gate.CX, 0, 1),
            op(Gate.CX, 1, 2),
            op(Gate.RY, 2, angles=(t1,)),
            op(Gate.RZ, 0, angles=(t0,)),
        ),
        num_params=2,
        readout=Readout("probs", (0,), num_classes=2),
    )
    out = lightcone(c, ctx=CTX)
    assert out.ops == (
        op(Gate.H, 0),
        op(Gate.X, 1),
        op(Gate.CX, 0, 1),
        op(Gate.RZ, 0, angles=(t0,)),
    )
    # Seen from q2 the cone reaches back through cx q1,q2 and cx q0,q1 to h q0;
    # rx q3 and rz q0 stay out.
    assert backward_lightcone(c, frozenset({2})) == (
        True,
        True,
        True,
        False,
        True,
        True,
        True,
        False,
    )
    assert_same_outputs(out, c)


def test_lightcone_without_readout_is_identity():
    """No readout  ==>  nothing dropped."""
    c = Circuit(2, (op(Gate.H, 1),))
    assert lightcone(c) == c


@pytest.mark.parametrize("kind", ["probs", "expval"])
@PROPERTY
@given(seed=seeds)
def test_lightcone_keeps_readout(kind, seed):
    """Random circuits and readouts: outputs equal on |0…0⟩ and random input states."""
    rng = np.random.default_rng(seed)
    c = random_case(seed, num_qubits=5, num_ops=18)
    c = Circuit(
        c.num_qubits, c.ops, c.num_params, c.num_features, readout=random_readout(rng, 5, kind)
    )
    out = lightcone(c, ctx=CTX)
    assert len(out.ops) <= len(c.ops)
    assert_same_outputs(out, c, seed=seed)


def _ghz_like() -> Circuit:
    """q0 measured, q1 not: h q0; h q1; then a CZ entangling them, then rz on both."""
    return Circuit(
        2,
        (
            op(Gate.H, 0),
            op(Gate.H, 1),
            op(Gate.CZ, 0, 1),
            op(Gate.RZ, 1, angles=(E.theta(0),)),
            op(Gate.T, 0),
        ),
        num_params=1,
        readout=Readout("probs", (0,), num_classes=2),
    )


def test_drop_diagonal_on_measured_and_unmeasured_qubits():
    """h q0; h q1; cz q0,q1; rz(θ0) q1; t q0  with probs(q0)  ==>  h q0; h q1.

    The CZ acts on the measured q0 *and* the unmeasured q1. Proof that dropping is right:
    the joint Z-basis distribution of (q0, q1) is unchanged by any diagonal gate, so its
    marginal on q0 is too, although the reduced density matrix of q0 is not (checked below).
    """
    c = _ghz_like()
    out = drop_diagonal_before_measure(c, ctx=CTX)
    assert out.ops == (op(Gate.H, 0), op(Gate.H, 1))
    assert_same_outputs(out, c)
    theta = np.array([0.7])
    psi_in, psi_out = reference_state(c, theta), reference_state(out, theta)
    rho_in = np.einsum("ab,cb->ac", psi_in.reshape(2, 2).T, psi_in.reshape(2, 2).T.conj())
    rho_out = np.einsum("ab,cb->ac", psi_out.reshape(2, 2).T, psi_out.reshape(2, 2).T.conj())
    assert not np.allclose(rho_in, rho_out)  # coherences of q0 differ...
    np.testing.assert_allclose(np.diag(rho_in), np.diag(rho_out))  # ...its Z populations do not


def test_drop_diagonal_only_if_followed_by_diagonals():
    """rz(θ0) q0; cz q0,q1; h q1  with probs(q0, q1)  ==>  cz q0,q1; h q1.

    rz q0 commutes through cz to the end of q0 and goes; cz is followed by h on q1 and stays.
    """
    c = Circuit(
        2,
        (op(Gate.RZ, 0, angles=(E.theta(0),)), op(Gate.CZ, 0, 1), op(Gate.H, 1)),
        num_params=1,
        readout=Readout("probs", (0, 1), num_classes=4),
    )
    out = drop_diagonal_before_measure(c, ctx=CTX)
    assert out.ops == (op(Gate.CZ, 0, 1), op(Gate.H, 1))
    assert_same_outputs(out, c)


def test_drop_diagonal_respects_x_observables():
    """<X0> readout: h q0; rz(π/2) q0 must stay — dropping it would change <X0> from 0 to 1."""
    c = Circuit(
        1,
        (op(Gate.H, 0), op(Gate.RZ, 0, angles=(math.pi / 2,))),
        readout=Readout("expval", observables=((("X", 0),),)),
    )
    assert drop_diagonal_before_measure(c) == c
    wrongly_dropped = c.with_ops(c.ops[:1])
    got = reference_outputs(c, reference_state(c))
    bad = reference_outputs(wrongly_dropped, reference_state(wrongly_dropped))
    assert abs(got[0]) < 1e-12 and abs(bad[0] - 1.0) < 1e-12
    z_only = Circuit(1, c.ops, readout=Readout("expval", observables=((("Z", 0),),)))
    assert drop_diagonal_before_measure(z_only).ops == c.ops[:1]


@pytest.mark.parametrize("kind", ["probs", "expval"])
@PROPERTY
@given(seed=seeds)
def test_drop_diagonal_keeps_readout(kind, seed):
    """Random diagonal-heavy circuits and readouts: outputs equal for random input states."""
    rng = np.random.default_rng(seed)
    gates = (
        Gate.H,
        Gate.RX,
        Gate.CX,
        Gate.RZ,
        Gate.CZ,
        Gate.CP,
        Gate.RZZ,
        Gate.T,
        Gate.CRZ,
        Gate.P,
    )
    c = random_case(seed, num_qubits=4, num_ops=16, gates=gates)
    c = Circuit(
        c.num_qubits, c.ops, c.num_params, c.num_features, readout=random_readout(rng, 4, kind)
    )
    out = drop_diagonal_before_measure(c, ctx=CTX)
    assert len(out.ops) <= len(c.ops)
    removed = list(c.ops)
    for kept in out.ops:  # multiset difference: out is a subsequence of c
        removed.remove(kept)
    assert all(GATES[o.gate].diagonal for o in removed)
    assert_same_outputs(out, c, seed=seed)


def test_drop_initial_diagonal_hand_case():
    """rz(θ0) q0; cz q0,q1; h q1; rzz(1) q0,q1; t q1; h q0; s q0  with probs(q0)  ==>
    h q1; rzz(1) q0,q1; t q1; h q0; s q0.

    rz and cz act while q0 and q1 are still |0⟩: global phases. rzz comes after h q1, so
    q1 is no longer |0⟩ and it stays; so do t q1 (q1 not zero) and s q0 (after h q0).
    """
    c = Circuit(
        2,
        (
            op(Gate.RZ, 0, angles=(E.theta(0),)),
            op(Gate.CZ, 0, 1),
            op(Gate.H, 1),
            op(Gate.RZZ, 0, 1, angles=(1.0,)),
            op(Gate.T, 1),
            op(Gate.H, 0),
            op(Gate.S, 0),
        ),
        num_params=1,
        readout=Readout("probs", (0,), num_classes=2),
    )
    out = drop_initial_diagonal(c, ctx=CTX)
    assert out.ops == c.ops[2:]
    assert_same_outputs(out, c, states=0)
    # With an input state, |0…0⟩ is not guaranteed: nothing is dropped.
    assert drop_initial_diagonal(replace(c, state_input=True)) == replace(c, state_input=True)


@PROPERTY
@given(seed=seeds)
def test_drop_initial_diagonal_keeps_state(seed):
    """Random diagonal-heavy circuits: the final state from |0…0⟩ is kept up to global phase."""
    gates = (
        Gate.H,
        Gate.RX,
        Gate.CX,
        Gate.RZ,
        Gate.CZ,
        Gate.CP,
        Gate.RZZ,
        Gate.T,
        Gate.CRZ,
        Gate.P,
    )
    c = random_case(seed, num_qubits=4, num_ops=14, gates=gates)
    c = replace(c, readout=Readout("probs", (0,), num_classes=2))
    out = drop_initial_diagonal(c, ctx=CTX)
    theta, x, delta = random_bindings(np.random.default_rng(seed), c)
    a, b = reference_state(c, theta, x, delta), reference_state(out, theta, x, delta)
    assert abs(abs(np.vdot(a, b)) - 1.0) < 1e-9
