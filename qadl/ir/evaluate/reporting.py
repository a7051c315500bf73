"""Errors of the compile-time evaluation, and the size limits that raise them.

An error is recorded once per location and call chain, with a label at each block call
that led to it; ``fail`` then skips the statement and ``abort`` the model. The limits of
``qadl.check.limits`` are enforced here before a value is built: 64-bit integers, finite
floats, list and polynomial sizes, and one step budget per program.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from qadl.check.check import CheckedProgram
from qadl.check.limits import (
    MAX_INT_BITS,
    MAX_LIST,
    MAX_NESTING,
    MAX_STEPS,
    MAX_TERMS,
    float_ok,
    int_too_large,
    list_measure,
)
from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.ir import expr as E
from qadl.ir.evaluate.values import Abort, Builder, Skip
from qadl.source import Span

__all__ = ["Reporter"]


class Reporter:
    """The state of one program's lowering, its error reporting and its size limits;
    ``evaluator.Evaluator`` adds the expressions. One instance per program."""

    def __init__(self, program: CheckedProgram, bag: DiagnosticBag) -> None:
        self.program = program
        self.bag = bag
        self.seen: set[tuple[Any, ...]] = set()
        self.const_cache: dict[tuple[str, str], Any] = {}
        self.depth = 0
        self.calls: list[tuple[Span, str]] = []  # block call statements being inlined
        self.trips = 1  # product of the trip counts of the loops being unrolled
        self.loops: list[tuple[Span, int]] = []  # headers and trip counts of those loops
        self.b = Builder("")

    # -- errors -----------------------------------------------------------------------------------
    def diagnostic(
        self, code: str, message: str, span: Span, *, label: str = "", help: str | None = None
    ) -> Diagnostic:
        """An error at ``span`` plus a label at each block call that led there, innermost
        first, so an error inside an imported block shows where the user's file called it."""
        return Diagnostic(code, message, Label(span, label), _call_labels(self.calls), help=help)

    def fail(
        self, code: str, message: str, span: Span, *, label: str = "", help: str | None = None
    ):
        """Record an error (once per location and call chain, so loops do not repeat it) and
        skip the statement."""
        key = (code, span.file, span.start, span.end, tuple(s for s, _ in self.calls))
        if key not in self.seen:
            self.seen.add(key)
            self.bag.add(self.diagnostic(code, message, span, label=label, help=help))
        raise Skip

    def abort(
        self, code: str, message: str, span: Span, *, label: str = "", help: str | None = None
    ):
        """Record an error and stop lowering this model; a size limit also labels the
        outermost loop being unrolled, where the size usually comes from."""
        d = self.diagnostic(code, message, span, label=label, help=help)
        if self.loops and self.loops[0][0] != span:
            head, trips = self.loops[0]
            d = replace(d, secondary=(*d.secondary, Label(head, f"in this loop ({trips:,} times)")))
        self.bag.add(d)
        raise Abort

    # -- size limits (see qadl.check.limits) ----------------------------------------------------
    def number(self, value: Any, span: Span, what: str = "the value") -> Any:
        """A computed number, refused when it is non-finite or an integer past the limit."""
        if isinstance(value, complex):
            self.fail(
                "E0316",
                "the result is a complex number",
                span,
                label="a negative number to a fractional power",
            )
        if int_too_large(value):
            self.fail(
                "E0323",
                f"integer too large: {value.bit_length()} bits",
                span,
                label=f"integers are 64-bit: at most 2**{MAX_INT_BITS} - 1 in magnitude",
                help="compute with floats (`2.0 ** 100`) when a larger number is meant",
            )
        if not float_ok(value):
            self.fail(
                "E0324",
                f"{what} is not a finite number ({value})",
                span,
                label="infinite or NaN",
                help="numbers must stay below about 1.8e308 in magnitude",
            )
        return value

    def charge(self, work: int, span: Span) -> None:
        """Count ``work`` units against the unrolling budget (E0406 past ``MAX_STEPS``)."""
        self.b.steps += work
        if self.b.steps > MAX_STEPS:
            self.abort(
                "E0406",
                f"the program is too expensive to unroll: more than {MAX_STEPS:,} steps",
                span,
                label="the budget ran out here",
                help="a step is a statement executed, an expression evaluated, a list element "
                "built or compared, or a term of a symbolic angle, counted over all models; "
                "reduce the loop trip counts, the list sizes or the angle polynomials",
            )

    def new_list(self, items: tuple[Any, ...], span: Span) -> tuple[Any, ...]:
        """A list value, refused past ``MAX_LIST`` elements or ``MAX_NESTING`` levels."""
        elements, depth = list_measure(items)
        self.charge(elements, span)
        if elements > MAX_LIST:
            self.list_too_long(f"more than {MAX_LIST:,}", span)
        if depth > MAX_NESTING:
            self.fail(
                "E0325",
                f"lists nested more than {MAX_NESTING} deep",
                span,
                label="too deeply nested",
                help=f"a list value may be nested at most {MAX_NESTING} levels deep",
            )
        return items

    def list_too_long(self, count: str, span: Span):
        """E0325 for a list of ``count`` elements."""
        self.fail(
            "E0325",
            f"list too long: {count} elements",
            span,
            label=f"the limit is {MAX_LIST:,} (nested elements included)",
            help="build smaller lists; a loop over a range needs no list",
        )

    def polynomial(self, out: E.Expr, span: Span) -> E.Expr:
        """A symbolic angle, refused past ``MAX_TERMS`` terms or with a non-finite coefficient.

        Its terms are charged to the budget: a large angle used by many gates costs memory
        and time in every later pass.
        """
        self.charge(len(out.terms), span)
        if len(out.terms) > MAX_TERMS:
            self.terms_too_many(f"{len(out.terms):,}", span)
        if not all(math.isfinite(c) for _, c in out.terms):
            self.fail(
                "E0324",
                "a coefficient of this angle is not a finite number",
                span,
                label="infinite or NaN",
                help="numbers must stay below about 1.8e308",
            )
        return out

    def terms_too_many(self, count: str, span: Span):
        """E0326 for a polynomial of ``count`` terms."""
        self.fail(
            "E0326",
            f"symbolic angle too large: {count} terms",
            span,
            label=f"the limit is {MAX_TERMS:,} terms",
            help="expand fewer products of sums of parameters or features",
        )


_MAX_CALL_LABELS = 6


def _call_labels(calls: list[tuple[Span, str]]) -> tuple[Label, ...]:
    """Labels for a chain of block calls, innermost first; repeats (recursion) are merged and
    a long chain keeps its innermost and outermost calls."""
    merged: list[list[Any]] = []
    for span, name in reversed(calls):
        if merged and merged[-1][0] == span:
            merged[-1][2] += 1
        else:
            merged.append([span, name, 1])
    labels = [
        Label(span, f"in this call of `{name}`" + (f" ({n} times)" if n > 1 else ""))
        for span, name, n in merged
    ]
    if len(labels) > _MAX_CALL_LABELS:
        hidden = len(labels) - _MAX_CALL_LABELS
        outer = labels[-2]
        labels = [
            *labels[: _MAX_CALL_LABELS - 2],
            Label(outer.span, f"{outer.message} (and {hidden} calls inside it not shown)"),
            labels[-1],
        ]
    return tuple(labels)
