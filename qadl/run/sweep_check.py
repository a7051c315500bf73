"""``qadl check`` of a sweep: every point is checked and preflighted as a program of its own.

A point fails where its bound constants make the program wrong (a negative learning
rate, a model too large for its data). Its diagnostics keep their location at the use
site and gain labels at the sweep values of the point; one problem shared by several
points is reported once, with the number of points it breaks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from qadl.diagnostics import MAX_ERRORS, Diagnostic, Label
from qadl.errors import QadlError
from qadl.program import Program
from qadl.run.sweep_plan import SweepPoint, plan_points, value_text

__all__ = ["check_points"]


def _labels(program: Program, failing: list[SweepPoint]) -> tuple[Label, ...]:
    """Labels at the sweep values of the first failing point, for the axes that matter:
    an axis whose every value fails (with the same other values) is left out."""
    sweep = program.sweep
    assert sweep is not None
    labels = []
    for name, value in failing[0].bindings:
        axis = sweep.axis(name)
        if len(axis.values) > 1 and len({repr(p.value(name)) for p in failing}) == len(
            axis.values
        ):
            continue
        span = axis.value_spans[axis.values.index(value)] if axis.value_spans else axis.span
        labels.append(Label(span, f"at the point {name} = {value_text(value)}"))
    return tuple(labels)


def _located(diag: Diagnostic, program: Program, failing: list[SweepPoint]) -> Diagnostic:
    assert program.sweep is not None
    count, size = len(failing), program.sweep.size
    if count == size:
        extra = f"every point of the sweep fails ({size})"
    else:
        extra = f"the sweep point {failing[0].key} fails" + (
            f" (and {count - 1} other point{'s' if count > 2 else ''})" if count > 1 else ""
        )
    hint = f"{diag.help}; {extra}" if diag.help else extra
    return replace(diag, secondary=(*diag.secondary, *_labels(program, failing)), help=hint)


def check_points(program: Program, policy: Any = None, max_samples: int | None = None) -> None:
    """Check and preflight every point of ``program``'s sweep (nothing without one).

    Raises:
        QadlError: every distinct problem of any point, located at its use site and at
            the sweep values of the first point it breaks.
    """
    if program.sweep is None:
        return
    from qadl.api import loads
    from qadl.run.preflight import preflight

    source = program.sources.get(program.path)
    if source is None:
        return
    real = Path(program.path).resolve()
    found: dict[tuple, tuple[Diagnostic, list[SweepPoint]]] = {}
    for point in plan_points(program.sweep):
        try:
            bound = loads(source.text, program.path, real_path=real,
                          bindings=dict(point.bindings))
            preflight(bound, policy, max_samples=max_samples)
        except QadlError as err:
            for diag in err.diagnostics:
                where = (diag.code, diag.message, diag.primary.span)
                found.setdefault(where, (diag, []))[1].append(point)
    if found:
        raise QadlError(tuple(
            _located(diag, program, failing)
            for diag, failing in list(found.values())[:MAX_ERRORS]
        ))
