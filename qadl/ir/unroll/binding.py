"""Binding the arguments of a block call to the block's parameters, checked by type."""

from __future__ import annotations

from typing import Any

from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.evaluate.values import (
    BlockRef,
    Env,
    GateRef,
    QReg,
    SymVec,
    as_expr,
    describe,
    is_num,
    plain,
)
from qadl.ir.unroll.gates import GateCalls
from qadl.source import Span

__all__ = ["Binding"]


class Binding(GateCalls):
    """Positional, keyword and default arguments of block calls, converted to their types."""

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
