"""resynth-2q's shortcuts give exactly what the plain per-block path gives, bit for bit."""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from hypothesis import given

from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.gates import GATES, Gate
from qadl.passes import kak
from qadl.passes.kak import (
    block_unitary,
    min_cx_count,
    two_qubit_synthesis,
)
from qadl.passes.kak_batch import min_cx_counts, two_qubit_syntheses
from qadl.passes.two_qubit_ops import with_entangler
from qadl.testing import random_circuit

from .helpers import PROPERTY, assert_same_layers, seeds
from .test_resynth_2q import NAMED, _with_k_cx

_resynth = importlib.import_module("qadl.passes.resynth_2q")  # the package exports the pass
_ROTATIONS = (Gate.RX, Gate.RY, Gate.RZ)


def _rotation(rng: np.random.Generator, qubit: int) -> Op:
    gate = _ROTATIONS[rng.integers(3)]
    return Op(gate, (qubit,), (E.const(float(rng.uniform(-np.pi, np.pi))),))


def _u(rng: np.random.Generator, qubit: int) -> Op:
    return Op(Gate.U, (qubit,), tuple(E.const(float(a)) for a in rng.uniform(-np.pi, np.pi, 3)))


def _three_cz_depth_five(rng: np.random.Generator) -> list[Op]:
    """``CZ · (U ⊗ U) · CZ · (U ⊗ U) · CZ``, some U left out: 3 two-qubit ops, depth 5."""
    cz = Op(Gate.CZ, (0, 1))
    ops = [cz]
    for _ in range(2):
        ops += [_u(rng, q) for q in (0, 1) if rng.random() < 0.8] or [_u(rng, 0)]
        ops.append(cz)
    return ops


@PROPERTY
@given(seed=seeds)
def test_synthesis_cache_is_the_plain_synthesis(seed):
    """A synthesis, alone or stacked with another, is the one-by-one synthesis written for
    the entangler, bit for bit, and the by-bytes cache keeps it."""
    rng = np.random.default_rng(seed)
    ops = [_rotation(rng, int(rng.integers(2))) for _ in range(3)] + _three_cz_depth_five(rng)
    u = block_unitary(ops, (0, 1))
    other = block_unitary(_three_cz_depth_five(rng), (0, 1))
    for entangler in (Gate.CX, Gate.CZ):
        want = with_entangler(two_qubit_synthesis(u), entangler)
        key = u.tobytes()
        _resynth.clear_caches()
        alone = _resynth._synthesize(u[None], [key], entangler)[key]  # one: no templates
        pair = np.stack([u, other])
        stacked = _resynth._synthesize(pair, [key, other.tobytes()], entangler)[key]
        assert _resynth._SYNTHESES[key, entangler] is stacked  # cached
        for found in (alone, stacked):
            assert found.cx == want.cx
            assert_same_layers(found.layers, want.layers)


@PROPERTY
@given(seed=seeds)
def test_direct_lapack_calls_are_numpy_linalg_bit_for_bit(seed):
    """``kak``'s det and eigh shortcuts return exactly what ``np.linalg`` returns."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    sym = m.real + m.real.T
    assert kak._det(m).tobytes() == np.linalg.det(m).tobytes()
    assert kak._det(m[::2, ::2]).tobytes() == np.linalg.det(m[::2, ::2]).tobytes()  # a view
    assert kak._det(m.real).tobytes() == np.linalg.det(m.real).tobytes()  # other dtypes
    assert (kak._det_real(sym) < 0) == (np.linalg.det(sym) < 0)
    assert kak._eigh_lower_vectors(sym).tobytes() == np.linalg.eigh(sym)[1].tobytes()


@PROPERTY
@given(seed=seeds)
def test_block_unitary_is_the_plain_product(seed):
    """Cached op matrices give the product of freshly built Kronecker factors, bit for bit."""
    rng = np.random.default_rng(seed)
    ops = [_u(rng, int(rng.integers(2))) for _ in range(3)] + _three_cz_depth_five(rng)
    ops.append(Op(Gate.CX, (1, 0)) if rng.random() < 0.5 else Op(Gate.CX, (0, 1)))
    eye, swap = np.eye(2, dtype=complex), GATES[Gate.SWAP].matrix()
    for pair in ((0, 1), (1, 0)):
        want = np.eye(4, dtype=complex)
        for op in ops:
            m = GATES[op.gate].matrix([a.constant_value for a in op.angles])
            if len(op.qubits) == 1:
                m = np.kron(eye, m) if op.qubits[0] == pair[0] else np.kron(m, eye)
            elif op.qubits != pair:
                m = swap @ m @ swap
            want = m @ want
        assert block_unitary(ops, pair).tobytes() == want.tobytes()


def _plain_size(ops: list[Op]) -> tuple[int, int]:
    """(two-qubit ops, depth) by the general per-op definition."""
    level: dict[int, int] = {}
    for op in ops:
        top = 1 + max((level.get(q, 0) for q in op.qubits), default=0)
        level.update(dict.fromkeys(op.qubits, top))
    return sum(len(op.qubits) == 2 for op in ops), max(level.values(), default=0)


@PROPERTY
@given(seed=seeds)
def test_block_size_is_the_general_definition(seed):
    """``_size``'s per-arity loop gives the general depth and 2q count on one pair."""
    rng = np.random.default_rng(seed)
    pairs = (Op(Gate.CZ, (3, 4)), Op(Gate.CX, (4, 3)))
    ops = [
        pairs[rng.integers(2)] if rng.random() < 0.4 else _u(rng, 3 + int(rng.integers(2)))
        for _ in range(int(rng.integers(0, 12)))
    ]
    assert _resynth._size(ops) == _plain_size(ops)


