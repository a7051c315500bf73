"""Angle expressions: canonical real polynomials over θ (trainable), x (feature), δ (perturbation).

Every angle the language can write (``θ[k] + π + 2·p[k]``, ``(π − x[i])·(π − x[j])``,
``w·x + b``) is a polynomial in the symbols, so expressions are kept in one canonical
form: a sorted tuple of (monomial, coefficient) terms with no zero coefficients. That
makes equality structural (``RZ(θ1 + x2)·RZ(θ3)`` merges to ``RZ(θ1 + θ3 + x2)`` by
plain addition), derivatives exact, and evaluation a short loop the simulator can
flatten into arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "DELTA",
    "THETA",
    "Expr",
    "Monomial",
    "Sym",
    "SymKind",
    "X",
    "const",
    "delta",
    "theta",
    "x",
]

SymKind = Literal["theta", "x", "delta"]
THETA: SymKind = "theta"
X: SymKind = "x"
DELTA: SymKind = "delta"
_KIND_ORDER = {THETA: 0, X: 1, DELTA: 2}


@dataclass(frozen=True, slots=True)
class Sym:
    """One scalar symbol: ``theta[index]``, ``x[index]`` or ``delta[index]``."""

    kind: SymKind
    index: int

    def sort_key(self) -> tuple[int, int]:
        """Total order used for canonical forms: θ before x before δ, then by index."""
        return (_KIND_ORDER[self.kind], self.index)

    def __str__(self) -> str:
        return f"{self.kind}[{self.index}]"


Monomial = tuple[Sym, ...]
"""A product of symbols, sorted by ``Sym.sort_key``; ``()`` is the constant monomial."""


def _mono_key(mono: Monomial) -> tuple[int, tuple[tuple[int, int], ...]]:
    return (len(mono), tuple(s.sort_key() for s in mono))


def _canonical(terms: Mapping[Monomial, float]) -> tuple[tuple[Monomial, float], ...]:
    items = [(m, c) for m, c in terms.items() if c != 0.0]
    items.sort(key=lambda mc: _mono_key(mc[0]))
    return tuple(items)


def _format_coeff(value: float) -> str:
    if value == math.pi:
        return "pi"
    if value == -math.pi:
        return "-pi"
    return repr(float(value))


@dataclass(frozen=True, slots=True)
class Expr:
    """A real polynomial in θ, x and δ symbols, in canonical form.

    Build with ``const``, ``theta``, ``x``, ``delta`` and the arithmetic operators.
    """

    terms: tuple[tuple[Monomial, float], ...] = ()
    """Sorted (monomial, coefficient) pairs; no zero coefficient, no repeated monomial."""

    # -- construction -----------------------------------------------------------------
    @staticmethod
    def from_terms(terms: Iterable[tuple[Monomial, float]]) -> Expr:
        """Canonicalise arbitrary (monomial, coefficient) pairs, summing repeats."""
        acc: dict[Monomial, float] = {}
        for mono, coeff in terms:
            key = tuple(sorted(mono, key=Sym.sort_key))
            acc[key] = acc.get(key, 0.0) + float(coeff)
        return Expr(_canonical(acc))

    def __add__(self, other: Expr | float) -> Expr:
        other = _lift(other)
        return Expr.from_terms((*self.terms, *other.terms))

    __radd__ = __add__

    def __neg__(self) -> Expr:
        return Expr(tuple((m, -c) for m, c in self.terms))

    def __sub__(self, other: Expr | float) -> Expr:
        return self + (-_lift(other))

    def __rsub__(self, other: Expr | float) -> Expr:
        return _lift(other) + (-self)

    def __mul__(self, other: Expr | float) -> Expr:
        other = _lift(other)
        return Expr.from_terms(
            (m1 + m2, c1 * c2) for m1, c1 in self.terms for m2, c2 in other.terms
        )

    __rmul__ = __mul__

    def __truediv__(self, other: Expr | float) -> Expr:
        other = _lift(other)
        if not other.is_constant or other.constant_value == 0.0:
            raise ZeroDivisionError("angle expressions can only be divided by a nonzero constant")
        return self * (1.0 / other.constant_value)

    # -- inspection ---------------------------------------------------------------------
    @property
    def is_constant(self) -> bool:
        """True when the expression has no symbols."""
        return all(not m for m, _ in self.terms)

    @property
    def constant_value(self) -> float:
        """The constant term (the whole value when ``is_constant``)."""
        for mono, coeff in self.terms:
            if not mono:
                return coeff
        return 0.0

    @property
    def degree(self) -> int:
        """Largest number of symbols in one monomial (0 for constants)."""
        return max((len(m) for m, _ in self.terms), default=0)

    def symbols(self) -> frozenset[Sym]:
        """Every symbol the expression depends on."""
        return frozenset(s for m, _ in self.terms for s in m)

    def depends_on(self, kind: SymKind) -> bool:
        """True when some symbol of ``kind`` occurs."""
        return any(s.kind == kind for m, _ in self.terms for s in m)

    # -- calculus and evaluation ------------------------------------------------------------
    def grad(self, sym: Sym) -> Expr:
        """Exact partial derivative with respect to ``sym``."""
        out: list[tuple[Monomial, float]] = []
        for mono, coeff in self.terms:
            power = mono.count(sym)
            if power:
                rest = list(mono)
                rest.remove(sym)
                out.append((tuple(rest), coeff * power))
        return Expr.from_terms(out)

    def evaluate(
        self,
        theta: np.ndarray | None = None,
        x: np.ndarray | None = None,
        delta: np.ndarray | None = None,
    ) -> float:
        """Value of the expression for the given symbol values (missing kinds must not occur)."""
        values = {THETA: theta, X: x, DELTA: delta}
        total = 0.0
        for mono, coeff in self.terms:
            term = coeff
            for s in mono:
                arr = values[s.kind]
                if arr is None:
                    raise ValueError(f"no value bound for {s}")
                term *= float(arr[s.index])
            total += term
        return total

    def bind(
        self,
        theta: np.ndarray | None = None,
        x: np.ndarray | None = None,
        delta: np.ndarray | None = None,
    ) -> Expr:
        """Substitute the kinds that are given by numbers; keep the others symbolic."""
        values = {THETA: theta, X: x, DELTA: delta}
        out: list[tuple[Monomial, float]] = []
        for mono, coeff in self.terms:
            rest: list[Sym] = []
            for s in mono:
                arr = values[s.kind]
                if arr is None:
                    rest.append(s)
                else:
                    coeff *= float(arr[s.index])
            out.append((tuple(rest), coeff))
        return Expr.from_terms(out)

    def __str__(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for mono, coeff in self.terms:
            if not mono:
                parts.append(_format_coeff(coeff))
            elif coeff == 1.0:
                parts.append("*".join(map(str, mono)))
            elif coeff == -1.0:
                parts.append("-" + "*".join(map(str, mono)))
            else:
                parts.append(_format_coeff(coeff) + "*" + "*".join(map(str, mono)))
        return " + ".join(parts).replace("+ -", "- ")


def _lift(value: Expr | float) -> Expr:
    return value if isinstance(value, Expr) else const(float(value))


def const(value: float) -> Expr:
    """A constant expression (``Expr.from_terms([((), value)])``, built directly)."""
    total = 0.0 + float(value)  # the sum from_terms forms; a zero coefficient is no term
    return Expr((((), total),) if total != 0.0 else ())


def theta(index: int) -> Expr:
    """The trainable parameter ``theta[index]``."""
    return Expr((((Sym(THETA, index),), 1.0),))


def x(index: int) -> Expr:
    """The input feature ``x[index]``."""
    return Expr((((Sym(X, index),), 1.0),))


def delta(index: int) -> Expr:
    """The adversarial perturbation ``delta[index]``."""
    return Expr((((Sym(DELTA, index),), 1.0),))
