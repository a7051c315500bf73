"""Parameter-shift differentiation of gate angles (a cross-check and hardware-style method).

Two-term rule (shift ±π/2, factor 1/2) for rx, ry, rz, p, u, rxx, ryy, rzz, whose
generators have eigenvalues ±1/2 (up to a global phase); four-term rule for the
controlled rotations crx, cry, crz and cp (generator eigenvalues {0, ±1/2}, or {0, 1}):
``f' = c₊[f(a+π/2) − f(a−π/2)] − c₋[f(a+3π/2) − f(a−3π/2)]``, ``c± = (√2 ± 1)/(4√2)``.
Amplitudes of ``amplitude`` ops and the input state have no shift rule; their
derivatives come from the adjoint sweep.
"""

from __future__ import annotations

import numpy as np

from qadl.backends.sim.adjoint import adjoint_tape_grads
from qadl.backends.sim.program import SHIFT_NONE, SimProgram

__all__ = ["shift_tape_grads"]


def shift_tape_grads(
    program: SimProgram,
    angles: np.ndarray,
    state: np.ndarray | None,
    cotangent: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Like ``adjoint_tape_grads``, but gate-angle derivatives by parameter shift.

    Costs 2 (or 4) full forward passes per gate angle per sample, run in one compiled call.
    """
    from qadl.backends.sim import complex_batch  # lazy: compiles on first use

    out, g_adj, g_state = adjoint_tape_grads(program, angles, state, cotangent)
    rule = program.tape.shift_rule
    has_init = state is not None
    init = state if has_init else np.zeros((1, 1), dtype=np.complex128)
    g = complex_batch.shift_batch(
        program.num_qubits, program.arrays(), program.readout.arrays(),
        angles, init, has_init, cotangent, rule,
    )
    no_rule = rule == SHIFT_NONE
    g[:, no_rule] = g_adj[:, no_rule]
    return out, g, g_state
