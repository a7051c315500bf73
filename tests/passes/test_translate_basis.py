"""translate-basis: every rule is right, every output gate is native, symbols survive."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import PassContext, translate_basis
from qadl.passes.translate_basis import TranslationError, translate_op
from qadl.testing import UNITARY_GATES, assert_equivalent

from .helpers import PROPERTY, op, random_case, seeds

BASES = [("rx", "ry", "rz", "cz"), ("rz", "sx", "x", "cx"), ("u", "cx"), ("u", "cz")]
CTX = PassContext(verify=True)


@pytest.mark.parametrize("basis", BASES)
@pytest.mark.parametrize("gate", UNITARY_GATES)
def test_every_gate_translates_exactly(basis, gate):
    """Each gate, with symbolic angles, becomes native gates with the same operator."""
    info = GATES[gate]
    angles = tuple(E.theta(i) * 0.7 + E.x(0) + 0.1 for i in range(info.num_angles))
    c = Circuit(3, (Op(gate, tuple(range(info.num_qubits)), angles),), num_params=3, num_features=1)
    out = translate_basis(c, ctx=CTX, basis=basis)
    assert {o.gate.value for o in out.ops} <= set(basis)
    for seed in range(3):
        assert_equivalent(out, c, rng=np.random.default_rng(seed))


def test_symbolic_angle_survives_sx_translation():
    """ry(θ0) q0 in rz/sx/x/cx  ==>  sx q0; rz(θ0 + π) q0; sx q0; rz(π) q0 (θ0 still a symbol)."""
    c = Circuit(1, (op(Gate.RY, 0, angles=(E.theta(0),)),), num_params=1)
    out = translate_basis(c, basis=("rz", "sx", "x", "cx"))
    assert [o.gate for o in out.ops] == [Gate.SX, Gate.RZ, Gate.SX, Gate.RZ]
    assert out.ops[1].angles[0] == E.theta(0) + np.pi
    assert_equivalent(out, c)


def test_cx_to_cz_uses_ry_when_native():
    """cx q0,q1 in rx/ry/rz/cz  ==>  ry(-π/2) q1; cz q0,q1; ry(π/2) q1."""
    out = translate_op(op(Gate.CX, 0, 1), ("rx", "ry", "rz", "cz"))
    assert [o.gate for o in out] == [Gate.RY, Gate.CZ, Gate.RY]


@pytest.mark.parametrize("basis", BASES[:2])
@PROPERTY
@given(seed=seeds)
def test_random_circuits_translate(basis, seed):
    """Random circuits over all gates: native output, same operator, deterministic."""
    c = random_case(seed, num_qubits=3, num_ops=12)
    out = translate_basis(c, ctx=CTX, basis=basis)
    assert {o.gate.value for o in out.ops} <= set(basis)
    assert_equivalent(out, c, rng=np.random.default_rng(seed))
    assert translate_basis(c, basis=basis) == out


def test_amplitude_is_refused_and_bad_basis_reported():
    """Symbolic amplitude preparation cannot be translated, nor can a basis lacking an entangler."""
    amp = Circuit(1, (Op(Gate.AMPLITUDE, (0,), (E.x(0), E.x(1))),), num_features=2)
    with pytest.raises(TranslationError, match="amplitude"):
        translate_basis(amp)
    with pytest.raises(TranslationError, match="no cx or cz"):
        translate_basis(Circuit(1, (op(Gate.H, 0),)), basis=("rx", "ry", "rz"))
    with pytest.raises(TranslationError, match="unknown gate"):
        translate_basis(Circuit(1, (op(Gate.H, 0),)), basis=("rq", "cz"))


def test_swap_oriented_to_cancel_neighbour_cx():
    """cx q1,q0; swap q0,q1  ==>  cx q0,q1; cx q1,q0 after translation and cancellation."""
    from qadl.passes import cancel_inverses
    from qadl.passes.translate_basis import orient_swaps

    c = Circuit(2, (op(Gate.CX, 1, 0), op(Gate.SWAP, 0, 1)))
    assert orient_swaps(list(c.ops))[1] == op(Gate.CX, 1, 0)
    out = cancel_inverses(translate_basis(c, basis=("rz", "sx", "x", "cx")))
    assert out.ops == (op(Gate.CX, 0, 1), op(Gate.CX, 1, 0))
    assert_equivalent(out, c)
    after = Circuit(2, (op(Gate.SWAP, 0, 1), op(Gate.CX, 1, 0)))
    assert len(cancel_inverses(translate_basis(after, basis=("rz", "sx", "x", "cx"))).ops) == 2
