"""Gram matrices against independent computations: Qiskit statevectors, NumPy partial traces."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.api import loads
from qadl.learn.havlicek import havlicek_states
from qadl.learn.kernels import (
    bloch_vectors,
    feature_states,
    fidelity_gram,
    projected_gram,
    sample_overlaps,
)

PROGRAM = """import encodings.zz_feature_map
kernel k(x: float[{n}]) on q[{n}] {{
    zz_feature_map(q, x, reps = 2, entanglement = "{ent}")
}}
"""


def _feature_map(n: int, entanglement: str = "full"):
    return loads(PROGRAM.format(n=n, ent=entanglement), "k.qadl").kernels["k"].feature_map


def _qiskit_states(x: np.ndarray, entanglement: str = "full") -> np.ndarray:
    qiskit = pytest.importorskip("qiskit")
    from qiskit.circuit.library import zz_feature_map
    from qiskit.quantum_info import Statevector

    circuit = zz_feature_map(x.shape[1], reps=2, entanglement=entanglement)
    params = list(circuit.parameters)  # sorted by name: x[0], x[1], ...
    assert qiskit is not None and len(params) == x.shape[1]
    return np.array([Statevector(circuit.assign_parameters(row)).data for row in x])


@pytest.mark.parametrize(("n", "entanglement"), [(2, "full"), (3, "full"), (4, "linear")])
def test_fidelity_gram_equals_qiskit_statevector_overlaps(n, entanglement):
    rng = np.random.default_rng(n)
    x = rng.uniform(0, 2 * np.pi, size=(15, n))
    y = rng.uniform(0, 2 * np.pi, size=(7, n))
    states = feature_states(_feature_map(n, entanglement), np.vstack([x, y]))
    ref = _qiskit_states(np.vstack([x, y]), entanglement)
    expected = np.abs(ref[:15].conj() @ ref[:15].T) ** 2
    assert np.allclose(fidelity_gram(states[:15]), expected, atol=1e-10, rtol=0)
    cross = np.abs(ref[15:].conj() @ ref[:15].T) ** 2
    assert np.allclose(fidelity_gram(states[15:], states[:15]), cross, atol=1e-10, rtol=0)


def test_fidelity_gram_equals_qiskit_machine_learning():
    pytest.importorskip("qiskit_machine_learning")
    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel

    x = np.random.default_rng(5).uniform(0, 2 * np.pi, size=(12, 3))
    ref = FidelityStatevectorKernel(feature_map=zz_feature_map(3, reps=2)).evaluate(x)
    states = feature_states(_feature_map(3), x)
    assert np.allclose(fidelity_gram(states), ref, atol=1e-10, rtol=0)


def _reduced(states: np.ndarray, n: int, q: int) -> np.ndarray:
    """ρ_q (N, 2, 2) by an explicit partial trace over every other qubit (qubit 0 = low bit)."""
    psi = states.reshape((len(states),) + (2,) * n)  # axes: sample, qubit n-1, ..., qubit 0
    axis = n - q
    psi = np.moveaxis(psi, axis, 1).reshape(len(states), 2, -1)
    return np.einsum("nik,njk->nij", psi, psi.conj())


def test_projected_gram_equals_a_numpy_partial_trace_computation():
    n, gamma = 3, 0.7
    x = np.random.default_rng(1).uniform(0, 2 * np.pi, size=(10, n))
    states = _qiskit_states(x)
    rho = [_reduced(states, n, q) for q in range(n)]
    expected = np.empty((10, 10))
    for a in range(10):
        for b in range(10):
            dist = sum(np.sum(np.abs(r[a] - r[b]) ** 2) for r in rho)
            expected[a, b] = np.exp(-gamma * dist)
    ours = feature_states(_feature_map(n), x)
    got = projected_gram(bloch_vectors(ours, n), gamma=gamma)
    assert np.allclose(got, expected, atol=1e-10, rtol=0)
    assert not np.allclose(got, np.ones_like(got), atol=1e-3)  # a kernel that discriminates


def test_tiling_gives_the_untiled_matrix():
    x = np.random.default_rng(2).uniform(0, 2 * np.pi, size=(37, 4))
    states = feature_states(_feature_map(4), x)
    whole = fidelity_gram(states, memory_bytes=1 << 30)
    tiny = fidelity_gram(states, memory_bytes=(24 * 37 + 16 * 16) * 3)  # three rows per tile
    assert np.allclose(whole, tiny, atol=1e-14, rtol=0)
    cross = fidelity_gram(states[:5], states, memory_bytes=1)  # one row per tile
    assert np.allclose(cross, whole[:5], atol=1e-14, rtol=0)
    bloch = bloch_vectors(states, 4)
    whole = projected_gram(bloch, gamma=0.3)
    tiny = projected_gram(bloch, gamma=0.3, memory_bytes=16 * 37 * 2)  # two rows per tile
    assert np.allclose(whole, tiny, atol=1e-14, rtol=0) and np.array_equal(tiny, tiny.T)
    cross = projected_gram(bloch[:5], bloch, gamma=0.3, memory_bytes=1)
    assert np.allclose(cross, whole[:5], atol=1e-14, rtol=0)


def test_shot_estimates_are_seeded_binomial_frequencies():
    x = np.random.default_rng(3).uniform(0, 2 * np.pi, size=(30, 2))
    exact = fidelity_gram(feature_states(_feature_map(2), x))
    one = sample_overlaps(exact, 200, np.random.default_rng(9), symmetric=True)
    two = sample_overlaps(exact, 200, np.random.default_rng(9), symmetric=True)
    assert np.array_equal(one, two)
    assert np.allclose(one, one.T) and np.all(np.diag(one) == 1.0)
    assert np.allclose(one * 200, np.round(one * 200), atol=1e-9)  # counts over 200 shots
    err = np.abs(one - exact)[np.triu_indices(30, 1)]
    sigma = np.sqrt(exact * (1 - exact) / 200)[np.triu_indices(30, 1)]
    assert err.max() > 0 and np.mean(err <= 3 * sigma + 1e-12) > 0.97
    tiled = sample_overlaps(exact, 200, np.random.default_rng(9), symmetric=True, rows=7)
    assert np.array_equal(tiled, tiled.T) and np.all(np.diag(tiled) == 1.0)
    assert np.abs(tiled - exact).max() < 0.2
    many = sample_overlaps(exact, 10**7, np.random.default_rng(0), symmetric=False)
    assert np.allclose(many, exact, atol=2e-3)


def test_havlicek_generator_uses_the_zz_feature_map_states():
    x = np.random.default_rng(4).uniform(0, 2 * np.pi, size=(20, 2))
    ours = feature_states(_feature_map(2), x)
    overlap = np.abs(np.sum(havlicek_states(x).conj() * ours, axis=1))
    assert np.allclose(overlap, 1.0, atol=1e-12)
