"""Module scopes: each module's definitions, the names its imports make visible, and the
values of its constants (imports first)."""

from __future__ import annotations

from typing import Any

from qadl.check.imports import ModuleGraph
from qadl.check.names import did_you_mean
from qadl.check.scope import Definition, ModuleScope, definitions_of
from qadl.check.values import resolve_value
from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.frontend import ast as A

__all__ = ["build_scopes", "resolve_consts"]


def _own_definitions(key: str, graph: ModuleGraph, bag: DiagnosticBag) -> dict[str, Definition]:
    own: dict[str, Definition] = {}
    for d in definitions_of(graph.modules[key].module, key):
        first = own.get(d.name)
        if first is not None:
            bag.add(
                Diagnostic(
                    "E0205",
                    f"`{d.name}` is defined twice",
                    Label(d.span, "defined again here"),
                    (Label(first.span, "first defined here"),),
                    help="rename one of the definitions",
                )
            )
            continue
        own[d.name] = d
    return own


def build_scopes(graph: ModuleGraph, bag: DiagnosticBag) -> dict[str, ModuleScope]:
    owns = {key: _own_definitions(key, graph, bag) for key in graph.modules}
    scopes: dict[str, ModuleScope] = {}
    for key, loaded in graph.modules.items():
        visible = dict(owns[key])
        imported_from: dict[str, str] = {}
        for child in loaded.imports:
            for name, d in owns[child].items():
                if name in owns[key]:
                    if not loaded.is_stdlib:
                        bag.add(
                            Diagnostic(
                                "E0206",
                                f"`{name}` is already defined by `{child}`",
                                Label(owns[key][name].span, "defined again here"),
                                (Label(d.span, "imported definition"),),
                                help="rename the local definition",
                            )
                        )
                    continue
                if name in imported_from and imported_from[name] != child:
                    continue  # the first import wins (documented order)
                visible[name] = d
                imported_from[name] = child
        scopes[key] = ModuleScope(key, owns[key], visible, {})
    return scopes


def resolve_consts(scopes: dict[str, ModuleScope], graph: ModuleGraph, bag: DiagnosticBag) -> None:
    """Evaluate constants module by module (imports first) into each scope's ``consts``."""
    done: set[str] = set()

    def visit(key: str) -> None:
        if key in done:
            return
        done.add(key)
        for child in graph.modules[key].imports:
            visit(child)
        scope = scopes[key]
        for name, d in scope.visible.items():
            if d.kind == "const" and d.module != key:
                scope.consts[name] = scopes[d.module].consts.get(name)
        for decl in graph.modules[key].module.decls:
            if isinstance(decl, A.ConstDecl) and scope.own.get(decl.name, None) is not None:
                _check_const_names(decl, scope, bag)
                scope.consts[decl.name] = resolve_value(decl.value, scope.consts, bag)

    for key in graph.modules:
        visit(key)


def _check_const_names(decl: A.ConstDecl, scope: ModuleScope, bag: DiagnosticBag) -> None:
    for node in _names_in(decl.value):
        if node.id not in scope.consts and node.id not in ("pi", "π", "true", "false"):
            bag.error(
                "E0202",
                f"unknown name `{node.id}`",
                node.span,
                label="not a constant",
                help=did_you_mean(node.id, scope.consts),
            )


def _names_in(node: Any) -> list[A.Name]:
    out: list[A.Name] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, A.Name):
            out.append(n)
        elif isinstance(n, A.Binary | A.Compare):
            stack += [n.left, n.right]
        elif isinstance(n, A.Unary):
            stack.append(n.operand)
        elif isinstance(n, A.ListExpr):
            stack += list(n.items)
    return out
