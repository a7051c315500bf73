"""Name resolution, duplicates, several errors per run, and the built-in gate table."""

from __future__ import annotations

import pytest

from qadl.api import loads
from qadl.check.builtins import BUILTIN_GATES
from qadl.errors import QadlError
from qadl.ir.gates import GATES, Gate


def diagnostics(text: str):
    with pytest.raises(QadlError) as info:
        loads(text, "t.qadl")
    return info.value.diagnostics


def test_builtin_gate_table_mirrors_ir():
    assert set(BUILTIN_GATES) == {g.value for g in Gate}
    for g in Gate:
        if g is not Gate.AMPLITUDE:
            assert BUILTIN_GATES[g.value] == (GATES[g].num_qubits, GATES[g].num_angles)


def test_several_errors_in_one_run():
    diags = diagnostics(
        "gate a(q: qubits) { hh q\n rx(tehta) q }\n"
        "model m() on q[1] { a(q, reps = 1)\n readout probs(q[0]) }\n"
    )
    assert [d.code for d in diags] == ["E0201", "E0202", "E0302"]
    assert diags[0].help == "did you mean `h`?"


def test_duplicate_has_secondary_label():
    (diag,) = diagnostics("const N = 1\nconst N = 2")
    assert diag.code == "E0205"
    assert diag.secondary[0].message == "first defined here"
    assert diag.secondary[0].span.start == 6


def test_scoping_of_let_and_loop_variables():
    (diag,) = diagnostics(
        "model m() on q[2] {\n for i in 0..2 { let k = i\n h q[k] }\n h q[k]\n"
        " readout probs(q[0]) }"
    )
    assert diag.code == "E0202" and "`k`" in diag.message


def test_gate_values_and_lists_of_gates():
    program = loads(
        "gate layer(q: qubits, rot: gates = [rx, ry], ent: gate = cz) {\n"
        " for r in rot { r(0.5) q }\n ent q[0], q[1] }\n"
        "model m() on q[2] { layer(q, ent = cx)\n readout probs(q[0]) }",
        "t.qadl",
    )
    ops = program.models["m"].circuit.ops
    assert [op.gate.value for op in ops] == ["rx", "rx", "ry", "ry", "cx"]


def test_constants_across_modules_and_expressions():
    program = loads(
        "const L = 2\nconst N = L * 3 + 1\n"
        "model m() on q[N] { for i in 0..N { h q[i] }\n readout probs(q[0]) }",
        "t.qadl",
    )
    assert program.models["m"].num_qubits == 7
    assert len(program.models["m"].circuit.ops) == 7


def test_unknown_initialiser():
    (diag,) = diagnostics(
        "model m() on q[1] { param t[2] init unifrom(0, 1)\n readout probs(q[0]) }"
    )
    assert diag.code == "E0230" and diag.help == "did you mean `uniform`?"


def test_user_block_may_shadow_a_builtin_gate():
    program = loads("gate h(q: qubits, reps: int = 2) { for r in 0..reps { x q } }\n"
                    "model m() on q[1] { h(q, reps = 3)\n readout probs(q[0]) }", "t.qadl")
    assert [op.gate.value for op in program.models["m"].circuit.ops] == ["x", "x", "x"]
