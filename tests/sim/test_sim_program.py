"""SimProgram lowering (fusion, scheduling, tape) and the lazy-compilation / cache-dir contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from qadl.backends.sim.build import build_program
from qadl.backends.sim.program import (
    K_CM1,
    K_D1,
    K_DGRP,
    K_M1,
    SHIFT_FOUR,
    SHIFT_NONE,
    SHIFT_TWO,
)
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate

ROOT = Path(__file__).resolve().parents[2]


def _layer_circuit(n: int) -> Circuit:
    ops = []
    k = 0
    for q in range(n):
        for g in (Gate.RZ, Gate.RY, Gate.RZ):
            ops.append(Op(g, (q,), (E.theta(k),)))
            k += 1
    ops += [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)]
    return Circuit(n, tuple(ops), num_params=k)


def test_rotations_fuse_and_cz_chain_groups():
    """RZ·RY·RZ on each wire is one block; a CZ chain is one diagonal pass.

    q0: ─RZ─RY─RZ─■──────   ==>   [m1 q0] [m1 q1] [m1 q2] [dgrp: cz01 cz12]
    q1: ─RZ─RY─RZ─■──■───
    q2: ─RZ─RY─RZ────■───
    """
    prog = build_program(_layer_circuit(3))
    assert list(prog.kind) == [K_M1, K_M1, K_M1, K_DGRP]
    assert prog.num_angles == 9
    assert list(prog.fac_ptr) == [0, 3, 6, 9, 11]


def test_constant_single_qubit_gates_fuse_into_one_matrix():
    """h·t·h·s on one wire becomes one constant 2×2; z·s·t becomes a diagonal block."""
    ops = (Op(Gate.H, (0,)), Op(Gate.T, (0,)), Op(Gate.H, (0,)), Op(Gate.S, (0,)),
           Op(Gate.Z, (1,)), Op(Gate.S, (1,)), Op(Gate.T, (1,)))
    prog = build_program(Circuit(2, ops))
    assert list(prog.kind) == [K_M1, K_D1]
    assert prog.const1.shape == (2, 2, 2)
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    expected = np.diag([1, 1j]) @ h @ np.diag([1, np.exp(0.25j * np.pi)]) @ h
    np.testing.assert_allclose(prog.const1[0], expected, atol=1e-15)


def test_pending_rotation_waits_for_the_diagonal_group():
    """A rotation between two CZs on its wire stays between them."""
    ops = (Op(Gate.CZ, (0, 1)), Op(Gate.RY, (1,), (E.theta(0),)), Op(Gate.CZ, (1, 2)),
           Op(Gate.CRZ, (0, 2), (E.theta(1),)))
    prog = build_program(Circuit(3, ops, num_params=2))
    assert list(prog.kind) == [K_DGRP, K_M1, K_CM1, K_DGRP]


def test_tape_is_csr_polynomial_with_shift_rules():
    """Angles are c0 + Σ coef·Π symbols; shift rules follow the gate kind."""
    angle = E.theta(2) * 2.0 + E.x(1) * E.delta(0) + 0.5
    ops = (Op(Gate.RX, (0,), (angle,)), Op(Gate.CRY, (0, 1), (E.theta(0),)),
           Op(Gate.AMPLITUDE, (2,), (E.x(0), E.const(1.0))))
    prog = build_program(Circuit(3, (ops[2], ops[0], ops[1]), num_params=3, num_features=2,
                                 num_deltas=1))
    tape = prog.tape
    assert list(tape.shift_rule) == [SHIFT_NONE, SHIFT_NONE, SHIFT_TWO, SHIFT_FOUR]
    assert tape.c0[2] == 0.5
    terms = range(tape.term_ptr[2], tape.term_ptr[3])
    syms = [
        sorted(zip(tape.sym_kind[tape.sym_ptr[t]:tape.sym_ptr[t + 1]],
                   tape.sym_index[tape.sym_ptr[t]:tape.sym_ptr[t + 1]], strict=True))
        for t in terms
    ]
    assert syms == [[(0, 2)], [(1, 1), (2, 0)]]
    assert [tape.term_coef[t] for t in terms] == [2.0, 1.0]


def _run(code: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(ROOT) + os.pathsep + full_env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, check=True, cwd=ROOT)
    return done.stdout.strip()


def test_import_and_construction_compile_nothing():
    """`import qadl.backends.sim` and `Simulator(circuit)` do not import Numba."""
    code = (
        "import sys\n"
        "import qadl, qadl.backends.sim as s\n"
        "from qadl.ir import expr as E\n"
        "from qadl.ir.circuit import Circuit, Op\n"
        "from qadl.ir.gates import Gate\n"
        "sim = s.Simulator(Circuit(2, (Op(Gate.RY, (0,), (E.theta(0),)),), num_params=1))\n"
        "print('numba' in sys.modules, sim.program.num_blocks)\n"
    )
    assert _run(code) == "False 1"


def test_cache_dir_moves_to_user_dir_when_package_is_read_only(tmp_path):
    """A read-only install caches kernels under $XDG_CACHE_HOME/qadl/numba."""
    code = (
        "import qadl.backends.sim.cache as c\n"
        "c._package_dir_writable = lambda: False\n"
        "print(c.configure_numba_cache())\n"
    )
    env = {"XDG_CACHE_HOME": str(tmp_path), "NUMBA_CACHE_DIR": ""}
    out = _run(code, env)
    assert out == str(tmp_path / "qadl" / "numba")
    assert (tmp_path / "qadl" / "numba").is_dir()
    # an explicit user setting always wins
    assert _run(code, {"NUMBA_CACHE_DIR": str(tmp_path / "mine")}) == str(tmp_path / "mine")
