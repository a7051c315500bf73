"""Compile-time evaluation for the lowering: values, names, expressions and their limits.

Expressions evaluate to compile-time values (numbers, strings, lists, registers, gates) or
to symbolic angles, ``ir.expr`` polynomials in θ, x and δ. Every value is bounded before
it is built (``qadl.check.limits``): integers are 64-bit, floats finite, lists and
polynomials capped, and all the work is charged to one step budget per program.
Errors carry a label at each block call that led to them (``Evaluator.diagnostic``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from qadl.check.builtins import BUILTIN_CONSTANTS, MATH_FUNCTIONS
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
    pow_too_large,
)
from qadl.check.scope import ModuleScope
from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Op, Readout
from qadl.ir.gates import Gate, gate_by_name
from qadl.program import ParamInit
from qadl.source import Span

__all__ = [
    "POISONED",
    "Abort",
    "BlockRef",
    "Builder",
    "Env",
    "Evaluator",
    "GateRef",
    "QReg",
    "Skip",
    "SymVec",
    "as_expr",
    "describe",
    "is_num",
    "plain",
]


# ---- compile-time values ----------------------------------------------------------------------


@dataclass(frozen=True)
class QReg:
    """A register or slice: the absolute qubit indices it names, in order."""

    qubits: tuple[int, ...]


@dataclass(frozen=True)
class SymVec:
    """A vector of angles: a ``param`` vector (θ), the feature vector (x), or a list."""

    items: tuple[E.Expr, ...]


@dataclass(frozen=True)
class GateRef:
    """A built-in gate used as a value (``entangler: gate = cz``)."""

    gate: Gate


@dataclass(frozen=True)
class BlockRef:
    """A gate block used as a value or called."""

    decl: A.GateDecl
    module: str


class Skip(Exception):
    """Abandon the current statement after an error was recorded."""


class Abort(Exception):
    """Abandon the whole model (a size limit was hit; going on would only repeat it)."""


POISONED = object()
"""The value of a ``let`` or ``param`` name whose definition failed with an error."""


def describe(v: Any) -> str:
    match v:
        case bool():
            return "a bool"
        case int():
            return "an integer"
        case float():
            return "a number"
        case str():
            return "a string"
        case E.Expr():
            return "a symbolic angle"
        case QReg():
            return f"a register of {len(v.qubits)} qubit{'s' if len(v.qubits) != 1 else ''}"
        case SymVec():
            return f"a vector of {len(v.items)} angles"
        case GateRef() | BlockRef():
            return "a gate"
        case tuple():
            return f"a list of {len(v)}"
    return type(v).__name__


def is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def as_expr(v: Any) -> E.Expr | None:
    if isinstance(v, E.Expr):
        return v
    if is_num(v):
        return E.const(float(v))
    return None


def plain(v: Any) -> Any:
    """A constant Expr back to a float (so ``2 * π`` stays a number)."""
    if isinstance(v, E.Expr) and v.is_constant:
        return v.constant_value
    return v


class Env:
    """Nested variable frames of one block or model activation."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.frames: list[dict[str, Any]] = [{}]

    def get(self, name: str) -> tuple[bool, Any]:
        """``(found, value)`` of the innermost binding of ``name``."""
        for frame in reversed(self.frames):
            if name in frame:
                return True, frame[name]
        return False, None

    def set(self, name: str, value: Any) -> None:
        """Bind ``name`` in the innermost frame."""
        self.frames[-1][name] = value


@dataclass
class Builder:
    """Mutable state while one model is lowered."""

    model: str
    ops: list[Op] = field(default_factory=list)
    num_model_params: int = 0
    num_block_params: int = 0
    inits: list[ParamInit] = field(default_factory=list)
    readout: Readout | None = None
    readout_scale: float = 1.0
    readout_seen: bool = False
    steps: int = 0
    block_calls: int = 0
    touched: set[int] = field(default_factory=set)  # qubits of ops[:scanned]
    scanned: int = 0


