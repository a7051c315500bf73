"""The stdlib templates, lowered through the real front end, equal their reference circuits.

Templates Qiskit also has (ZZFeatureMap, EfficientSU2, RealAmplitudes) are compared as
operators with ``qiskit.quantum_info.Operator`` at random parameter values, up to global
phase; templates Qiskit lacks are compared with hand-built IR (``stdlib_references.py``), both
op for op and as operators.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate
from qadl.testing import assert_equivalent, circuit_unitary

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stdlib_references import (
    entangler_pairs,
    hardware_efficient_reference,
    qiskit_operator,
    strongly_entangling_reference,
)

PATTERNS = ("linear", "reverse_linear", "circular", "full")


def lower(text: str, tmp_path: Path, name: str = "m") -> Circuit:
    """Check and lower a one-model program written to a temporary file; its circuit."""
    from qadl.api import load

    path = tmp_path / "case.qadl"
    path.write_text(text, encoding="utf-8")
    return load(path).model(name).circuit


def phase_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest entry of |a - e^{iφ} b| with φ aligning the largest entry of a."""
    k = int(np.argmax(np.abs(a)))
    phase = a.flat[k] / b.flat[k]
    return float(np.max(np.abs(a - phase / abs(phase) * b)))


def ops_signature(circuit: Circuit) -> list[tuple[Gate, tuple[int, ...], tuple[E.Expr, ...]]]:
    """(gate, qubits, angles) of every op: structural comparison without tags or spans."""
    return [(op.gate, op.qubits, op.angles) for op in circuit.ops]


# ---- Qiskit's circuit library -----------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("reps", [1, 3])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_real_amplitudes_equals_qiskit(tmp_path, n, reps, pattern):
    """real_amplitudes(q, reps, entanglement) == qiskit real_amplitudes(n, entanglement, reps)."""
    from qiskit.circuit.library import real_amplitudes

    circuit = lower(
        f'import ansatz.real_amplitudes\nmodel m() on q[{n}] {{\n'
        f'    real_amplitudes(q, reps = {reps}, entanglement = "{pattern}")\n'
        f"    readout probs(q[0])\n}}\n",
        tmp_path,
    )
    reference = real_amplitudes(n, entanglement=pattern, reps=reps)
    assert circuit.num_params == reference.num_parameters == (reps + 1) * n
    theta = np.random.default_rng(n * 10 + reps).uniform(-np.pi, np.pi, circuit.num_params)
    dist = phase_distance(circuit_unitary(circuit, theta), qiskit_operator(reference, theta))
    assert dist < 1e-9


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("reps", [1, 2])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_efficient_su2_equals_qiskit(tmp_path, n, reps, pattern):
    """efficient_su2(q, reps, entanglement) == qiskit efficient_su2(n, entanglement=, reps=)."""
    from qiskit.circuit.library import efficient_su2

    circuit = lower(
        f'import ansatz.efficient_su2\nmodel m() on q[{n}] {{\n'
        f'    efficient_su2(q, reps = {reps}, entanglement = "{pattern}")\n'
        f"    readout probs(q[0])\n}}\n",
        tmp_path,
    )
    reference = efficient_su2(n, entanglement=pattern, reps=reps)
    assert circuit.num_params == reference.num_parameters == 2 * (reps + 1) * n
    theta = np.random.default_rng(n * 10 + reps).uniform(-np.pi, np.pi, circuit.num_params)
    dist = phase_distance(circuit_unitary(circuit, theta), qiskit_operator(reference, theta))
    assert dist < 1e-9


def test_efficient_su2_other_gates_equals_qiskit(tmp_path):
    """A non-default su2_gates list keeps Qiskit's (rep, gate, qubit) parameter order."""
    from qiskit.circuit.library import efficient_su2

    circuit = lower(
        "import ansatz.efficient_su2\nmodel m() on q[3] {\n"
        "    efficient_su2(q, reps = 2, su2_gates = [rx, ry, rz])\n"
        "    readout probs(q[0])\n}\n",
        tmp_path,
    )
    reference = efficient_su2(3, su2_gates=["rx", "ry", "rz"], reps=2)
    theta = np.random.default_rng(3).uniform(-np.pi, np.pi, reference.num_parameters)
    assert circuit.num_params == reference.num_parameters
    assert phase_distance(circuit_unitary(circuit, theta), qiskit_operator(reference, theta)) < 1e-9


