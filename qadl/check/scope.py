"""Symbol tables: what each module defines and what it can see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from qadl.frontend import ast as A
from qadl.source import Span

__all__ = ["KIND_WORDS", "DefKind", "Definition", "ModuleScope", "definitions_of"]

DefKind = Literal[
    "const", "gate", "model", "kernel", "data", "attack", "target", "noise", "robust"
]


KIND_WORDS = {
    "const": "a constant",
    "gate": "a gate block",
    "model": "a model",
    "kernel": "a quantum kernel",
    "data": "a dataset",
    "attack": "an attack",
    "target": "a target",
    "noise": "a noise model",
    "robust": "a defended model",
}
"""How each kind of definition is named in messages."""


@dataclass(frozen=True)
class Definition:
    """One top-level name: what it is, where, and the node that defines it."""

    kind: DefKind
    name: str
    node: Any
    module: str
    span: Span = field(compare=False, repr=False)


@dataclass
class ModuleScope:
    """The names one module defines and the names it sees (its own, then its imports')."""

    key: str
    own: dict[str, Definition]
    visible: dict[str, Definition]
    consts: dict[str, Any]
    """Values of every visible constant (numbers, lists, strings)."""

    def lookup(self, name: str) -> Definition | None:
        """The definition visible under ``name``."""
        return self.visible.get(name)


def definitions_of(module: A.Module, key: str) -> list[Definition]:
    """Every definition a module makes, in source order (duplicates included)."""
    out: list[Definition] = []
    for decl in module.decls:
        match decl:
            case A.ConstDecl():
                out.append(Definition("const", decl.name, decl, key, decl.name_span))
            case A.GateDecl():
                out.append(Definition("gate", decl.name, decl, key, decl.name_span))
            case A.ModelDecl():
                out.append(Definition("model", decl.name, decl, key, decl.name_span))
            case A.KernelDecl():
                out.append(Definition("kernel", decl.name, decl, key, decl.name_span))
            case A.DataDecl():
                out.append(Definition("data", decl.name, decl, key, decl.name_span))
            case A.AttackDecl():
                out.append(Definition("attack", decl.name, decl, key, decl.name_span))
            case A.TargetDecl():
                out.append(Definition("target", decl.name, decl, key, decl.name_span))
            case A.NoiseDecl():
                out.append(Definition("noise", decl.name, decl, key, decl.name_span))
            case A.DefendDecl():
                out.append(Definition("robust", decl.result, decl, key, decl.result_span))
            case _:
                pass
    return out
