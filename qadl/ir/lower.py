"""Lowering: a CheckedProgram -> one ``Circuit`` per model (blocks inlined, loops unrolled).

Lowering is compile-time evaluation. Every loop bound, condition, index and argument is
a compile-time value; gate angles are ``ir.expr`` polynomials over θ (trainable), x
(features) and δ. Problems only visible with values (a qubit index past the register,
a vector of the wrong length, a non-polynomial angle) are reported here with their spans.

θ numbering: the model's own ``param`` vectors first (declaration order), then the fresh
parameters of block calls in call order.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from qadl.check.builtins import BUILTIN_CONSTANTS, MATH_FUNCTIONS
from qadl.check.check import CheckedProgram
from qadl.check.limits import (
    MAX_AMPLITUDE_QUBITS,
    MAX_INT_BITS,
    MAX_LIST,
    MAX_NESTING,
    MAX_OPS,
    MAX_SIM_QUBITS,
    MAX_STEPS,
    MAX_TERMS,
    MAX_TRIPS,
    MAX_VECTOR,
    float_ok,
    int_too_large,
    list_measure,
    pow_too_large,
)
from qadl.check.scope import ModuleScope
from qadl.check.specs import DataSpec, NoiseSpec, TargetSpec
from qadl.check.values import CallValue
from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import GATES, Gate, gate_by_name
from qadl.ir.target import FALCON_27_EDGES, NoiseModel, Target
from qadl.ir.verify import verify
from qadl.program import Model, ParamInit, Program
from qadl.source import Span

__all__ = [
    "MAX_OPS",
    "MAX_SIM_QUBITS",
    "BlockRef",
    "GateRef",
    "QReg",
    "SymVec",
    "lower_model",
    "lower_program",
]

MAX_CALL_DEPTH = 64
_BLOCK_BASE = 1 << 40  # block params are numbered from here, then moved after the model's


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


class _Skip(Exception):
    """Abandon the current statement after an error was recorded."""


class _Abort(Exception):
    """Abandon the whole model (a size limit was hit; going on would only repeat it)."""


_POISONED = object()
"""The value of a ``let`` or ``param`` name whose definition failed with an error."""


def _describe(v: Any) -> str:
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


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _as_expr(v: Any) -> E.Expr | None:
    if isinstance(v, E.Expr):
        return v
    if _is_num(v):
        return E.const(float(v))
    return None


def _plain(v: Any) -> Any:
    """A constant Expr back to a float (so ``2 * π`` stays a number)."""
    if isinstance(v, E.Expr) and v.is_constant:
        return v.constant_value
    return v


class _Env:
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
class _Builder:
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


class _Lowerer:
    """Evaluates model and block bodies; one instance per program."""

    def __init__(self, program: CheckedProgram, bag: DiagnosticBag) -> None:
        self.program = program
        self.bag = bag
        self.seen: set[tuple[Any, ...]] = set()
        self.const_cache: dict[tuple[str, str], Any] = {}
        self.depth = 0
        self.calls: list[tuple[Span, str]] = []  # block call statements being inlined
        self.trips = 1  # product of the trip counts of the loops being unrolled
        self.loops: list[tuple[Span, int]] = []  # headers and trip counts of those loops
        self.b = _Builder("")

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
        raise _Skip

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
        raise _Abort

    # -- names ------------------------------------------------------------------------------------
    def scope(self, env: _Env) -> ModuleScope:
        """The symbol table of the module the environment belongs to."""
        return self.program.scopes[env.module]

    def lookup(self, node: A.Name, env: _Env) -> Any:
        """The value of a name: local binding, module definition, built-in gate or constant."""
        found, value = env.get(node.id)
        if value is _POISONED:
            raise _Skip  # its definition failed and was reported
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
            self.const_cache[key] = self.expr(decl.value, _Env(module))
        return self.const_cache[key]

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, node: Any, env: _Env) -> Any:
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

    def condition(self, node: A.Expr, env: _Env) -> bool:
        """Evaluate a compile-time condition (symbolic ones are E0312)."""
        return self.truth(self.expr(node, env), node.span)

    def truth(self, raw: Any, span: Span) -> bool:
        """The truth value of an evaluated condition (symbolic ones are E0312)."""
        value = _plain(raw)
        if isinstance(value, E.Expr):
            self.fail(
                "E0312",
                "a condition cannot depend on trainable parameters or features",
                span,
                label="symbolic",
                help="conditions are evaluated at compile time",
            )
        if not isinstance(value, bool | int | float):
            self.fail("E0313", f"a condition must be true or false, not {_describe(value)}", span)
        return bool(value)

    def integer(self, node: A.Expr, env: _Env, what: str) -> int:
        """Evaluate to an int (a float with an integral value is accepted)."""
        value = _plain(self.expr(node, env))
        if isinstance(value, float) and value.is_integer():
            value = self.number(int(value), node.span)  # 1e300 is integral, but not 64-bit
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(
                "E0314",
                f"{what} must be an integer, not {_describe(value)}",
                node.span,
                label="not an integer",
            )
        return value

    def call_expr(self, node: A.Call, env: _Env) -> Any:
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
            self.fail("E0315", f"`len` of {_describe(v)}", node.span, label="has no length")
        if name in MATH_FUNCTIONS:
            plain = [_plain(a) for a in args]
            for a, arg in zip(plain, node.args, strict=True):
                if isinstance(a, E.Expr):
                    self.fail(
                        "E0310",
                        f"`{name}` of a trainable parameter or feature is not a polynomial angle",
                        arg.span,
                        label="symbolic argument",
                        help="angles must stay polynomials in θ, x and δ; apply "
                        f"`{name}` to compile-time numbers only",
                    )
                if not _is_num(a):
                    self.fail("E0315", f"`{name}` needs numbers, got {_describe(a)}", arg.span)
            try:
                result = MATH_FUNCTIONS[name](*plain)
            except (ValueError, TypeError, OverflowError) as err:
                self.fail("E0316", f"`{name}` failed: {err}", node.span)
            return self.number(result, node.span)
        self.fail("E0202", f"unknown function `{name}`", node.func.span)

    def index(self, base: Any, sub: Any, env: _Env, span: Span) -> Any:
        """``base[i]`` on a register, vector or list, with range checks."""
        if isinstance(sub, A.Slice):
            return self.slice(base, sub, env, span)
        i = self.integer(sub, env, "an index")
        size = self._length(base, span)
        if not -size <= i < size:
            code = "E0401" if isinstance(base, QReg) else "E0311"
            what = _describe(base) if isinstance(base, QReg) else f"length {size}"
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
        self.fail("E0315", f"cannot index {_describe(base)}", span, label="not indexable")

    def slice(self, base: Any, sub: A.Slice, env: _Env, span: Span) -> Any:
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

    def unary(self, node: A.Unary, env: _Env) -> Any:
        """``-x``, ``+x`` and ``not c``."""
        value = self.expr(node.operand, env)  # once: a chain of `not`s must stay linear
        if node.op == "not":
            return not self.truth(value, node.operand.span)
        if _is_num(value):
            return -value if node.op == "-" else value
        if isinstance(value, E.Expr):
            return -value if node.op == "-" else value
        self.fail("E0315", f"cannot negate {_describe(value)}", node.span)

    def binary(self, node: A.Binary, env: _Env) -> Any:
        """Arithmetic on numbers or angles, short-circuit ``and``/``or``, list concatenation."""
        if node.op in ("and", "or"):
            left = self.condition(node.left, env)
            if (node.op == "and" and not left) or (node.op == "or" and left):
                return left
            return self.condition(node.right, env)
        a = _plain(self.expr(node.left, env))
        b = _plain(self.expr(node.right, env))
        if _is_num(a) and _is_num(b):
            return self._numeric(node, a, b)
        if (
            isinstance(a, E.Expr | int | float)
            and isinstance(b, E.Expr | int | float)
            and not (isinstance(a, bool) or isinstance(b, bool))
        ):
            return self._symbolic(node, _as_expr(a), _as_expr(b), b)
        if node.op == "+" and isinstance(a, tuple) and isinstance(b, tuple):
            if len(a) + len(b) > MAX_LIST:  # refused before the copy is made
                self.list_too_long(f"{len(a) + len(b):,}", node.span)
            return self.new_list(a + b, node.span)
        self.fail(
            "E0315", f"cannot apply `{node.op}` to {_describe(a)} and {_describe(b)}", node.span
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

    def compare(self, node: A.Compare, env: _Env) -> bool:
        """Comparisons and ``in`` on compile-time values."""
        a = _plain(self.expr(node.left, env))
        b = _plain(self.expr(node.right, env))
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
                    "E0315", f"`in` needs a list on the right, got {_describe(b)}", node.right.span
                )
            return a in b
        if node.op == "==":
            return a == b
        if node.op == "!=":
            return a != b
        if not (_is_num(a) and _is_num(b)):
            self.fail("E0315", f"cannot order {_describe(a)} and {_describe(b)}", node.span)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]

    # -- statements -------------------------------------------------------------------------------
    def body(self, stmts: tuple[A.Stmt, ...], env: _Env, *, in_model: bool = False) -> None:
        """Run statements in a new scope; an error skips only its statement."""
        env.frames.append({})
        for stmt in stmts:
            try:
                self.stmt(stmt, env, in_model)
            except _Skip:
                continue
        env.frames.pop()

    def stmt(self, stmt: A.Stmt, env: _Env, in_model: bool) -> None:
        """Run one statement, then enforce the size limits."""
        match stmt:
            case A.CallStmt():
                self.call_stmt(stmt, env)
            case A.For():
                self.for_stmt(stmt, env)
            case A.If():
                branch = stmt.then if self.condition(stmt.cond, env) else stmt.otherwise
                if branch is not None:
                    self.body(branch, env)
            case A.Let():
                env.set(stmt.name, self.poisoned(stmt.name, env, self.expr, stmt.value, env))
            case A.ParamStmt():
                env.set(stmt.name, self.poisoned(stmt.name, env, self.param, stmt, env, in_model))
            case A.ReadoutStmt():
                self.readout(stmt, env, in_model)
        self.charge(1, stmt.span)
        if len(self.b.ops) > MAX_OPS:
            self.abort(
                "E0406",
                f"the circuit is too large: more than {MAX_OPS:,} gates",
                stmt.span,
                label=f"{len(self.b.ops):,} gates so far",
                help="reduce the number of layers or loop iterations",
            )

    def poisoned(self, name: str, env: _Env, compute: Any, *args: Any) -> Any:
        """``compute(*args)``; when it fails, ``name`` is bound to ``_POISONED`` so that its
        uses are skipped silently instead of each being reported as an unknown name."""
        try:
            return compute(*args)
        except _Skip:
            env.set(name, _POISONED)
            raise

    def for_stmt(self, stmt: A.For, env: _Env) -> None:
        """Unroll a loop over a range, a list, a vector or a register."""
        if stmt.stop is None:
            items = self.expr(stmt.start, env)
            if isinstance(items, QReg):
                items = tuple(QReg((q,)) for q in items.qubits)
            elif isinstance(items, SymVec):
                items = items.items
            if not isinstance(items, tuple):
                self.fail(
                    "E0315",
                    f"cannot loop over {_describe(items)}",
                    stmt.start.span,
                    label="expected a list, a register or a range `a..b`",
                )
        else:
            start = self.integer(stmt.start, env, "a loop bound")
            stop = self.integer(stmt.stop, env, "a loop bound")
            step = 1 if stmt.step is None else self.integer(stmt.step, env, "a loop step")
            if step == 0:
                self.fail("E0316", "loop step cannot be 0", stmt.step.span)
            items = range(start, stop, step)  # lazy; len() overflows past sys.maxsize
        trips = _trip_count(items)
        head = Span(
            stmt.span.file, stmt.span.start, (stmt.step or stmt.stop or stmt.start).span.end
        )
        if self.trips * trips > MAX_TRIPS:  # refused before any iteration is unrolled
            inside = f" inside loops that run {self.trips:,} times" if self.trips > 1 else ""
            self.abort(
                "E0408",
                f"too many loop iterations: this loop runs {trips:,} times{inside}",
                head,
                label=f"{self.trips * trips:,} iterations in all; the limit is {MAX_TRIPS:,}",
                help="nested loops (and loops in blocks called from loops) may run at most "
                f"{MAX_TRIPS:,} iterations in all, counted as the product of their trip counts",
            )
        outer, self.trips = self.trips, max(1, self.trips * trips)
        self.loops.append((head, trips))
        try:
            for item in items:
                env.frames.append({stmt.var: item})
                try:
                    self.body(stmt.body, env)
                finally:
                    env.frames.pop()
        finally:
            self.loops.pop()
            self.trips = outer

    def param(self, stmt: A.ParamStmt, env: _Env, in_model: bool) -> Any:
        """Allocate a ``param`` vector: model parameters first, block ones renumbered later."""
        size = 1 if stmt.size is None else self.integer(stmt.size, env, "a parameter count")
        if size < 1 and stmt.size is not None:
            self.fail(
                "E0317", f"a parameter vector needs at least 1 entry, got {size}", stmt.size.span
            )
        if self.b.num_model_params + self.b.num_block_params + size > MAX_VECTOR:
            self.abort("E0317", f"more than {MAX_VECTOR} trainable parameters", stmt.span)
        kind, args = self.init_spec(stmt.init, env)
        if in_model:
            start = self.b.num_model_params
            self.b.num_model_params += size
            name = stmt.name
        else:
            start = _BLOCK_BASE + self.b.num_block_params
            self.b.num_block_params += size
            name = f"{env.frames[0].get('#block', 'block')}.{stmt.name}"
        self.b.inits.append(ParamInit(name, start, size, kind, args))
        items = tuple(E.theta(start + i) for i in range(size))
        return items[0] if stmt.size is None else SymVec(items)

    def init_spec(self, node: A.Expr | None, env: _Env) -> tuple[str, tuple[float, ...]]:
        """``(kind, args)`` of an ``init`` clause (default ``uniform(0, 2π)``)."""
        if node is None:
            return "uniform", (0.0, 2 * math.pi)
        if isinstance(node, A.Name):
            return node.id, ()
        assert isinstance(node, A.Call) and isinstance(node.func, A.Name)  # the checker ensured it
        args = []
        for a in node.args:
            v = _plain(self.expr(a.value, env))
            if not _is_num(v):
                self.fail(
                    "E0315", f"initialiser arguments must be numbers, got {_describe(v)}", a.span
                )
            args.append(float(v))
        expected = {"uniform": 2, "normal": 2, "constant": 1, "zeros": 0}[node.func.id]
        if len(args) != expected:
            self.fail(
                "E0301", f"`{node.func.id}` takes {expected} arguments, got {len(args)}", node.span
            )
        return node.func.id, tuple(args)

    # -- gate and block calls ---------------------------------------------------------------------
    def qubits_of(self, refs: tuple[A.QubitRef, ...], env: _Env) -> list[tuple[QReg, A.QubitRef]]:
        """Registers named by qubit references, with their references for spans."""
        out = []
        for ref in refs:
            reg = self.lookup(ref.register, env)
            if not isinstance(reg, QReg):
                self.fail(
                    "E0318",
                    f"`{ref.register.id}` is {_describe(reg)}, not qubits",
                    ref.register.span,
                    label="not a qubit register",
                )
            if ref.index is not None:
                reg = self.index(reg, ref.index, env, ref.span)
            out.append((reg, ref))
        return out

    def callee(self, name: A.Name, env: _Env) -> GateRef | BlockRef:
        """The gate or block a call statement names."""
        value = self.lookup(name, env)
        if not isinstance(value, GateRef | BlockRef):
            self.fail(
                "E0319",
                f"`{name.id}` is {_describe(value)}, not a gate",
                name.span,
                label="cannot be applied to qubits",
            )
        return value

    def call_stmt(self, stmt: A.CallStmt, env: _Env) -> None:
        """Apply a built-in gate or inline a block."""
        callee = self.callee(stmt.name, env)
        if isinstance(callee, BlockRef):
            self.block_call(callee, stmt, env)
        else:
            self.gate_call(callee.gate, stmt, env)

    def gate_call(self, gate: Gate, stmt: A.CallStmt, env: _Env) -> None:
        """Emit ops of a built-in gate (1-qubit gates broadcast over registers)."""
        info = GATES[gate]
        args = stmt.args or ()
        regs = self.qubits_of(stmt.qubits, env)
        qubits = [q for reg, _ in regs for q in reg.qubits]
        if not qubits:
            self.fail(
                "E0404", f"gate `{gate.value}` needs qubit operands", stmt.span, label="no qubits"
            )
        if gate is Gate.AMPLITUDE:
            self.amplitude(stmt, args, qubits, env)
            return
        if len(args) != info.num_angles:
            self.fail(
                "E0301",
                f"`{gate.value}` takes {info.num_angles} angle arguments, got {len(args)}",
                stmt.span,
            )
        angles = tuple(self.angle(a.value, env) for a in args)
        if info.num_qubits == 1:
            for q in qubits:
                self.b.ops.append(Op(gate, (q,), angles, span=stmt.span))
            return
        if len(qubits) != info.num_qubits:
            self.fail(
                "E0405",
                f"`{gate.value}` acts on {info.num_qubits} qubits, got {len(qubits)}",
                stmt.span,
                label="wrong number of qubits",
                help=f"write `{gate.value} "
                + ", ".join(f"q[{i}]" for i in range(info.num_qubits))
                + "`",
            )
        self.distinct(qubits, regs, gate.value)
        self.b.ops.append(Op(gate, tuple(qubits), angles, span=stmt.span))

    def distinct(self, qubits: list[int], regs: list[tuple[QReg, A.QubitRef]], what: str) -> None:
        """E0402 when a multi-qubit gate repeats a qubit."""
        if len(set(qubits)) != len(qubits):
            dup = next(q for q in qubits if qubits.count(q) > 1)
            span = regs[-1][1].span if regs else Span("", 0, 0)
            self.fail(
                "E0402",
                f"`{what}` uses qubit {dup} twice",
                span,
                label="repeated qubit operand",
                help="a multi-qubit gate needs distinct qubits",
            )

    def amplitude(
        self, stmt: A.CallStmt, args: tuple[A.Arg, ...], qubits: list[int], env: _Env
    ) -> None:
        """Emit an amplitude-encoding op, zero-padded to ``2**len(qubits)`` entries."""
        if len(args) != 1:
            self.fail("E0301", "`amplitude` takes 1 argument (the feature vector)", stmt.span)
        if len(qubits) > MAX_AMPLITUDE_QUBITS:  # before 2**k amplitudes are allocated
            self.fail(
                "E0409",
                f"amplitude encoding on {len(qubits)} qubits is too large",
                stmt.span,
                label=f"the limit is {MAX_AMPLITUDE_QUBITS} qubits "
                f"({1 << MAX_AMPLITUDE_QUBITS:,} amplitudes)",
                help="encode fewer features, or encode them on fewer qubits",
            )
        vec = self.expr(args[0].value, env)
        items = vec.items if isinstance(vec, SymVec) else vec if isinstance(vec, tuple) else None
        if items is None:
            self.fail("E0306", f"`amplitude` needs a vector, got {_describe(vec)}", args[0].span)
        values = [self.to_angle(v, args[0].span) for v in items]
        need = math.ceil(math.log2(max(len(values), 1)))
        if len(values) > 1 << len(qubits):
            self.fail(
                "E0306",
                f"amplitude encoding of {len(values)} features needs at least {need} "
                f"qubits, got {len(qubits)}",
                stmt.span,
                label="too few qubits",
                help=f"apply it to {need} qubits, e.g. `amplitude(...) q[0:{need}]`",
            )
        if len(set(qubits)) != len(qubits):
            self.fail("E0402", "`amplitude` uses a qubit twice", stmt.span)
        if self.touched() & set(qubits):
            self.fail(
                "E0407",
                "`amplitude` must come before any other gate on its qubits",
                stmt.span,
                label="these qubits are already in use",
            )
        squares = sum(v * v for v in values_of(values)) if all(v.is_constant for v in values) else 1
        if not 0 < squares < math.inf:  # the simulator normalises by the 2-norm, unscaled
            self.fail(
                "E0410",
                "`amplitude` of a constant vector that cannot be normalised",
                args[0].span,
                label="its norm is 0" if squares == 0 else "its norm overflows",
                help="amplitude encoding prepares v / ||v||: give a nonzero, moderate vector",
            )
        values += [E.const(0.0)] * ((1 << len(qubits)) - len(values))
        self.b.ops.append(Op(Gate.AMPLITUDE, tuple(qubits), tuple(values), span=stmt.span))

    def touched(self) -> set[int]:
        """The qubits some op acts on (kept up to date incrementally: amplitude statements in a
        loop must not rescan the whole circuit each time)."""
        for op in self.b.ops[self.b.scanned :]:
            self.b.touched.update(op.qubits)
        self.b.scanned = len(self.b.ops)
        return self.b.touched

    def to_angle(self, value: Any, span: Span) -> E.Expr:
        """A finite number or symbolic angle as an ``Expr`` (E0306 otherwise, E0324 when
        infinite or NaN: such an angle must not reach the simulator or the QASM text)."""
        if int_too_large(value) or not float_ok(value):
            self.number(value, span)
        out = _as_expr(value)
        if out is None:
            self.fail(
                "E0306", f"expected an angle, got {_describe(value)}", span, label="not an angle"
            )
        return self.polynomial(out, span)

    def angle(self, node: A.Expr, env: _Env) -> E.Expr:
        """Evaluate an angle argument."""
        return self.to_angle(self.expr(node, env), node.span)

    def block_call(self, block: BlockRef, stmt: A.CallStmt, env: _Env) -> None:
        """Inline a gate block with its arguments bound (depth-limited)."""
        decl = block.decl
        if self.depth >= MAX_CALL_DEPTH:
            self.fail(
                "E0322",
                f"gate blocks nested deeper than {MAX_CALL_DEPTH} calls (recursion?)",
                stmt.span,
                help=f"`{decl.name}` probably calls itself",
            )
        bound = self.bind(decl, block.module, stmt, env)
        self.b.block_calls += 1
        callee_env = _Env(block.module)
        callee_env.frames[0] = {**bound, "#block": f"{decl.name}#{self.b.block_calls - 1}"}
        self.depth += 1
        self.calls.append((stmt.span, decl.name))
        try:
            self.body(decl.body, callee_env)
        finally:
            self.calls.pop()
            self.depth -= 1

    def bind(self, decl: A.GateDecl, module: str, stmt: A.CallStmt, env: _Env) -> dict[str, Any]:
        """Bind call arguments to a block's parameters (positional, keyword, defaults)."""
        params = {p.name: p for p in decl.params}
        given: dict[str, tuple[Any, Span]] = {}
        positional = [(reg, ref.span) for reg, ref in self.qubits_of(stmt.qubits, env)]
        positional += [(self.expr(a.value, env), a.span) for a in stmt.args or () if a.name is None]
        if len(positional) > len(decl.params):
            self.fail(
                "E0301",
                f"`{decl.name}` takes {len(decl.params)} arguments, got {len(positional)}",
                stmt.span,
            )
        for p, value in zip(decl.params, positional, strict=False):
            given[p.name] = value
        for a in stmt.args or ():
            if a.name is not None:
                if a.name not in params:
                    self.fail("E0302", f"`{decl.name}` has no parameter `{a.name}`", a.span)
                given[a.name] = (self.expr(a.value, env), a.span)
        defaults_env = _Env(module)
        out: dict[str, Any] = {}
        for p in decl.params:
            if p.name in given:
                value, span = given[p.name]
                out[p.name] = self.convert(value, p, defaults_env, span, decl.name)
            elif p.default is not None:
                # an error in a default is in the block's file: label the call that used it
                self.calls.append((stmt.span, decl.name))
                try:
                    value = self.expr(p.default, defaults_env)
                    out[p.name] = self.convert(value, p, defaults_env, p.default.span, decl.name)
                finally:
                    self.calls.pop()
            else:
                self.fail(
                    "E0304",
                    f"missing argument `{p.name}` for `{decl.name}`",
                    stmt.span,
                    label="in this call",
                )
            defaults_env.set(p.name, out[p.name])
        return out

    def convert(self, value: Any, p: A.Param, env: _Env, span: Span, block: str) -> Any:
        """Check an argument against its parameter's type; normalise vectors and gate lists."""
        kind = p.type.name
        value = _plain(value)
        bad = f"argument `{p.name}` of `{block}` must be"
        match kind:
            case "qubits":
                if isinstance(value, QReg):
                    return value
            case "qubit":
                if isinstance(value, QReg):
                    if len(value.qubits) == 1:
                        return value
                    self.fail(
                        "E0307",
                        f"{bad} a single qubit, got {_describe(value)}",
                        span,
                        label="a register",
                    )
            case "int":
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
            case "float" | "angle" if p.type.size is None:
                if _is_num(value) or isinstance(value, E.Expr):
                    return value
            case "bool":
                if isinstance(value, bool):
                    return value
            case "str":
                if isinstance(value, str):
                    return value
            case "gate":
                if isinstance(value, GateRef | BlockRef):
                    return value
            case "gates":
                items = value if isinstance(value, tuple) else (value,)
                if all(isinstance(v, GateRef | BlockRef) for v in items):
                    return items
            case "angles" | "float" | "angle":
                return self.vector(value, p, env, span, bad)
            case "list":
                if isinstance(value, tuple):
                    return value
            case _:
                self.fail(
                    "E0308",
                    f"unknown parameter type `{kind}`",
                    p.type.span,
                    help="types: int, float, angle, bool, str, qubit, qubits, gate, gates, "
                    "angles, float[N], list",
                )
        self.fail(
            "E0309", f"{bad} {_type_words(p)}, got {_describe(value)}", span, label="wrong type"
        )

    def vector(self, value: Any, p: A.Param, env: _Env, span: Span, bad: str) -> SymVec:
        """An ``angles``/``float[N]`` argument as a ``SymVec`` of the declared length."""
        if isinstance(value, SymVec):
            vec = value
        elif isinstance(value, tuple) and all(_as_expr(_plain(v)) is not None for v in value):
            vec = SymVec(tuple(_as_expr(_plain(v)) for v in value))
        else:
            self.fail(
                "E0309", f"{bad} {_type_words(p)}, got {_describe(value)}", span, label="wrong type"
            )
        if p.type.size is not None:
            n = self.integer(p.type.size, env, "a vector length")
            if len(vec.items) != n:
                self.fail(
                    "E0306",
                    f"{bad} a vector of {n} angles, got {len(vec.items)}",
                    span,
                    label="shape mismatch",
                )
        return vec

    # -- readout ----------------------------------------------------------------------------------
    def readout(self, stmt: A.ReadoutStmt, env: _Env, in_model: bool) -> None:
        """The model's one readout, with its ``classes`` and ``scale`` options."""
        if not in_model:
            self.fail("E0503", "`readout` is only allowed at the top level of a model", stmt.span)
        if self.b.readout is not None:
            self.fail("E0504", "a model has exactly one readout", stmt.span, label="second readout")
        self.b.readout_seen = True
        opts = {}
        for opt in stmt.options:
            if opt.key not in ("classes", "scale"):
                self.fail(
                    "E0501",
                    f"unknown readout option `{opt.key}`",
                    opt.key_span,
                    help="readout options: classes, scale",
                )
            opts[opt.key] = _plain(self.expr(opt.value, env))
        classes = opts.get("classes")
        if classes is not None and (not isinstance(classes, int) or classes < 1):
            self.fail("E0502", "`classes` must be a positive integer", stmt.span)
        kind = stmt.kind.id
        if kind in ("probs", "prob"):
            self.readout_probs(stmt, env, classes)
        elif kind == "expval":
            self.readout_expval(stmt, env, classes)
        else:
            self.fail(
                "E0505",
                f"unknown readout `{kind}`",
                stmt.kind.span,
                help="use `probs(q[i], ...)` or `expval(Z q[i], ...)`",
            )
        scale = opts.get("scale", 1.0)
        if not _is_num(scale) or scale <= 0:
            self.fail("E0502", "`scale` must be a positive number", stmt.span)
        self.b.readout_scale = float(scale)

    def readout_probs(self, stmt: A.ReadoutStmt, env: _Env, classes: int | None) -> None:
        """``probs(q...)``: marginal probabilities of the listed qubits."""
        qubits: list[int] = []
        for obs in stmt.observables:
            for f in obs.factors:
                if f.pauli is not None or len(obs.factors) > 1:
                    self.fail(
                        "E0505",
                        "`probs` takes qubits, not Pauli products",
                        f.span,
                        help="use `expval(Z q[0], ...)` for Pauli observables",
                    )
                qubits += [q for reg, _ in self.qubits_of((f.qubit,), env) for q in reg.qubits]
        if not qubits:
            self.fail("E0505", "`probs` needs at least one qubit", stmt.span)
        if len(set(qubits)) != len(qubits):
            self.fail("E0402", "a readout qubit is listed twice", stmt.span)
        classes = 2 if classes is None else classes
        if classes > 1 << len(qubits):
            self.fail(
                "E0502",
                f"{classes} classes need at least {math.ceil(math.log2(classes))} "
                f"readout qubits, got {len(qubits)}",
                stmt.span,
                label="too many classes",
            )
        self.b.readout = Readout("probs", tuple(qubits), num_classes=classes)

    def readout_expval(self, stmt: A.ReadoutStmt, env: _Env, classes: int | None) -> None:
        """``expval(P q, ...)``: expectation values of Pauli products."""
        observables = []
        for obs in stmt.observables:
            product = []
            for f in obs.factors:
                if f.pauli not in ("X", "Y", "Z"):
                    self.fail(
                        "E0505",
                        "each factor of an observable is `X`, `Y` or `Z` on a qubit",
                        f.span,
                        help="e.g. `expval(Z q[0], X q[1] * X q[2])`",
                    )
                regs = self.qubits_of((f.qubit,), env)
                product += [(f.pauli, q) for reg, _ in regs for q in reg.qubits]
            if len({q for _, q in product}) != len(product):
                self.fail("E0402", "a qubit appears twice in one Pauli product", obs.span)
            observables.append(tuple(product))
        if not observables:
            self.fail("E0505", "`expval` needs at least one observable", stmt.span)
        if classes is None:
            classes = 2 if len(observables) <= 2 else len(observables)
        self.b.readout = Readout("expval", observables=tuple(observables), num_classes=classes)

    # -- models -----------------------------------------------------------------------------------
    def model(self, decl: A.ModelDecl, module: str) -> Model | None:
        """Lower one model to a ``Model``, or None after recording its errors."""
        # the step budget is the program's: a file of many heavy models must not add them up
        if self.b.steps > MAX_STEPS:
            return None  # spent by an earlier model, which reported it
        self.b = _Builder(decl.name, steps=self.b.steps)
        env = _Env(module)
        try:
            n = self.integer(decl.size, env, "the register size")
            if n < 1:
                self.fail("E0403", f"a model needs at least 1 qubit, got {n}", decl.size.span)
            if n > MAX_SIM_QUBITS:
                self.fail(
                    "E0403",
                    f"{n} qubits is too many to simulate",
                    decl.size.span,
                    label=f"the limit is {MAX_SIM_QUBITS}",
                    help=f"a state of {n} qubits needs {_bytes(n)} per sample; "
                    "use fewer qubits or split the model",
                )
            input_kind, num_features = self.model_inputs(decl, env)
        except _Skip:
            return None
        env.set(decl.register, QReg(tuple(range(n))))
        try:
            self.body(decl.body, env, in_model=True)
        except _Abort:
            return None
        if self.b.readout is None:
            if self.b.readout_seen:
                return None  # the readout statement itself was reported
            self.bag.error(
                "E0513",
                f"model `{decl.name}` has no readout",
                decl.name_span,
                label="no readout",
                help="end the model with e.g. `readout probs(q[0]) -> classes 2`",
            )
            return None
        return self.finish(decl, n, input_kind, num_features)

    def model_inputs(self, decl: A.ModelDecl, env: _Env) -> tuple[str, int]:
        """The input kind and feature count of a model's parameter list."""
        input_kind, num_features = "none", 0
        for p in decl.params:
            if p.type.name == "state":
                if input_kind != "none":
                    self.fail("E0509", "a model has at most one input", p.span)
                input_kind = "state"
            elif p.type.name in ("float", "angles", "angle") and p.type.size is not None:
                if input_kind != "none":
                    self.fail("E0509", "a model has at most one input", p.span)
                num_features = self.integer(p.type.size, env, "the feature count")
                if not 1 <= num_features <= MAX_VECTOR:
                    self.fail(
                        "E0306",
                        f"a feature vector needs 1 to {MAX_VECTOR} entries, got {num_features}",
                        p.type.size.span,
                    )
                input_kind = "features"
                env.set(p.name, SymVec(tuple(E.x(i) for i in range(num_features))))
            elif p.default is not None:
                env.set(p.name, self.expr(p.default, env))
            else:
                self.fail(
                    "E0509",
                    f"model input `{p.name}: {p.type.name}` is not supported",
                    p.span,
                    help="a model takes `name: float[N]` (features), `name: state` "
                    "(quantum data), or parameters with defaults",
                )
        return input_kind, num_features

    def finish(self, decl: A.ModelDecl, n: int, input_kind: str, num_features: int) -> Model:
        """Renumber block parameters after the model's, build and verify the circuit."""
        m = self.b.num_model_params
        ops = tuple(
            op.with_angles(tuple(_renumber(a, m) for a in op.angles))
            if self.b.num_block_params and op.angles
            else op  # nothing to renumber: no copy (a circuit may have 100,000 ops)
            for op in self.b.ops
        )
        inits = tuple(
            ParamInit(
                p.name,
                p.start - _BLOCK_BASE + m if p.start >= _BLOCK_BASE else p.start,
                p.size,
                p.kind,
                p.args,
            )
            for p in self.b.inits
        )
        num_params = m + self.b.num_block_params
        circuit = Circuit(
            n,
            ops,
            num_params,
            num_features,
            0,
            self.b.readout,
            state_input=input_kind == "state",
            name=decl.name,
        )
        verify(circuit)
        return Model(
            decl.name,
            circuit,
            n,
            num_params,
            num_features,
            inits,
            input_kind,
            (num_features,) if input_kind == "features" else (),
            self.b.readout_scale,
            span=decl.span,
        )


