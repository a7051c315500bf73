"""Properties every operator-preserving optimisation pass must have, on random circuits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from qadl.passes import REGISTRY, PassContext
from qadl.testing import assert_equivalent

from .helpers import CANCELLY_GATES, PROPERTY, cost, random_case, random_readout, seeds

OPERATOR_PASSES = [
    "drop-identities",
    "cancel-inverses",
    "merge-rotations",
    "commute-cancel",
    "resynth-1q",
    "resynth-2q",
]
CTX = PassContext(verify=True)


@pytest.mark.parametrize("name", OPERATOR_PASSES)
@PROPERTY
@given(seed=seeds)
def test_preserves_operator_and_never_grows(name, seed):
    """pass(c) ≡ c (up to global phase, symbols bound to random values); len(pass(c)) <= len(c)
    (resynth-2q: ``cost``, its ops grow only where its two-qubit ops shrink)."""
    gates = CANCELLY_GATES if seed % 2 else None
    c = random_case(seed, num_qubits=4, num_ops=28, gates=gates)
    out = REGISTRY[name](c, ctx=CTX)
    assert cost(out) <= cost(c) if name == "resynth-2q" else len(out.ops) <= len(c.ops)
    for k in range(2):
        assert_equivalent(out, c, rng=np.random.default_rng(seed + k))


DETERMINISTIC = OPERATOR_PASSES  # resynth-2q too: its synthesis is closed-form


@pytest.mark.parametrize("name", DETERMINISTIC)
@PROPERTY
@given(seed=seeds)
def test_deterministic_and_input_untouched(name, seed):
    """Same input, same output; the input circuit is a value and stays equal to a rebuilt copy."""
    c = random_case(seed, num_qubits=3, num_ops=20, gates=CANCELLY_GATES)
    copy = c.with_ops(list(c.ops))
    assert REGISTRY[name](c) == REGISTRY[name](copy)
    assert c == copy


@pytest.mark.parametrize("name", ["drop-identities", "cancel-inverses", "commute-cancel"])
def test_protected_ops_are_kept(name):
    """Ops carrying a protected tag survive even when they would cancel."""
    from qadl.ir import expr as E
    from qadl.ir.circuit import Circuit, Op
    from qadl.ir.gates import Gate

    keep = frozenset({"keep"})
    ops = (
        Op(Gate.H, (0,), tags=keep),
        Op(Gate.H, (0,), tags=keep),
        Op(Gate.RZ, (0,), (E.const(0.0),), tags=keep),
    )
    c = Circuit(1, ops)
    assert REGISTRY[name](c, ctx=PassContext(protected=keep)) == c


IDEMPOTENT = [
    "drop-identities",
    "cancel-inverses",
    "merge-rotations",
    "lightcone",
    "drop-diagonal-before-measure",
    "resynth-1q",
    "translate-basis",
]


@pytest.mark.parametrize("name", IDEMPOTENT)
@PROPERTY
@given(seed=seeds)
def test_idempotent(name, seed):
    """pass(pass(c)) == pass(c) for the passes that reach their own fixed point in one sweep.

    (commute-cancel is not: a merge can expose a new partner further back; nor is
    resynth-2q: its output can group into new blocks. The levels run to a fixed point.)
    """
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    c = random_case(seed, num_qubits=4, num_ops=24, gates=CANCELLY_GATES if seed % 2 else None)
    c = replace(c, readout=random_readout(rng, 4, "probs" if seed % 3 else "expval"))
    once = REGISTRY[name](c)
    assert REGISTRY[name](once) == once


@PROPERTY
@given(seed=seeds)
def test_resynth_2q_on_constant_circuits(seed):
    """All-constant random circuits: operator kept, fewer two-qubit ops or the same circuit."""
    from qadl.ir.gates import Gate
    from qadl.testing import random_circuit

    gates = (
        Gate.H,
        Gate.CX,
        Gate.CZ,
        Gate.RZ,
        Gate.RX,
        Gate.S,
        Gate.T,
        Gate.SWAP,
        Gate.RZZ,
        Gate.CP,
    )
    c = random_circuit(
        np.random.default_rng(seed), 3, 20, gates=gates, num_params=0, num_features=0
    )
    out = REGISTRY["resynth-2q"](c, ctx=CTX)
    assert cost(out)[0] < cost(c)[0] or out == c
    assert_equivalent(out, c, rng=np.random.default_rng(seed))