@pytest.mark.parametrize("template", ["real_amplitudes", "efficient_su2"])
def test_defaults_match_qiskit_defaults(tmp_path, template):
    """Called with no options, the templates equal Qiskit's defaults (reps 3, reverse_linear)."""
    import qiskit.circuit.library as lib

    circuit = lower(
        f"import ansatz.{template}\nmodel m() on q[3] {{\n    {template}(q)\n"
        "    readout probs(q[0])\n}\n",
        tmp_path,
    )
    reference = getattr(lib, template)(3)
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, reference.num_parameters)
    assert circuit.num_params == reference.num_parameters
    assert phase_distance(circuit_unitary(circuit, theta), qiskit_operator(reference, theta)) < 1e-9


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("reps", [1, 2])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_zz_feature_map_equals_qiskit(tmp_path, n, reps, pattern):
    """zz_feature_map(q, x, reps, entanglement) == qiskit zz_feature_map at the same x."""
    from qiskit.circuit.library import zz_feature_map

    circuit = lower(
        f"import encodings.zz_feature_map\nmodel m(x: float[{n}]) on q[{n}] {{\n"
        f'    zz_feature_map(q, x, reps = {reps}, entanglement = "{pattern}")\n'
        f"    readout probs(q[0])\n}}\n",
        tmp_path,
    )
    reference = zz_feature_map(n, reps=reps, entanglement=pattern)
    assert circuit.num_features == n and circuit.num_params == 0
    x = np.random.default_rng(n + reps).uniform(0, 2 * np.pi, n)
    dist = phase_distance(circuit_unitary(circuit, x=x), qiskit_operator(reference, x))
    assert dist < 1e-9


def test_zz_feature_map_default_is_qiskit_default(tmp_path):
    """zz_feature_map(q, x) is Qiskit's default: reps 2, full entanglement, α = 2."""
    from qiskit.circuit.library import zz_feature_map

    circuit = lower(
        "import encodings.zz_feature_map\nmodel m(x: float[3]) on q[3] {\n"
        "    zz_feature_map(q, x)\n    readout probs(q[0])\n}\n",
        tmp_path,
    )
    x = np.random.default_rng(11).uniform(0, 2 * np.pi, 3)
    dist = phase_distance(circuit_unitary(circuit, x=x), qiskit_operator(zz_feature_map(3), x))
    assert dist < 1e-9


# ---- hand-built references ----------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_strongly_entangling_matches_hand_built(tmp_path, n, layers):
    """strongly_entangling(q, layers) is PennyLane's StronglyEntanglingLayers, op for op."""
    circuit = lower(
        f"import ansatz.strongly_entangling\nmodel m() on q[{n}] {{\n"
        f"    strongly_entangling(q, layers = {layers})\n    readout probs(q[0])\n}}\n",
        tmp_path,
    )
    reference = strongly_entangling_reference(n, layers)
    assert circuit.num_params == reference.num_params
    assert ops_signature(circuit) == ops_signature(reference)
    assert_equivalent(circuit.with_ops(circuit.ops), reference, rng=np.random.default_rng(n))


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("pattern", [*PATTERNS, "brickwall"])
@pytest.mark.parametrize(("rotations", "entangler"), [(("ry", "rz"), "cz"), (("rx",), "cx")])
def test_hardware_efficient_matches_hand_built(tmp_path, n, pattern, rotations, entangler):
    """hardware_efficient(q, layers, rotations, entangler, pattern) against hand-built IR."""
    rot_list = ", ".join(rotations)
    circuit = lower(
        f"import ansatz.hardware_efficient\nmodel m() on q[{n}] {{\n"
        f"    hardware_efficient(q, layers = 2, rotations = [{rot_list}], entangler = {entangler},"
        f' pattern = "{pattern}")\n    readout probs(q[0])\n}}\n',
        tmp_path,
    )
    reference = hardware_efficient_reference(n, 2, rotations, entangler, pattern)
    assert circuit.num_params == reference.num_params
    assert ops_signature(circuit) == ops_signature(reference)


