"""resynth-2q's template bounds: never above the synthesis's counts, never a changed decision."""

from __future__ import annotations

import importlib
import math

import numpy as np
from hypothesis import given

from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import kak
from qadl.passes.kak import block_unitary
from qadl.passes.kak_batch import syntheses_of, templates
from qadl.passes.kak_bounds import far_from_local, synthesis_bounds
from qadl.passes.two_qubit_ops import layer_costs, proportional_to_identity, with_entangler

from .helpers import PROPERTY, seeds
from .test_resynth_2q import NAMED, _local, _with_k_cx

_resynth = importlib.import_module("qadl.passes.resynth_2q")  # the package exports the pass
_HARD = (0.0, 1e-13, 1e-9, math.pi / 4, math.pi / 2, math.pi, 3 * math.pi / 4, 1.0, -1e-9)
_SETS = (
    _resynth._GateSet(Gate.CZ, frozenset({Gate.CZ, Gate.RX, Gate.RY, Gate.RZ})),
    _resynth._GateSet(Gate.CX, frozenset({Gate.CX, Gate.RZ, Gate.SX, Gate.X})),
    _resynth._GateSet(Gate.CX, frozenset({Gate.CX, Gate.U})),
)


def _angle(rng: np.random.Generator) -> float:
    if rng.random() < 0.6:
        return float(rng.choice(_HARD)) * (1 if rng.random() < 0.5 else -1)
    return float(rng.uniform(-math.pi, math.pi))


def _block(rng: np.random.Generator, entangler: Gate, n: int) -> list[Op]:
    """Random ops on (0, 1): the entangler either way round, rotations with hard angles."""
    ops = []
    for _ in range(n):
        if rng.random() < 0.4:
            qubits = (0, 1) if rng.random() < 0.5 or entangler is Gate.CZ else (1, 0)
            ops.append(Op(entangler, qubits))
        else:
            gate = (Gate.RX, Gate.RY, Gate.RZ, Gate.SX, Gate.H)[rng.integers(5)]
            angles = tuple(E.const(_angle(rng)) for _ in range(GATES[gate].num_angles))
            ops.append(Op(gate, (int(rng.integers(2)),), angles))
    return ops


def _unitaries(rng: np.random.Generator) -> list[np.ndarray]:
    us = [_with_k_cx(rng, int(rng.integers(0, 4))) for _ in range(8)]
    us += [block_unitary(_block(rng, Gate.CZ, int(rng.integers(2, 12))), (0, 1)) for _ in range(8)]
    us += [block_unitary(_block(rng, Gate.CX, int(rng.integers(2, 12))), (0, 1)) for _ in range(8)]
    return us + list(NAMED.values())


@PROPERTY
@given(seed=seeds)
def test_bounds_never_exceed_the_synthesis_counts(seed):
    """Each bound is at most the busy layers, rotations and least ops of the synthesis.

    Only syntheses with the CX count the bound is for (the first tried) are compared.
    """
    rng = np.random.default_rng(seed)
    us = _unitaries(rng)
    t = templates(np.array(us, dtype=complex))
    rows = list(range(len(us)))
    synths = syntheses_of(t, rows)
    for entangler in (Gate.CX, Gate.CZ):
        for i, bound in enumerate(synthesis_bounds(t, rows, entangler)):
            if bound is None or synths[i] is None or len(synths[i].cx) != t.counts[i]:
                continue
            found = next(_resynth._counted([with_entangler(synths[i], entangler)]))
            assert bound[0] <= found.busy, (i, bound, found)
            assert bound[1] <= found.rotations, (i, bound, found)
            assert bound[2] <= found.min_ops, (i, bound, found)


@PROPERTY
@given(seed=seeds)
def test_far_from_local_only_where_no_local_unitary_is_near(seed):
    """Local unitaries (times a phase, moved by 1e-10) are never far; entangling ones are."""
    rng = np.random.default_rng(seed)
    local = [np.exp(1j * rng.uniform(-4, 4)) * _local(rng) for _ in range(8)]
    nudged = [m + 1e-10 * rng.normal(size=(4, 4)) for m in local]
    assert not far_from_local(np.array(local + nudged)).any()
    entangling = [_with_k_cx(rng, k) for k in (1, 2, 3)] + [NAMED["swap"], NAMED["cx"]]
    assert far_from_local(np.array(entangling)).all()


