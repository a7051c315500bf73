"""Name resolution inside gate and model bodies, with did-you-mean suggestions.

This is a static pass: it walks every body once with nested scopes and reports unknown
gates, blocks, registers and variables, and keyword arguments a block does not take.
Values (loop bounds, qubit indices) are checked later, when lowering evaluates them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from qadl.check.builtins import BUILTIN_CONSTANTS, BUILTIN_GATES, INIT_FUNCTIONS, MATH_FUNCTIONS
from qadl.check.scope import KIND_WORDS, ModuleScope
from qadl.diagnostics import DiagnosticBag
from qadl.frontend import ast as A

__all__ = ["check_body_names", "did_you_mean"]

_FUNCTIONS = (*MATH_FUNCTIONS, "len", *INIT_FUNCTIONS)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """``did you mean `x`?`` for the closest candidate, if one is close enough."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


class _Walker:
    """Walks one body; ``frames`` holds the names bound by params, lets and loops."""

    def __init__(self, scope: ModuleScope, bag: DiagnosticBag, in_model: bool) -> None:
        self.scope = scope
        self.bag = bag
        self.in_model = in_model
        self.frames: list[set[str]] = []

    # -- scopes ---------------------------------------------------------------------------------
    def locals(self) -> set[str]:
        """Every name bound by an enclosing frame."""
        return set().union(*self.frames) if self.frames else set()

    def bind(self, name: str) -> None:
        """Bind a name in the innermost frame."""
        self.frames[-1].add(name)

    def value_names(self) -> set[str]:
        """Every name an expression here may use (for did-you-mean)."""
        consts = {n for n, d in self.scope.visible.items() if d.kind in ("const", "gate")}
        return (
            self.locals() | consts | set(BUILTIN_CONSTANTS) | set(BUILTIN_GATES) | set(_FUNCTIONS)
        )

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, node: A.Expr | A.Slice | None) -> None:
        """Report unknown names in an expression."""
        match node:
            case None | A.Number() | A.String() | A.Quantity() | A.Dims():
                return
            case A.Name():
                if node.id not in self.value_names():
                    self._unknown_name(node)
            case A.ListExpr():
                for item in node.items:
                    self.expr(item)
            case A.TupleExpr():
                for arg in node.args:
                    self.expr(arg.value)
            case A.Call():
                if isinstance(node.func, A.Name) and node.func.id in _FUNCTIONS:
                    pass
                else:
                    self.expr(node.func)
                for arg in node.args:
                    self.expr(arg.value)
            case A.Index():
                self.expr(node.base)
                self.expr(node.index)
            case A.Slice():
                self.expr(node.start)
                self.expr(node.stop)
            case A.Attribute():
                self.expr(node.base)
            case A.Unary():
                self.expr(node.operand)
            case A.Binary() | A.Compare():
                self.expr(node.left)
                self.expr(node.right)
            case A.Conditional():
                self.expr(node.cond)
                self.expr(node.then)
                self.expr(node.otherwise)

    def _unknown_name(self, node: A.Name) -> None:
        """E0202, or E0222 when the name is a definition of the wrong kind."""
        definition = self.scope.lookup(node.id)
        if definition is not None:
            self.bag.error(
                "E0222",
                f"{KIND_WORDS[definition.kind]} cannot be used in a circuit expression",
                node.span,
                label=f"`{node.id}` is {KIND_WORDS[definition.kind]}",
            )
            return
        self.bag.error(
            "E0202",
            f"unknown name `{node.id}`",
            node.span,
            label="not defined here",
            help=did_you_mean(node.id, self.value_names()),
        )

    # -- statements -------------------------------------------------------------------------------
    def body(self, stmts: tuple[A.Stmt, ...]) -> None:
        """Walk statements in a new frame."""
        self.frames.append(set())
        for stmt in stmts:
            self.stmt(stmt)
        self.frames.pop()

    def stmt(self, stmt: A.Stmt) -> None:
        """Walk one statement, binding the names it introduces."""
        match stmt:
            case A.CallStmt():
                self.call(stmt)
            case A.For():
                self.expr(stmt.start)
                self.expr(stmt.stop)
                self.expr(stmt.step)
                self.frames.append({stmt.var})
                self.body(stmt.body)
                self.frames.pop()
            case A.If():
                self.expr(stmt.cond)
                self.body(stmt.then)
                if stmt.otherwise is not None:
                    self.body(stmt.otherwise)
            case A.Let():
                self.expr(stmt.value)
                self.bind(stmt.name)
            case A.ParamStmt():
                self.expr(stmt.size)
                if stmt.init is not None:
                    self.init(stmt.init)
                self.bind(stmt.name)
            case A.ReadoutStmt():
                self.readout(stmt)

    def init(self, node: A.Expr) -> None:
        """An ``init`` clause must name a known initialiser."""
        name = (
            node.func.id
            if isinstance(node, A.Call) and isinstance(node.func, A.Name)
            else (node.id if isinstance(node, A.Name) else None)
        )
        if name not in INIT_FUNCTIONS:
            self.bag.error(
                "E0230",
                "unknown parameter initialiser",
                node.span,
                label="expected uniform(a, b), normal(mean, std), zeros or constant(v)",
                help=did_you_mean(name, INIT_FUNCTIONS) if name else None,
            )
            return
        if isinstance(node, A.Call):
            for arg in node.args:
                self.expr(arg.value)

    def readout(self, stmt: A.ReadoutStmt) -> None:
        """A readout is only allowed in a model; its qubits must be known."""
        if not self.in_model:
            self.bag.error(
                "E0503",
                "`readout` is only allowed in a model",
                stmt.span,
                label="inside a gate block",
            )
        for obs in stmt.observables:
            for factor in obs.factors:
                self.qubit(factor.qubit)
        for opt in stmt.options:
            self.expr(opt.value)

    def qubit(self, ref: A.QubitRef) -> None:
        """A qubit reference must name a register in scope."""
        if ref.register.id not in self.locals():
            self.bag.error(
                "E0203",
                f"unknown qubit register `{ref.register.id}`",
                ref.register.span,
                label="not a register or qubit parameter",
                help=did_you_mean(ref.register.id, self.locals()),
            )
        self.expr(ref.index)

    def call(self, stmt: A.CallStmt) -> None:
        """A call must name a gate, a block or a gate-valued variable."""
        builtin_inverse = stmt.name.id == "inverse" and "inverse" not in self.locals()
        if builtin_inverse and self.scope.lookup("inverse") is None:
            self.inverse(stmt)
            return
        for ref in stmt.qubits:
            self.qubit(ref)
        for arg in stmt.args or ():
            self.expr(arg.value)
        name = stmt.name.id
        if name in self.locals():
            return  # a gate-valued parameter or loop variable: checked when lowered
        definition = self.scope.lookup(name)
        if definition is None and name in BUILTIN_GATES:
            self._builtin_arity(stmt)
        elif definition is None:
            gates = {n for n, d in self.scope.visible.items() if d.kind == "gate"}
            self.bag.error(
                "E0201",
                f"unknown gate or block `{name}`",
                stmt.name.span,
                label="not defined here",
                help=did_you_mean(name, gates | set(BUILTIN_GATES) | self.locals()),
            )
        elif definition.kind != "gate":
            self.bag.error(
                "E0221",
                f"`{name}` is {KIND_WORDS[definition.kind]}, not a gate block",
                stmt.name.span,
                label="cannot be called in a circuit",
            )
        else:
            self._block_arity(stmt, definition.node)

    def inverse(self, stmt: A.CallStmt) -> None:
        """``inverse(g(args)) qubits``: one gate or block call, checked like the call itself."""
        args = stmt.args or ()
        value = args[0].value if len(args) == 1 and args[0].name is None else None
        if isinstance(value, A.Name):
            self.call(A.CallStmt(value, None, stmt.qubits, span=stmt.span))
        elif isinstance(value, A.Call) and isinstance(value.func, A.Name):
            self.call(A.CallStmt(value.func, value.args, stmt.qubits, span=stmt.span))
        else:
            self.bag.error(
                "E0554",
                "`inverse` takes one gate or block call",
                stmt.span,
                label="not a single call",
                help="e.g. `inverse(zz_feature_map(q, x))` or `inverse(rx(0.5)) q[0]`",
            )

    def _builtin_arity(self, stmt: A.CallStmt) -> None:
        """Angle count, keyword arguments and qubit operands of a built-in gate."""
        _, angles = BUILTIN_GATES[stmt.name.id]
        args = stmt.args or ()
        if any(a.name is not None for a in args):
            bad = next(a for a in args if a.name is not None)
            self.bag.error(
                "E0302",
                f"built-in gate `{stmt.name.id}` takes no keyword arguments",
                bad.span,
                label="keyword argument",
            )
        elif len(args) != angles:
            self.bag.error(
                "E0301",
                f"`{stmt.name.id}` takes {angles} angle argument{'s' if angles != 1 else ''}, "
                f"got {len(args)}",
                stmt.span
                if stmt.args is None
                else stmt.name.span.merge(args[-1].span)
                if args
                else stmt.span,
                label="wrong number of arguments",
                help=f"write `{stmt.name.id}({', '.join(['a'] * angles)}) q[0]`"
                if angles
                else f"write `{stmt.name.id} q[0]`",
            )
        if not stmt.qubits:
            self.bag.error(
                "E0404",
                f"gate `{stmt.name.id}` needs qubit operands",
                stmt.span,
                label="no qubits",
                help=f"e.g. `{stmt.name.id}{'(a)' if angles else ''} q[0]`",
            )

    def _block_arity(self, stmt: A.CallStmt, decl: A.GateDecl) -> None:
        """Positional count, unknown, repeated and missing arguments of a block call."""
        names = [p.name for p in decl.params]
        args = stmt.args or ()
        positional = len(stmt.qubits) + sum(a.name is None for a in args)
        if positional > len(names):
            self.bag.error(
                "E0301",
                f"`{decl.name}` takes {len(names)} argument"
                f"{'s' if len(names) != 1 else ''}, got {positional}",
                stmt.span,
                label="too many arguments",
            )
            return
        given = set(names[:positional])
        for arg in args:
            if arg.name is None:
                continue
            if arg.name not in names:
                self.bag.error(
                    "E0302",
                    f"`{decl.name}` has no parameter `{arg.name}`",
                    arg.span,
                    label="unknown keyword argument",
                    help=did_you_mean(arg.name, names) or f"parameters: {', '.join(names)}",
                )
            elif arg.name in given:
                self.bag.error(
                    "E0303", f"argument `{arg.name}` given twice", arg.span, label="already given"
                )
            given.add(arg.name)
        missing = [p.name for p in decl.params if p.default is None and p.name not in given]
        if missing:
            self.bag.error(
                "E0304",
                f"missing argument{'s' if len(missing) > 1 else ''} "
                f"{', '.join(f'`{m}`' for m in missing)} for `{decl.name}`",
                stmt.span,
                label="in this call",
            )


def check_body_names(
    decl: A.GateDecl | A.ModelDecl | A.KernelDecl, scope: ModuleScope, bag: DiagnosticBag
) -> None:
    """Report every unresolved name in one gate block, model or kernel."""
    # a kernel's readout is refused by the kernel checker (E0330), not as a gate's
    walker = _Walker(scope, bag, in_model=isinstance(decl, A.ModelDecl | A.KernelDecl))
    frame = {p.name for p in decl.params}
    if isinstance(decl, A.ModelDecl | A.KernelDecl):
        frame.add(decl.register)
    walker.frames.append(frame)
    for param in decl.params:
        walker.expr(param.type.size)
        walker.expr(param.default)
    if isinstance(decl, A.ModelDecl | A.KernelDecl):
        walker.expr(decl.size)
    walker.body(decl.body)
