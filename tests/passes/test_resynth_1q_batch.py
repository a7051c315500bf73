"""resynth-1q's stacked run matrices: the one-by-one products, bit for bit."""

from __future__ import annotations

import importlib
import math

import numpy as np
from hypothesis import given

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.kak_batch import products

from .helpers import PROPERTY, seeds

_r1q = importlib.import_module("qadl.passes.resynth_1q")  # the package exports the pass
_GATES = (Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.H, Gate.SX, Gate.X, Gate.S, Gate.T, Gate.U)
_HARD = (0.0, -0.0, 1e-13, 1e-9, math.pi / 4, math.pi / 2, math.pi, 2 * math.pi, 1.0)


def _op(rng: np.random.Generator, qubit: int) -> Op:
    gate = _GATES[rng.integers(len(_GATES))]
    angles = []
    for _ in range(GATES[gate].num_angles):
        hard = float(rng.choice(_HARD)) * (1 if rng.random() < 0.5 else -1)
        angles.append(E.const(hard if rng.random() < 0.6 else float(rng.uniform(-4, 4))))
    return Op(gate, (qubit,), tuple(angles))


@PROPERTY
@given(seed=seeds)
def test_stacked_run_matrices_are_the_one_by_one_products(seed):
    rng = np.random.default_rng(seed)
    runs = [[_op(rng, 0) for _ in range(int(rng.integers(0, 7)))] for _ in range(12)]
    got = products([[_r1q._op_matrix(op) for op in ops] for ops in runs], 2)
    for mat, ops in zip(got, runs, strict=True):
        assert mat.tobytes() == _r1q._ops_matrix(ops).tobytes()
    assert products([], 2).shape == (0, 2, 2)


@PROPERTY
@given(seed=seeds)
def test_batched_verdicts_give_the_one_by_one_circuit(seed):
    """resynth-1q with the batched verdicts equals it with each run's matrix built alone."""
    rng = np.random.default_rng(seed)
    ops = []
    for _ in range(60):
        if rng.random() < 0.2:
            a, b = (int(q) for q in rng.choice(3, 2, replace=False))
            ops.append(Op(Gate.CX, (a, b)))
        else:
            ops.append(_op(rng, int(rng.integers(3))))
    circuit = Circuit(3, tuple(ops), 0, 0)
    for form in _r1q.FORMS:
        _r1q.clear_cache()
        batched = _r1q.resynth_1q(circuit, form=form)
        _r1q.clear_cache()
        original = _r1q.products
        _r1q.products = lambda mats, size: np.array(  # one product per run, as before
            [_chain(m) for m in mats], dtype=complex
        ).reshape(-1, size, size)
        try:
            plain = _r1q.resynth_1q(circuit, form=form)
        finally:
            _r1q.products = original
        assert batched.ops == plain.ops


def _chain(mats: list[np.ndarray]) -> np.ndarray:
    out = np.eye(2, dtype=complex)
    for m in mats:
        out = m @ out
    return out


@PROPERTY
@given(seed=seeds)
def test_batched_first_matches_are_first_match(seed):
    """Stacked candidate checks pick ``_first_match``'s spec for every form and limit.

    Runs of 1 to 6 ops with hard angles (identities, axis rotations, near-identities at
    the tolerance), limits from 1 to 6 and no limit, three tolerances.
    """
    rng = np.random.default_rng(seed)
    runs = [[_op(rng, 0) for _ in range(int(rng.integers(1, 7)))] for _ in range(16)]
    runs += [[Op(Gate.RZ, (0,), (E.const(float(rng.uniform(0.5, 2.5)) * 1e-12),))]]
    mats = products([[_r1q._op_matrix(op) for op in ops] for ops in runs], 2)
    for atol in (1e-12, 1e-9, 0.5):
        for form in _r1q.FORMS:
            limits = [int(rng.integers(1, 7)) for _ in runs]
            limits[0] = 10**6
            got = _r1q._first_matches(mats, form, atol, limits)
            want = [
                _r1q._first_match(m, form, atol, lim) for m, lim in zip(mats, limits, strict=True)
            ]
            assert got == want
