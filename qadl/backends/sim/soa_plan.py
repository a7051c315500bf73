"""Whether a program can run on the split-array kernels (``soa_kernels``); NumPy only."""

from __future__ import annotations

import numpy as np

from qadl.backends.sim.program import F_CZMASK, K_CX, K_D1, K_DGRP, K_M1, SimProgram

__all__ = ["SOA_KINDS", "soa_large_supported", "soa_supported", "split_tables"]

SOA_KINDS = (K_M1, K_D1, K_DGRP, K_CX)
"""Block kinds with split-array kernels (diagonal groups only when tabled)."""


def soa_supported(program: SimProgram) -> bool:
    """True when every block has a split-array kernel and the circuit has a readout."""
    kinds = program.kind
    ok = np.isin(kinds, SOA_KINDS)
    tabled = (kinds != K_DGRP) | (program.aux[:, 1] == 1)
    return bool(np.all(ok & tabled)) and program.readout is not None


def split_tables(program: SimProgram) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary parts of the diagonal tables, each contiguous."""
    return np.ascontiguousarray(program.dtab.real), np.ascontiguousarray(program.dtab.imag)


def soa_large_supported(program: SimProgram) -> bool:
    """True when ``soa_kernels.forward_single_soa`` can run the program on one large state.

    Single-qubit blocks and diagonal groups (tabled, or made only of cz distance masks).
    """
    kinds = program.kind
    if not np.all(np.isin(kinds, (K_M1, K_D1, K_DGRP))):
        return False
    for b in np.flatnonzero((kinds == K_DGRP) & (program.aux[:, 1] == 0)):
        codes = program.fac_code[program.fac_ptr[b] : program.fac_ptr[b + 1]]
        if np.any(codes != F_CZMASK):
            return False
    return True
