"""Lark Transformer: parse tree -> AST, with spans taken from ``meta`` and tokens."""

from __future__ import annotations

import math
import re
from typing import Any

from lark import Token, Transformer, Tree, v_args

from qadl.errors import InternalError, QadlError
from qadl.frontend import ast as A
from qadl.source import NO_SPAN, Span

__all__ = ["AstBuilder", "build"]

_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s)")
_PI_NUMBER = re.compile(r"([0-9]+(?:\.[0-9]+)?)(?:π|pi)")
MAX_INT = 2**63 - 1
"""Largest integer literal (64-bit signed, as in OpenQASM and NumPy)."""


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}…{text[-10:]} ({len(text)} characters)"


def _too_large(text: str, span: Span, kind: str) -> QadlError:
    return QadlError.at(
        "E0121",
        f"number too large: `{_shown(text)}`",
        span,
        label=f"does not fit in a {kind}",
        help=f"integers go up to {MAX_INT:,} (2**63 - 1) and other numbers up to about 1.8e308",
    )


def _integer(text: str, span: Span) -> int:
    """An ASCII digit string as an int, refusing values past ``MAX_INT`` before converting."""
    digits = text.lstrip("0")
    if len(digits) > len(str(MAX_INT)) or (digits and int(digits) > MAX_INT):
        raise _too_large(text, span, "64-bit integer")
    return int(digits or "0")


def _float(text: str, span: Span) -> float:
    """A finite float; a literal that rounds to infinity or (being nonzero) to 0 is refused."""
    value = float(text)
    if not math.isfinite(value):
        raise _too_large(text, span, "64-bit float")
    mantissa = re.split("[eE]", text)[0]
    if value == 0.0 and mantissa.strip("0.") != "":
        raise QadlError.at(
            "E0122",
            f"number too small: `{_shown(text)}` rounds to 0",
            span,
            label="smaller than the smallest 64-bit float",
            help="write 0 if 0 is meant; the smallest positive number is about 5e-324",
        )
    return value


def _number(text: str, span: Span) -> int | float:
    """An int when the literal has no fraction or exponent, else a float."""
    return _integer(text, span) if text.isdigit() else _float(text, span)


