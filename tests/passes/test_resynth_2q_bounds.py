"""resynth-2q's stacked steps decide exactly what the one-by-one path decides."""

from __future__ import annotations

import importlib
import math

import numpy as np
from hypothesis import given

from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import kak, kak_batch
from qadl.passes.kak import block_unitary, two_qubit_synthesis
from qadl.passes.kak_batch import block_unitaries, phase_distance_estimates, within_phase
from qadl.passes.resynth_1q import resynth_1q
from qadl.passes.rules import phase_distance
from qadl.passes.two_qubit_ops import (
    LAYER_TOL,
    with_entangler,
    with_entangler_all,
)
from qadl.testing import random_circuit

from .helpers import PROPERTY, assert_same_layers, seeds
from .test_resynth_2q import NAMED, _with_k_cx

_resynth = importlib.import_module("qadl.passes.resynth_2q")  # the package exports the pass
_resynth_1q = importlib.import_module("qadl.passes.resynth_1q")

_SPECIAL = (0.0, 1e-13, 1e-12, 1.4142135623730951e-12, 1e-9, -1e-9, math.pi / 4, math.pi / 2)
_SPECIAL += (math.pi, -math.pi / 2, 3 * math.pi / 4, 2 * math.pi, 2 * math.pi - 1e-12, 1.0)
_ONE_QUBIT = (Gate.RX, Gate.RY, Gate.RZ, Gate.P, Gate.H, Gate.SX, Gate.X, Gate.S, Gate.T, Gate.U)


def _angle(rng: np.random.Generator) -> float:
    if rng.random() < 0.5:
        return float(rng.choice(_SPECIAL)) * (1 if rng.random() < 0.5 else -1)
    return float(rng.uniform(-math.pi, math.pi))


def _matrix(rng: np.random.Generator) -> np.ndarray:
    """A 2×2 unitary: a product of 0 to 3 gates with special or random angles, times a phase."""
    m = np.eye(2, dtype=complex)
    for _ in range(int(rng.integers(0, 4))):
        gate = _ONE_QUBIT[rng.integers(len(_ONE_QUBIT))]
        m = GATES[gate].matrix([_angle(rng) for _ in range(GATES[gate].num_angles)]) @ m
    return np.exp(1j * rng.uniform(-math.pi, math.pi)) * m


def _near_identity(rng: np.random.Generator, scale: float) -> np.ndarray:
    """A rotation whose phase distance from I lies around ``scale`` (the decision's boundary)."""
    gate = (Gate.RX, Gate.RY, Gate.RZ)[rng.integers(3)]
    angle = math.sqrt(2) * scale * rng.uniform(0.3, 3.0)
    return np.exp(1j * rng.uniform(-math.pi, math.pi)) * GATES[gate].matrix([angle])


@PROPERTY
@given(seed=seeds)
def test_within_phase_decides_as_phase_distance(seed):
    """Stacked decisions equal ``phase_distance(a, b) <= tol``, around the boundary too."""
    rng = np.random.default_rng(seed)
    mats = [_matrix(rng) for _ in range(20)] + [_near_identity(rng, LAYER_TOL) for _ in range(40)]
    a = np.array(mats)
    want = [phase_distance(m, np.eye(2)) <= LAYER_TOL for m in mats]
    assert within_phase(a, np.eye(2, dtype=complex), LAYER_TOL).tolist() == want
    exact = np.array([phase_distance(m, np.eye(2)) for m in mats])
    estimate = phase_distance_estimates(a, np.eye(2, dtype=complex))
    near = exact < 1.0
    assert np.all(abs(estimate - exact)[near] <= 1e-14)
    # 4×4 against other matrices, as the synthesis error check uses it
    u = np.array([np.kron(_matrix(rng), _matrix(rng)) for _ in range(10)])
    v = np.array([m * np.exp(1j * rng.uniform(0, 6)) for m in u])
    v[::2] = v[::2] @ np.kron(_near_identity(rng, 1e-11), np.eye(2))
    want = [phase_distance(x, y) <= 1e-11 for x, y in zip(u, v, strict=True)]
    assert within_phase(u, v, 1e-11).tolist() == want


def _block(rng: np.random.Generator, pair: tuple[int, int], entangler: Gate, n: int) -> list[Op]:
    ops = []
    for _ in range(n):
        if rng.random() < 0.35:
            qubits = pair if rng.random() < 0.5 or entangler is Gate.CZ else pair[::-1]
            ops.append(Op(entangler, qubits))
        else:
            gate = (Gate.RX, Gate.RY, Gate.RZ, Gate.SX, Gate.X)[rng.integers(5)]
            angles = tuple(E.const(_angle(rng)) for _ in range(GATES[gate].num_angles))
            ops.append(Op(gate, (pair[rng.integers(2)],), angles))
    return ops


