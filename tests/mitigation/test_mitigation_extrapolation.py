"""Extrapolation to zero noise: exact on polynomials, the predicted error order on exponentials."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.backends.sim.extrapolation import Extrapolation, fit_weights


def test_richardson_weights_have_the_closed_form():
    scales = (1, 3, 5)
    want = [math.prod(lj / (lj - li) for lj in scales if lj != li) for li in scales]
    np.testing.assert_allclose(Extrapolation("richardson", scales).weights, want, atol=1e-12)
    np.testing.assert_allclose(want, [15 / 8, -5 / 4, 3 / 8])


@pytest.mark.parametrize(
    ("method", "order", "degree"),
    [("richardson", None, 2), ("linear", None, 1), ("polynomial", 2, 2), ("polynomial", 1, 1)],
)
def test_polynomial_data_of_the_fit_degree_is_recovered_exactly(method, order, degree):
    scales = (1, 3, 5)
    coeffs = np.array([0.42, -0.07, 0.011])[: degree + 1]
    y = np.array([np.polyval(coeffs[::-1], s) for s in scales])
    assert Extrapolation(method, scales, order)(y) == pytest.approx(coeffs[0], abs=1e-12)


def test_linear_fit_is_least_squares():
    scales, y = (1, 2, 3, 5), np.array([0.9, 0.8, 0.72, 0.5])
    _, intercept = np.polyfit(scales, y, 1)
    assert Extrapolation("linear", scales)(y) == pytest.approx(intercept, abs=1e-12)


@pytest.mark.parametrize("scales", [(1, 3), (1, 3, 5), (1, 3, 5, 7)])
def test_richardson_error_has_the_predicted_order(scales):
    """y(λ) = y₀·e^{−κλ}: the error is y₀·(−1)ⁿ⁺¹(−κ)ⁿ·Πλ/n! to leading order in κ.

    The next term is smaller by about κ·Σλ/(n + 1); halving κ divides the error by 2ⁿ.
    """
    n, y0 = len(scales), 0.8
    ext = Extrapolation("richardson", scales)
    errors = []
    for kappa in (0.02, 0.01):
        y = y0 * np.exp(-kappa * np.asarray(scales, float))
        predicted = y0 * (-kappa) ** n / math.factorial(n) * (-1) ** (n + 1) * math.prod(scales)
        errors.append(ext(y) - y0)
        assert errors[-1] == pytest.approx(predicted, rel=kappa * sum(scales) / (n + 1) * 1.5)
    assert errors[0] / errors[1] == pytest.approx(2**n, rel=0.02 * sum(scales))


def test_exponential_is_exact_on_an_exponential_with_the_known_asymptote():
    scales, y_inf, y0 = (1, 3, 5), 0.25, 0.9
    y = y_inf + (y0 - y_inf) * np.exp(-0.3 * np.asarray(scales, float))
    assert Extrapolation("exponential", scales)(y, y_inf) == pytest.approx(y0, abs=1e-12)
    below = y_inf - (y_inf - 0.05) * np.exp(-0.3 * np.asarray(scales, float))
    assert Extrapolation("exponential", scales)(below, y_inf) == pytest.approx(0.05, abs=1e-12)


@pytest.mark.parametrize("method", ["richardson", "linear", "exponential"])
def test_vjp_matches_finite_differences(method):
    rng = np.random.default_rng(2)
    ext = Extrapolation(method, (1, 3, 5))
    values = 0.5 + 0.3 * np.exp(-0.2 * np.array([1, 3, 5]))[:, None, None] * rng.uniform(
        0.5, 1, (1, 2, 3)
    )
    g = rng.normal(size=(2, 3))
    got = ext.vjp(values, g, 0.5)
    h = 1e-7
    for idx in np.ndindex(values.shape):
        dv = np.zeros_like(values)
        dv[idx] = h
        fd = ((ext(values + dv, 0.5) - ext(values - dv, 0.5)) * g).sum() / (2 * h)
        assert got[idx] == pytest.approx(fd, abs=1e-6)


def test_bad_fits_are_refused():
    with pytest.raises(ValueError, match="more than 3"):
        fit_weights((1, 3, 5), 3)
    with pytest.raises(ValueError, match="differ"):
        fit_weights((1, 1, 3), 1)
    with pytest.raises(ValueError, match="needs an order"):
        Extrapolation("polynomial", (1, 3, 5))
