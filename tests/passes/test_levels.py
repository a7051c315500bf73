"""Optimisation levels O0…O3: operator or readout preserved, never larger, deterministic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given

from qadl.passes import PassContext, level_pipeline, optimize
from qadl.testing import assert_equivalent

from .helpers import (
    CANCELLY_GATES,
    PROPERTY,
    assert_same_outputs,
    cost,
    random_case,
    random_readout,
    seeds,
)

CTX = PassContext(verify=True)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@PROPERTY
@given(seed=seeds)
def test_level_without_readout_preserves_operator(level, seed):
    """No readout: every level keeps the operator (up to global phase) and never grows (O3:
    its ops only where it has fewer two-qubit ops)."""
    c = random_case(seed, num_qubits=4, num_ops=30, gates=CANCELLY_GATES if seed % 2 else None)
    out = optimize(c, level, ctx=CTX)
    assert cost(out) <= cost(c) if level == 3 else len(out.ops) <= len(c.ops)
    assert_equivalent(out, c, rng=np.random.default_rng(seed))
    assert optimize(c, level) == out  # deterministic


@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("kind", ["probs", "expval"])
@PROPERTY
@given(seed=seeds)
def test_level_with_readout_preserves_outputs(level, kind, seed):
    """With a readout: outputs kept from |0…0⟩, and from random states for state-input circuits."""
    rng = np.random.default_rng(seed)
    c = random_case(seed, num_qubits=4, num_ops=24, gates=CANCELLY_GATES)
    c = replace(c, readout=random_readout(rng, 4, kind))
    out = optimize(c, level, ctx=CTX)
    assert len(out.ops) <= len(c.ops)
    # From |0…0⟩ at every level; from random input states when the circuit declares one
    # (drop-initial-diagonal relies on |0…0⟩ and must leave state-input circuits alone).
    assert_same_outputs(out, c, seed=seed, states=0)
    with_input = replace(c, state_input=True)
    assert_same_outputs(optimize(with_input, level, ctx=CTX), with_input, seed=seed, states=3)


def test_levels_are_monotone_on_average():
    """Higher levels remove at least as many ops in total over a fixed sample."""
    totals = []
    for level in range(4):
        total = 0
        for seed in range(15):
            c = random_case(seed, num_qubits=4, num_ops=30, gates=CANCELLY_GATES)
            total += len(level_pipeline(level)(c, ctx=PassContext()).ops)
        totals.append(total)
    assert totals[0] >= totals[1] >= totals[2] >= totals[3]
    assert totals[3] < totals[0]
