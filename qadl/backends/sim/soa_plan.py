"""Whether a program can run on the split-array kernels (``soa_kernels``, ``soa_single``),
and how the single-state kernels group its blocks; NumPy only."""

from __future__ import annotations

import numpy as np

from qadl.backends.sim.program import F_CZMASK, K_CX, K_D1, K_DGRP, K_M1, SimProgram

__all__ = [
    "SOA_KINDS",
    "single_state_runs",
    "soa_large_supported",
    "soa_supported",
    "split_tables",
]

SOA_KINDS = (K_M1, K_D1, K_DGRP, K_CX)
"""Block kinds with split-array kernels (diagonal groups: see ``_diagonals_supported``)."""


def _diagonals_supported(program: SimProgram) -> bool:
    """True when every diagonal group is tabled or made only of cz distance masks."""
    kinds = program.kind
    for b in np.flatnonzero((kinds == K_DGRP) & (program.aux[:, 1] == 0)):
        codes = program.fac_code[program.fac_ptr[b] : program.fac_ptr[b + 1]]
        if np.any(codes != F_CZMASK):
            return False
    return True


def soa_supported(program: SimProgram) -> bool:
    """True when every block has a split-array kernel (``soa_kernels``)."""
    return bool(np.all(np.isin(program.kind, SOA_KINDS))) and _diagonals_supported(program)


def split_tables(program: SimProgram) -> tuple[np.ndarray, np.ndarray]:
    """Real and imaginary parts of the diagonal tables, each contiguous."""
    return np.ascontiguousarray(program.dtab.real), np.ascontiguousarray(program.dtab.imag)


def soa_large_supported(program: SimProgram) -> bool:
    """True when the single-state kernels (``soa_single``) can run the program.

    Single-qubit blocks and diagonal groups (tabled, or made only of cz distance masks).
    """
    return bool(np.all(np.isin(program.kind, (K_M1, K_D1, K_DGRP)))) and _diagonals_supported(
        program
    )


def single_state_runs(program: SimProgram, m: int, h_max: int) -> np.ndarray:
    """The blocks of a large single-state program grouped into cache-sized runs.

    Returns rows ``(high, b0, b1, mask)``: blocks ``b0:b1`` run together, one chunk of
    ``2**m`` amplitudes at a time. A low run (``high == 0``) holds blocks that keep
    every contiguous chunk to itself (blocks on qubits < m, and every diagonal); a high
    run (``high == 1``) holds consecutive single-qubit blocks on qubits ≥ m, at most
    ``h_max`` distinct ones, whose set is ``mask``: its chunks are gathered from
    ``2**popcount(mask)`` strided segments of ``2**(m - popcount(mask))`` amplitudes, at
    least eight (``h_max ≤ m - 3``: the kernels' vector width).
    """
    if not (1 <= h_max <= m - 3 and m < program.num_qubits):
        raise ValueError(f"need 1 <= h_max <= m - 3 and m < n qubits (segments of at least "
                         f"eight amplitudes), got h_max={h_max}, m={m}")
    rows: list[list[int]] = []
    for blk, (kind, q) in enumerate(zip(program.kind, program.qubits[:, 0], strict=True)):
        high = kind == K_M1 and q >= m
        bit = 1 << int(q) if high else 0
        last = rows[-1] if rows else None
        if last is not None and last[0] == high and (
            not high or (last[3] | bit).bit_count() <= h_max
        ):
            last[2] = blk + 1
            last[3] |= bit
        else:
            rows.append([int(high), blk, blk + 1, bit])
    return np.array(rows, dtype=np.int64).reshape(-1, 4)
