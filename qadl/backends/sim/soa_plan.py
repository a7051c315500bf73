"""Whether a program can run on the split-array kernels (``soa_kernels``); NumPy only."""

from __future__ import annotations

import numpy as np

from qadl.backends.sim.program import K_CX, K_D1, K_DGRP, K_M1, SimProgram

__all__ = ["SOA_KINDS", "soa_supported", "split_tables"]

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