@v_args(meta=True)
class AstBuilder(Transformer):
    """Builds ``qadl.frontend.ast`` nodes; one method per grammar rule or alias.

    Rules without a method reach ``__default__``, which raises ``InternalError``: a grammar
    change without a builder is a bug, caught by ``tests/frontend/test_grammar.py``.
    """

    def __init__(self, path: str, text: str = "") -> None:
        super().__init__()
        self.path = path
        self.text = text

    # -- helpers ----------------------------------------------------------------------------
    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return NO_SPAN
        return Span(self.path, meta.start_pos, meta.end_pos)

    def _tok(self, tok: Token) -> Span:
        return Span(self.path, tok.start_pos, tok.end_pos)

    def _name(self, tok: Token) -> A.Name:
        return A.Name(str(tok), span=self._tok(tok))

    def __default__(self, data: str, children: list[Any], meta: Any) -> Any:
        raise InternalError(f"no AST builder for grammar rule `{data}`")

    # -- module and declarations ------------------------------------------------------------------
    def start(self, meta, children):
        """``start`` -> ``ast.Module``."""
        return A.Module(self.path, tuple(children), span=self._span(meta))

    def import_decl(self, meta, children):
        """``import_decl`` -> ``ast.Import``."""
        (target,) = children
        if isinstance(target, Token):
            return A.Import(None, str(target)[1:-1], span=self._span(meta))
        return A.Import(target, None, span=self._span(meta))

    def dotted_name(self, meta, children):
        """``dotted_name`` -> a tuple of its children."""
        return tuple(str(c) for c in children)

    def const_decl(self, meta, children):
        """``const_decl`` -> ``ast.ConstDecl``."""
        name, value = children
        return A.ConstDecl(str(name), value, span=self._span(meta), name_span=self._tok(name))

    def gate_decl(self, meta, children):
        """``gate_decl`` -> ``ast.GateDecl``."""
        name, params, body = children
        return A.GateDecl(
            str(name), params or (), body, span=self._span(meta), name_span=self._tok(name)
        )

    def model_decl(self, meta, children):
        """``model_decl`` -> ``ast.ModelDecl``."""
        name, params, register, size, body = children
        return A.ModelDecl(
            str(name),
            params or (),
            str(register),
            size,
            body,
            span=self._span(meta),
            name_span=self._tok(name),
        )

    def kernel_decl(self, meta, children):
        """``kernel_decl`` -> ``ast.KernelDecl`` (``type`` lines split from the feature map)."""
        name, params, register, size, body = children
        return A.KernelDecl(
            str(name),
            params or (),
            str(register),
            size,
            tuple(s for s in body if not isinstance(s, A.KernelType)),
            tuple(s for s in body if isinstance(s, A.KernelType)),
            span=self._span(meta),
            name_span=self._tok(name),
        )

    def kernel_body(self, meta, children):
        """``kernel_body`` -> a tuple of its children."""
        return tuple(children)

    def kernel_type(self, meta, children):
        """``kernel_type`` -> ``ast.KernelType``."""
        return A.KernelType(children[0], span=self._span(meta))

    def params(self, meta, children):
        """``params`` -> a tuple of its children."""
        return tuple(c for c in children if c is not None)

    def param(self, meta, children):
        """``param`` -> ``ast.Param``."""
        name, type_ref, default = children
        return A.Param(
            str(name), type_ref, default, span=self._span(meta), name_span=self._tok(name)
        )

    def type_ref(self, meta, children):
        """``type_ref`` -> ``ast.TypeRef``."""
        name, size = children
        return A.TypeRef(str(name), size, span=self._span(meta))

    def data_decl(self, meta, children):
        """``data_decl`` -> ``ast.DataDecl``."""
        name, source = children
        return A.DataDecl(str(name), source, span=self._span(meta), name_span=self._tok(name))

    def train_decl(self, meta, children):
        """``train_decl`` -> ``ast.TrainDecl``."""
        model, data, options = children
        return A.TrainDecl(self._name(model), data, options, span=self._span(meta))

    def attack_decl(self, meta, children):
        """``attack_decl`` -> ``ast.AttackDecl``."""
        name, model, options = children
        return A.AttackDecl(
            str(name), self._name(model), options, span=self._span(meta), name_span=self._tok(name)
        )

    def defend_decl(self, meta, children):
        """``defend_decl`` -> ``ast.DefendDecl``."""
        model, method, result, options = children
        return A.DefendDecl(
            self._name(model),
            method,
            str(result),
            options or (),
            span=self._span(meta),
            result_span=self._tok(result),
        )

    def evaluate_decl(self, meta, children):
        """``evaluate_decl`` -> ``ast.EvaluateDecl``."""
        models, data, under, options = children
        return A.EvaluateDecl(models, data, under, options or (), span=self._span(meta))

    def name_list(self, meta, children):
        """``name_list`` -> a tuple of its children."""
        return tuple(self._name(c) for c in children)

    def target_decl(self, meta, children):
        """``target_decl`` -> ``ast.TargetDecl``."""
        name, options = children
        return A.TargetDecl(str(name), options, span=self._span(meta), name_span=self._tok(name))

    def noise_decl(self, meta, children):
        """``noise_decl`` -> ``ast.NoiseDecl``."""
        name, options = children
        return A.NoiseDecl(str(name), options, span=self._span(meta), name_span=self._tok(name))

    def device_decl(self, meta, children):
        """``device_decl`` -> ``ast.DeviceDecl``."""
        model, target = children
        return A.DeviceDecl(self._name(model), self._name(target), span=self._span(meta))

    def sweep_decl(self, meta, children):
        """``sweep_decl`` -> ``ast.SweepDecl`` (several ``aggregate`` lines add up)."""
        *axes, body = children
        aggregate = tuple(name for names in body or () for name in names)
        return A.SweepDecl(tuple(axes), aggregate, span=self._span(meta))

    def sweep_axis(self, meta, children):
        """``sweep_axis`` -> ``ast.SweepAxis``."""
        name, values, stop, step = children
        return A.SweepAxis(self._name(name), values, stop, step, span=self._span(meta))

    def sweep_body(self, meta, children):
        """``sweep_body`` -> a tuple of its ``aggregate`` lines."""
        return tuple(children)

    def sweep_aggregate(self, meta, children):
        """``sweep_aggregate`` -> its names."""
        (names,) = children
        return names

    def options(self, meta, children):
        """``options`` -> a tuple of its children."""
        return tuple(children)

    def option(self, meta, children):
        """``option`` -> ``ast.Option``."""
        key, value = children
        return A.Option(str(key), value, span=self._span(meta), key_span=self._tok(key))

    readout_option = option

    # -- statements -------------------------------------------------------------------------------
    def body(self, meta, children):
        """``body`` -> a tuple of its children."""
        return tuple(children)

    def call_stmt(self, meta, children):
        """``call_stmt`` -> ``ast.CallStmt``."""
        name, args, qubits = children
        return A.CallStmt(self._name(name), args, qubits or (), span=self._span(meta))

    def call_args(self, meta, children):
        """``call_args`` -> the argument tuple (empty for ``()``)."""
        (args,) = children
        return args or ()

    def qubit_list(self, meta, children):
        """``qubit_list`` -> a tuple of its children."""
        return tuple(children)

    def qubit_ref(self, meta, children):
        """``qubit_ref`` -> ``ast.QubitRef``."""
        register, index = children
        return A.QubitRef(self._name(register), index, span=self._span(meta))

    def for_stmt(self, meta, children):
        """``for_stmt`` -> ``ast.For``."""
        var, start, stop, step, body = children
        return A.For(
            str(var), start, stop, step, body, span=self._span(meta), var_span=self._tok(var)
        )

    def if_stmt(self, meta, children):
        """``if_stmt`` -> ``ast.If``."""
        cond, then, otherwise = children
        if isinstance(otherwise, A.If):
            otherwise = (otherwise,)
        return A.If(cond, then, otherwise, span=self._span(meta))

    def let_stmt(self, meta, children):
        """``let_stmt`` -> ``ast.Let``."""
        name, value = children
        return A.Let(str(name), value, span=self._span(meta), name_span=self._tok(name))

    def param_stmt(self, meta, children):
        """``param_stmt`` -> ``ast.ParamStmt``."""
        name, size, init = children
        return A.ParamStmt(str(name), size, init, span=self._span(meta), name_span=self._tok(name))

    def readout_stmt(self, meta, children):
        """``readout_stmt`` -> ``ast.ReadoutStmt``."""
        kind, *rest = children
        observables = tuple(c for c in rest if isinstance(c, A.Observable))
        options = tuple(c for c in rest if isinstance(c, A.Option))
        return A.ReadoutStmt(self._name(kind), observables, options, span=self._span(meta))

    def observable(self, meta, children):
        """``observable`` -> ``ast.Observable``."""
        return A.Observable(tuple(children), span=self._span(meta))

    def pauli_factor(self, meta, children):
        """``pauli_factor`` -> ``ast.PauliFactor``."""
        pauli, qubit = children
        return A.PauliFactor(None if pauli is None else str(pauli), qubit, span=self._span(meta))

    # -- expressions ------------------------------------------------------------------------------
    def conditional_expr(self, meta, children):
        """``conditional_expr`` -> ``ast.Conditional``."""
        cond, then, otherwise = children
        return A.Conditional(cond, then, otherwise, span=self._span(meta))

    def logical_expr(self, meta, children):
        """``logical_expr`` -> ``ast.Binary``."""
        left, op, right = children
        return A.Binary(str(op), left, right, span=self._span(meta))

    def binary_expr(self, meta, children):
        """``binary_expr`` -> ``ast.Binary``."""
        left, op, right = children
        return A.Binary(str(op), left, right, span=self._span(meta))

    def unary_expr(self, meta, children):
        """``unary_expr`` -> ``ast.Unary``."""
        op, operand = children
        return A.Unary(str(op), operand, span=self._span(meta))

    def compare_expr(self, meta, children):
        """``compare_expr`` -> ``ast.Compare``."""
        left, op, right = children
        return A.Compare(str(op), left, right, span=self._span(meta))

    def index_expr(self, meta, children):
        """``index_expr`` -> ``ast.Index``."""
        base, index = children
        return A.Index(base, index, span=self._span(meta))

    def call_expr(self, meta, children):
        """``call_expr`` -> ``ast.Call``."""
        func, args = children
        return A.Call(func, args or (), span=self._span(meta))

    def attribute_expr(self, meta, children):
        """``attribute_expr`` -> ``ast.Attribute``."""
        base, name = children
        return A.Attribute(base, str(name), span=self._span(meta))

    def number(self, meta, children):
        """``number`` -> ``ast.Number``."""
        (tok,) = children
        return A.Number(_number(str(tok), self._tok(tok)), span=self._tok(tok))

    def pi_number(self, meta, children):
        """``pi_number`` -> ``ast.Number``."""
        (tok,) = children
        match = _PI_NUMBER.fullmatch(str(tok))
        if match is None:
            raise InternalError(f"bad PI_NUMBER token {tok!r}")
        value = _float(match.group(1), self._tok(tok)) * math.pi
        if not math.isfinite(value):
            raise _too_large(str(tok), self._tok(tok), "64-bit float")
        return A.Number(value, span=self._tok(tok))

    def quantity(self, meta, children):
        """``quantity`` -> ``ast.Quantity``."""
        (tok,) = children
        match = _QUANTITY.fullmatch(str(tok))
        if match is None:
            raise InternalError(f"bad QUANTITY token {tok!r}")
        return A.Quantity(
            _float(match.group(1), self._tok(tok)), match.group(2), span=self._tok(tok)
        )

    def dims(self, meta, children):
        """``dims`` -> ``ast.Dims``."""
        (tok,) = children
        span = self._tok(tok)
        return A.Dims(tuple(_integer(p, span) for p in str(tok).split("x")), span=span)

    def string(self, meta, children):
        """``string`` -> ``ast.String``."""
        (tok,) = children
        return A.String(str(tok)[1:-1], span=self._tok(tok))

    def name(self, meta, children):
        """``name`` -> ``ast.Name``."""
        (tok,) = children
        return self._name(tok)

    def list_expr(self, meta, children):
        """``list_expr`` -> ``ast.ListExpr``."""
        return A.ListExpr(tuple(c for c in children if c is not None), span=self._span(meta))

    def tuple_expr(self, meta, children):
        """``tuple_expr`` -> ``ast.TupleExpr``, or the inner expression for grouping ``(a)``."""
        (args,) = children
        args = args or ()
        if len(args) == 1 and args[0].name is None and not self._trailing_comma(meta, args[0]):
            return args[0].value  # plain grouping: (a + b)
        return A.TupleExpr(args, span=self._span(meta))

    def _trailing_comma(self, meta: Any, arg: A.Arg) -> bool:
        """``(a,)`` is a one-element tuple; ``(a)`` and ``((a))`` are grouping."""
        if getattr(meta, "empty", True):
            return False
        return "," in self.text[arg.span.end : meta.end_pos - 1]

    def slice(self, meta, children):
        """``slice`` -> ``ast.Slice``."""
        start, stop = children
        return A.Slice(start, stop, span=self._span(meta))

    def args(self, meta, children):
        """``args`` -> ``ast.Arg``."""
        out = []
        for c in children:
            if c is None:
                continue
            out.append(c if isinstance(c, A.Arg) else A.Arg(None, c, span=_expr_span(c)))
        return tuple(out)

    def keyword_arg(self, meta, children):
        """``keyword_arg`` -> ``ast.Arg``."""
        name, value = children
        return A.Arg(str(name), value, span=self._span(meta))


def _expr_span(node: Any) -> Span:
    return getattr(node, "span", NO_SPAN)


def build(tree: Tree, path: str, text: str = "") -> A.Module:
    """Turn a parse tree of ``start`` into an ``ast.Module`` (``text``: the parsed source)."""
    return AstBuilder(path, text).transform(tree)
