"""Readout-error mitigation: exact recovery from infinite shots, binomial accuracy with shots."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.backends.sim import channels as ch
from qadl.backends.sim.readout_mitigation import (
    ReadoutMitigator,
    calibrated_confusion,
    full_confusion,
    project_simplex,
    projection_vjp,
)

ERROR = (0.03, 0.08)  # p(1|0), p(0|1)


def _distributions(rng, batch: int, bits: int) -> np.ndarray:
    p = rng.dirichlet(np.ones(1 << bits), size=batch)
    p[0] = 0.0  # an edge of the simplex: a basis state
    p[0, 1] = 1.0
    return p


@pytest.mark.parametrize("method", ["tensored", "full"])
@pytest.mark.parametrize("bits", [1, 2, 3])
def test_inversion_recovers_the_noiseless_distribution_exactly(method, bits):
    true = _distributions(np.random.default_rng(bits), 5, bits)
    observed = ch.apply_confusion(true, ERROR, bits)
    assert np.abs(observed - true).max() > 0.01  # the error is visible
    got = ReadoutMitigator(ERROR, bits, method)(observed)
    np.testing.assert_allclose(got, true, atol=1e-12)


def test_full_matrix_is_the_tensor_product_of_the_per_bit_matrix():
    c = ch.confusion_matrix(ERROR)
    np.testing.assert_allclose(full_confusion(ERROR, 2), np.kron(c, c), atol=1e-15)
    np.testing.assert_allclose(full_confusion(ERROR, 3).sum(axis=0), 1.0)


def test_mitigated_shot_estimate_lies_in_the_binomial_interval():
    """Each mitigated probability is within 4 standard errors of the true one.

    For one bit, ``p̂ = C⁻¹ q̂`` with ``q̂`` binomial: its standard error is that of ``q̂``
    divided by ``1 − p01 − p10`` (before projection, which only moves it closer).
    """
    rng = np.random.default_rng(5)
    shots = 4000
    true = np.array([[0.7, 0.3], [0.15, 0.85], [0.5, 0.5]])
    observed = ch.apply_confusion(true, ERROR, 1)
    sampled = ch.sample_counts(observed, shots, rng)
    got = ReadoutMitigator(ERROR, 1)(sampled)
    se = np.sqrt(observed * (1 - observed) / shots) / (1 - sum(ERROR))
    assert np.all(np.abs(got - true) <= 4 * se)
    raw_error = np.abs(sampled - true).max()
    assert np.abs(got - true).max() < raw_error  # the raw estimate is biased by the error


def test_calibrated_full_inversion_converges_with_calibration_shots():
    true = _distributions(np.random.default_rng(3), 4, 2)
    observed = ch.apply_confusion(true, ERROR, 2)
    errors = []
    for shots in (200, 200_000):
        conf = calibrated_confusion(ERROR, 2, shots, np.random.default_rng(0))
        np.testing.assert_allclose(conf.sum(axis=0), 1.0)
        errors.append(np.abs(ReadoutMitigator(ERROR, 2, "full", conf)(observed) - true).max())
    assert errors[1] < 0.01 and errors[1] < errors[0]


def test_projection_is_the_closest_distribution():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 4))
    p = project_simplex(v)
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0)
    # optimality against random distributions
    for _ in range(20):
        q = rng.dirichlet(np.ones(4), size=50)
        assert np.all(((v - p) ** 2).sum(1) <= ((v - q) ** 2).sum(1) + 1e-12)
    inside = rng.dirichlet(np.ones(4), size=3)
    np.testing.assert_allclose(project_simplex(inside), inside, atol=1e-15)


def test_projection_vjp_matches_finite_differences():
    rng = np.random.default_rng(1)
    v = np.array([[0.9, 0.4, -0.2, 0.05], [0.3, 0.3, 0.2, 0.2]])
    g = rng.normal(size=v.shape)
    p = project_simplex(v)
    got = projection_vjp(p, g)
    h = 1e-6
    for i in range(4):
        dv = np.zeros_like(v)
        dv[:, i] = h
        fd = ((project_simplex(v + dv) - project_simplex(v - dv)) * g).sum(1) / (2 * h)
        np.testing.assert_allclose(got[:, i], fd, atol=1e-6)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="not invertible"):
        ReadoutMitigator((0.5, 0.5), 1)
    with pytest.raises(ValueError, match="at most 8"):
        ReadoutMitigator(ERROR, 9, "full")
    with pytest.raises(ValueError, match="unknown"):
        ReadoutMitigator(ERROR, 1, "exact")
