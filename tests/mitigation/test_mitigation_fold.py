"""Unitary folding keeps the noiseless operator of every example model and scales its gates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import REGISTRY, PassContext
from qadl.passes.fold import inverse_op
from qadl.testing import assert_equivalent, random_bindings, reference_state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.qadl"))
CTX = PassContext(verify=True)
MAX_UNITARY_QUBITS = 5
"""Larger registers are compared on random input states instead of the whole unitary."""


def _models(path: Path):
    from qadl.api import load

    return load(path).models


def _states_equal(folded: Circuit, circuit: Circuit, seed: int) -> None:
    rng = np.random.default_rng(seed)
    theta, x, delta = random_bindings(rng, circuit)
    if any(op.gate is Gate.AMPLITUDE for op in circuit.ops):
        x = rng.uniform(0.1, 1.0, circuit.num_features)
        starts = [None]
    else:
        dim = 1 << circuit.num_qubits
        starts = [None, *(rng.normal(size=dim) + 1j * rng.normal(size=dim) for _ in range(2))]
    for start in starts:
        if start is not None:
            start = start / np.linalg.norm(start)
        want = reference_state(circuit, theta, x, delta, state=start)
        got = reference_state(folded, theta, x, delta, state=start)
        np.testing.assert_allclose(got, want, atol=1e-9)  # no global phase: G†G = I exactly


def _check_model(c: Circuit, kind: str, numeric_large: bool) -> None:
    unitary = sum(op.gate is not Gate.AMPLITUDE for op in c.ops)
    small = c.num_qubits <= MAX_UNITARY_QUBITS
    for scale in (3, 5):
        folded = REGISTRY[kind](c, ctx=CTX, scale=scale)
        assert len(folded.ops) == len(c.ops) + (scale - 1) * unitary
        assert folded.readout == c.readout and folded.num_params == c.num_params
        if small and unitary == len(c.ops):
            assert_equivalent(folded, c, rng=np.random.default_rng(scale))
        elif small or (numeric_large and scale == 3):
            _states_equal(folded, c, scale)


@pytest.mark.parametrize("kind", ["fold-global", "fold-local"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_folding_keeps_every_example_models_operator(path, kind):
    """Whole unitaries up to 5 qubits; final states from random inputs beyond (slow test)."""
    models = _models(path)
    assert models
    for model in models.values():
        _check_model(model.circuit, kind, numeric_large=False)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fold-global", "fold-local"])
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_folding_keeps_the_state_of_large_example_models(path, kind):
    for model in _models(path).values():
        if model.circuit.num_qubits > MAX_UNITARY_QUBITS:
            _check_model(model.circuit, kind, numeric_large=True)


def test_global_folding_is_u_then_u_dagger_u():
    c = Circuit(2, (Op(Gate.H, (0,)), Op(Gate.RY, (1,), (E.theta(0),)), Op(Gate.CX, (0, 1))), 1)
    folded = REGISTRY["fold-global"](c, scale=3)
    body, inv = c.ops, tuple(inverse_op(o) for o in reversed(c.ops))
    assert folded.ops == body + inv + body
    assert REGISTRY["fold-global"](c, scale=1) == c
    local = REGISTRY["fold-local"](c, scale=3)
    assert local.ops[:3] == (c.ops[0], c.ops[0], c.ops[0])  # h is its own inverse
    assert local.ops[3:6] == (c.ops[1], inverse_op(c.ops[1]), c.ops[1])


@pytest.mark.parametrize("gate", [g for g in Gate if g is not Gate.AMPLITUDE])
def test_inverse_op_undoes_every_gate(gate):
    info = GATES[gate]
    qubits = tuple(range(info.num_qubits))
    angles = tuple(E.const(v) for v in (0.37, -1.2, 2.1)[: info.num_angles])
    op = Op(gate, qubits, angles)
    u = info.matrix([a.constant_value for a in op.angles])
    inv = inverse_op(op)
    v = GATES[inv.gate].matrix([a.constant_value for a in inv.angles])
    np.testing.assert_allclose(v @ u, np.eye(u.shape[0]), atol=1e-12)


def test_protected_ops_are_not_folded_locally():
    keep = frozenset({"keep"})
    c = Circuit(1, (Op(Gate.H, (0,), tags=keep), Op(Gate.X, (0,))))
    out = REGISTRY["fold-local"](c, ctx=PassContext(protected=keep), scale=5)
    assert out.ops == (c.ops[0],) + (c.ops[1],) * 5


@pytest.mark.parametrize("scale", [0, 2, -1, 1.0, True])
def test_even_or_non_integer_scales_are_refused(scale):
    c = Circuit(1, (Op(Gate.H, (0,)),))
    with pytest.raises(ValueError, match="odd integer"):
        REGISTRY["fold-global"](c, scale=scale)