@PROPERTY
@given(seed=seeds)
def test_block_unitaries_are_block_unitary(seed):
    """The stacked products equal ``block_unitary`` of each block bit for bit, any lengths."""
    rng = np.random.default_rng(seed)
    blocks = []
    for _ in range(12):
        pair = ((0, 1), (1, 0), (4, 2))[rng.integers(3)]
        blocks.append((_block(rng, pair, Gate.CX, int(rng.integers(0, 14))), pair))
    got = block_unitaries(blocks)
    for u, (ops, pair) in zip(got, blocks, strict=True):
        assert u.tobytes() == block_unitary(ops, pair).tobytes()


# -- stacked steps of the synthesis and of the layer writing -------------------------------------
def _spectra(rng: np.random.Generator, n: int) -> np.ndarray:
    """Magic-square spectra of random two-qubit unitaries, some degenerate (CX, SWAP, …)."""
    us = [_with_k_cx(rng, int(rng.integers(0, 4))) for _ in range(n)]
    us += list(NAMED.values())
    su = kak_batch._special_stack(np.array(us, dtype=complex))
    return kak_batch._real_eigh_stack(kak_batch._magic_square_stack(su))[0]


@PROPERTY
@given(seed=seeds)
def test_stacked_coordinates_and_pairings_are_the_one_row_results(seed):
    """KAK coordinates and eigenvalue pairings of a stack equal the one-row results, bit for bit.

    Pairings include permuted spectra, negated ones (no pairing), degenerate ones, and
    ones moved by 3e-8 to 3e-7 (around the pairing bound 1e-7).
    """
    rng = np.random.default_rng(seed)
    d = _spectra(rng, 12)
    coords = kak_batch._coordinates_stack(d)
    for row, c in zip(d, coords, strict=True):
        assert np.array(c).tobytes() == np.array(kak._coordinates(row)).tobytes()
    free = np.exp(1j * rng.uniform(-4, 4, size=(6, 4)))  # sums far from multiples of π
    for row, c in zip(free, kak_batch._coordinates_stack(free), strict=True):
        assert np.array(c).tobytes() == np.array(kak._coordinates(row)).tobytes()
    moved = np.array([row[rng.permutation(4)] for row in d])
    moved[::3] = -moved[::3]
    moved[1::3] += rng.uniform(3e-8, 3e-7, size=moved[1::3].shape) * np.exp(1j * rng.uniform(0, 6))
    rows = list(range(len(d)))
    assert kak_batch._pairings(d, moved, rows) == {i: kak._pairing(d[i], moved[i]) for i in rows}


@PROPERTY
@given(seed=seeds)
def test_entangler_rewriting_in_stacks_is_one_by_one(seed):
    """``with_entangler_all`` gives each synthesis's ``with_entangler`` layers bit for bit."""
    rng = np.random.default_rng(seed)
    synths = [two_qubit_synthesis(_with_k_cx(rng, int(rng.integers(0, 4)))) for _ in range(9)]
    for gate in (Gate.CX, Gate.CZ):
        for got, synth in zip(with_entangler_all(synths, gate), synths, strict=True):
            want = with_entangler(synth, gate)
            assert got.cx == want.cx
            assert_same_layers(got.layers, want.layers)


@PROPERTY
@given(seed=seeds)
def test_kept_run_verdicts_give_the_fresh_results(seed):
    """resynth-1q with verdicts kept from earlier circuits equals a run from empty caches."""
    rng = np.random.default_rng(seed)
    gates = (Gate.RX, Gate.RY, Gate.RZ, Gate.H, Gate.SX, Gate.X, Gate.P, Gate.CX)
    circuits = [
        random_circuit(rng, 2, int(rng.integers(5, 30)), gates=gates, num_params=0, num_features=0)
        for _ in range(4)
    ]
    circuits.append(circuits[0])  # met again
    for form in ("u", "zyz", "xyz", "zsx"):
        fresh = []
        for circuit in circuits:
            _resynth_1q.clear_cache()
            fresh.append(resynth_1q(circuit, form=form))
        kept = [resynth_1q(circuit, form=form) for circuit in circuits]
        assert [c.ops for c in kept] == [c.ops for c in fresh]


def test_block_keys_are_equal_for_equal_blocks():
    """Keys of blocks with equal (not identical) ops are equal and hash alike; others differ."""
    gate_set = _resynth._GateSet(Gate.CX, frozenset({Gate.CX, Gate.U}))

    def block(angle: float, from_zero: bool = False):
        ops = [Op(Gate.CX, (0, 1)), Op(Gate.RZ, (1,), (E.const(angle),)), Op(Gate.CX, (0, 1))]
        return _resynth._Block((0, 1), list(enumerate(ops)), from_zero)

    a, b = _resynth._key(block(0.3), gate_set), _resynth._key(block(0.3), gate_set)
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert a != _resynth._key(block(0.4), gate_set)
    assert a != _resynth._key(block(0.3, from_zero=True), gate_set)
    assert a != a.key
