"""Compile-time evaluation under random expressions: a located error or a result, fast.

Expressions are drawn from the evaluator's whole surface — extreme numbers, every operator,
towers of powers, chains of `not`, nested and concatenated lists, `len`, indexing and the
math functions, over features and parameters too — and placed where the lowering evaluates
them (a `let`, a gate angle, a loop bound, a condition, a qubit index). Each program must
lower or raise ``QadlError`` whose diagnostics all have a location, within ``LIMIT_S``.
"""

from __future__ import annotations

import contextlib
import signal

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from qadl.api import loads  # noqa: E402
from qadl.errors import QadlError  # noqa: E402
from qadl.source import NO_SPAN  # noqa: E402

LIMIT_S = 5

ATOMS = st.sampled_from(
    [
        "0", "1", "2", "-1", "3.5", "1e308", "1e-320", "9223372036854775807", "2**62",
        "π", "true", "false", "i", "p[0]", "p[1]", "t[0]", "len(q)", "[]", "[0]", "[1, 2]",
    ]
)  # fmt: skip
UNARY = st.sampled_from(["-", "not ", "+"])
BINARY = st.sampled_from(["+", "-", "*", "/", "%", "**", "==", "!=", "<", ">=", "and", "or"])
FUNCTIONS = st.sampled_from(["sin", "exp", "log", "sqrt", "floor", "abs", "round", "len"])


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(UNARY, inner).map(lambda t: f"{t[0]}{t[1]}"),
            st.tuples(inner, BINARY, inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(FUNCTIONS, inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        )

    return st.recursive(ATOMS, extend, max_leaves=12)


PLACES = [
    "let v = {e}\n        rx(1) q[0]",
    "rx({e}) q[0]",
    "for j in 0..{e} {{ h q[1] }}",
    "if {e} {{ x q[0] }}",
    "x q[{e}]",
    "let v = {e}\n        for w in v {{ rx(w) q[0] }}",
    "let v = {e}\n        let u = v + v + v + v\n        rx(len(u)) q[0]",
]


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds: int):
    def fire(*_):
        raise _Hang

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_expressions(), place=st.sampled_from(PLACES))
def test_random_compile_time_expressions_lower_or_fail_located(expr, place):
    body = place.format(e=expr)
    text = (
        "model m(p: float[2]) on q[2] {\n    param t[2]\n    for i in 0..3 {\n        "
        f"{body}\n    }}\n    readout probs(q[0]) -> classes 2\n}}\n"
    )
    try:
        with _alarm(LIMIT_S):
            loads(text, "fuzz.qadl")
    except QadlError as err:
        assert err.diagnostics
        assert all(d.primary.span is not NO_SPAN for d in err.diagnostics), text
    except _Hang:
        pytest.fail(f"no answer within {LIMIT_S} s:\n{text}")
