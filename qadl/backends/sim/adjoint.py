"""Adjoint differentiation: one forward pass and one backward sweep per sample.

The sweep un-applies every block to the state and to the backward vector λ and reads
each block's angle derivatives from a small overlap matrix (see ``back_kernels.py``), giving
dL/d(every tape entry) per sample and dL/d(input state); ``chain`` then maps tape
derivatives to θ (summed over the batch), x and δ through the tape's Jacobian, all in
compiled code.
"""

from __future__ import annotations

import numpy as np

from qadl.backends.sim.program import SimProgram

__all__ = ["SINGLE_STATE_QUBITS", "adjoint_tape_grads", "chain"]

SINGLE_STATE_QUBITS = 14
"""From this many qubits on, each state is simulated with amplitude-parallel kernels."""


def adjoint_tape_grads(
    program: SimProgram,
    angles: np.ndarray,
    state: np.ndarray | None,
    cotangent: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Outputs, dL/d(tape) and dL/d(input state) for a batch.

    Args:
        program: the lowered circuit (must have a readout).
        angles: (B, A) tape values.
        state: (B, 2**n) input states, or None for |0…0⟩.
        cotangent: (B, K) dL/d(outputs).

    Returns:
        ``(outputs (B, K), g_angles (B, A), g_state (B, 2**n) or None)``.
    """
    from qadl.backends.sim import complex_batch  # lazy: compiles on first use

    if program.readout is None:
        raise ValueError("the circuit has no readout to differentiate")
    nq = program.num_qubits
    prog = program.arrays()
    ro = program.readout.arrays()
    if nq < SINGLE_STATE_QUBITS:
        has_init = state is not None
        init = state if has_init else np.zeros((1, 1), dtype=np.complex128)
        args = (nq, prog, ro, angles, init, has_init, cotangent)
        if program.soa_tables is not None:  # the split-array kernels (as Simulator.vjp's)
            from qadl.backends.sim import soa_step  # lazy: compiles on first use

            out, g, g_state = soa_step.tape_vjp_rows(*args, *program.soa_tables)
        else:
            out, g, g_state = complex_batch.adjoint_batch(*args)
        return out, g, (g_state if has_init else None)
    return _adjoint_large(complex_batch, program, prog, ro, angles, state, cotangent)


def _adjoint_large(complex_batch, program, prog, ro, angles, state, cotangent):
    nb = angles.shape[0]
    n = 1 << program.num_qubits
    outs, grads, lams = [], [], []
    chunks = complex_batch.default_chunks()
    for b in range(nb):
        psi = np.zeros(n, dtype=np.complex128)
        if state is None:
            psi[0] = 1.0
        else:
            psi[:] = state[b]
        out, g, lam = complex_batch.adjoint_single(
            program.num_qubits, prog, ro, angles[b], psi, cotangent[b], chunks
        )
        outs.append(out)
        grads.append(g)
        if state is not None:
            lams.append(2.0 * lam)
    g_state = np.stack(lams) if state is not None else None
    return np.stack(outs), np.stack(grads), g_state


def chain(
    program: SimProgram,
    theta: np.ndarray,
    x: np.ndarray,
    delta: np.ndarray,
    g_angles: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map dL/d(tape) (B, A) to dL/dθ (P,) summed over the batch, dL/dx (B, F), dL/dδ (B, D)."""
    from qadl.backends.sim import kernels  # lazy: compiles on first use

    g_th, g_x, g_d = kernels.chain_tape(program.tape.arrays(), theta, x, delta, g_angles)
    return g_th.sum(axis=0), g_x, g_d
