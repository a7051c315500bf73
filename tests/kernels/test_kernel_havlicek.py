"""The generated ad hoc data of Havlíček et al.: seeded, balanced, labelled with a gap."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.learn import havlicek as hv


def test_seeded_balanced_and_in_range():
    train, test = hv.havlicek(samples=80, gap=0.3, test=0.25, seed=5)
    again, _ = hv.havlicek(samples=80, gap=0.3, test=0.25, seed=5)
    other, _ = hv.havlicek(samples=80, gap=0.3, test=0.25, seed=6)
    assert np.array_equal(train.x, again.x) and not np.array_equal(train.x, other.x)
    assert (len(train), len(test)) == (60, 20)
    assert np.bincount(np.concatenate([train.y, test.y])).tolist() == [40, 40]
    assert train.x.min() >= 0 and train.x.max() < 2 * np.pi


def test_labels_are_the_sign_of_the_parity_observable_beyond_the_gap():
    train, _ = hv.havlicek(samples=100, gap=0.4, test=0.2, seed=9)
    observable = hv._parity_observable(np.random.default_rng(9))  # the generator's first draw
    psi = hv.havlicek_states(train.x)
    value = np.einsum("ni,ij,nj->n", psi.conj(), observable, psi).real
    assert np.all(np.abs(value) >= 0.4 - 1e-12)
    assert np.array_equal(value > 0, train.y == 1)


def test_an_impossible_gap_is_an_error():
    with pytest.raises(ValueError, match="too few points"):
        hv.havlicek(samples=20, gap=1.5)
