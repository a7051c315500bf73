"""Fully resolved top-level statements: data, training, attacks, defences, evaluations, devices.

Values are plain Python (numbers, strings, tuples, ``CallValue``, ``DataRef``, ``Condition``),
so run-time code consumes them without re-parsing. ``qadl.program`` re-exports them.
"""

# ruff: noqa: RUF009  (`_span()` returns a `dataclasses.field`, which ruff cannot see)

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qadl.check.values import CallValue, DataRef
from qadl.source import NO_SPAN, Span

__all__ = [
    "AttackSpec",
    "DataSpec",
    "DefenceSpec",
    "DeviceSpec",
    "EvaluationSpec",
    "NoiseSpec",
    "TargetSpec",
    "TrainSpec",
]


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class DataSpec:
    """``data digits = builtin.digits(classes = [1, 9], ...)``.

    ``source`` is ``builtin.digits`` / ``builtin.aubry_andre`` / ``builtin.ising`` /
    ``builtin.cluster_ising`` / ``file``; ``path`` is the resolved file path for ``file``.
    """

    name: str
    source: str
    options: dict[str, Any]
    path: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class TrainSpec:
    """``train MODEL on DATA.split { options }`` (options: loss, optimizer, epochs, ...)."""

    model: str
    data: DataRef
    options: dict[str, Any]
    span: Span = _span()


@dataclass(frozen=True)
class AttackSpec:
    """``attack NAME on MODEL { method ...; options }``; ``method`` is a ``CallValue``."""

    name: str
    model: str
    method: CallValue
    options: dict[str, Any]
    span: Span = _span()


@dataclass(frozen=True)
class DefenceSpec:
    """``defend MODEL with adversarial_training(...) as RESULT [{ training options }]``."""

    model: str
    method: CallValue
    result: str
    options: dict[str, Any]
    span: Span = _span()


@dataclass(frozen=True)
class EvaluationSpec:
    """``evaluate M1, M2 on DATA.test under [clean, ren, bim(...)]``.

    ``under`` items are ``"clean"``, an attack name (str) or an inline method ``CallValue``.
    """

    models: tuple[str, ...]
    data: DataRef
    under: tuple[Any, ...]
    options: dict[str, Any]
    span: Span = _span()


@dataclass(frozen=True)
class TargetSpec:
    """``target NAME { qubits 10; basis [...]; coupling chain; ... }`` with resolved options."""

    name: str
    options: dict[str, Any]
    span: Span = _span()


@dataclass(frozen=True)
class NoiseSpec:
    """``noise NAME { depolarizing(1q = ..., 2q = ...); ... }`` with resolved options."""

    name: str
    options: dict[str, Any]
    span: Span = _span()


@dataclass(frozen=True)
class DeviceSpec:
    """``device MODEL on TARGET``."""

    model: str
    target: str
    span: Span = _span()
