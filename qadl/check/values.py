"""Option values resolved to plain Python: numbers, strings, tuples, calls, data references."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qadl.check.builtins import BUILTIN_CONSTANTS
from qadl.check.limits import MAX_INT_BITS, float_ok, int_too_large, pow_too_large
from qadl.diagnostics import DiagnosticBag
from qadl.frontend import ast as A
from qadl.source import NO_SPAN, Span

__all__ = ["TIME_UNITS_US", "CallValue", "Condition", "DataRef", "resolve_value"]

TIME_UNITS_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
"""Quantities are resolved to microseconds."""


@dataclass(frozen=True)
class CallValue:
    """``adam(lr = 0.05)``, ``bim(epsilon = [0.01, 0.1])``, or a bare ``(1q = 0.999)`` (name "")."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)
    kwarg_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False, kw_only=True)

    def get(self, key: str, default: Any = None) -> Any:
        """The keyword argument ``key`` or ``default``."""
        return dict(self.kwargs).get(key, default)

    def as_dict(self) -> dict[str, Any]:
        """The keyword arguments as a dict."""
        return dict(self.kwargs)


@dataclass(frozen=True)
class DataRef:
    """``digits.train``: a split of a declared dataset (``split`` None for the whole set)."""

    dataset: str
    split: str | None


@dataclass(frozen=True)
class Condition:
    """``wrong_class >= 0.6``: a stopping rule."""

    metric: str
    op: str
    value: float


_ARITH = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
}


def _args(args: tuple[A.Arg, ...], consts: dict[str, Any], bag: DiagnosticBag):
    positional = tuple(resolve_value(a.value, consts, bag) for a in args if a.name is None)
    keywords = tuple(
        (a.name, resolve_value(a.value, consts, bag)) for a in args if a.name is not None
    )
    spans = tuple(a.span for a in args if a.name is not None)
    return positional, keywords, spans


def _call_name(func: A.Expr) -> str | None:
    if isinstance(func, A.Name):
        return func.id
    if isinstance(func, A.Attribute) and isinstance(func.base, A.Name):
        return f"{func.base.id}.{func.name}"
    return None


def _binary(node: A.Binary, consts: dict[str, Any], bag: DiagnosticBag) -> Any:
    left = resolve_value(node.left, consts, bag)
    right = resolve_value(node.right, consts, bag)
    if left is None or right is None:
        return None  # already reported
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if not ok or node.op not in _ARITH:
        bag.error(
            "E0506",
            f"cannot compute `{node.op}` in an option value",
            node.span,
            label="only arithmetic on numbers is allowed here",
        )
        return None
    if node.op == "**" and pow_too_large(left, right):  # before computing it: towers explode
        return _too_large("E0323", node.span, bag)
    try:
        out = _ARITH[node.op](left, right)
    except OverflowError:
        return _too_large("E0324", node.span, bag)
    except ZeroDivisionError:
        bag.error("E0506", "division by zero", node.span)
        return None
    if isinstance(out, complex):
        bag.error("E0506", "the result is a complex number", node.span)
        return None
    if int_too_large(out):
        return _too_large("E0323", node.span, bag)
    if not float_ok(out):
        return _too_large("E0324", node.span, bag)
    return out


def _too_large(code: str, span: Span, bag: DiagnosticBag) -> None:
    """E0323 (integer) or E0324 (float) for a value past the limits; the value is None."""
    bag.error(
        code,
        "number too large",
        span,
        label=f"integers are 64-bit (at most 2**{MAX_INT_BITS} - 1); floats stay below ~1.8e308",
        help="use a smaller value",
    )


def resolve_value(node: A.Expr, consts: dict[str, Any], bag: DiagnosticBag) -> Any:
    """The plain value of an option expression; problems are recorded in ``bag`` (value None)."""
    if isinstance(node, A.Number):
        return node.value
    if isinstance(node, A.String):
        return node.value
    if isinstance(node, A.Name):
        if node.id in consts:
            return consts[node.id]
        return BUILTIN_CONSTANTS.get(node.id, node.id)
    if isinstance(node, A.Quantity):
        return node.value * TIME_UNITS_US[node.unit]
    if isinstance(node, A.Dims):
        return node.sizes
    if isinstance(node, A.ListExpr):
        return tuple(resolve_value(item, consts, bag) for item in node.items)
    if isinstance(node, A.TupleExpr):
        positional, keywords, spans = _args(node.args, consts, bag)
        if not keywords:
            return positional
        return CallValue("", positional, keywords, span=node.span, kwarg_spans=spans)
    if isinstance(node, A.Call):
        name = _call_name(node.func)
        if name is not None:
            positional, keywords, spans = _args(node.args, consts, bag)
            return CallValue(name, positional, keywords, span=node.span, kwarg_spans=spans)
    if isinstance(node, A.Attribute) and isinstance(node.base, A.Name):
        return DataRef(node.base.id, node.name)
    if isinstance(node, A.Unary) and node.op in "+-":
        value = resolve_value(node.operand, consts, bag)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return -value if node.op == "-" else value
    if isinstance(node, A.Binary):
        return _binary(node, consts, bag)
    if isinstance(node, A.Compare) and isinstance(node.left, A.Name):
        value = resolve_value(node.right, consts, bag)
        if isinstance(value, int | float):
            return Condition(node.left.id, node.op, float(value))
    bag.error(
        "E0506",
        "this expression is not allowed as an option value",
        node.span,
        label="expected a number, name, list, call like `adam(lr = 0.05)` or `data.split`",
    )
    return None
