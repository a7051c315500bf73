"""Run the `evaluate` statements of a small program with fixed parameters (no training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qadl.adversary.evaluate import Evaluation
from qadl.api import loads
from qadl.program import Program
from qadl.run.context import RunOptions, Session
from qadl.run.evaluations import check_evaluations, run_evaluations
from qadl.run.training import run_defences

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CIRCLE = """
import encodings.angle
data circle = file("data/circle.csv", test = 0.25, seed = 3)
model clf(x: float[2]) on q[2] {
    angle_encoding(q, x)
    param θ[4]
    cz q[0], q[1]
    for i in 0..2 { ry(θ[i]) q[i] }
    cz q[0], q[1]
    for i in 0..2 { rx(θ[2 + i]) q[i] }
    readout probs(q[0])
}
"""
"""A 2-qubit angle-encoded classifier of the circle data (100 test samples)."""

CIRCLE_THETA = np.array([2.234, -1.446, -1.346, -3.038])
"""Its parameters after 15 epochs of Adam (test accuracy 0.64: the model is small)."""


def load_source(source: str) -> Program:
    """Check ``source`` as if it were a file in examples/ (data paths resolve there)."""
    return loads(source, str(EXAMPLES / "options_audit.qadl"))


def evaluate_program(
    source: str | Program,
    thetas: dict[str, np.ndarray],
    out: Path,
    *,
    max_samples: int | None = None,
    plots: bool = False,
) -> list[Evaluation]:
    """Bind ``thetas`` to a checked program (or source text) and run its evaluations."""
    session = _session(source, thetas, out, max_samples=max_samples, plots=plots)
    for spec in session.program.defences:
        session.base[spec.result] = spec.model
    check_evaluations(session)
    return run_evaluations(session)


def defend_program(source: str, thetas: dict[str, np.ndarray], out: Path) -> Session:
    """Bind ``thetas`` to the trained models of ``source`` and run its ``defend`` statements."""
    session = _session(source, thetas, out)
    run_defences(session)
    return session


def _session(
    source: str | Program,
    thetas: dict[str, np.ndarray],
    out: Path,
    *,
    max_samples: int | None = None,
    plots: bool = False,
) -> Session:
    program = load_source(source) if isinstance(source, str) else source
    options = RunOptions(out_dir=out, progress=False, plots=plots, max_samples=max_samples)
    session = Session(program, options)
    session.thetas.update(thetas)
    return session