def _same_synthesis(got, want) -> bool:
    """Both None, or the same CX and layer matrices with the same bytes."""
    if got is None or want is None:
        return got is want
    pairs = list(zip(got.layers, want.layers, strict=True))
    return got.cx == want.cx and all(
        a.shape == b.shape and a.tobytes() == b.tobytes()
        for la, lb in pairs
        for a, b in zip(la, lb, strict=True)
    )


def _one_by_one(u: np.ndarray):
    try:
        return two_qubit_synthesis(u)
    except ArithmeticError:
        return None


@PROPERTY
@given(seed=seeds)
def test_batched_syntheses_are_the_one_by_one_syntheses(seed):
    """Stacked syntheses equal one-by-one ones bit for bit, in any batch of any mix.

    The batch holds random unitaries with 0 to 3 CX, degenerate and special gates, block
    unitaries, a repeat and a non-unitary matrix; every path (each CX count, the factor
    i on the template, the one-by-one fallback) is met across the examples.
    """
    rng = np.random.default_rng(seed)
    named = list(NAMED.values())
    us = [_with_k_cx(rng, int(rng.integers(0, 4))) for _ in range(int(rng.integers(1, 12)))]
    us += [named[i] for i in rng.choice(len(named), size=3, replace=False)]
    us += [block_unitary(_three_cz_depth_five(rng), (0, 1)), us[0], np.diag([1, 1, 1, 2j])]
    order = rng.permutation(len(us))
    us = [us[i] for i in order]
    for got, u in zip(two_qubit_syntheses(us), us, strict=True):
        assert _same_synthesis(got, _one_by_one(u))
    assert two_qubit_syntheses([]) == []


@PROPERTY
@given(seed=seeds)
def test_batched_cx_counts_are_the_one_by_one_counts(seed):
    """``min_cx_counts`` on a stack decides as ``min_cx_count`` on each matrix (0 to 3 CX)."""
    rng = np.random.default_rng(seed)
    named = [u.astype(complex) for u in NAMED.values()]
    us = [_with_k_cx(rng, int(rng.integers(0, 4))) for _ in range(int(rng.integers(1, 12)))]
    us += [named[i] for i in rng.choice(len(named), size=4, replace=False)]
    us.append(block_unitary(_three_cz_depth_five(rng), (0, 1)))
    assert min_cx_counts(np.array(us)) == [min_cx_count(u) for u in us]


def test_runs_in_threads_that_empty_the_caches_agree_with_serial_runs(monkeypatch):
    """Every run empties the caches (limit 0) while others run: the results stay the same."""
    gates = (Gate.RX, Gate.RY, Gate.RZ, Gate.H, Gate.CX, Gate.CZ, Gate.RZZ, Gate.SWAP)
    circuits = [
        random_circuit(np.random.default_rng(s), 3, 40, gates=gates, num_params=0, num_features=0)
        for s in range(24)
    ]
    want = [_resynth.resynth_2q(c, gates=g) for c in circuits for g in ("own", "u")]
    monkeypatch.setattr(_resynth, "_CACHE_SIZE", 0)
    jobs = [(c, g) for c in circuits for g in ("own", "u")]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda job: _resynth.resynth_2q(job[0], gates=job[1]), jobs * 3))
    assert got == want * 3


def test_public_linalg_serves_where_the_lapack_gufuncs_are_missing(monkeypatch):
    """Without NumPy's private gufunc module the same values come from ``np.linalg``."""
    rng = np.random.default_rng(5)
    m = rng.normal(size=(3, 4, 4)) + 1j * rng.normal(size=(3, 4, 4))
    sym = m[0].real + m[0].real.T
    fast = (kak._det_complex(m), kak._det_real(m.real), kak._eigh_lower_vectors(sym))
    monkeypatch.setattr(kak, "_GUFUNCS", None)
    slow = (kak._det_complex(m), kak._det_real(m.real), kak._eigh_lower_vectors(sym))
    for a, b in zip(fast, slow, strict=True):
        assert a.tobytes() == b.tobytes()
