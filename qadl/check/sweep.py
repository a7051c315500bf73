"""The ``sweep`` statement: a grid of values for constants of the root file.

A sweep never changes what a program means: each point of its grid is the same file
with some ``const`` declarations given other values. ``check_sweep`` validates the
statement itself (axes, values, the replicate axes of ``aggregate over``); every point is
then checked as a program of its own by the preflight (``qadl.run.sweep_check``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from qadl.check.imports import ModuleGraph
from qadl.check.names import did_you_mean
from qadl.check.scope import KIND_WORDS, ModuleScope
from qadl.check.values import resolve_value
from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.frontend import ast as A
from qadl.source import NO_SPAN, Span

__all__ = [
    "MAX_SWEEP_POINTS",
    "SweepAxisSpec",
    "SweepSpec",
    "bind_constants",
    "check_sweep",
    "is_sweep_value",
]

MAX_SWEEP_POINTS = 10_000
"""Largest grid one file may declare: each point is a whole run, checked one by one."""


@dataclass(frozen=True)
class SweepAxisSpec:
    """One axis: a constant and the values it takes, in the order written."""

    name: str
    values: tuple[Any, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)
    value_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False, kw_only=True)
    """Where each value is written (a range's values all point at the range)."""


@dataclass(frozen=True)
class SweepSpec:
    """A checked ``sweep``: its axes, and the replicate axes ``aggregate over`` names."""

    axes: tuple[SweepAxisSpec, ...]
    replicate: tuple[str, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)

    @property
    def size(self) -> int:
        """Number of points of the grid (the product of the axis lengths)."""
        return math.prod(len(a.values) for a in self.axes)

    def axis(self, name: str) -> SweepAxisSpec:
        """The axis that sweeps constant ``name``."""
        return next(a for a in self.axes if a.name == name)


def is_sweep_value(value: Any) -> bool:
    """Numbers, strings, true/false and (nested) lists of them: what a point can bind."""
    if isinstance(value, tuple | list):
        return all(is_sweep_value(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, bool | int | str)


def _literal(value: Any, span: Span) -> A.Expr:
    """The expression a file would write for a sweep value (at ``span``)."""
    if isinstance(value, bool):
        return A.Name("true" if value else "false", span=span)
    if isinstance(value, int | float):
        if value < 0:  # the parser's numbers are never negative
            return A.Unary("-", A.Number(-value, span=span), span=span)
        return A.Number(value, span=span)
    if isinstance(value, str):
        return A.String(value, span=span)
    return A.ListExpr(tuple(_literal(v, span) for v in value), span=span)


def bind_constants(graph: ModuleGraph, bindings: dict[str, Any]) -> ModuleGraph:
    """``graph`` with the root file's ``const NAME = ...`` written as ``const NAME = value``
    for every binding, so the checker and the lowering both see the point's values.

    Raises:
        KeyError: a binding names no constant of the root file.
        ValueError: a value that is no number, string, true/false or list of them.
    """
    loaded = graph.modules[graph.root]
    declared = {d.name for d in loaded.module.decls if isinstance(d, A.ConstDecl)}
    unknown = sorted(set(bindings) - declared)
    if unknown:
        raise KeyError(f"not a constant of {graph.root}: {', '.join(unknown)}")
    for name, value in bindings.items():
        if not is_sweep_value(value):
            raise ValueError(f"cannot bind {name} to {value!r}: not a plain value")
    decls = tuple(
        replace(d, value=_literal(bindings[d.name], d.value.span))
        if isinstance(d, A.ConstDecl) and d.name in bindings else d
        for d in loaded.module.decls
    )
    bound = replace(loaded, module=replace(loaded.module, decls=decls))
    return ModuleGraph(graph.root, {**graph.modules, graph.root: bound})


def check_sweep(graph: ModuleGraph, scopes: dict[str, ModuleScope], bag: DiagnosticBag):
    """The root file's checked ``sweep`` (None without one); problems go to ``bag``."""
    for key, loaded in graph.modules.items():
        if key == graph.root:
            continue
        for decl in loaded.module.decls:
            if isinstance(decl, A.SweepDecl):
                bag.error(
                    "E0900", "a `sweep` in an imported file", decl.span,
                    label="sweeps are only run from the file given to `qadl run`",
                    help="move the sweep into the file you run",
                )
    sweeps = [d for d in graph.modules[graph.root].module.decls if isinstance(d, A.SweepDecl)]
    for extra in sweeps[1:]:
        bag.add(Diagnostic(
            "E0901", "a file has at most one `sweep`",
            Label(extra.span, "second sweep"), (Label(sweeps[0].span, "first sweep"),),
            help="put every axis in one statement: `sweep A in [...], B in [...]`",
        ))
    if not sweeps:
        return None
    return _check_decl(sweeps[0], graph, scopes[graph.root], bag)


def _check_decl(decl: A.SweepDecl, graph: ModuleGraph, scope: ModuleScope, bag: DiagnosticBag):
    axes: list[SweepAxisSpec] = []
    seen: dict[str, A.SweepAxis] = {}
    used = _used_names(graph.modules[graph.root].module)
    ok = True
    for axis in decl.axes:
        name = axis.name.id
        if name in seen:
            bag.add(Diagnostic(
                "E0905", f"`{name}` is swept twice",
                Label(axis.name.span, "second axis"), (Label(seen[name].name.span, "first axis"),),
                help="give all its values in one list",
            ))
            ok = False
            continue
        seen[name] = axis
        spec = _check_axis(axis, scope, used, bag)
        if spec is None:
            ok = False
        else:
            axes.append(spec)
    replicate = _check_replicate(decl, seen, bag)
    if not ok or replicate is None:
        return None
    sweep = SweepSpec(tuple(axes), replicate, span=decl.span)
    if sweep.size > MAX_SWEEP_POINTS:
        bag.error(
            "E0912", f"the sweep has {sweep.size} points", decl.span,
            label=f"at most {MAX_SWEEP_POINTS} (each point is a whole run)",
            help="sweep fewer values, or split the study into several files",
        )
        return None
    return sweep


def _check_axis(axis: A.SweepAxis, scope: ModuleScope, used: set[str], bag: DiagnosticBag):
    name = axis.name.id
    d = scope.lookup(name)
    if d is None:
        consts = [n for n, v in scope.own.items() if v.kind == "const"]
        bag.error(
            "E0902", f"unknown constant `{name}`", axis.name.span,
            label="a sweep sets `const` values of this file",
            help=did_you_mean(name, consts) or f"declare it first: `const {name} = ...`",
        )
        return None
    if d.kind != "const":
        bag.add(Diagnostic(
            "E0903", f"`{name}` is {KIND_WORDS[d.kind]}, not a constant",
            Label(axis.name.span, "only constants can be swept"),
            (Label(d.span, "defined here"),),
            help=f"declare a constant (`const X = ...`) and use it in `{name}`",
        ))
        return None
    if d.module != scope.key:
        bag.add(Diagnostic(
            "E0904", f"`{name}` is a constant of an imported file",
            Label(axis.name.span, "a sweep sets constants of this file only"),
            (Label(d.span, "declared here"),),
            help="declare the constant in this file and pass it where it is used",
        ))
        return None
    if name not in used:
        bag.add(Diagnostic(
            "E0910", f"sweeping `{name}` changes nothing: nothing uses it",
            Label(axis.name.span, "every point would run the same program"),
            (Label(d.span, "declared here"),),
            help=f"use `{name}` in an option, a size or a seed, or drop the axis",
        ))
        return None
    values, spans = _axis_values(axis, scope, bag)
    if values is None:
        return None
    return SweepAxisSpec(name, values, span=axis.span, value_spans=spans)


def _axis_values(axis: A.SweepAxis, scope: ModuleScope, bag: DiagnosticBag):
    """The values of one axis and where each is written, or (None, ()) after an error."""
    if axis.stop is not None:
        return _range_values(axis, scope, bag)
    if not isinstance(axis.values, A.ListExpr):
        bag.error(
            "E0906", "a sweep axis needs a list or a range", axis.values.span,
            label="one value",
            help=f"write `{axis.name.id} in [a, b, c]` or `{axis.name.id} in 1..11`",
        )
        return None, ()
    if not axis.values.items:
        bag.error("E0907", f"`{axis.name.id}` is swept over no value", axis.values.span,
                  label="empty list", help="give at least one value")
        return None, ()
    values, spans, first = [], [], {}
    for item in axis.values.items:
        local = DiagnosticBag()
        value = resolve_value(item, scope.consts, local)
        for diag in local.items:
            bag.add(diag)
        if local.items:
            return None, ()
        if not is_sweep_value(value):
            bag.error(
                "E0908", "a sweep value must be a number, a string, true/false or a list of them",
                item.span, label="not a plain value",
                help="sweep a constant that holds the number or string used in the option",
            )
            return None, ()
        key = (type(value).__name__, repr(value))
        if key in first:
            bag.add(Diagnostic(
                "E0909", f"`{axis.name.id}` takes the value {_shown(value)} twice",
                Label(item.span, "again here"), (Label(first[key], "first here"),),
                help="each point of a sweep must differ; remove the repeated value",
            ))
            return None, ()
        first[key] = item.span
        values.append(value)
        spans.append(item.span)
    return tuple(values), tuple(spans)


def _range_values(axis: A.SweepAxis, scope: ModuleScope, bag: DiagnosticBag):
    parts = []
    for node in (axis.values, axis.stop, axis.step):
        if node is None:
            parts.append(1)
            continue
        local = DiagnosticBag()
        value = resolve_value(node, scope.consts, local)
        if local.items or isinstance(value, bool) or not isinstance(value, int):
            bag.error(
                "E0906", "a sweep range needs integer bounds and step", node.span,
                label="not an integer", help="write `1..11` (1 to 10) or `0..100 step 10`",
            )
            return None, ()
        parts.append(value)
    start, stop, step = parts
    if step == 0:
        bag.error("E0906", "a sweep range needs a step other than 0", axis.step.span,
                  label="step 0", help="write `step 1` or leave the step out")
        return None, ()
    values = tuple(range(start, stop, step))
    span = Span(axis.values.span.file, axis.values.span.start, _end(axis))
    if not values:
        bag.error(
            "E0907", f"`{axis.name.id}` is swept over no value", span,
            label=f"the range {start}..{stop} is empty (the end is excluded)",
            help=f"write `{start}..{start + 1}` for the single value {start}",
        )
        return None, ()
    if len(values) > MAX_SWEEP_POINTS:
        bag.error("E0912", f"the range has {len(values)} values", span,
                  label=f"a sweep has at most {MAX_SWEEP_POINTS} points",
                  help="use a larger step or a shorter range")
        return None, ()
    return values, (span,) * len(values)


def _end(axis: A.SweepAxis) -> int:
    last = axis.step if axis.step is not None else axis.stop
    return last.span.end if last is not None else axis.values.span.end


def _check_replicate(decl: A.SweepDecl, seen: dict[str, A.SweepAxis], bag: DiagnosticBag):
    names: list[str] = []
    ok = True
    for node in decl.aggregate:
        if node.id not in seen:
            bag.error(
                "E0911", f"`{node.id}` is not an axis of this sweep", node.span,
                label="`aggregate over` names the replicate axes",
                help=did_you_mean(node.id, seen) or f"axes: {', '.join(seen) or 'none'}",
            )
            ok = False
        elif node.id in names:
            bag.error("E0911", f"`{node.id}` is named twice in `aggregate over`", node.span,
                      label="again here", help="name each axis once")
            ok = False
        else:
            names.append(node.id)
    return tuple(names) if ok else None


def _used_names(module: A.Module) -> set[str]:
    """Every name used in the module outside ``sweep`` statements and the ``const`` names."""
    found: set[str] = set()
    stack: list[Any] = [d for d in module.decls if not isinstance(d, A.SweepDecl)]
    while stack:
        node = stack.pop()
        if isinstance(node, A.Name):
            found.add(node.id)
        elif isinstance(node, tuple | list):
            stack.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__ if f != "span")
    return found


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return repr(value)