def test_brickwall_cnot_is_ren_entangling_layer(tmp_path):
    """brickwall_cnot on 10 qubits is Ren et al.'s layer E, in the authors' order."""
    circuit = lower(
        "import ansatz.brickwall_cnot\nmodel m() on q[10] {\n    brickwall_cnot(q)\n"
        "    readout probs(q[4])\n}\n",
        tmp_path,
    )
    expected = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (1, 2), (3, 4), (5, 6), (7, 8)]
    assert [op.qubits for op in circuit.ops] == expected
    assert all(op.gate is Gate.CX for op in circuit.ops)


def test_entangler_pairs_of_stdlib_match_qiskit_order(tmp_path):
    """layers.entanglers.entangle yields Qiskit's n_local pair order for every pattern."""
    from qiskit.circuit.library import real_amplitudes

    for pattern in PATTERNS:
        circuit = lower(
            f"import layers.entanglers\nmodel m() on q[5] {{\n"
            f'    entangle(q, pattern = "{pattern}")\n    readout probs(q[0])\n}}\n',
            tmp_path,
        )
        qiskit_pairs = [
            tuple(reference.find_bit(b).index for b in inst.qubits)
            for reference in [real_amplitudes(5, entanglement=pattern, reps=1)]
            for inst in reference.data
            if inst.operation.name == "cx"
        ]
        assert [op.qubits for op in circuit.ops] == qiskit_pairs == entangler_pairs(5, pattern)


def _rot(q: int, a: E.Expr, b: E.Expr, c: E.Expr) -> list[Op]:
    return [Op(Gate.RZ, (q,), (a,)), Op(Gate.RY, (q,), (b,)), Op(Gate.RZ, (q,), (c,))]


def test_reuploading_matches_hand_built(tmp_path):
    """reuploading(q, x, layers = 2) on 2 qubits, 2 features: Rot(θ + w∘x) then CZ, per layer."""
    circuit = lower(
        "import encodings.reuploading\nmodel m(x: float[2]) on q[2] {\n"
        "    reuploading(q, x, layers = 2)\n    readout probs(q[0])\n}\n",
        tmp_path,
    )
    size = 3 * 2 * 2  # 3 angles x layers x qubits x one chunk
    ops: list[Op] = []
    for layer in range(2):
        for i in range(2):
            k = 3 * (layer * 2 + i)
            th = [E.theta(k + j) for j in range(3)]
            w = [E.theta(size + k + j) for j in range(3)]
            ops += _rot(i, th[0] + w[0] * E.x(0), th[1] + w[1] * E.x(1), th[2])
        ops.append(Op(Gate.CZ, (0, 1)))
    reference = Circuit(2, tuple(ops), num_params=2 * size, num_features=2)
    assert circuit.num_params == 2 * size
    assert_equivalent(circuit, reference, rng=np.random.default_rng(2))


def test_hamiltonian_embedding_matches_hand_built(tmp_path):
    """hamiltonian_embedding: H, then per Trotter step RZ(2·dt·x_i), RZZ(2J·dt), RX(2h·dt)."""
    circuit = lower(
        "import encodings.hamiltonian\nmodel m(x: float[3]) on q[3] {\n"
        "    hamiltonian_embedding(q, x, time = 0.8, steps = 2, coupling = 0.5, field = 1.5)\n"
        "    readout probs(q[0])\n}\n",
        tmp_path,
    )
    dt = 0.4
    ops = [Op(Gate.H, (i,)) for i in range(3)]
    for _ in range(2):
        ops += [Op(Gate.RZ, (i,), (E.x(i) * (2 * dt),)) for i in range(3)]
        ops += [Op(Gate.RZZ, (i, i + 1), (E.const(2 * 0.5 * dt),)) for i in range(2)]
        ops += [Op(Gate.RX, (i,), (E.const(2 * 1.5 * dt),)) for i in range(3)]
    reference = Circuit(3, tuple(ops), num_features=3)
    assert_equivalent(circuit, reference, rng=np.random.default_rng(4))


