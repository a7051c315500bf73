"""Lowering: θ numbering, features, amplitude padding, readouts, state input, inits, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qadl.api import loads
from qadl.errors import QadlError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.printer import format_circuit
from qadl.testing import assert_equivalent


def model(text: str, name: str = "m"):
    return loads(text, "t.qadl").models[name]


def test_model_params_first_then_block_params_in_call_order():
    m = model(
        "gate rot(q: qubits) { param w[2]\n ry(w[0]) q\n rz(w[1]) q }\n"
        "model m() on q[1] {\n rot(q)\n param a[1]\n rot(q)\n rx(a[0]) q\n readout probs(q[0]) }"
    )
    thetas = [op.angles[0] for op in m.circuit.ops]
    assert thetas == [E.theta(1), E.theta(2), E.theta(3), E.theta(4), E.theta(0)]
    assert m.num_params == 5
    assert [(p.name, p.start, p.size) for p in m.param_init] == [
        ("rot#0.w", 1, 2),
        ("a", 0, 1),
        ("rot#1.w", 3, 2),
    ]


def test_ren_style_angles_and_features():
    m = model(
        "model m(p: float[3]) on q[2] {\n param θ[4] init normal(0, 0.1)\n"
        " for k in 0..4 { rx(θ[k] + π + (k < 3 ? 2 * p[k] : 0)) q[k % 2] }\n"
        " readout probs(q[1]) -> classes 2 }"
    )
    assert m.num_features == 3 and m.input_kind == "features" and m.feature_shape == (3,)
    assert m.circuit.ops[0].angles[0] == E.theta(0) + math.pi + 2 * E.x(0)
    assert m.circuit.ops[3].angles[0] == E.theta(3) + math.pi
    assert m.param_init[0].kind == "normal" and m.param_init[0].args == (0.0, 0.1)
    theta = m.initial_params(seed=1)
    assert theta.shape == (4,) and abs(theta).max() < 1


def test_hand_built_equivalence():
    m = model(
        "gate ent(q: qubits) { for i in 0..len(q) - 1 { cz q[i], q[i + 1] } }\n"
        "model m(x: float[2]) on q[3] {\n param t[3]\n h q\n"
        " for i in 0..3 { ry(t[i] * x[i % 2]) q[i] }\n ent(q)\n"
        " readout expval(Z q[0], Z q[1] * Z q[2]) }"
    )
    expected = Circuit(
        3,
        (
            Op(Gate.H, (0,)),
            Op(Gate.H, (1,)),
            Op(Gate.H, (2,)),
            Op(Gate.RY, (0,), (E.theta(0) * E.x(0),)),
            Op(Gate.RY, (1,), (E.theta(1) * E.x(1),)),
            Op(Gate.RY, (2,), (E.theta(2) * E.x(0),)),
            Op(Gate.CZ, (0, 1)),
            Op(Gate.CZ, (1, 2)),
        ),
        3,
        2,
        readout=Readout("expval", observables=((("Z", 0),), (("Z", 1), ("Z", 2))), num_classes=2),
    )
    assert m.circuit.ops == expected.ops
    assert m.circuit.readout == expected.readout
    assert_equivalent(m.circuit, expected)


def test_amplitude_is_padded_and_first():
    m = model(
        "model m(p: float[5]) on q[3] { amplitude(p) q\n h q[0]\n"
        " readout probs(q[0], q[1]) -> classes 4 }"
    )
    op = m.circuit.ops[0]
    assert op.gate is Gate.AMPLITUDE and op.qubits == (0, 1, 2)
    assert op.angles[:5] == tuple(E.x(i) for i in range(5)) and op.angles[5:] == (E.const(0.0),) * 3
    assert m.circuit.readout == Readout("probs", (0, 1), num_classes=4)


def test_state_input_model_and_scale():
    m = model(
        "model m(psi: state) on q[2] { param t[1]\n rx(t[0]) q[0]\n"
        " readout expval(Z q[0]) scale 5 }"
    )
    assert m.circuit.state_input and m.input_kind == "state" and m.num_features == 0
    assert m.readout_scale == 5.0


def test_powers_and_quadratic_angles():
    m = model(
        "model m(x: float[2]) on q[1] { rz(2 * (π - x[0]) * (π - x[1]) + x[0] ** 2) q[0]\n"
        " readout probs(q[0]) }"
    )
    angle = m.circuit.ops[0].angles[0]
    xs = np.array([0.3, -0.7])
    assert math.isclose(angle.evaluate(x=xs), 2 * (math.pi - 0.3) * (math.pi + 0.7) + 0.09)


def test_step_and_negative_ranges_and_slices():
    m = model(
        "model m() on q[6] {\n for i in 5..0 step -2 { x q[i] }\n h q[2:4]\n"
        " for r in q[4:] { z r }\n readout probs(q[0]) }"
    )
    assert [(op.gate.value, op.qubits) for op in m.circuit.ops] == [
        ("x", (5,)),
        ("x", (3,)),
        ("x", (1,)),
        ("h", (2,)),
        ("h", (3,)),
        ("z", (4,)),
        ("z", (5,)),
    ]


def test_printer_is_stable():
    text = (
        "model m(x: float[1]) on q[2] { param t[1]\n rx(t[0] + x[0]) q[1]\n cx q[1], q[0]\n"
        " readout probs(q[0]) }"
    )
    a = format_circuit(model(text).circuit)
    assert a == format_circuit(model(text).circuit)
    assert a.splitlines()[-2:] == ["  rx(theta[0] + x[0]) q[1]", "  cx q[1], q[0]"]


def test_recursion_is_reported():
    with pytest.raises(QadlError) as info:
        loads(
            "gate g(q: qubits) { g(q) }\nmodel m() on q[1] { g(q)\n readout probs(q[0]) }", "t.qadl"
        )
    assert info.value.diagnostics[0].code == "E0322"


def test_errors_in_loops_are_reported_once():
    with pytest.raises(QadlError) as info:
        loads("model m() on q[2] { for i in 0..10 { h q[i + 5] }\n readout probs(q[0]) }", "t.qadl")
    assert len(info.value.diagnostics) == 1


@pytest.mark.parametrize("path", ["ren2022_images", "ren2022_quantum_data"])
def test_reference_examples_compile(path):
    from pathlib import Path

    from qadl.api import load

    repo = Path(__file__).resolve().parents[2]
    file = repo / "examples" / f"{path}.qadl"
    assert file.exists(), f"missing example {file.name}"
    program = load(file)
    m = next(iter(program.models.values()))
    assert m.num_qubits == 10
    if path == "ren2022_images":
        assert m.num_params == 260 and m.num_features == 256
        assert sum(op.gate is Gate.CX for op in m.circuit.ops) == 36
        assert m.circuit.readout == Readout("probs", (4,), num_classes=2)


@pytest.mark.parametrize(("text", "code"), [
    ("const N = 10 ** 10 ** 10", "E0323"),
    ("model m() on q[1] { let a = 10 ** 10 ** 10\n readout probs(q[0]) }", "E0323"),
    ("model m() on q[1] { for i in 0..10000000 { h q[0] }\n readout probs(q[0]) }", "E0408"),
    ("model m() on q[1] { param t[10 ** 9]\n readout probs(q[0]) }", "E0317"),
    ("model m(p: float[10 ** 9]) on q[1] { readout probs(q[0]) }", "E0306"),
])
def test_resource_limits_are_diagnostics(text, code):
    """Huge numbers and loops end in a diagnostic quickly, not a hang."""
    with pytest.raises(QadlError) as info:
        loads(text, "t.qadl")
    assert [d.code for d in info.value.diagnostics] == [code]
