"""Run the `evaluate` statements of a small program with fixed parameters (no training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qadl.adversary.evaluate import Evaluation
from qadl.api import loads
from qadl.program import Program
from qadl.run.session import RunOptions, Session, check_evaluations, run_evaluations

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

CIRCLE_THETA = np.array([0.4, -1.1, 0.7, 0.3])


def load_source(source: str) -> Program:
    """Check ``source`` as if it were a file in examples/ (data paths resolve there)."""
    return loads(source, str(EXAMPLES / "options_audit.qadl"))


def evaluate_program(
    source: str | Program,
    thetas: dict[str, np.ndarray],
    out: Path,
    *,
    max_samples: int | None = None,
) -> list[Evaluation]:
    """Bind ``thetas`` to a checked program (or source text) and run its evaluations."""
    program = load_source(source) if isinstance(source, str) else source
    session = Session(
        program, RunOptions(out_dir=out, progress=False, plots=False, max_samples=max_samples)
    )
    session.thetas.update(thetas)
    for spec in program.defences:
        session.base[spec.result] = spec.model
    check_evaluations(session)
    return run_evaluations(session)
