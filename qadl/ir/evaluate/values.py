"""Compile-time values of the lowering: registers, vectors, gate references, environments.

Also the two exceptions that unwind an evaluation after its error was recorded (``Skip``
a statement, ``Abort`` a model) and ``Builder``, the mutable state of one model's lowering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Op, Readout
from qadl.ir.gates import Gate
from qadl.program import ParamInit

__all__ = [
    "POISONED",
    "Abort",
    "BlockRef",
    "Builder",
    "Env",
    "GateRef",
    "QReg",
    "Skip",
    "SymVec",
    "as_expr",
    "describe",
    "is_num",
    "plain",
]


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


class Skip(Exception):
    """Abandon the current statement after an error was recorded."""


class Abort(Exception):
    """Abandon the whole model (a size limit was hit; going on would only repeat it)."""


POISONED = object()
"""The value of a ``let`` or ``param`` name whose definition failed with an error."""


def describe(v: Any) -> str:
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


def is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def as_expr(v: Any) -> E.Expr | None:
    if isinstance(v, E.Expr):
        return v
    if is_num(v):
        return E.const(float(v))
    return None


def plain(v: Any) -> Any:
    """A constant Expr back to a float (so ``2 * π`` stays a number)."""
    if isinstance(v, E.Expr) and v.is_constant:
        return v.constant_value
    return v


class Env:
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
class Builder:
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
