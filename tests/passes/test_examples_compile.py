"""Every example model and stdlib template compiles to chain10 and heavy_hex27 correctly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qadl.ir.circuit import Circuit
from qadl.ir.gates import Gate
from qadl.passes import compile_for_target
from qadl.passes.analysis import non_native_ops, uncoupled_ops
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import random_bindings, reference_outputs, reference_state

from .helpers import compact

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.qadl"))
TARGETS = [chain_target(), heavy_hex_27()]


def _models(path: Path):
    from qadl.api import load

    return load(path).models


def _assert_compiles(circuit: Circuit, target, seed: int = 0, x_bind=None) -> None:
    """Native, coupled, and readout values equal on the physical qubits actually used."""
    compiled = compile_for_target(circuit, target, 3, x=x_bind)
    out = compiled.circuit
    assert non_native_ops(out, target) == () and uncoupled_ops(out, target) == ()
    used = {q for o in out.ops for q in o.qubits} | set(out.readout.measured_qubits())
    assert len(used) <= 14, "too wide to check densely"
    small, index = compact(out, used)
    r = out.readout
    small = replace(
        small,
        readout=replace(
            r,
            qubits=tuple(index[q] for q in r.qubits),
            observables=tuple(tuple((p, index[q]) for p, q in o) for o in r.observables),
        ),
    )
    theta, x, delta = random_bindings(np.random.default_rng(seed), circuit)
    if x_bind is not None:
        x = x_bind
    want = reference_outputs(circuit, reference_state(circuit, theta, x, delta))
    got = reference_outputs(small, reference_state(small, theta, x, delta))
    np.testing.assert_allclose(got, want, atol=1e-8)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_models_compile(path, target):
    """Each model of each example (amplitude encoding: with one bound sample)."""
    models = _models(path)
    assert models
    for model in models.values():
        circuit = model.circuit
        x_bind = None
        if any(op.gate is Gate.AMPLITUDE for op in circuit.ops):
            x_bind = np.random.default_rng(1).uniform(0.1, 1.0, circuit.num_features)
        _assert_compiles(circuit, target, x_bind=x_bind)


TEMPLATES = {
    "efficient_su2": (
        "import ansatz.efficient_su2",
        'efficient_su2(q, reps = 2, entanglement = "full")',
    ),
    "real_amplitudes": (
        "import ansatz.real_amplitudes",
        'real_amplitudes(q, reps = 2, entanglement = "circular")',
    ),
    "hardware_efficient": ("import ansatz.hardware_efficient", "hardware_efficient(q, layers = 2)"),
    "strongly_entangling": (
        "import ansatz.strongly_entangling",
        "strongly_entangling(q, layers = 2)",
    ),
    "brickwall_cnot": ("import ansatz.brickwall_cnot", "brickwall_cnot(q)"),
    "qcnn": ("import ansatz.qcnn", "qcnn_conv(q)\n    qcnn_pool(q[0:3], q[3:6])"),
    "zz_feature_map": (
        "import encodings.zz_feature_map",
        'zz_feature_map(q, x, reps = 2, entanglement = "full")',
    ),
    "reuploading": ("import encodings.reuploading", "reuploading(q, x, layers = 2)"),
    "angle": ("import encodings.angle", "angle_encoding(q, x)"),
    "dense_angle": ("import encodings.angle", "dense_angle_encoding(q, x)"),
    "hamiltonian": ("import encodings.hamiltonian", "hamiltonian_embedding(q, x, steps = 2)"),
}


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_stdlib_templates_compile(name, target, tmp_path):
    """A 6-qubit model around each stdlib template, with a probs readout on two qubits."""
    from qadl.api import load

    imp, call = TEMPLATES[name]
    text = (
        f"{imp}\nmodel m(x: float[12]) on q[6] {{\n"
        "    for i in 0..6 { ry(x[i]) q[i] }\n"
        f"    {call}\n"
        "    readout probs(q[0], q[5]) -> classes 4\n}\n"
    )
    path = tmp_path / "case.qadl"
    path.write_text(text, encoding="utf-8")
    circuit = load(path).model("m").circuit
    assert len(circuit.ops) > 6
    _assert_compiles(circuit, target, seed=3)