_MAX_CALL_LABELS = 6


def values_of(angles: list[E.Expr]) -> list[float]:
    """The values of constant angle expressions."""
    return [a.constant_value for a in angles]


def _trip_count(items: range | tuple[Any, ...]) -> int:
    """Iterations of a loop over ``items`` (a range's arithmetic, for bounds of any size)."""
    if isinstance(items, tuple):
        return len(items)
    span = items.stop - items.start if items.step > 0 else items.start - items.stop
    return max(0, -(-span // abs(items.step)))


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


def _type_words(p: A.Param) -> str:
    words = {
        "qubits": "qubits",
        "qubit": "a qubit",
        "int": "an integer",
        "float": "a number or angle",
        "angle": "a number or angle",
        "bool": "a bool",
        "str": "a string",
        "gate": "a gate",
        "gates": "a list of gates",
        "angles": "a vector of angles",
        "list": "a list",
    }
    if p.type.size is not None:
        return "a vector of angles"
    return words.get(p.type.name, p.type.name)


def _bytes(n: int) -> str:
    """The size of an ``n``-qubit complex128 state, 2**(n + 4) bytes, without computing it
    (``n`` may be a billion)."""
    exponent = n + 4
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = min(exponent // 10, len(units) - 1)
    rest = exponent - 10 * i
    return f"{1 << rest} {units[i]}" if rest <= 20 else f"2^{exponent} bytes"


def _renumber(angle: E.Expr, num_model_params: int) -> E.Expr:
    """Move block parameters from ``_BLOCK_BASE + j`` to ``num_model_params + j``."""
    if not any(s.kind == E.THETA and s.index >= _BLOCK_BASE for s in angle.symbols()):
        return angle

    def move(s: E.Sym) -> E.Sym:
        if s.kind == E.THETA and s.index >= _BLOCK_BASE:
            return E.Sym(E.THETA, s.index - _BLOCK_BASE + num_model_params)
        return s

    return E.Expr.from_terms((tuple(move(s) for s in mono), c) for mono, c in angle.terms)


# ---- targets and noise --------------------------------------------------------------------------


def _fidelity_to_p(fidelity: float, num_qubits: int) -> float:
    """Depolarizing probability with average gate fidelity ``fidelity`` (F = 1 − p(d−1)/d)."""
    d = 2**num_qubits
    return (1.0 - fidelity) * d / (d - 1)


def _kw(value: Any, key: str, default: float) -> float:
    return float(value.get(key, default)) if isinstance(value, CallValue) else default


def noise_model(options: dict[str, Any]) -> NoiseModel:
    """A ``NoiseModel`` from resolved target/noise options (times in µs)."""
    dep = options.get("depolarizing")
    fid = options.get("fidelity")
    p1, p2 = _kw(dep, "1q", 0.0), _kw(dep, "2q", 0.0)
    if isinstance(fid, CallValue):
        p1 = p1 or _fidelity_to_p(_kw(fid, "1q", 1.0), 1)
        p2 = p2 or _fidelity_to_p(_kw(fid, "2q", 1.0), 2)
    ro = options.get("readout_error")
    gt = options.get("gate_time")
    return NoiseModel(
        depolarizing_1q=p1,
        depolarizing_2q=p2,
        readout_error=(_kw(ro, "p01", 0.0), _kw(ro, "p10", 0.0)),
        t1=options.get("t1"),
        t2=options.get("t2"),
        time_1q=_kw(gt, "1q", 0.0),
        time_2q=_kw(gt, "2q", 0.0),
        shots=options.get("shots"),
    )


def coupling_pairs(coupling: Any, n: int) -> tuple[tuple[int, int], ...] | None:
    """Coupled pairs ``(a, b)`` with ``a < b`` for a keyword or list; None if impossible."""
    if isinstance(coupling, tuple):
        return tuple(sorted({(min(a, b), max(a, b)) for a, b in coupling}))
    match coupling:
        case "chain":
            return tuple((i, i + 1) for i in range(n - 1))
        case "ring":
            return tuple(
                sorted({(i, i + 1) for i in range(n - 1)} | ({(0, n - 1)} if n > 2 else set()))
            )
        case "full":
            return tuple((a, b) for a in range(n) for b in range(a + 1, n))
        case "heavy_hex":
            return FALCON_27_EDGES if n == 27 else None
        case "grid":
            side = math.isqrt(n)
            if side * side != n:
                return None
            pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
            pairs += [
                (r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)
            ]
            return tuple(sorted(pairs))
    return tuple((a, b) for a in range(n) for b in range(a + 1, n))


def build_target(
    spec: TargetSpec, noise: dict[str, NoiseSpec], bag: DiagnosticBag
) -> Target | None:
    """A ``Target`` from a checked ``target`` declaration."""
    opts = spec.options
    n = opts.get("qubits")
    if not isinstance(n, int):
        return None
    pairs = coupling_pairs(opts.get("coupling", "full"), n)
    if pairs is None:
        bag.error(
            "E0604",
            f"coupling `{opts.get('coupling')}` is not available for {n} qubits",
            spec.span,
            help="heavy_hex needs 27 qubits and grid a square number; "
            "or give the pairs explicitly: coupling [(0, 1), (1, 2)]",
        )
        return None
    basis = tuple(g for g in (gate_by_name(b) for b in opts.get("basis", ())) if g is not None)
    basis = basis or tuple(g for g in Gate if g is not Gate.AMPLITUDE)
    noise_opts = dict(opts)
    named = opts.get("noise")
    if isinstance(named, str) and named in noise:
        # `fidelity` and `depolarizing` say the same thing: the target's one overrides both
        inherited = dict(noise[named].options)
        if "fidelity" in opts or "depolarizing" in opts:
            inherited.pop("fidelity", None)
            inherited.pop("depolarizing", None)
        noise_opts = {**inherited, **{k: v for k, v in opts.items() if k != "noise"}}
    for code, problem, hint in noise_problems(noise_opts):
        bag.error(code, f"target `{spec.name}`: {problem}", spec.span, help=hint)
    return Target(spec.name, n, basis, pairs, noise_model(noise_opts))


def noise_problems(options: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(code, problem, hint)`` for noise options that would be ignored or are unphysical.

    Checked on a target's merged options (its own over those of its ``noise``).
    """
    out = []
    times = [k for k in ("t1", "t2") if options.get(k) is not None]
    if times and "gate_time" not in options:
        out.append(
            (
                "E0522",
                f"`{times[0]}` has no effect without `gate_time` (qubits relax only during gates)",
                "add `gate_time(1q = …, 2q = …)`",
            )
        )
    if "gate_time" in options and not times:
        out.append(
            (
                "E0522",
                "`gate_time` has no effect without `t1` or `t2`",
                "add `t1 …` and/or `t2 …`, or drop `gate_time`",
            )
        )
    if "fidelity" in options and "depolarizing" in options:
        out.append(
            (
                "E0522",
                "`fidelity` and `depolarizing` both set the depolarizing probabilities",
                "give one of them",
            )
        )
    t1, t2 = options.get("t1"), options.get("t2")
    if t1 is not None and t2 is not None and t2 > 2 * t1:
        out.append(
            (
                "E0523",
                f"T2 = {t2:g}us exceeds 2·T1 = {2 * t1:g}us, which no physical qubit allows",
                "T2 is at most 2·T1",
            )
        )
    return out


# ---- models against their data ---------------------------------------------------------------

_QUANTUM_SOURCES = {"builtin.aubry_andre": 10, "builtin.ising": 8, "builtin.cluster_ising": 8}
"""Quantum-data generators and their default number of qubits (``qadl.learn.quantum_data``)."""


def _data_fit_problem(model: Model, data: DataSpec) -> tuple[str, str] | None:
    """Why ``model`` cannot consume ``data`` as (code, message), or None.

    Data files are checked when they are read (E0704).
    """
    m, d = f"model `{model.name}`", f"`{data.name}`"
    if data.source == "builtin.digits":
        h, w = data.options.get("size", (16, 16))
        if model.input_kind != "features":
            return "E0514", f"{m} does not take features, but {d} holds images"
        if model.num_features != h * w:
            return "E0515", (
                f"{m} takes {model.num_features} features but {d} images have "
                f"{h * w} pixels ({h}x{w})"
            )
    elif data.source in _QUANTUM_SOURCES:
        n = data.options.get("qubits", _QUANTUM_SOURCES[data.source])
        if model.input_kind != "state":
            return "E0514", (
                f"{m} does not take a quantum state, but {d} holds quantum data "
                "(declare the input as `psi: state`)"
            )
        if model.num_qubits != n:
            return "E0515", f"{m} has {model.num_qubits} qubits but {d} states have {n}"
    return None


def _check_data_fit(program: CheckedProgram, models: dict[str, Model], bag: DiagnosticBag) -> None:
    """Report trainings and evaluations whose data cannot feed their model."""
    robust = {d.result: d.model for d in program.defences}
    uses = [(t.model, t.data.dataset, t.span) for t in program.trainings]
    uses += [(m, e.data.dataset, e.span) for e in program.evaluations for m in e.models]
    for name, dataset, span in uses:
        model = models.get(robust.get(name, name))
        data = program.datasets.get(dataset)
        if model is None or data is None:
            continue
        problem = _data_fit_problem(model, data)
        if problem is not None:
            bag.error(
                problem[0],
                problem[1],
                span,
                label="model and data do not fit",
                help="the model's input must match the data's shape",
            )


# ---- entry points -------------------------------------------------------------------------------


@contextlib.contextmanager
def _deep_stack(limit: int = 20_000) -> Iterator[None]:
    """Room for the evaluator's recursion: blocks (<= 64 calls) times expressions (<= 120 deep).

    Both depths are capped with diagnostics, so the product stays far below ``limit``.
    """
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def lower_model(program: CheckedProgram, name: str) -> Model:
    """Lower one model of a checked program.

    Raises:
        QadlError: value-level problems (qubit ranges, shapes, non-polynomial angles).
    """
    bag = DiagnosticBag()
    d = program.models[name]
    with _deep_stack():
        model = _Lowerer(program, bag).model(d.node, d.module)
    bag.raise_if_errors()
    assert model is not None
    return model


def lower_program(program: CheckedProgram) -> Program:
    """Lower every model and assemble the run-time ``Program``.

    Raises:
        QadlError: every problem found in any model (up to ``MAX_ERRORS``).
    """
    bag = DiagnosticBag()
    lowerer = _Lowerer(program, bag)
    models: dict[str, Model] = {}
    for name, d in program.models.items():
        if d.module != program.root:
            continue  # models of imported files are compiled only if the root names them
        with _deep_stack():
            model = lowerer.model(d.node, d.module)
        if model is not None:
            models[name] = model
    targets = {}
    for name, spec in program.targets.items():
        target = build_target(spec, program.noise_models, bag)
        if target is not None:
            targets[name] = target
    _check_data_fit(program, models, bag)
    for device in program.devices:
        model, target = models.get(device.model), targets.get(device.target)
        if model is not None and target is not None and model.num_qubits > target.num_qubits:
            bag.error(
                "E0605",
                f"model `{model.name}` needs {model.num_qubits} qubits but target "
                f"`{target.name}` has {target.num_qubits}",
                device.span,
                label="does not fit",
            )
    bag.raise_if_errors()
    return Program(
        program.root,
        models,
        program.datasets,
        program.trainings,
        program.attacks,
        program.defences,
        program.evaluations,
        targets,
        {n: noise_model(s.options) for n, s in program.noise_models.items()},
        {d.model: d.target for d in program.devices},
        dict(program.targets),
        dict(program.noise_models),
        program.sources,
    )
