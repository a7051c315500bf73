"""Lower a ``Circuit`` to a ``SimProgram`` (``qadl.backends.sim.program``): schedule, then flatten.

The scheduled blocks (``schedule``) become the flat block and factor arrays; diagonal
groups get a precomputed full diagonal on small registers (cz parity masks on large
ones), and the readout becomes bit masks of Pauli products.
"""

from __future__ import annotations

import numpy as np

from qadl.backends.sim.program import (
    F_CZ,
    F_CZMASK,
    K_AMP,
    K_DGRP,
    Block,
    Factor,
    ReadoutProgram,
    SimProgram,
)
from qadl.backends.sim.schedule import _Scheduler, _TapeBuilder
from qadl.ir.circuit import Circuit, Readout

__all__ = ["TABLE_MAX_QUBITS", "build_program"]

def _flatten_blocks(blocks: list[Block]) -> dict[str, np.ndarray]:
    i64 = np.int64
    kinds = np.array([b.kind for b in blocks], dtype=i64)
    qubits = np.zeros((len(blocks), 3), dtype=i64)
    aux = np.zeros((len(blocks), 2), dtype=i64)
    fac_ptr = [0]
    codes: list[int] = []
    args: list[int] = []
    fqs: list[tuple[int, int]] = []
    for i, b in enumerate(blocks):
        if b.kind != K_AMP:
            qubits[i, : len(b.qubits)] = b.qubits
        aux[i] = b.aux
        for f in b.factors:
            codes.append(f.code)
            args.append(f.arg)
            fqs.append(f.qubits)
        fac_ptr.append(len(codes))
    return {
        "kind": kinds,
        "qubits": qubits,
        "aux": aux,
        "fac_ptr": np.asarray(fac_ptr, dtype=i64),
        "fac_code": np.asarray(codes, dtype=i64),
        "fac_arg": np.asarray(args, dtype=i64),
        "fac_q": np.asarray(fqs, dtype=i64).reshape(-1, 2),
    }


# -- readout -------------------------------------------------------------------------------
def _pauli_product(obs: tuple[tuple[str, int], ...]) -> tuple[int, int, complex]:
    """``P_last ⋯ P_first`` as ``c · X^x · Z^z``, composing one Pauli at a time."""
    xm, zm, c = 0, 0, 1.0 + 0j
    for pauli, q in obs:
        bit = 1 << q
        if pauli in ("Z", "Y"):
            # Z_q · X^x = (-1)^{x_q} X^x · Z_q
            if xm & bit:
                c = -c
            zm ^= bit
        if pauli in ("X", "Y"):
            xm ^= bit
        if pauli == "Y":  # Y = i·X·Z
            c *= 1j
    return xm, zm, c


def _readout_program(readout: Readout | None) -> ReadoutProgram | None:
    if readout is None:
        return None
    i64 = np.int64
    if readout.kind == "probs":
        return ReadoutProgram(
            0, np.asarray(readout.qubits, dtype=i64), readout.num_classes,
            np.zeros(0, i64), np.zeros(0, i64), np.zeros(0, np.complex128),
        )
    prods = [_pauli_product(obs) for obs in readout.observables]
    return ReadoutProgram(
        1, np.zeros(0, i64), readout.num_outputs,
        np.asarray([p[0] for p in prods], dtype=i64),
        np.asarray([p[1] for p in prods], dtype=i64),
        np.asarray([p[2] for p in prods], dtype=np.complex128),
    )


TABLE_MAX_QUBITS = 16
"""Diagonal groups get a precomputed full diagonal up to this register size."""
_TABLE_MAX_BYTES = 1 << 25


def _group_diagonal(num_qubits: int, factors: tuple[Factor, ...], constd4: list[np.ndarray]):
    idx = np.arange(1 << num_qubits, dtype=np.int64)
    diag = np.ones(idx.size, dtype=np.complex128)
    for f in factors:
        a, b = f.qubits
        k = ((idx >> a) & 1) | (((idx >> b) & 1) << 1)
        if f.code == F_CZ:
            diag[k == 3] *= -1.0
        else:
            diag *= constd4[f.arg][k]
    return diag


def _cz_masks(factors: tuple[Factor, ...]) -> tuple[Factor, ...]:
    """Merge the cz factors of a group by qubit distance into ``F_CZMASK`` factors."""
    masks: dict[int, int] = {}
    others = []
    for f in factors:
        if f.code == F_CZ:
            a, b = sorted(f.qubits)
            masks[b - a] = masks.get(b - a, 0) | (1 << a)
        else:
            others.append(f)
    merged = [Factor(F_CZMASK, 0, (d, m)) for d, m in sorted(masks.items())]
    return (*merged, *others)


def _diagonal_tables(num_qubits: int, blocks: list[Block], constd4: list[np.ndarray]):
    """Give each diagonal group a (shared when equal) precomputed diagonal if it pays."""
    rows: dict[tuple[Factor, ...], int] = {}
    tables: list[np.ndarray] = []
    out = []
    budget = _TABLE_MAX_BYTES // (16 << num_qubits)
    for block in blocks:
        if block.kind == K_DGRP and num_qubits <= TABLE_MAX_QUBITS:
            row = rows.get(block.factors)
            if row is None and len(tables) < budget:
                row = rows[block.factors] = len(tables)
                tables.append(_group_diagonal(num_qubits, block.factors, constd4))
            if row is not None:
                block = Block(K_DGRP, (), block.factors, (row, 1))
        elif block.kind == K_DGRP:
            block = Block(K_DGRP, (), _cz_masks(block.factors))
        out.append(block)
    dtab = np.stack(tables) if tables else np.zeros((0, 1), dtype=np.complex128)
    return out, dtab


def _table(items: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    if not items:
        return np.zeros((0, *shape), dtype=np.complex128)
    return np.ascontiguousarray(np.stack(items), dtype=np.complex128)


def build_program(circuit: Circuit) -> SimProgram:
    """Lower ``circuit`` to a ``SimProgram`` (pure NumPy; compiles nothing).

    Args:
        circuit: a verified circuit (``qadl.ir.verify``); at most 62 qubits.

    Returns:
        The flat program. Its operator equals the circuit's exactly (no global phase).
    """
    if circuit.num_qubits > 62:
        raise ValueError("the statevector simulator handles at most 62 qubits")
    tape = _TapeBuilder()
    sched = _Scheduler(circuit.num_qubits, tape)
    for op in circuit.ops:
        sched.add(op)
    sched.finish()
    blocks, dtab = _diagonal_tables(circuit.num_qubits, sched.blocks, sched.constd4)
    flat = _flatten_blocks(blocks)
    return SimProgram(
        num_qubits=circuit.num_qubits,
        num_params=circuit.num_params,
        num_features=circuit.num_features,
        num_deltas=circuit.num_deltas,
        state_input=circuit.state_input,
        tape=tape.build(),
        const1=_table(sched.const1, (2, 2)),
        const4=_table(sched.const4, (4, 4)),
        constd4=_table(sched.constd4, (4,)),
        amp_off=np.asarray(sched.amp_off, dtype=np.int64),
        dtab=dtab,
        readout=_readout_program(circuit.readout),
        blocks=tuple(blocks),
        **flat,
    )