class Evaluator:
    """Evaluates compile-time expressions and reports errors; ``unroll.Lowerer`` adds the
    statements. One instance per program."""

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

    # -- names ------------------------------------------------------------------------------------
    def scope(self, env: Env) -> ModuleScope:
        """The symbol table of the module the environment belongs to."""
        return self.program.scopes[env.module]

    def lookup(self, node: A.Name, env: Env) -> Any:
        """The value of a name: local binding, module definition, built-in gate or constant."""
        found, value = env.get(node.id)
        if value is POISONED:
            raise Skip  # its definition failed and was reported
        if found:
            return value
        d = self.scope(env).lookup(node.id)
        if d is not None:
            if d.kind == "const":
                return self.const_value(d.name, d.module, d.node)
            if d.kind == "gate":
                return BlockRef(d.node, d.module)
            self.fail(
                "E0222",
                f"a {d.kind} cannot be used in a circuit",
                node.span,
                label=f"`{node.id}` is a {d.kind}",
            )
        gate = gate_by_name(node.id)
        if gate is not None:
            return GateRef(gate)
        if node.id in BUILTIN_CONSTANTS:
            return BUILTIN_CONSTANTS[node.id]
        self.fail("E0202", f"unknown name `{node.id}`", node.span, label="not defined here")

    def const_value(self, name: str, module: str, decl: A.ConstDecl) -> Any:
        """A constant's value, evaluated once in its own module."""
        key = (module, name)
        if key not in self.const_cache:
            self.const_cache[key] = self.expr(decl.value, Env(module))
        return self.const_cache[key]

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, node: Any, env: Env) -> Any:
        """Evaluate an expression to a compile-time value or a symbolic angle."""
        self.b.steps += 1  # checked against MAX_STEPS at the end of the statement
        match node:
            case A.Number():
                return self.number(node.value, node.span)
            case A.String():
                return node.value
            case A.Name():
                return self.lookup(node, env)
            case A.ListExpr():
                return self.new_list(tuple(self.expr(item, env) for item in node.items), node.span)
            case A.TupleExpr():
                if any(a.name is not None for a in node.args):
                    self.fail("E0320", "keyword arguments outside a call", node.span)
                return self.new_list(tuple(self.expr(a.value, env) for a in node.args), node.span)
            case A.Call():
                return self.call_expr(node, env)
            case A.Index():
                return self.index(self.expr(node.base, env), node.index, env, node.span)
            case A.Unary():
                return self.unary(node, env)
            case A.Binary():
                return self.binary(node, env)
            case A.Compare():
                return self.compare(node, env)
            case A.Conditional():
                cond = self.condition(node.cond, env)
                return self.expr(node.then if cond else node.otherwise, env)
            case A.Quantity():
                return node.value
        self.fail("E0321", "this expression is not allowed in a circuit", node.span)

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

    def condition(self, node: A.Expr, env: Env) -> bool:
        """Evaluate a compile-time condition (symbolic ones are E0312)."""
        return self.truth(self.expr(node, env), node.span)

    def truth(self, raw: Any, span: Span) -> bool:
        """The truth value of an evaluated condition (symbolic ones are E0312)."""
        value = plain(raw)
        if isinstance(value, E.Expr):
            self.fail(
                "E0312",
                "a condition cannot depend on trainable parameters or features",
                span,
                label="symbolic",
                help="conditions are evaluated at compile time",
            )
        if not isinstance(value, bool | int | float):
            self.fail("E0313", f"a condition must be true or false, not {describe(value)}", span)
        return bool(value)

    def integer(self, node: A.Expr, env: Env, what: str) -> int:
        """Evaluate to an int (a float with an integral value is accepted)."""
        value = plain(self.expr(node, env))
        if isinstance(value, float) and value.is_integer():
            value = self.number(int(value), node.span)  # 1e300 is integral, but not 64-bit
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(
                "E0314",
                f"{what} must be an integer, not {describe(value)}",
                node.span,
                label="not an integer",
            )
        return value

    def call_expr(self, node: A.Call, env: Env) -> Any:
        """``len`` and the math functions (on compile-time numbers only)."""
        if not isinstance(node.func, A.Name):
            self.fail("E0321", "only built-in functions can be called in an expression", node.span)
        name = node.func.id
        if any(a.name is not None for a in node.args):
            self.fail("E0320", f"`{name}` takes no keyword arguments", node.span)
        args = [self.expr(a.value, env) for a in node.args]
        if name == "len":
            if len(args) != 1:
                self.fail("E0301", "`len` takes 1 argument", node.span)
            (v,) = args
            if isinstance(v, QReg):
                return len(v.qubits)
            if isinstance(v, SymVec):
                return len(v.items)
            if isinstance(v, tuple | str):
                return len(v)
            self.fail("E0315", f"`len` of {describe(v)}", node.span, label="has no length")
        if name in MATH_FUNCTIONS:
            numbers = [plain(a) for a in args]
            for a, arg in zip(numbers, node.args, strict=True):
                if isinstance(a, E.Expr):
                    self.fail(
                        "E0310",
                        f"`{name}` of a trainable parameter or feature is not a polynomial angle",
                        arg.span,
                        label="symbolic argument",
                        help="angles must stay polynomials in θ, x and δ; apply "
                        f"`{name}` to compile-time numbers only",
                    )
                if not is_num(a):
                    self.fail("E0315", f"`{name}` needs numbers, got {describe(a)}", arg.span)
            try:
                result = MATH_FUNCTIONS[name](*numbers)
            except (ValueError, TypeError, OverflowError) as err:
                self.fail("E0316", f"`{name}` failed: {err}", node.span)
            return self.number(result, node.span)
        self.fail("E0202", f"unknown function `{name}`", node.func.span)

    def index(self, base: Any, sub: Any, env: Env, span: Span) -> Any:
        """``base[i]`` on a register, vector or list, with range checks."""
        if isinstance(sub, A.Slice):
            return self.slice(base, sub, env, span)
        i = self.integer(sub, env, "an index")
        size = self._length(base, span)
        if not -size <= i < size:
            code = "E0401" if isinstance(base, QReg) else "E0311"
            what = describe(base) if isinstance(base, QReg) else f"length {size}"
            self.fail(
                code,
                f"index {i} is out of range for {what}",
                sub.span,
                label=f"valid indices are 0..{size - 1}" if size else "empty",
            )
        i %= size
        if isinstance(base, QReg):
            return QReg((base.qubits[i],))
        if isinstance(base, SymVec):
            return base.items[i]
        return base[i]

    def _length(self, base: Any, span: Span) -> int:
        """Length of an indexable value (E0315 otherwise)."""
        if isinstance(base, QReg):
            return len(base.qubits)
        if isinstance(base, SymVec):
            return len(base.items)
        if isinstance(base, tuple):
            return len(base)
        self.fail("E0315", f"cannot index {describe(base)}", span, label="not indexable")

    def slice(self, base: Any, sub: A.Slice, env: Env, span: Span) -> Any:
        """``base[a:b]``, bounds checked (no clamping: an out-of-range slice is a bug)."""
        size = self._length(base, span)
        start = 0 if sub.start is None else self.integer(sub.start, env, "a slice bound")
        stop = size if sub.stop is None else self.integer(sub.stop, env, "a slice bound")
        if not 0 <= start <= stop <= size:
            code = "E0401" if isinstance(base, QReg) else "E0311"
            self.fail(
                code,
                f"slice {start}:{stop} is out of range for length {size}",
                sub.span,
                label=f"must satisfy 0 <= start <= stop <= {size}",
            )
        self.charge(stop - start, span)
        if isinstance(base, QReg):
            return QReg(base.qubits[start:stop])
        if isinstance(base, SymVec):
            return SymVec(base.items[start:stop])
        return base[start:stop]

    def unary(self, node: A.Unary, env: Env) -> Any:
        """``-x``, ``+x`` and ``not c``."""
        value = self.expr(node.operand, env)  # once: a chain of `not`s must stay linear
        if node.op == "not":
            return not self.truth(value, node.operand.span)
        if is_num(value):
            return -value if node.op == "-" else value
        if isinstance(value, E.Expr):
            return -value if node.op == "-" else value
        self.fail("E0315", f"cannot negate {describe(value)}", node.span)

    def binary(self, node: A.Binary, env: Env) -> Any:
        """Arithmetic on numbers or angles, short-circuit ``and``/``or``, list concatenation."""
        if node.op in ("and", "or"):
            left = self.condition(node.left, env)
            if (node.op == "and" and not left) or (node.op == "or" and left):
                return left
            return self.condition(node.right, env)
        a = plain(self.expr(node.left, env))
        b = plain(self.expr(node.right, env))
        if is_num(a) and is_num(b):
            return self._numeric(node, a, b)
        if (
            isinstance(a, E.Expr | int | float)
            and isinstance(b, E.Expr | int | float)
            and not (isinstance(a, bool) or isinstance(b, bool))
        ):
            return self._symbolic(node, as_expr(a), as_expr(b), b)
        if node.op == "+" and isinstance(a, tuple) and isinstance(b, tuple):
            if len(a) + len(b) > MAX_LIST:  # refused before the copy is made
                self.list_too_long(f"{len(a) + len(b):,}", node.span)
            return self.new_list(a + b, node.span)
        self.fail(
            "E0315", f"cannot apply `{node.op}` to {describe(a)} and {describe(b)}", node.span
        )

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

    def compare(self, node: A.Compare, env: Env) -> bool:
        """Comparisons and ``in`` on compile-time values."""
        a = plain(self.expr(node.left, env))
        b = plain(self.expr(node.right, env))
        if isinstance(a, E.Expr) or isinstance(b, E.Expr):
            self.fail(
                "E0312",
                "a comparison cannot depend on trainable parameters or features",
                node.span,
                label="symbolic",
            )
        # comparing lists walks them: charge their sizes (bounded by MAX_LIST) to the budget
        self.charge(list_measure(a)[0] + list_measure(b)[0], node.span)
        if node.op == "in":
            if not isinstance(b, tuple):
                self.fail(
                    "E0315", f"`in` needs a list on the right, got {describe(b)}", node.right.span
                )
            return a in b
        if node.op == "==":
            return a == b
        if node.op == "!=":
            return a != b
        if not (is_num(a) and is_num(b)):
            self.fail("E0315", f"cannot order {describe(a)} and {describe(b)}", node.span)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]

    def to_angle(self, value: Any, span: Span) -> E.Expr:
        """A finite number or symbolic angle as an ``Expr`` (E0306 otherwise, E0324 when
        infinite or NaN: such an angle must not reach the simulator or the QASM text)."""
        if int_too_large(value) or not float_ok(value):
            self.number(value, span)
        out = as_expr(value)
        if out is None:
            self.fail(
                "E0306", f"expected an angle, got {describe(value)}", span, label="not an angle"
            )
        return self.polynomial(out, span)


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
