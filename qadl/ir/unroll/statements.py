"""Unrolling statements: loops, conditionals, ``let``, ``param`` and gate or block calls.

Loops are unrolled and blocks inlined with their arguments bound (depth-limited); an error
skips only its statement. ``param`` vectors of the model are numbered first; those of
block calls from ``BLOCK_BASE`` on, moved after the model's when the circuit is finished.
"""

from __future__ import annotations

import math
from typing import Any

from qadl.check.limits import MAX_OPS, MAX_TRIPS, MAX_VECTOR
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.evaluate.values import (
    POISONED,
    BlockRef,
    Env,
    GateRef,
    QReg,
    Skip,
    SymVec,
    describe,
    is_num,
    plain,
)
from qadl.ir.inverse import inverse_ops
from qadl.ir.unroll.binding import Binding
from qadl.ir.unroll.readout import Readouts
from qadl.program import ParamInit
from qadl.source import Span

__all__ = ["BLOCK_BASE", "MAX_CALL_DEPTH", "Statements", "inverse_target"]

MAX_CALL_DEPTH = 64
BLOCK_BASE = 1 << 40  # block params are numbered from here, then moved after the model's


class Statements(Binding, Readouts):
    """Runs the statements of model and block bodies into ops."""

    # -- statements -------------------------------------------------------------------------------
    def body(self, stmts: tuple[A.Stmt, ...], env: Env, *, in_model: bool = False) -> None:
        """Run statements in a new scope; an error skips only its statement."""
        env.frames.append({})
        for stmt in stmts:
            try:
                self.stmt(stmt, env, in_model)
            except Skip:
                continue
        env.frames.pop()

    def stmt(self, stmt: A.Stmt, env: Env, in_model: bool) -> None:
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

    def poisoned(self, name: str, env: Env, compute: Any, *args: Any) -> Any:
        """``compute(*args)``; when it fails, ``name`` is bound to ``POISONED`` so that its
        uses are skipped silently instead of each being reported as an unknown name."""
        try:
            return compute(*args)
        except Skip:
            env.set(name, POISONED)
            raise

    def for_stmt(self, stmt: A.For, env: Env) -> None:
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
                    f"cannot loop over {describe(items)}",
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

    def param(self, stmt: A.ParamStmt, env: Env, in_model: bool) -> Any:
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
            start = BLOCK_BASE + self.b.num_block_params
            self.b.num_block_params += size
            name = f"{env.frames[0].get('#block', 'block')}.{stmt.name}"
        self.b.inits.append(ParamInit(name, start, size, kind, args))
        items = tuple(E.theta(start + i) for i in range(size))
        return items[0] if stmt.size is None else SymVec(items)

    def init_spec(self, node: A.Expr | None, env: Env) -> tuple[str, tuple[float, ...]]:
        """``(kind, args)`` of an ``init`` clause (default ``uniform(0, 2π)``)."""
        if node is None:
            return "uniform", (0.0, 2 * math.pi)
        if isinstance(node, A.Name):
            return node.id, ()
        assert isinstance(node, A.Call) and isinstance(node.func, A.Name)  # the checker ensured it
        args = []
        for a in node.args:
            v = plain(self.expr(a.value, env))
            if not is_num(v):
                self.fail(
                    "E0315", f"initialiser arguments must be numbers, got {describe(v)}", a.span
                )
            args.append(float(v))
        expected = {"uniform": 2, "normal": 2, "constant": 1, "zeros": 0}[node.func.id]
        if len(args) != expected:
            self.fail(
                "E0301", f"`{node.func.id}` takes {expected} arguments, got {len(args)}", node.span
            )
        return node.func.id, tuple(args)

    # -- calls ----------------------------------------------------------------------------------
    def callee(self, name: A.Name, env: Env) -> GateRef | BlockRef:
        """The gate or block a call statement names."""
        value = self.lookup(name, env)
        if not isinstance(value, GateRef | BlockRef):
            self.fail(
                "E0319",
                f"`{name.id}` is {describe(value)}, not a gate",
                name.span,
                label="cannot be applied to qubits",
            )
        return value

    def call_stmt(self, stmt: A.CallStmt, env: Env) -> None:
        """Apply a built-in gate or inline a block."""
        builtin_inverse = stmt.name.id == "inverse" and not env.get("inverse")[0]
        if builtin_inverse and self.scope(env).lookup("inverse") is None:
            self.inverse_call(stmt, env)
            return
        callee = self.callee(stmt.name, env)
        if isinstance(callee, BlockRef):
            self.block_call(callee, stmt, env)
        else:
            self.gate_call(callee.gate, stmt, env)

    def inverse_call(self, stmt: A.CallStmt, env: Env) -> None:
        """``inverse(g(args)) qubits``: lower the call, then reverse and invert its ops."""
        inner = inverse_target(stmt)
        if inner is None:
            self.fail(
                "E0554",
                "`inverse` takes one gate or block call",
                stmt.span,
                help="e.g. `inverse(zz_feature_map(q, x))` or `inverse(rx(0.5)) q[0]`",
            )
        start = len(self.b.ops)
        self.call_stmt(inner, env)
        inverted = inverse_ops(self.b.ops[start:])
        if isinstance(inverted, Op):
            self.fail(
                "E0555",
                f"`{inverted.gate.value}` has no inverse in a circuit",
                stmt.span,
                label="cannot be inverted",
                help="amplitude encoding prepares a state from |0…0⟩; it is not a unitary gate",
            )
        self.b.ops[start:] = inverted

    def block_call(self, block: BlockRef, stmt: A.CallStmt, env: Env) -> None:
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
        callee_env = Env(block.module)
        callee_env.frames[0] = {**bound, "#block": f"{decl.name}#{self.b.block_calls - 1}"}
        self.depth += 1
        self.calls.append((stmt.span, decl.name))
        try:
            self.body(decl.body, callee_env)
        finally:
            self.calls.pop()
            self.depth -= 1


def inverse_target(stmt: A.CallStmt) -> A.CallStmt | None:
    """The call inside ``inverse(...)`` as a statement with the outer qubits, or None."""
    args = stmt.args or ()
    if len(args) != 1 or args[0].name is not None:
        return None
    value = args[0].value
    if isinstance(value, A.Name):
        return A.CallStmt(value, None, stmt.qubits, span=stmt.span)
    if isinstance(value, A.Call) and isinstance(value.func, A.Name):
        return A.CallStmt(value.func, value.args, stmt.qubits, span=stmt.span)
    return None


def _trip_count(items: range | tuple[Any, ...]) -> int:
    """Iterations of a loop over ``items`` (a range's arithmetic, for bounds of any size)."""
    if isinstance(items, tuple):
        return len(items)
    span = items.stop - items.start if items.step > 0 else items.start - items.stop
    return max(0, -(-span // abs(items.step)))
