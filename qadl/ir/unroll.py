"""Unrolling: the statements of model and block bodies, run at compile time into gates.

Loops are unrolled, blocks inlined with their arguments bound, ``param`` vectors numbered
(the model's own first, in declaration order, then the fresh parameters of block calls in
call order) and the readout resolved. Problems only visible with values (a qubit index past
the register, a vector of the wrong length) are reported with their spans.
"""

from __future__ import annotations

import math
from typing import Any

from qadl.check.limits import (
    MAX_AMPLITUDE_QUBITS,
    MAX_OPS,
    MAX_SIM_QUBITS,
    MAX_STEPS,
    MAX_TRIPS,
    MAX_VECTOR,
)
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.evaluate.evaluator import Evaluator
from qadl.ir.evaluate.values import (
    POISONED,
    Abort,
    BlockRef,
    Builder,
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
from qadl.ir.gates import GATES, Gate
from qadl.ir.inverse import inverse_ops
from qadl.ir.verify import verify
from qadl.program import Model, ParamInit
from qadl.source import Span

__all__ = ["MAX_CALL_DEPTH", "Lowerer"]

MAX_CALL_DEPTH = 64
_BLOCK_BASE = 1 << 40  # block params are numbered from here, then moved after the model's


class Lowerer(Evaluator):
    """Runs model and block bodies into a circuit; one instance per program."""

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
            start = _BLOCK_BASE + self.b.num_block_params
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

    # -- gate and block calls ---------------------------------------------------------------------
    def qubits_of(self, refs: tuple[A.QubitRef, ...], env: Env) -> list[tuple[QReg, A.QubitRef]]:
        """Registers named by qubit references, with their references for spans."""
        out = []
        for ref in refs:
            reg = self.lookup(ref.register, env)
            if not isinstance(reg, QReg):
                self.fail(
                    "E0318",
                    f"`{ref.register.id}` is {describe(reg)}, not qubits",
                    ref.register.span,
                    label="not a qubit register",
                )
            if ref.index is not None:
                reg = self.index(reg, ref.index, env, ref.span)
            out.append((reg, ref))
        return out

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

    def gate_call(self, gate: Gate, stmt: A.CallStmt, env: Env) -> None:
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
        self, stmt: A.CallStmt, args: tuple[A.Arg, ...], qubits: list[int], env: Env
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
            self.fail("E0306", f"`amplitude` needs a vector, got {describe(vec)}", args[0].span)
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

    def angle(self, node: A.Expr, env: Env) -> E.Expr:
        """Evaluate an angle argument."""
        return self.to_angle(self.expr(node, env), node.span)

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

    def bind(self, decl: A.GateDecl, module: str, stmt: A.CallStmt, env: Env) -> dict[str, Any]:
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
        defaults_env = Env(module)
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

    def convert(self, value: Any, p: A.Param, env: Env, span: Span, block: str) -> Any:
        """Check an argument against its parameter's type; normalise vectors and gate lists."""
        kind = p.type.name
        value = plain(value)
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
                        f"{bad} a single qubit, got {describe(value)}",
                        span,
                        label="a register",
                    )
            case "int":
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
            case "float" | "angle" if p.type.size is None:
                if is_num(value) or isinstance(value, E.Expr):
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
            "E0309", f"{bad} {_type_words(p)}, got {describe(value)}", span, label="wrong type"
        )

    def vector(self, value: Any, p: A.Param, env: Env, span: Span, bad: str) -> SymVec:
        """An ``angles``/``float[N]`` argument as a ``SymVec`` of the declared length."""
        if isinstance(value, SymVec):
            vec = value
        elif isinstance(value, tuple) and all(as_expr(plain(v)) is not None for v in value):
            vec = SymVec(tuple(as_expr(plain(v)) for v in value))
        else:
            self.fail(
                "E0309", f"{bad} {_type_words(p)}, got {describe(value)}", span, label="wrong type"
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
    def readout(self, stmt: A.ReadoutStmt, env: Env, in_model: bool) -> None:
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
            opts[opt.key] = plain(self.expr(opt.value, env))
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
        if not is_num(scale) or scale <= 0:
            self.fail("E0502", "`scale` must be a positive number", stmt.span)
        self.b.readout_scale = float(scale)

    def readout_probs(self, stmt: A.ReadoutStmt, env: Env, classes: int | None) -> None:
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

    def readout_expval(self, stmt: A.ReadoutStmt, env: Env, classes: int | None) -> None:
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
    def model(
        self, decl: A.ModelDecl | A.KernelDecl, module: str, *, feature_map: bool = False
    ) -> Model | None:
        """Lower one model to a ``Model``, or None after recording its errors.

        ``feature_map``: a kernel's body, which has no readout (``Model.circuit.readout`` None).
        """
        # the step budget is the program's: a file of many heavy models must not add them up
        if self.b.steps > MAX_STEPS:
            return None  # spent by an earlier model, which reported it
        self.b = Builder(decl.name, steps=self.b.steps)
        env = Env(module)
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
        except Skip:
            return None
        env.set(decl.register, QReg(tuple(range(n))))
        try:
            self.body(decl.body, env, in_model=True)
        except Abort:
            return None
        if self.b.readout is None and not feature_map:
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

    def model_inputs(self, decl: A.ModelDecl, env: Env) -> tuple[str, int]:
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


def values_of(angles: list[E.Expr]) -> list[float]:
    """The values of constant angle expressions."""
    return [a.constant_value for a in angles]


def _trip_count(items: range | tuple[Any, ...]) -> int:
    """Iterations of a loop over ``items`` (a range's arithmetic, for bounds of any size)."""
    if isinstance(items, tuple):
        return len(items)
    span = items.stop - items.start if items.step > 0 else items.start - items.stop
    return max(0, -(-span // abs(items.step)))


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
