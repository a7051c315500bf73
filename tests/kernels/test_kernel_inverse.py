"""`inverse(block)`: the block's ops reversed and inverted, an ordinary circuit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from qadl.api import loads, to_qasm
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.kernels import feature_states, fidelity_gram
from qadl.testing import circuit_unitary, operator_distance

ROOT = Path(__file__).resolve().parents[2]
IMPORTS = """import ansatz.real_amplitudes
import ansatz.qcnn
import ansatz.brickwall_cnot
import ansatz.strongly_entangling
import ansatz.hardware_efficient
import ansatz.efficient_su2
import layers.entanglers
import layers.rotations
import encodings.angle
import encodings.reuploading
import encodings.zz_feature_map
import encodings.hamiltonian
"""
CALLS = {
    "real_amplitudes": "real_amplitudes(q, reps = 2)",
    "conv_unit": "conv_unit(q[0], q[1], x[0], x[1], x[2])",
    "pool_unit": "pool_unit(q[0], q[1], x[0], x[1], x[2])",
    "qcnn_conv": "qcnn_conv(q)",
    "qcnn_pool": "qcnn_pool(q[0:2], q[2:4])",
    "brickwall_cnot": "brickwall_cnot(q)",
    "strongly_entangling": "strongly_entangling(q, layers = 2)",
    "hardware_efficient": "hardware_efficient(q, layers = 2)",
    "efficient_su2": "efficient_su2(q, reps = 2)",
    "entangle": 'entangle(q, pattern = "circular", entangler = cz)',
    "brickwall": "brickwall(q)",
    "rotation_layer": "rotation_layer(q, rotation = rx)",
    "rot": "rot(q[1], x[0], x[1], x[2])",
    "rot_layer": "rot_layer(q)",
    "euler_zxz_layer": "euler_zxz_layer(q)",
    "angle_encoding": "angle_encoding(q, x[0:4])",
    "dense_angle_encoding": "dense_angle_encoding(q, x)",
    "reuploading": "reuploading(q, x[0:4], layers = 2)",
    "reuploading_product": "reuploading_product(q, x[0:4], layers = 2)",
    "zz_phase": "zz_phase(q[0], q[2], x[0])",
    "zz_feature_map": "zz_feature_map(q, x[0:4])",
    "hamiltonian_embedding": "hamiltonian_embedding(q, x[0:4])",
}
NOT_UNITARY = {"amplitude_encoding"}  # prepares a state from |0…0>: refused (E0555)


def _models(bodies: dict[str, str], imports: str = IMPORTS) -> dict:
    text = imports + "".join(
        f"model {name}(x: float[8]) on q[4] {{\n{body}\n    readout probs(q[0])\n}}\n"
        for name, body in bodies.items()
    )
    return loads(text, "inv.qadl").models


def _model(body: str, imports: str = IMPORTS):
    return _models({"m": body}, imports)["m"]


def test_every_stdlib_block_is_covered():
    names = set()
    for path in (ROOT / "stdlib").rglob("*.qadl"):
        names |= set(re.findall(r"^gate (\w+)", path.read_text(encoding="utf-8"), re.M))
    assert names == set(CALLS) | NOT_UNITARY


@pytest.mark.parametrize("name", sorted(CALLS))
def test_block_then_its_inverse_is_the_identity(name):
    call = CALLS[name]
    models = _models({"once": f"    {call}", "both": f"    {call}\n    inverse({call})"})
    once, both = models["once"], models["both"]
    assert len(both.circuit.ops) == 2 * len(once.circuit.ops) > 0
    rng = np.random.default_rng(len(name))
    x = rng.uniform(0, 2 * np.pi, 8)
    t = rng.uniform(0, 2 * np.pi, once.num_params)
    u = circuit_unitary(once.circuit, theta=t, x=x)
    eye = np.eye(16)
    assert operator_distance(u, eye) > 1e-3 or name == "brickwall_cnot"  # not trivial
    # the inverse call allocates the same fresh block parameters again, in the same order
    total = circuit_unitary(both.circuit, theta=np.tile(t, 2), x=x)
    assert np.allclose(total, eye, atol=1e-10)


def test_compute_uncompute_probability_is_the_fidelity_kernel():
    head = "import encodings.zz_feature_map\n"
    model = loads(
        head + "model cu(x: float[4]) on q[2] {\n"
        "    zz_feature_map(q, x[0:2], reps = 2)\n"
        "    inverse(zz_feature_map(q, x[2:4], reps = 2))\n"
        "    readout probs(q) -> classes 4\n}\n",
        "cu.qadl",
    ).models["cu"]
    fm = loads(
        head + "kernel k(x: float[2]) on q[2] { zz_feature_map(q, x, reps = 2) }\n", "k.qadl"
    ).kernels["k"].feature_map
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 2 * np.pi, (20, 2)), rng.uniform(0, 2 * np.pi, (20, 2))
    p00 = Simulator(model.circuit).outputs(np.zeros(0), x=np.hstack([a, b]))[:, 0]
    gram = fidelity_gram(feature_states(fm, a), feature_states(fm, b))
    assert np.allclose(p00, np.diag(gram), atol=1e-10)
    qasm = to_qasm(model)
    assert "input" in qasm and qasm.count("cx") >= 8


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("    inverse(amplitude_encoding(q, x))", "E0555"),
        ("    inverse(h, x) q", "E0554"),
        ("    inverse(1 + 2) q", "E0554"),
        ("    inverse(nonexistent(q))", "E0201"),
    ],
)
def test_bad_inverses_are_located(body, code):
    with pytest.raises(QadlError) as info:
        _model(body, IMPORTS + "import encodings.amplitude\n")
    (diag, *_) = info.value.diagnostics
    assert diag.code == code and diag.primary.span.start > 0


def test_a_user_block_named_inverse_is_called_as_written():
    text = "gate inverse(q: qubits) { x q }\n"
    model = _model("    inverse(q)", text)
    assert [op.gate.value for op in model.circuit.ops] == ["x"] * 4


def test_qadl_compile_emits_a_kernels_compute_uncompute_circuit(tmp_path, capsys):
    from qadl.cli import main
    from qadl.ir.kernel import compute_uncompute

    text = (
        "import encodings.zz_feature_map\n"
        "kernel k(x: float[3]) on q[3] { zz_feature_map(q, x, reps = 2) }\n"
    )
    kernel = loads(text, "k.qadl").kernels["k"]
    model = compute_uncompute(kernel)
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 2 * np.pi, (10, 3)), rng.uniform(0, 2 * np.pi, (10, 3))
    p00 = Simulator(model.circuit).outputs(np.zeros(0), x=np.hstack([a, b]))[:, 0]
    states = feature_states(kernel.feature_map, np.vstack([a, b]))
    assert np.allclose(p00, np.diag(fidelity_gram(states[:10], states[10:])), atol=1e-10)
    path = tmp_path / "k.qadl"
    path.write_text(text)
    assert main(["compile", str(path), "--model", "k"]) == 0
    qasm = capsys.readouterr().out
    assert all(f"input float[64] x_{i};" in qasm for i in range(6))


def test_an_amplitude_encoded_kernel_has_no_compute_uncompute_circuit(tmp_path, capsys):
    from qadl.cli import main

    path = tmp_path / "amp.qadl"
    path.write_text("kernel k(x: float[4]) on q[2] { amplitude(x) q }\n")
    assert main(["compile", str(path)]) == 1
    assert "error[E0555]" in capsys.readouterr().err
