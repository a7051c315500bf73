"""Every stdlib module and example passes ``qadl check``; examples lower to the papers' circuits."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qadl.api import diagnose, load, loads
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate
from qadl.testing import reference_outputs, reference_state

ROOT = Path(__file__).resolve().parents[2]
STDLIB = sorted((ROOT / "stdlib").rglob("*.qadl"))
EXAMPLES = sorted((ROOT / "examples").glob("*.qadl"))
REN_ENTANGLER = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (1, 2), (3, 4), (5, 6), (7, 8)]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_is_a_stdlib_and_examples():
    """The globs below are not vacuous."""
    assert len(STDLIB) >= 14
    assert {p.name for p in EXAMPLES} >= {
        "ren2022_images.qadl", "ren2022_quantum_data.qadl", "lu2020_amplitude.qadl",
        "reuploading.qadl", "zz_feature_map.qadl",
    }


@pytest.mark.parametrize("path", STDLIB + EXAMPLES, ids=_ids(STDLIB + EXAMPLES))
def test_file_checks_clean(path):
    """``qadl.api.diagnose`` reports no diagnostic at all (not even a warning)."""
    assert diagnose(path) == ()


def test_cli_check_accepts_everything():
    """``python -m qadl check`` on every stdlib module and example exits 0."""
    files = [str(p) for p in STDLIB + EXAMPLES]
    done = subprocess.run([sys.executable, "-m", "qadl", "check", *files], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok") == len(files)


@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_example_declares_a_whole_experiment(path):
    """Each example has data, a model, training, an attack, a defence, evaluation and a target.

    Models bound with ``device`` fit their target; the larger examples only declare or
    import a target (for ``qadl compile --target``), so that ``qadl run`` stays noiseless.
    """
    program = load(path)
    assert program.models and program.datasets and program.trainings and program.attacks
    assert program.defences and program.evaluations and program.targets
    widest = max(m.num_qubits for m in program.models.values())
    assert max(t.num_qubits for t in program.targets.values()) >= widest
    for name, model in program.models.items():
        target = program.target_of(name)
        assert target is None or target.num_qubits >= model.num_qubits


# ---- the flagship: Ren et al. 2022 image classifier --------------------------------------------


def ren_reference() -> Circuit:
    """Ren et al.'s circuit from REFERENCE-ren2022.md §2, built op by op."""
    ops: list[Op] = []
    for layer in range(26):
        for q in range(10):
            k = q + 10 * layer
            angle = E.theta(k) + math.pi + (2 * E.x(k) if k < 256 else 0.0)
            ops.append(Op(Gate.RX if layer % 2 == 0 else Gate.RZ, (q,), (angle,)))
        if layer in (7, 13, 19, 25):
            ops += [Op(Gate.CX, pair) for pair in REN_ENTANGLER]
    return Circuit(10, tuple(ops), num_params=260, num_features=256)


def test_ren2022_images_is_the_authors_circuit():
    """26 alternating Rx/Rz layers (blocks 8/6/6/6), brick-wall CNOTs, θ_k + π + 2·p_k."""
    model = load(ROOT / "examples" / "ren2022_images.qadl").model("classifier")
    circuit = model.circuit
    assert (circuit.num_qubits, circuit.num_params, circuit.num_features) == (10, 260, 256)
    expected = ren_reference()
    assert [(o.gate, o.qubits, o.angles) for o in circuit.ops] == [
        (o.gate, o.qubits, o.angles) for o in expected.ops
    ]
    assert circuit.readout is not None
    assert (circuit.readout.kind, circuit.readout.qubits, circuit.readout.num_classes) == (
        "probs", (4,), 2)