def test_bounded_plans_decide_as_plain_ones():
    """With and without the template bounds, every block gets the same rewrite (or none).

    Blocks of 2 to 16 ops with hard angles in three gate sets, planned without bounds,
    with them, and with them kept from that run (``_BOUNDS``) but no synthesis kept; the
    bounds must reject some blocks, or the test would prove nothing.
    """
    rng = np.random.default_rng(5)
    rejected = 0
    for gate_set in _SETS:
        blocks = [_block(rng, gate_set.entangler, int(rng.integers(2, 17))) for _ in range(300)]
        keys = [(tuple(ops), (0, 1), gate_set, False) for ops in blocks]
        decided, plans = [], []
        for bounded, fresh in ((False, True), (True, True), (True, False)):
            if fresh:
                _resynth.clear_caches()
            _resynth._SYNTHESES.clear()
            planned, syntheses = _resynth._plans(keys, gate_set, bounded)
            pairs = zip(keys, planned, strict=True)
            decided.append([_resynth._replacement(*k, p, syntheses) for k, p in pairs])
            plans.append(planned)
        assert decided[0] == decided[1] == decided[2]
        assert [p.unitary for p in plans[1]] == [p.unitary for p in plans[2]]
        rejected += sum(bool(p.unitary and not b.unitary) for p, b in zip(*plans[:2], strict=True))
    assert rejected > 0
    _resynth.clear_caches()


def test_a_tie_in_the_coordinates_gives_no_bound():
    """A unitary whose KAK coordinates need another eigenbasis is not bounded."""
    t = templates(np.array([NAMED["swap"], NAMED["cx"], np.eye(4, dtype=complex)]))
    bounds = synthesis_bounds(t, [0, 1, 2], Gate.CX)
    assert bounds[2] is None  # 0 CX: no template
    for row in (0, 1):
        assert (bounds[row] is None) == (not t.ok[row])


def test_middle_layers_of_three_cz_are_never_phases():
    """Written in CZ, the 3-CX template's middle layers all count (depth ≥ 5)."""
    rng = np.random.default_rng(2)
    us = [_with_k_cx(rng, 3) for _ in range(6)]
    t = templates(np.array(us))
    rows = list(range(6))
    for bound, synth in zip(synthesis_bounds(t, rows, Gate.CZ), syntheses_of(t, rows), strict=True):
        assert bound is not None and bound[0] >= 2 and bound[1] >= 4
        layers = with_entangler(synth, Gate.CZ).layers[1:-1]
        assert not any(proportional_to_identity(m) for layer in layers for m in layer)


@PROPERTY
@given(seed=seeds)
def test_minus_identity_decides_as_allclose(seed):
    """The stacked ``γ² = -I`` test is ``np.allclose``'s decision wherever it decides.

    Entries are moved from ``-I`` by amounts around both of ``np.allclose``'s bounds
    (1e-11 off the diagonal, 1e-5 + 1e-11 on it), so every branch is met.
    """
    rng = np.random.default_rng(seed)
    squares = []
    for _ in range(60):
        s = -np.eye(4, dtype=complex)
        scale = rng.choice([1e-13, 5e-12, 1e-11, 2e-11, 3e-11, 5e-6, 1e-5, 2e-5, 1e-3])
        s += scale * rng.uniform(0, 1.5) * np.exp(1j * rng.uniform(-4, 4, size=(4, 4)))
        squares.append(s)
    squares.append(np.full((4, 4), np.nan, dtype=complex))
    decided = kak._minus_identity(np.array(squares), 1e-12)
    assert any(d is None for d in decided) and any(decided) and False in decided
    for s, d in zip(squares, decided, strict=True):
        want = bool(np.allclose(s, -np.eye(4), atol=1e-11))
        assert d is None or d == want


def test_op_bounds_count_the_middle_layers_least_ops():
    """The least-ops bound counts the CX and each middle matrix's least ops: the middle
    layers are the synthesis's own, so that part of the bound is exact."""
    rng = np.random.default_rng(4)
    us = [_with_k_cx(rng, k) for k in (2, 3) for _ in range(5)]
    t = templates(np.array(us))
    rows = list(range(len(us)))
    synths = syntheses_of(t, rows)
    for entangler in (Gate.CX, Gate.CZ):
        for i, bound in enumerate(synthesis_bounds(t, rows, entangler)):
            assert bound is not None and len(synths[i].cx) == t.counts[i]
            written = with_entangler(synths[i], entangler)
            middles = np.array([m for layer in written.layers[1:-1] for m in layer])
            assert bound[2] >= len(written.cx) + sum(layer_costs(middles)[1])