def test_hamiltonian_embedding_approaches_exact_evolution(tmp_path):
    """Many Trotter steps converge to exp(-i t H(x)) |+++⟩ (dense expm check)."""
    from scipy.linalg import expm

    circuit = lower(
        "import encodings.hamiltonian\nmodel m(x: float[3]) on q[3] {\n"
        "    hamiltonian_embedding(q, x, time = 0.7, steps = 200, coupling = 0.6, field = 0.9)\n"
        "    readout probs(q[0])\n}\n",
        tmp_path,
    )
    x = np.array([0.3, -1.1, 0.8])
    z = np.diag([1.0, -1.0])
    xm = np.array([[0.0, 1.0], [1.0, 0.0]])

    def local(op: np.ndarray, i: int) -> np.ndarray:
        mats = [op if j == i else np.eye(2) for j in range(3)]
        return np.kron(np.kron(mats[2], mats[1]), mats[0])  # little-endian

    ham = sum(x[i] * local(z, i) + 0.9 * local(xm, i) for i in range(3))
    ham = ham + sum(0.6 * local(z, i) @ local(z, i + 1) for i in range(2))
    plus = np.full(8, 1 / math.sqrt(8), dtype=complex)
    exact = expm(-1j * 0.7 * ham) @ plus
    trotter = circuit_unitary(circuit, x=x)[:, 0]
    assert abs(np.vdot(exact, trotter)) ** 2 > 1 - 1e-4


def test_angle_and_amplitude_encodings(tmp_path):
    """angle_encoding is RY(x_i) per qubit; amplitude_encoding is one amplitude op on q."""
    circuit = lower(
        "import encodings.angle\nmodel m(x: float[3]) on q[3] {\n"
        "    angle_encoding(q, x, rotation = rx, scale = 0.5)\n    readout probs(q[0])\n}\n",
        tmp_path,
    )
    assert ops_signature(circuit) == [(Gate.RX, (i,), (E.x(i) * 0.5,)) for i in range(3)]
    circuit = lower(
        "import encodings.amplitude\nmodel m(p: float[8]) on q[3] {\n"
        "    amplitude_encoding(q, p)\n    readout probs(q[0])\n}\n",
        tmp_path,
    )
    assert len(circuit.ops) == 1
    assert circuit.ops[0].gate is Gate.AMPLITUDE and circuit.ops[0].qubits == (0, 1, 2)
    assert circuit.ops[0].angles == tuple(E.x(i) for i in range(8))


def test_qcnn_blocks_match_hand_built(tmp_path):
    """qcnn_conv on 4 qubits (pairs 01, 23, 12, wrap 30) then qcnn_pool(q[0:2], q[2:4])."""
    circuit = lower(
        "import ansatz.qcnn\nmodel m() on q[4] {\n    qcnn_conv(q)\n"
        "    qcnn_pool(q[0:2], q[2:4])\n    readout probs(q[2])\n}\n",
        tmp_path,
    )
    half = E.const(math.pi / 2)

    def conv(a: int, b: int, k: int) -> list[Op]:
        t = [E.theta(k + j) for j in range(3)]
        return [Op(Gate.RZ, (b,), (-half,)), Op(Gate.CX, (b, a)), Op(Gate.RZ, (a,), (t[0],)),
                Op(Gate.RY, (b,), (t[1],)), Op(Gate.CX, (a, b)), Op(Gate.RY, (b,), (t[2],)),
                Op(Gate.CX, (b, a)), Op(Gate.RZ, (a,), (half,))]

    def pool(s: int, t_: int, k: int) -> list[Op]:
        t = [E.theta(k + j) for j in range(3)]
        return [Op(Gate.RZ, (t_,), (-half,)), Op(Gate.CX, (t_, s)), Op(Gate.RZ, (s,), (t[0],)),
                Op(Gate.RY, (t_,), (t[1],)), Op(Gate.CX, (s, t_)), Op(Gate.RY, (t_,), (t[2],))]

    ops = conv(0, 1, 0) + conv(2, 3, 3) + conv(1, 2, 6) + conv(3, 0, 9)
    ops += pool(0, 2, 12) + pool(1, 3, 15)
    reference = Circuit(4, tuple(ops), num_params=18)
    assert circuit.num_params == 18
    assert_equivalent(circuit, reference, rng=np.random.default_rng(6))


