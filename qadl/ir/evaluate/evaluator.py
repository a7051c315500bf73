"""Names and expressions of the lowering, evaluated to compile-time values or angles."""

from __future__ import annotations

from typing import Any

from qadl.check.builtins import BUILTIN_CONSTANTS, MATH_FUNCTIONS
from qadl.check.limits import MAX_LIST, float_ok, int_too_large, list_measure
from qadl.check.scope import ModuleScope
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.evaluate.arithmetic import Arithmetic
from qadl.ir.evaluate.values import (
    POISONED,
    BlockRef,
    Env,
    GateRef,
    QReg,
    Skip,
    SymVec,
    as_expr,
    describe,
    is_num,
    plain,
)
from qadl.ir.gates import gate_by_name
from qadl.source import Span

__all__ = ["Evaluator"]


class Evaluator(Arithmetic):
    """Evaluates compile-time expressions and reports errors; ``unroll`` adds the
    statements. One instance per program."""

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