def test_ren2022_images_probabilities_match_direct_construction():
    """Readout probabilities equal an independent dense construction of the model."""
    circuit = load(ROOT / "examples" / "ren2022_images.qadl").model("classifier").circuit
    rng = np.random.default_rng(1)
    theta = rng.uniform(0, 2 * np.pi, 260)
    image = rng.uniform(0, 1, 256)
    image /= np.linalg.norm(image)
    angles = theta + np.pi + np.concatenate([2 * image, np.zeros(4)])
    psi = np.zeros(1024, dtype=complex)
    psi[0] = 1.0
    idx = np.arange(1024)
    for layer in range(26):
        for q in range(10):
            a = angles[q + 10 * layer]
            flip = idx ^ (1 << q)
            bit = (idx >> q) & 1
            if layer % 2 == 0:  # Rx = cos(a/2) I - i sin(a/2) X
                psi = math.cos(a / 2) * psi - 1j * math.sin(a / 2) * psi[flip]
            else:  # Rz = diag(e^{-ia/2}, e^{ia/2})
                psi = psi * np.exp(-0.5j * a * (1 - 2 * bit))
        if layer in (7, 13, 19, 25):
            for c, t in REN_ENTANGLER:
                psi = np.where((idx >> c) & 1, psi[idx ^ (1 << t)], psi)
    p1 = float(np.sum(np.abs(psi[(idx >> 4) & 1 == 1]) ** 2))
    got = reference_outputs(circuit, reference_state(circuit, theta, image))
    np.testing.assert_allclose(got, [1 - p1, p1], atol=1e-10)


def test_ren2022_images_attack_and_defence_are_the_papers():
    """`ren`: the paper's Adam step (lr 0.01 on the angle π + 2p, i.e. 0.005 on the pixel), nonzero
    mask, until wrong class >= 0.6; defence ratio 0.5."""
    program = load(ROOT / "examples" / "ren2022_images.qadl")
    ren = program.attacks["ren"]
    text = repr(ren)
    for fragment in ("gradient_steps", "adam", "0.005", "nonzero", "wrong_class", "0.6"):
        assert fragment in text, (fragment, text)
    (defence,) = program.defences
    assert "ren" in repr(defence) and "0.5" in repr(defence)
    target = program.targets["chain10"]
    assert target.num_qubits == 10
    assert set(target.coupling) == {(i, i + 1) for i in range(9)}
    assert {g.value for g in target.basis} == {"rx", "ry", "rz", "cz"}
    # T1 150 µs is not modelled (no gate durations are published): no relaxation at all
    assert target.noise.t1 is None and target.noise.time_1q == 0.0


def test_ren2022_quantum_data_model():
    """Quantum-data classifier: input state, 150 angles in 5 blocks, readout on qubit 4."""
    model = load(ROOT / "examples" / "ren2022_quantum_data.qadl").model("phase")
    circuit = model.circuit
    assert circuit.state_input and circuit.num_features == 0
    assert circuit.num_params == 150
    assert sum(op.gate is Gate.CX for op in circuit.ops) == 5 * len(REN_ENTANGLER)
    assert circuit.readout.qubits == (4,)


def test_lu2020_amplitude_model():
    """Lu et al.: 256 amplitudes on 8 qubits, 10 Z·X·Z layers with a CNOT ladder."""
    circuit = load(ROOT / "examples" / "lu2020_amplitude.qadl").model("classifier").circuit
    first = circuit.ops[0]
    assert first.gate is Gate.AMPLITUDE and first.qubits == tuple(range(8))
    assert circuit.num_features == 256 and circuit.num_params == 10 * 3 * 8
    rotations = [op.gate for op in circuit.ops if op.gate in (Gate.RX, Gate.RZ)]
    assert rotations == [Gate.RZ, Gate.RX, Gate.RZ] * 80
    ladder = [op.qubits for op in circuit.ops if op.gate is Gate.CX]
    assert ladder == [(i, i + 1) for i in range(7)] * 10


def test_heavy_hex27_is_falcon():
    """heavy_hex27: 27 qubits, 28 couplers of FakeMontreal, degree ≤ 3, rz/sx/x/cx basis."""
    program = loads(
        "import targets.heavy_hex27\nmodel m() on q[2] {\n    cx q[0], q[1]\n"
        "    readout probs(q[0])\n}\ndevice m on heavy_hex27\n"
    )
    target = program.target_of("m")
    assert target.num_qubits == 27 and len(target.coupling) == 28
    degree = np.bincount(np.array(target.coupling).reshape(-1), minlength=27)
    assert degree.max() == 3 and degree.min() == 1
    assert {g.value for g in target.basis} == {"rz", "sx", "x", "cx"}
