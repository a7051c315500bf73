"""Operators of compile-time expressions on evaluated operands: numbers and symbolic angles.

Numeric results must be finite (and integers 64-bit); symbolic ones must stay polynomials
in θ, x and δ within ``MAX_TERMS`` terms, each refused before the expansion is built.
"""

from __future__ import annotations

from typing import Any

from qadl.check.limits import MAX_INT_BITS, MAX_TERMS, pow_too_large
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.evaluate.reporting import Reporter

__all__ = ["Arithmetic"]


class Arithmetic(Reporter):
    """Binary operators on two evaluated operands (``Evaluator.binary`` evaluates them)."""

    def _numeric(self, node: A.Binary, a: float, b: float) -> Any:
        """Arithmetic on two numbers (int division stays int when exact); the result must be
        finite and, for integers, within ``MAX_INT_BITS``."""
        if node.op == "**" and pow_too_large(a, b):  # before computing it: towers explode
            self.fail(
                "E0323",
                "integer too large: the power has at least "
                f"{(abs(a).bit_length() - 1) * b + 1:,} bits",
                node.span,
                label=f"integers are 64-bit: at most 2**{MAX_INT_BITS} - 1 in magnitude",
                help="compute with floats (`2.0 ** 100`) when a larger number is meant",
            )
        try:
            match node.op:
                case "+":
                    out = a + b
                case "-":
                    out = a - b
                case "*":
                    out = a * b
                case "/":
                    exact = isinstance(a, int) and isinstance(b, int) and a % b == 0
                    out = a // b if exact else a / b
                case "%":
                    out = a % b
                case "**":
                    out = a**b
                case _:
                    self.fail("E0321", f"unknown operator `{node.op}`", node.span)
        except ZeroDivisionError:
            self.fail("E0316", "division by zero", node.span)
        except OverflowError:
            self.fail(
                "E0324",
                f"the result of `{node.op}` is too large for a float",
                node.span,
                label="overflows",
                help="numbers must stay below about 1.8e308",
            )
        return self.number(out, node.span, f"the result of `{node.op}`")

    def _symbolic(self, node: A.Binary, a: E.Expr, b: E.Expr, raw_b: Any) -> E.Expr:
        """Arithmetic with a symbolic side, within the size limits of ``polynomial``."""
        return self.polynomial(self._symbolic_op(node, a, b, raw_b), node.span)

    def _symbolic_op(self, node: A.Binary, a: E.Expr, b: E.Expr, raw_b: Any) -> E.Expr:
        """Arithmetic with a symbolic side; only polynomial results are allowed."""
        nonpoly = dict(
            label="not a polynomial",
            help="angles must stay polynomials in θ, x and δ "
            "(sums and products, division by constants only)",
        )
        match node.op:
            case "+" | "-":
                self.charge(len(a.terms) + len(b.terms), node.span)  # before the merge
                return a + b if node.op == "+" else a - b
            case "*":
                self.charge(len(a.terms) * len(b.terms), node.span)
                if len(a.terms) * len(b.terms) > MAX_TERMS:  # refused before expanding
                    self.terms_too_many(f"up to {len(a.terms) * len(b.terms):,}", node.span)
                return a * b
            case "/":
                if not b.is_constant:
                    self.fail(
                        "E0310",
                        "division by a trainable parameter or feature",
                        node.span,
                        **nonpoly,
                    )
                if b.constant_value == 0.0:
                    self.fail("E0316", "division by zero", node.span)
                return a / b
            case "**":
                if isinstance(raw_b, int) and 0 <= raw_b <= 8:
                    out = E.const(1.0)
                    for _ in range(raw_b):
                        if len(out.terms) * len(a.terms) > MAX_TERMS:
                            self.terms_too_many(
                                f"up to {len(out.terms) * len(a.terms):,}", node.span
                            )
                        self.charge(len(out.terms) * len(a.terms), node.span)
                        out = out * a
                    return out
                self.fail(
                    "E0310",
                    "a symbolic angle can only be raised to a small non-negative integer power",
                    node.span,
                    **nonpoly,
                )
        self.fail("E0310", f"`{node.op}` of a trainable parameter or feature", node.span, **nonpoly)