@pytest.mark.slow
def test_strongly_entangling_equals_pennylane(tmp_path):
    """Cross-check with PennyLane itself when it is installed (big-endian wires reversed)."""
    qml = pytest.importorskip("pennylane")
    n, layers = 3, 2
    circuit = lower(
        f"import ansatz.strongly_entangling\nmodel m() on q[{n}] {{\n"
        f"    strongly_entangling(q, layers = {layers})\n    readout probs(q[0])\n}}\n",
        tmp_path,
    )
    weights = np.random.default_rng(9).uniform(-np.pi, np.pi, (layers, n, 3))
    op = qml.StronglyEntanglingLayers(weights, wires=range(n))
    expected = qml.matrix(op, wire_order=list(reversed(range(n))))
    actual = circuit_unitary(circuit, weights.reshape(-1))
    assert phase_distance(actual, np.asarray(expected)) < 1e-9


def test_rotation_layers_match_hand_built(tmp_path):
    """rotation_layer, rot_layer, euler_zxz_layer and dense_angle_encoding, op for op."""
    circuit = lower(
        "import layers.rotations\nimport encodings.angle\nmodel m(x: float[4]) on q[2] {\n"
        "    rotation_layer(q, rotation = rx)\n    rot_layer(q)\n    euler_zxz_layer(q)\n"
        "    dense_angle_encoding(q, x, scale = 2.0)\n    readout probs(q[0])\n}\n",
        tmp_path,
    )
    t = E.theta
    ops = [Op(Gate.RX, (0,), (t(0),)), Op(Gate.RX, (1,), (t(1),))]
    ops += _rot(0, t(2), t(3), t(4)) + _rot(1, t(5), t(6), t(7))
    for i in range(2):
        k = 8 + 3 * i
        ops += [Op(Gate.RZ, (i,), (t(k),)), Op(Gate.RX, (i,), (t(k + 1),)),
                Op(Gate.RZ, (i,), (t(k + 2),))]
    for i in range(2):
        ops += [Op(Gate.RY, (i,), (E.x(2 * i) * 2.0,)), Op(Gate.RZ, (i,), (E.x(2 * i + 1) * 2.0,))]
    assert circuit.num_params == 14
    assert ops_signature(circuit) == ops_signature(Circuit(2, tuple(ops)))


def test_heavy_hex27_edges_equal_builtin_heavy_hex(tmp_path):
    """The stdlib's explicit Falcon edge list equals the compiler's `coupling heavy_hex`."""
    from qadl.api import load

    path = tmp_path / "t.qadl"
    path.write_text(
        "import targets.heavy_hex27\ntarget hh { qubits 27; coupling heavy_hex }\n"
        "model m() on q[2] {\n    cx q[0], q[1]\n    readout probs(q[0])\n}\n"
        "model n() on q[2] {\n    cx q[0], q[1]\n    readout probs(q[0])\n}\n"
        "device m on heavy_hex27\ndevice n on hh\n",
        encoding="utf-8",
    )
    program = load(path)
    assert program.target_of("m").coupling == program.target_of("n").coupling


def test_reuploading_product_matches_hand_built(tmp_path):
    """reuploading_product: Rot(w∘x) then Rot(θ) per qubit, CZ chain, per layer."""
    circuit = lower(
        "import encodings.reuploading\nmodel m(x: float[2]) on q[2] {\n"
        "    reuploading_product(q, x, layers = 2)\n    readout probs(q[0])\n}\n",
        tmp_path,
    )
    size = 3 * 2 * 2
    zero = E.const(0.0)
    ops: list[Op] = []
    for layer in range(2):
        for i in range(2):
            k = 3 * (layer * 2 + i)
            w = [E.theta(size + k + j) for j in range(3)]
            ops += _rot(i, w[0] * E.x(0), w[1] * E.x(1), zero)
            ops += _rot(i, E.theta(k), E.theta(k + 1), E.theta(k + 2))
        ops.append(Op(Gate.CZ, (0, 1)))
    reference = Circuit(2, tuple(ops), num_params=2 * size, num_features=2)
    assert circuit.num_params == 2 * size
    assert_equivalent(circuit, reference, rng=np.random.default_rng(8))
