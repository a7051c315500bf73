"""Generated quantum data: physics sanity checks and the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.learn import quantum_data as Q
from qadl.learn.cache import cache_dir


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QADL_CACHE_DIR", str(tmp_path / "cache"))


def _expval(psi: np.ndarray, paulis: dict[int, str]) -> float:
    n = psi.size.bit_length() - 1
    return float(np.vdot(psi, Q.pauli_string(n, paulis) @ psi).real)


def test_pauli_strings_match_kron_products() -> None:
    """Little-endian: qubit 0 is the rightmost factor of the Kronecker product."""
    x = np.array([[0, 1], [1, 0]])
    y = np.array([[0, -1j], [1j, 0]])
    z = np.diag([1, -1])
    want = np.kron(np.kron(z, np.eye(2)), np.kron(y, x))  # Z on 3, Y on 1, X on 0
    np.testing.assert_allclose(Q.pauli_string(4, {0: "X", 1: "Y", 3: "Z"}).toarray(), want)


def test_neel_state_excites_odd_qubits() -> None:
    psi = Q.neel_state(6)
    np.testing.assert_array_equal(Q.excitation_profile(psi)[0], [0, 1, 0, 1, 0, 1])


def test_aubry_andre_profiles_localized_vs_thermal() -> None:
    """Localized states keep the Néel pattern; thermal ones relax to ⟨n_j⟩ ≈ 1/2 (REFERENCE §3)."""
    train, test = Q.aubry_andre(qubits=8, samples=40, time=3.0, seed=1)
    assert len(train) + len(test) == 40 and train.states.shape[1] == 256
    np.testing.assert_allclose(np.linalg.norm(train.states, axis=1), 1.0, atol=1e-10)
    prof = Q.excitation_profile(train.states)
    loc, th = prof[train.y == 0].mean(axis=0), prof[train.y == 1].mean(axis=0)
    imbalance = lambda p: p[1::2].mean() - p[0::2].mean()  # noqa: E731
    assert imbalance(loc) > 0.4
    assert abs(imbalance(th)) < 0.15
    assert np.all(np.abs(th - 0.5) < 0.2)
    # the number of excitations is conserved by the hopping Hamiltonian
    np.testing.assert_allclose(prof.sum(axis=1), 4.0, atol=1e-8)
    v = train.meta["V"]
    assert np.all((v[train.y == 0] >= 4) & (v[train.y == 0] <= 5))
    assert np.all(v[train.y == 1] <= 1)


def test_aubry_andre_potentials_follow_the_formula() -> None:
    train, _ = Q.aubry_andre(qubits=4, samples=8, time=1.0, test=0.25, seed=3, cache=False)
    v, phi, pot = train.meta["V"], train.meta["phi"], train.meta["potentials"]
    j = np.arange(4)
    np.testing.assert_allclose(pot, v[:, None] * np.cos(2 * np.pi * Q.GOLDEN * j + phi[:, None]))
    assert np.all((phi > -np.pi) & (phi <= np.pi))


def test_ising_magnetisation_grows_with_field() -> None:
    n = 6
    fields = [0.2, 0.6, 1.0, 1.5, 3.0]
    mx = [
        np.mean([_expval(Q.ground_state(Q.ising_hamiltonian(n, h)), {q: "X"}) for q in range(n)])
        for h in fields
    ]
    assert np.all(np.diff(mx) > 0)
    zz = [
        _expval(Q.ground_state(Q.ising_hamiltonian(n, h, boundary="periodic")), {0: "Z", 3: "Z"})
        for h in (0.3, 2.0)
    ]
    assert zz[0] > 0.8 and zz[1] < 0.1


def test_ising_dataset_is_labelled_by_phase() -> None:
    train, test = Q.ising(qubits=6, samples=20, seed=2)
    h = np.concatenate([train.meta["h"], test.meta["h"]])
    y = np.concatenate([train.y, test.y])
    assert np.all(h[y == 0] < 1) and np.all(h[y == 1] > 1)


def test_cluster_ising_spt_vs_trivial() -> None:
    n = 8
    spt = Q.ground_state(Q.cluster_ising_hamiltonian(n, 0.2, boundary="periodic"))
    triv = Q.ground_state(Q.cluster_ising_hamiltonian(n, 2.0, boundary="periodic"))
    string = {0: "Z", 1: "X", 3: "X", 5: "X", 6: "Z"}  # the SPT string order parameter
    assert _expval(spt, string) > 0.9 and _expval(triv, string) < 0.4
    assert _expval(triv, {2: "X"}) > 0.9 and _expval(spt, {2: "X"}) < 0.2


def test_generated_data_is_cached_and_reproducible() -> None:
    first, _ = Q.cluster_ising(qubits=4, samples=10, seed=5)
    files = list(cache_dir().glob("cluster_ising-*.npz"))
    assert len(files) == 1 and not list(cache_dir().glob("*.tmp"))
    again, _ = Q.cluster_ising(qubits=4, samples=10, seed=5)
    np.testing.assert_array_equal(first.states, again.states)
    fresh, _ = Q.cluster_ising(qubits=4, samples=10, seed=5, cache=False)
    np.testing.assert_allclose(first.states, fresh.states, atol=1e-12)
    files[0].write_bytes(b"garbage")  # a corrupt cache entry is rebuilt
    rebuilt, _ = Q.cluster_ising(qubits=4, samples=10, seed=5)
    np.testing.assert_allclose(rebuilt.states, fresh.states, atol=1e-12)


def test_too_many_qubits_is_rejected() -> None:
    with pytest.raises(ValueError, match="qubits"):
        Q.ising(qubits=13)
