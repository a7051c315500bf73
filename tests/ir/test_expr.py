"""Angle expressions: canonical form, exact derivatives, binding."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qadl.ir import expr as E

SYMS = [E.theta(0), E.theta(1), E.x(0), E.x(1), E.delta(0)]


@st.composite
def polynomials(draw) -> E.Expr:
    """Random polynomials of degree ≤ 2 over a few symbols."""
    out = E.const(draw(st.floats(-3, 3)))
    for _ in range(draw(st.integers(0, 4))):
        term = draw(st.floats(-2, 2)) * draw(st.sampled_from(SYMS))
        if draw(st.booleans()):
            term = term * draw(st.sampled_from(SYMS))
        out = out + term
    return out


def _values(rng: np.random.Generator):
    return rng.normal(size=2), rng.normal(size=2), rng.normal(size=1)


def test_addition_merges_like_terms() -> None:
    """RZ(θ1 + x2)·RZ(θ3) merges: the sum is one canonical polynomial."""
    a = E.theta(1) + E.x(2)
    b = E.theta(3)
    assert a + b == E.theta(3) + E.x(2) + E.theta(1)
    assert (a - a).terms == ()


def test_str_is_stable() -> None:
    assert str(E.theta(0) + math.pi + 2 * E.x(5)) == "pi + theta[0] + 2.0*x[5]"


@settings(max_examples=60, deadline=None)
@given(polynomials(), st.integers(0, 10_000))
def test_grad_matches_central_differences(expr: E.Expr, seed: int) -> None:
    rng = np.random.default_rng(seed)
    theta, x, delta = _values(rng)
    h = 1e-6
    for sym in [s for s in expr.symbols()]:
        arrays = {"theta": theta, "x": x, "delta": delta}
        plus = {k: v.copy() for k, v in arrays.items()}
        minus = {k: v.copy() for k, v in arrays.items()}
        plus[sym.kind][sym.index] += h
        minus[sym.kind][sym.index] -= h
        numeric = (expr.evaluate(**plus) - expr.evaluate(**minus)) / (2 * h)
        exact = expr.grad(sym).evaluate(theta, x, delta)
        assert abs(numeric - exact) < 1e-6 * max(1.0, abs(exact))


@settings(max_examples=60, deadline=None)
@given(polynomials(), st.integers(0, 10_000))
def test_partial_binding_keeps_the_value(expr: E.Expr, seed: int) -> None:
    theta, x, delta = _values(np.random.default_rng(seed))
    bound = expr.bind(theta=theta)
    assert not bound.depends_on("theta")
    assert math.isclose(
        bound.evaluate(None, x, delta), expr.evaluate(theta, x, delta), abs_tol=1e-9
    )
